"""Read the config file and the secrets file, refusing a secrets file others could read."""

from __future__ import annotations

__all__ = [
    "SECRETS_ENV",
    "deep_merge",
    "find_secrets_file",
    "read_config_file",
    "read_secrets",
    "read_secrets_file",
]

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from daemon.core.errors import ConfigError, ConfigProblem

SECRETS_ENV = "TRIMTAB_SECRETS_FILE"
SYSTEMD_CREDENTIAL = "trimtab-secrets.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the TOML config file; a missing or malformed file is a `ConfigError`."""
    return _read_toml(path, what="config file")


def find_secrets_file(data: dict[str, Any], config_path: Path) -> Path | None:
    """Locate the secrets file: `secrets_file`, then $TRIMTAB_SECRETS_FILE, then systemd's."""
    named = data.get("secrets_file") or os.environ.get(SECRETS_ENV)
    if named:
        path = Path(str(named)).expanduser()
        return path if path.is_absolute() else config_path.parent / path
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / SYSTEMD_CREDENTIAL).exists():
        return Path(credentials) / SYSTEMD_CREDENTIAL
    return None


def read_secrets_file(data: dict[str, Any], config_path: Path) -> dict[str, Any]:
    """Return the config data with the secrets file's tables merged over it."""
    _, secrets = read_secrets(data, config_path)
    return deep_merge(data, secrets)


def read_secrets(data: dict[str, Any], config_path: Path) -> tuple[Path | None, dict[str, Any]]:
    """Return the secrets file's path and its tables (none: `(None, {})`)."""
    path = find_secrets_file(data, config_path)
    if path is None:
        return None, {}
    _check_private(path)
    return path, _read_toml(path, what="secrets file")


def _check_private(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            [ConfigProblem("secrets_file", f"{path} does not exist", "create it or remove the key")]
        ) from None
    if _systemd_credential(path, info):
        return
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise ConfigError(
            [
                ConfigProblem(
                    "secrets_file",
                    f"{path} can be read by others (mode {mode:o})",
                    f"run: chmod 600 {path}",
                )
            ]
        )
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise ConfigError(
            [
                ConfigProblem(
                    "secrets_file",
                    f"{path} belongs to another user",
                    "make the user that runs trimtab its owner (chown)",
                )
            ]
        )


def _systemd_credential(path: Path, info: os.stat_result) -> bool:
    """Tell whether `path` is a credential systemd handed over (`LoadCredential=`), to be
    trusted as systemd protects it.

    systemd writes a credential read-only, mode 0400, owned by root, and grants the unit's
    user read through a POSIX ACL, whose mask shows in the group bits (mode 440); where the
    file system has no ACLs it chowns the file, still mode 0400, to that user instead. The
    unit's directory, on a read-only mount, is private to it the same way
    (src/core/exec-credential.c). So a file directly in $CREDENTIALS_DIRECTORY (symlinks
    resolved) is trusted only in those shapes: mode 0400 owned by root or by this user, or
    mode 0440 owned by root and carrying an ACL (`system.posix_acl_access`), whose mask the
    group bits then are. No write bit, no "other" bit, no group bits without root's ACL. The
    directory must belong to root or to this user and grant others nothing and its group no
    write. The variable can name any folder, so anything else (a 0600 file of this user's
    included: systemd does not write one) gets the owner-only checks of every secrets file."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory or not hasattr(os, "geteuid"):
        return False
    try:
        home = Path(directory).resolve(strict=True)
        where = home.stat()
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    trusted = (0, os.geteuid())
    if not (
        real.parent == home
        and stat.S_ISDIR(where.st_mode)
        and not where.st_mode & (stat.S_IRWXO | stat.S_IWGRP)
        and where.st_uid in trusted
        and stat.S_ISREG(info.st_mode)
        and info.st_uid in trusted
    ):
        return False
    mode = stat.S_IMODE(info.st_mode)
    if mode == stat.S_IRUSR:
        return True
    return mode == stat.S_IRUSR | stat.S_IRGRP and info.st_uid == 0 and _has_acl(real)


def _has_acl(path: Path) -> bool:
    """Tell whether `path` carries a POSIX access ACL (then its group bits are the ACL's mask)."""
    if not hasattr(os, "getxattr"):
        return False
    try:
        os.getxattr(path, "system.posix_acl_access")
    except OSError:  # ENODATA: no ACL; ENOTSUP/EOPNOTSUPP: the file system has none
        return False
    return True


_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAVE_AS_UTF8 = "save the file as UTF-8 (in most editors: Save As..., encoding UTF-8)"


def _read_toml(path: Path, *, what: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        fix = "copy config.example.toml there, or pass --config PATH"
        raise ConfigError([ConfigProblem(str(path), f"{what} not found", fix)]) from None
    except IsADirectoryError:
        raise ConfigError(
            [ConfigProblem(str(path), f"{what} is a directory", "name a TOML file")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [
                ConfigProblem(
                    str(path),
                    f"{what} cannot be read: {exc.strerror or type(exc).__name__}",
                    "make it readable by the user that runs trimtab",
                )
            ]
        ) from None
    text = _utf8_text(raw, path=path, what=what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message names line and column but never echoes the value.
        raise ConfigError(
            [ConfigProblem(str(path), f"not valid TOML: {exc}", "fix the syntax at that line")]
        ) from None


def _utf8_text(raw: bytes, *, path: Path, what: str) -> str:
    """Return the file's text: UTF-8, with a byte order mark (Windows editors write one)
    accepted. Anything else is a `ConfigError` naming the byte and line, never the bytes:
    a secrets file's content must not reach a message."""
    if raw.startswith(_UTF16_BOMS):
        raise ConfigError([ConfigProblem(str(path), f"{what} is UTF-16, not UTF-8", _SAVE_AS_UTF8)])
    raw = raw.removeprefix(_UTF8_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            [
                ConfigProblem(
                    str(path),
                    f"{what} is not UTF-8 at byte {exc.start} (line {line})",
                    _SAVE_AS_UTF8,
                )
            ]
        ) from None
    if "\x00" in text:
        # UTF-16 without a byte order mark decodes as UTF-8 with a NUL after every letter.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ConfigError(
            [
                ConfigProblem(
                    str(path),
                    f"{what} holds NUL bytes (line {line}): it is not UTF-8 text (UTF-16?)",
                    _SAVE_AS_UTF8,
                )
            ]
        )
    return text


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return `base` with `over` laid on it, table by table."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
