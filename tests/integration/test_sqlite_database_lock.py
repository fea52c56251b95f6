"""One running trimtab per SQLite database, whichever state directories name it.

Found by an ops audit: two `trimtab run` from two state directories, the second with
database_url naming the first's trimtab.db, both started (the lock was the state
directory's only) and both ran the same slot: 5 orders for one slot. The database's lock is
now a file beside it (`trimtab.db.lock`), and the second is refused naming the first's pid.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import pytest

from daemon.bootstrap import broker_migrations
from daemon.core.errors import StateError
from daemon.service.lock import database_lock, instance_lock
from daemon.store.db import open_database
from tests.fakes.cli import fresh_logging
from tests.integration.lock_setup import daemon, invoke, running, trimtab, write_config

__all__ = ["fresh_logging"]  # a fixture, used by name

pytestmark = pytest.mark.usefixtures("fresh_logging")


def test_two_trimtabs_on_one_sqlite_file_from_two_state_directories_are_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a" / "trimtab.db"
    url = f"sqlite:///{path}"
    other = open_database(url, tmp_path / "b", branches=broker_migrations())
    try:
        with running(url, tmp_path / "a"), ExitStack() as stack:
            stack.enter_context(instance_lock(tmp_path / "b"))  # its own state directory: free
            with pytest.raises(StateError) as refused:
                stack.enter_context(database_lock(other, cluster=False))
            assert str(refused.value) == (
                f"another trimtab (pid {os.getpid()}) is running on database {path}; "
                "wait for it to finish or stop it first"
            )
        # Released when the first one stops: the next one starts.
        with database_lock(other, cluster=False):
            pass
    finally:
        other.close()


def test_a_symbolic_link_to_the_database_is_the_same_database(tmp_path: Path) -> None:
    path = tmp_path / "a" / "trimtab.db"
    other = open_database(f"sqlite:///{path}", tmp_path / "b", branches=broker_migrations())
    link = tmp_path / "link.db"
    link.symlink_to(path)
    try:
        with (
            running(f"sqlite:///{link}", tmp_path / "c"),
            pytest.raises(StateError, match=f"another trimtab .* on database {path}"),
            database_lock(other, cluster=False),
        ):
            pass
    finally:
        other.close()


def test_run_once_on_a_sqlite_file_a_daemon_of_another_state_directory_holds_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a" / "trimtab.db"
    url = f"sqlite:///{path}"
    config = write_config(tmp_path / "b.toml", tmp_path / "b", url)
    with running(url, tmp_path / "a"):
        code, output = invoke("run", "--once", "-c", str(config))
        assert code == 1, output
        assert f"another trimtab (pid {os.getpid()}) is running on database {path}" in output
        assert "Traceback" not in output
    code, output = invoke("run", "--once", "-c", str(config))
    assert code == 0, output


@pytest.mark.slow
def test_a_second_daemon_on_the_sqlite_file_of_a_running_one_is_refused(tmp_path: Path) -> None:
    """The audit's repro with real processes: `trimtab run` on state A, then `trimtab run` on
    state B with database_url naming A's database."""
    database = tmp_path / "state-A" / "trimtab.db"
    first = write_config(tmp_path / "A.toml", tmp_path / "state-A")
    second = write_config(tmp_path / "B.toml", tmp_path / "state-B", f"sqlite:///{database}")
    assert trimtab("db", "init", "-c", str(first), cwd=tmp_path).returncode == 0
    with daemon(first, tmp_path / "A.log") as running_a:
        refused = trimtab("run", "-c", str(second), cwd=tmp_path)
        assert refused.returncode == 1, refused.stderr
        expected = f"another trimtab (pid {running_a.pid}) is running on database {database}"
        assert expected in refused.stderr
        assert running_a.poll() is None
