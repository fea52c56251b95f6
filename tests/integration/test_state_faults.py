"""A state directory that is wrong: read-only, on a read-only file system, or lost.

Each case checks what a person sees (the thing and the fix named, no traceback, never
"corrupt" or "restore from a backup" for an intact database), that nothing is sent, and that
the database is still usable afterwards. Everything is real: files made unwritable (modes
for a normal user; the immutable attribute for root, whom modes do not stop), a read-only
bind mount in a private mount namespace, real `trimtab` processes.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daemon.bootstrap import broker_migrations
from daemon.cli import app
from daemon.report.writer import REPORTS_DIR
from daemon.store.db import TRACES, open_database
from daemon.store.killswitch import current, set_kill_switch
from daemon.store.state_faults import StateNotWritable

pytestmark = pytest.mark.slow  # every test starts from a state made by a real cycle

REPO = Path(__file__).resolve().parents[2]
TRIMTAB = Path(sys.executable).parent / "trimtab"
NOT_CORRUPT = "do not restore it from a backup"
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo configuration whose state has seen one real cycle per account (orders filled)."""
    base = tmp_path_factory.mktemp("template")
    shutil.copy(REPO / "config.example.toml", base / "trimtab.toml")
    done = cli("run", "--once", "-c", str(base / "trimtab.toml"))
    assert done.exit_code == 0, done.output
    return base


@pytest.fixture
def config(template: Path, tmp_path: Path) -> Path:
    """A copy of the template, for one test to break."""
    shutil.copytree(template, tmp_path / "home")
    return tmp_path / "home" / "trimtab.toml"


def cli(*args: str) -> Result:
    """Run the CLI in-process; a traceback would surface as a non-SystemExit exception."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def process(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    return subprocess.run(
        [*prefix, str(TRIMTAB), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


@contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Make `paths` really unwritable for this process, and writable again afterwards."""
    if os.geteuid() != 0:
        modes = {path: stat.S_IMODE(path.stat().st_mode) for path in paths}
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    names = [str(path) for path in paths]
    if chattr is None or subprocess.run([chattr, "+i", *names], check=False).returncode:
        pytest.skip("running as root without a working chattr: nothing here stops a write")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", *names], check=True)


def state_paths(config: Path) -> list[Path]:
    state = config.parent / "state"
    return [state, *sorted(p for p in state.iterdir() if p.is_file())]


def assert_really_unwritable(directory: Path) -> None:
    """The test's own premise: this process cannot create a file there."""
    with pytest.raises(OSError):  # noqa: PT011 (EACCES, EPERM or EROFS, whichever applies)
        (directory / "probe").touch()


def sim_orders(config: Path) -> int:
    done = cli("sim", "state", "--json", "-a", "ira", "-c", str(config))
    assert done.exit_code == 0, done.output
    return len(json.loads(done.stdout)["recent_orders"])


def assert_usable(config: Path) -> None:
    """The database is intact: integrity check, audit chain and head, a kill and a resume."""
    with sqlite3.connect(config.parent / "state" / "trimtab.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    verified = cli("audit", "verify", "-c", str(config))
    assert verified.exit_code == 0, verified.output
    assert cli("kill", "--reason", "check", "-c", str(config)).exit_code == 0
    assert cli("resume", "-c", str(config)).exit_code == 0


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["status"], "brokerage"),
        (["status", "--json"], '"kill_switch"'),
        (["orders"], "filled"),
        (["audit", "verify"], "audit chain intact"),
        (["audit"], "cycle_finished"),
        (["sim", "state", "-a", "ira"], "positions"),
    ],
)
def test_reading_commands_work_on_a_read_only_state(
    config: Path, args: list[str], shown: str
) -> None:
    state = config.parent / "state"
    before = sorted(p.name for p in state.iterdir())
    with unwritable(*state_paths(config)):
        assert_really_unwritable(state)
        done = cli(*args, "-c", str(config))
    assert done.exit_code == 0, done.output
    assert shown in done.output
    assert sorted(p.name for p in state.iterdir()) == before  # nothing written, not even -shm
    assert_usable(config)


def test_a_reader_opens_read_only_only_where_it_cannot_write(config: Path) -> None:
    state = config.parent / "state"
    url = f"sqlite:///{state / 'trimtab.db'}"
    usual = open_database(url, state, branches=broker_migrations(), read_only=True)
    assert not usual.read_only  # writable: as usual (the sim may fill a resting order)
    usual.close()
    with unwritable(*state_paths(config)):
        reader = open_database(url, state, branches=broker_migrations(), read_only=True)
        try:
            assert reader.read_only
            with reader.transaction() as session:
                assert current(session).engaged is False  # reads work
            with (
                pytest.raises(StateNotWritable, match="opened read-only because") as caught,
                reader.transaction() as session,
            ):
                set_kill_switch(session, engaged=True, reason="x", actor="t", at=NOW)
            assert "is corrupt" not in str(caught.value)
        finally:
            reader.close()
    assert_usable(config)


def test_kill_on_a_read_only_state_says_it_is_not_engaged(config: Path) -> None:
    with unwritable(*state_paths(config)):
        done = cli("kill", "--reason", "test", "-c", str(config))
    assert done.exit_code == 1
    assert "kill switch is NOT engaged" in done.output
    # The cause is named (modes for a normal user, the immutable attribute for root)...
    assert "not writable by user" in done.output or "chattr -i" in done.output
    # ...the way to stop trading meanwhile, and never the advice to restore intact data.
    assert "systemctl stop trimtab" in done.output
    assert NOT_CORRUPT in done.output
    assert "is corrupt" not in done.output
    status = cli("status", "--json", "-c", str(config))
    assert json.loads(status.stdout)["kill_switch"]["engaged"] is False
    assert_usable(config)


def test_run_once_on_a_read_only_state_fails_cleanly_and_sends_nothing(config: Path) -> None:
    sent = sim_orders(config)
    with unwritable(*state_paths(config)):
        done = process("run", "--once", "--force", "-c", str(config))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot write the state" in done.stderr
    assert NOT_CORRUPT in done.stderr
    assert sim_orders(config) == sent
    assert_usable(config)


def test_a_read_only_lock_file_alone_does_not_stop_a_run(config: Path) -> None:
    """The lock is held on a file opened for reading too: only the pid is not written."""
    lock = config.parent / "state" / "trimtab.lock"
    with unwritable(lock):
        done = cli("run", "--once", "--force", "-a", "ira", "-c", str(config))
    assert done.exit_code == 0, done.output
    assert_usable(config)


def test_kill_engages_whenever_the_database_can_be_written(config: Path) -> None:
    """A running daemon keeps the write-ahead log open: the directory may become read-only
    (a remount, a wrong chmod) and the database can still be written; the switch must work."""
    database = config.parent / "state" / "trimtab.db"
    holder = sqlite3.connect(database)  # what a running trimtab keeps: -wal and -shm exist
    holder.execute("SELECT count(*) FROM audit_records").fetchone()
    try:
        with unwritable(config.parent / "state"):
            assert_really_unwritable(config.parent / "state")
            done = cli("kill", "--reason", "read-only dir", "-c", str(config))
            assert done.exit_code == 0, done.output
            assert "kill switch engaged" in done.output
            status = cli("status", "--json", "-c", str(config))
            assert json.loads(status.stdout)["kill_switch"]["engaged"] is True
    finally:
        holder.close()
    assert_usable(config)


def _read_only_mount() -> tuple[str, ...]:
    """The command prefix that runs a shell command with `state` mounted read-only (EROFS)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs unshare and root")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True, check=False)
    if probe.returncode:
        pytest.skip("no private mount namespace here (unshare -m refused)")
    return (unshare, "-m", "sh", "-c")


def test_a_read_only_file_system_is_named(config: Path) -> None:
    prefix = _read_only_mount()
    state = config.parent / "state"
    sent = sim_orders(config)
    script = (
        f"mount --bind -o ro {state} {state} && "
        f"{TRIMTAB} status -c {config}; echo status=$?; "
        f"{TRIMTAB} kill -c {config}; echo kill=$?; "
        f"{TRIMTAB} run --once --force -c {config}; echo run=$?"
    )
    done = subprocess.run([*prefix, script], capture_output=True, text=True, check=False)
    assert "status=0" in done.stdout
    assert "kill=1" in done.stdout
    assert "run=1" in done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.count("is on a read-only file system") == 2
    assert "kill switch is NOT engaged" in done.stderr
    assert "is corrupt" not in done.stderr
    assert sim_orders(config) == sent
    assert_usable(config)


# -- a lost database: traces of earlier state remain ------------------------------------------


def lose_database(config: Path) -> None:
    state = config.parent / "state"
    for name in ("trimtab.db", "trimtab.db-wal", "trimtab.db-shm", "database.json"):
        (state / name).unlink(missing_ok=True)


def test_a_lost_database_with_its_audit_head_left_is_refused(config: Path) -> None:
    lose_database(config)
    done = process("run", "--once", "-c", str(config))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "audit_head.json" in done.stderr
    assert "the state was lost, not new" in done.stderr
    assert "`trimtab db init --force`" in done.stderr
    assert "from a backup" in done.stderr
    state = config.parent / "state"
    assert not (state / "trimtab.db").exists()  # no empty database, nothing traded
    for args in (["status"], ["audit", "verify"], ["kill"]):
        refused = cli(*args, "-c", str(config))
        assert refused.exit_code == 1
        assert "the state was lost, not new" in refused.output
    assert not (state / "trimtab.db").exists()
    # The way out, on purpose: a new database, and a chain that verifies from then on.
    assert cli("db", "init", "--force", "-c", str(config)).exit_code == 0
    assert process("run", "--once", "-c", str(config)).returncode == 0
    assert_usable(config)


@pytest.mark.parametrize("trace", ["reports", "wal"])
def test_other_traces_of_earlier_state_are_refused_too(config: Path, trace: str) -> None:
    state = config.parent / "state"
    if trace == "reports":
        assert cli("report", "-c", str(config)).exit_code == 0  # the real report writer
        lose_database(config)
        (state / "audit_head.json").unlink()
        expected = "reports/ (1 file(s))"
    else:
        # A crash leaves the write-ahead log; then the database file alone goes.
        (state / "audit_head.json").unlink()
        (state / "trimtab.db-wal").write_bytes(b"\0" * 4096)
        (state / "trimtab.db").unlink()
        (state / "database.json").unlink()
        expected = "trimtab.db-wal"
    done = cli("status", "-c", str(config))
    assert done.exit_code == 1
    assert expected in done.output
    assert "the state was lost, not new" in done.output


def test_a_new_state_directory_still_starts_by_itself(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.example.toml", tmp_path / "trimtab.toml")
    done = cli("status", "-c", str(tmp_path / "trimtab.toml"))
    assert done.exit_code == 0, done.output
    assert (tmp_path / "state" / "trimtab.db").exists()


def test_the_report_directory_is_a_trace() -> None:
    assert REPORTS_DIR in TRACES


def test_a_corrupt_database_names_both_ways_out(config: Path) -> None:
    state = config.parent / "state"
    (state / "trimtab.db").write_bytes(b"not a database at all" * 512)
    done = process("status", "-c", str(config))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "is corrupt" in done.stderr
    assert "restore it from a backup" in done.stderr
    assert "`trimtab db init --force`" in done.stderr
