"""The secrets file systemd hands over (`LoadCredential=`) is read as systemd protects it.

systemd writes a credential mode 0400, owned by root, and grants the service's user read through
a POSIX ACL (src/core/exec-credential.c, `write_credential`; it falls back to chown only where
the file system has no ACLs). The ACL's mask shows in the group bits (`-r--r-----+ root root`),
so trimtab refused its own credential ("can be read by others (mode 440)", "chmod 600" on a
read-only mount) and the service never started: exit 2, which the unit does not retry.

A credential is trusted when it lies directly in `$CREDENTIALS_DIRECTORY` (symlinks resolved),
that directory belongs to root or to trimtab's user, grants others nothing and its group no
write, and the file has one of systemd's shapes: mode 0400 owned by root or trimtab's user, or
mode 0440 owned by root with a POSIX ACL (the group bits are its mask). The variable can name any
folder, so a group-readable or writable file there is refused as anywhere else (a review found
a 0660 file accepted). Everywhere else the checks are exactly as before.

The files, modes, owners and ACLs here are real (the ACL is written through the kernel's
`system.posix_acl_access` attribute, as setfacl does); the test of a service user other than
the file's owner drops to uid 65534 in a forked child, as root only.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.files import SYSTEMD_CREDENTIAL, read_secrets
from daemon.core.errors import ConfigError
from daemon.logs import configure_logging

SERVICE_UID = 65534  # nobody: the unit's User= in the forked child
ROOT_ONLY = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (chown, setuid)"
)

CONFIG = """\
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""
SECRETS = '[notifications]\nurls = ["json://127.0.0.1:9/hook"]\n'

# POSIX ACL entries as the kernel stores them (linux/posix_acl_xattr.h).
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF


def grant_read(path: Path, uid: int, perm: int) -> None:
    """Give `uid` the permission bits `perm` on `path` through a POSIX ACL, as systemd's
    `fd_add_uid_acl_permission` does: the owner keeps its bits, the mask shows in the group
    bits, others get nothing. Skips the test where the file system has no ACLs."""
    owner = (stat.S_IMODE(path.stat().st_mode) >> 6) & 0o7
    entries = [
        (_USER_OBJ, owner, _NO_ID),
        (_USER, perm, uid),
        (_GROUP_OBJ, 0, _NO_ID),
        (_MASK, perm, _NO_ID),
        (_OTHER, 0, _NO_ID),
    ]
    value = struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in entries)
    try:
        os.setxattr(path, "system.posix_acl_access", value)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.skip(f"no POSIX ACLs on {path.parent}")
        raise


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A stand-in for /run/credentials: world-searchable, so the service user reaches the
    unit's own directory in it (pytest's tmp_path is private to the test's user)."""
    base = Path(tempfile.mkdtemp(prefix="trimtab-credentials-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def systemd_credentials(run_dir: Path, service_uid: int, *, text: str = SECRETS) -> Path:
    """Lay out a unit's credentials directory as systemd does for `User=` `service_uid`:
    the file 0400 with an ACL `u:service_uid:r`, the directory 0500 with `u:service_uid:rx`,
    both owned by whoever runs the test (root under systemd)."""
    directory = run_dir / "trimtab.service"
    directory.mkdir(mode=0o700)
    credential = directory / SYSTEMD_CREDENTIAL
    credential.write_text(text)
    credential.chmod(0o400)
    grant_read(credential, service_uid, 0o4)
    directory.chmod(0o500)
    grant_read(directory, service_uid, 0o5)
    return directory


def read_as(uid: int, config_path: Path) -> str:
    """Run `read_secrets` in a forked child under `uid` (groups dropped) and return what it
    got: the tables' names, or the refusal's text."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        status = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            try:
                _, tables = read_secrets({}, config_path)
                answer = "read " + ",".join(sorted(tables))
            except ConfigError as exc:
                answer = "refused " + " | ".join(f"{p.problem} | {p.fix}" for p in exc.problems)
            os.write(writer, answer.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, answer
    return answer


def invoke(*args: str) -> tuple[int, str]:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = tmp_path / "trimtab.toml"
    path.write_text(CONFIG)
    return path


# --- what systemd hands over is read ----------------------------------------------------------


@ROOT_ONLY
def test_the_service_user_reads_the_root_owned_credential_systemd_grants_it(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = systemd_credentials(run_dir, SERVICE_UID)
    credential = directory / SYSTEMD_CREDENTIAL
    info = credential.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o440)  # as ls shows -r--r-----+
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    # The unit's user is not the owner and reads only through the ACL.
    assert read_as(SERVICE_UID, config) == "read notifications"


@ROOT_ONLY
def test_config_check_accepts_the_credential_as_systemd_delivers_it(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = systemd_credentials(run_dir, SERVICE_UID)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    code, output = invoke("config", "check", "-c", str(config))
    assert code == 0, output


@ROOT_ONLY
def test_the_credential_named_through_trimtab_secrets_file_is_trusted_too(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = systemd_credentials(run_dir, SERVICE_UID)
    alias = run_dir / "alias"
    alias.symlink_to(directory)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    monkeypatch.setenv("TRIMTAB_SECRETS_FILE", str(alias / SYSTEMD_CREDENTIAL))
    path, tables = read_secrets({}, config)
    assert path == alias / SYSTEMD_CREDENTIAL
    assert set(tables) == {"notifications"}


def test_a_credential_systemd_chowned_to_the_service_user_is_read(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # systemd's fallback where the file system has no ACLs: 0400, owned by the service user.
    directory = run_dir / "trimtab.service"
    directory.mkdir(mode=0o700)
    (directory / SYSTEMD_CREDENTIAL).write_text(SECRETS)
    (directory / SYSTEMD_CREDENTIAL).chmod(0o400)
    directory.chmod(0o500)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert set(read_secrets({}, config)[1]) == {"notifications"}


# --- everything else is refused as before ------------------------------------------------------


def refusal(config: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        read_secrets({}, config)
    (problem,) = caught.value.problems
    assert problem.path == "secrets_file"
    return f"{problem.problem} | {problem.fix}"


def test_a_group_readable_secrets_file_in_the_home_is_still_refused(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A credentials directory exists (trimtab runs under systemd), but the file named is not in it.
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(systemd_credentials(run_dir, SERVICE_UID)))
    home = config.parent / "secrets.toml"
    home.write_text(SECRETS)
    for mode in (0o640, 0o440, 0o644, 0o604):
        home.chmod(mode)
        monkeypatch.setenv("TRIMTAB_SECRETS_FILE", str(home))
        assert refusal(config) == (
            f"{home} can be read by others (mode {mode:o}) | run: chmod 600 {home}"
        )


def test_a_group_readable_secrets_file_is_refused_without_systemd(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = config.parent / SYSTEMD_CREDENTIAL
    home.write_text(SECRETS)
    home.chmod(0o400)
    grant_read(home, SERVICE_UID, 0o4)  # the same ACL as systemd's, outside its directory
    monkeypatch.setenv("TRIMTAB_SECRETS_FILE", str(home))
    assert "can be read by others (mode 440)" in refusal(config)


def test_a_credential_others_can_read_is_refused(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # systemd never sets an "other" bit: such a file did not come from it.
    directory = systemd_credentials(run_dir, SERVICE_UID)
    credential = directory / SYSTEMD_CREDENTIAL
    directory.chmod(0o700)
    credential.chmod(0o404)
    directory.chmod(0o500)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert "can be read by others (mode 404)" in refusal(config)


def test_a_credentials_directory_others_can_enter_is_not_trusted(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CREDENTIALS_DIRECTORY pointed at a home directory (0755), not systemd's private one.
    home = config.parent
    home.chmod(0o755)
    (home / SYSTEMD_CREDENTIAL).write_text(SECRETS)
    (home / SYSTEMD_CREDENTIAL).chmod(0o440)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(home))
    assert "can be read by others (mode 440)" in refusal(config)


def test_a_link_out_of_the_credentials_directory_is_judged_where_it_leads(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = config.parent / "secrets.toml"
    outside.write_text(SECRETS)
    outside.chmod(0o640)
    directory = run_dir / "trimtab.service"
    directory.mkdir(mode=0o700)
    (directory / SYSTEMD_CREDENTIAL).symlink_to(outside)
    directory.chmod(0o500)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert "can be read by others (mode 640)" in refusal(config)


def test_a_file_below_the_credentials_directory_is_not_a_credential(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = run_dir / "trimtab.service"
    (directory / "sub").mkdir(mode=0o700, parents=True)
    nested = directory / "sub" / SYSTEMD_CREDENTIAL
    nested.write_text(SECRETS)
    nested.chmod(0o440)
    directory.chmod(0o700)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    monkeypatch.setenv("TRIMTAB_SECRETS_FILE", str(nested))
    assert "can be read by others (mode 440)" in refusal(config)


@ROOT_ONLY
def test_a_secrets_file_of_another_user_is_still_refused(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = config.parent / "secrets.toml"
    home.write_text(SECRETS)
    home.chmod(0o600)
    os.chown(home, SERVICE_UID, SERVICE_UID)
    monkeypatch.setenv("TRIMTAB_SECRETS_FILE", str(home))
    assert refusal(config) == (
        f"{home} belongs to another user | make the user that runs trimtab its owner (chown)"
    )


@ROOT_ONLY
def test_a_credential_of_a_third_user_is_refused(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neither root nor trimtab's user owns it: systemd did not write it.
    directory = systemd_credentials(run_dir, SERVICE_UID)
    directory.chmod(0o700)
    os.chown(directory / SYSTEMD_CREDENTIAL, SERVICE_UID, SERVICE_UID)
    (directory / SYSTEMD_CREDENTIAL).chmod(0o400)
    directory.chmod(0o500)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert "belongs to another user" in refusal(config)


@ROOT_ONLY
def test_a_credentials_directory_of_a_third_user_is_not_trusted(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = systemd_credentials(run_dir, SERVICE_UID)
    os.chown(directory, SERVICE_UID, SERVICE_UID)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert "can be read by others (mode 440)" in refusal(config)


# --- only what systemd writes: read-only, group bits only as root's ACL mask -------------------


def lay_out(run_dir: Path, mode: int, *, directory_mode: int = 0o500) -> Path:
    """A credentials directory holding a secrets file of `mode`, both owned by whoever runs
    the test; no ACLs."""
    directory = run_dir / "trimtab.service"
    directory.mkdir(mode=0o700)
    credential = directory / SYSTEMD_CREDENTIAL
    credential.write_text(SECRETS)
    credential.chmod(mode)
    directory.chmod(directory_mode)
    return directory


def test_a_group_writable_file_in_a_folder_named_credentials_directory_is_refused(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reviewer's case: CREDENTIALS_DIRECTORY pointed at a folder of the user's own, the
    # file mode 660 for the group "users": refused exactly as without the variable.
    directory = lay_out(run_dir, 0o660, directory_mode=0o770)
    credential = directory / SYSTEMD_CREDENTIAL
    if os.geteuid() == 0:
        os.chown(directory, -1, 100)
        os.chown(credential, -1, 100)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert refusal(config) == (
        f"{credential} can be read by others (mode 660) | run: chmod 600 {credential}"
    )
    code, output = invoke("config", "check", "-c", str(config))
    assert code == 2, output
    assert "can be read by others (mode 660)" in output
    # Not even in a directory shaped like systemd's.
    directory.chmod(0o500)
    assert "can be read by others (mode 660)" in refusal(config)


@pytest.mark.parametrize("mode", [0o440, 0o460, 0o640, 0o660, 0o420, 0o450], ids=oct)
def test_group_bits_without_an_acl_are_refused(
    mode: int, run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root, the file is root-owned: 440 with no ACL is the file's group reading it.
    directory = lay_out(run_dir, mode)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert f"can be read by others (mode {mode:o})" in refusal(config)


@ROOT_ONLY
def test_a_root_owned_credential_with_an_acl_is_read_only_when_nothing_can_write_it(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = systemd_credentials(run_dir, SERVICE_UID)
    credential = directory / SYSTEMD_CREDENTIAL
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert set(read_secrets({}, config)[1]) == {"notifications"}  # 440 + ACL: systemd's
    directory.chmod(0o700)
    grant_read(credential, SERVICE_UID, 0o6)  # the ACL lets the service user write: mask rw-
    assert stat.S_IMODE(credential.stat().st_mode) == 0o460
    assert "can be read by others (mode 460)" in refusal(config)
    credential.chmod(0o640)  # the owner may write
    grant_read(credential, SERVICE_UID, 0o4)
    assert stat.S_IMODE(credential.stat().st_mode) == 0o640
    assert "can be read by others (mode 640)" in refusal(config)


@ROOT_ONLY
def test_an_acl_credential_of_trimtabs_own_user_is_refused(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # systemd gives the ACL to a root-owned file only; a 440 file of the service user's own
    # (its group reads it) did not come from systemd, ACL or not.
    directory = systemd_credentials(run_dir, SERVICE_UID)
    directory.chmod(0o700)
    credential = directory / SYSTEMD_CREDENTIAL
    os.chown(credential, SERVICE_UID, SERVICE_UID)
    credential.chmod(0o440)
    grant_read(credential, SERVICE_UID, 0o4)
    directory.chmod(0o500)
    grant_read(directory, SERVICE_UID, 0o5)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert read_as(SERVICE_UID, config) == (
        f"refused {credential} can be read by others (mode 440) | run: chmod 600 {credential}"
    )


@ROOT_ONLY
def test_a_credentials_directory_the_group_can_write_is_not_trusted(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Who can write the directory can swap the file: systemd's is read-only (0500 + ACL r-x).
    directory = systemd_credentials(run_dir, SERVICE_UID)
    directory.chmod(0o770)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert "can be read by others (mode 440)" in refusal(config)
    directory.chmod(0o550)
    assert set(read_secrets({}, config)[1]) == {"notifications"}


def test_a_private_file_of_trimtabs_user_in_the_directory_passes_the_ordinary_check(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Decision: systemd's chown fallback writes 0400, so a 0600 file is not a credential; it
    # gets the checks of any secrets file, which accept it (trimtab's user alone reads it),
    # as they would anywhere else. Refusing it only here would protect nothing.
    directory = lay_out(run_dir, 0o600)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert set(read_secrets({}, config)[1]) == {"notifications"}
    directory.chmod(0o700)
    (directory / SYSTEMD_CREDENTIAL).chmod(0o640)
    assert "can be read by others (mode 640)" in refusal(config)


@ROOT_ONLY
def test_the_service_user_reads_systemds_chowned_credential_but_not_a_group_readable_one(
    run_dir: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # systemd's fallback without ACLs: 0400, owned by the service user, in root's directory.
    directory = run_dir / "trimtab.service"
    directory.mkdir(mode=0o700)
    credential = directory / SYSTEMD_CREDENTIAL
    credential.write_text(SECRETS)
    os.chown(credential, SERVICE_UID, SERVICE_UID)
    credential.chmod(0o400)
    directory.chmod(0o500)
    grant_read(directory, SERVICE_UID, 0o5)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    assert read_as(SERVICE_UID, config) == "read notifications"
    credential.chmod(0o440)  # the service user's own file, its group reading: not systemd's
    assert "can be read by others (mode 440)" in read_as(SERVICE_UID, config)
