"""Nothing replaces or renews a database a running trimtab uses.

Found by an ops audit, with a real daemon: `trimtab db init --force` beside a running
`trimtab run` renamed trimtab.db aside under it. The daemon kept its connection to the old
file and went on trading, while every later command, `trimtab kill` included, wrote to the
new database it never read: `status` said ENGAGED and "Last cycle: never" while the daemon
submitted orders. `db restored` ran beside it as well. Both now refuse, naming the running
trimtab, and change nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.bootstrap import broker_migrations
from daemon.store.db import open_database
from daemon.store.intents import database_identity
from daemon.store.killswitch import current
from tests.fakes.cli import fresh_logging
from tests.integration.lock_setup import daemon, invoke, running, trimtab, write_config

__all__ = ["fresh_logging"]  # a fixture, used by name

pytestmark = pytest.mark.usefixtures("fresh_logging")

COMMANDS = [("db", "init", "--force"), ("db", "restored")]


def switch_and_identity(url: str, state: Path) -> tuple[bool, str]:
    database = open_database(url, state, branches=broker_migrations())
    try:
        with database.transaction() as session:
            return current(session).engaged, database_identity(session)
    finally:
        database.close()


def listing(*dirs: Path) -> list[str]:
    return sorted(str(p) for d in dirs for p in d.iterdir())


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_command_beside_a_running_trimtab_is_refused_and_changes_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path / "trimtab.toml", state)
    url = f"sqlite:///{state / 'trimtab.db'}"
    assert invoke("db", "init", "-c", str(config))[0] == 0
    before = switch_and_identity(url, state)
    with running(url, state):
        files = listing(state)
        code, output = invoke(*command, "-c", str(config))
        assert code == 1, output
        assert f"another trimtab (pid {os.getpid()}) is running on state directory" in output
        assert "Traceback" not in output
        assert listing(state) == files  # nothing set aside, no marker or head moved
    assert switch_and_identity(url, state) == before == (False, before[1])


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_command_beside_a_trimtab_of_another_state_directory_is_refused(
    database_url: str, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """The running one uses the same database (database_url) from a state directory of its own."""
    if command[1] == "init" and not database_url.startswith("sqlite"):
        pytest.skip("db init --force replaces nothing in a PostgreSQL database")
    state = tmp_path / "second"
    config = write_config(tmp_path / "trimtab.toml", state, database_url)
    assert invoke("db", "init", "-c", str(config))[0] == 0
    with running(database_url, tmp_path / "state"):
        before = switch_and_identity(database_url, state)
        files = listing(tmp_path / "state", state)
        code, output = invoke(*command, "-c", str(config))
        assert code == 1, output
        if database_url.startswith("sqlite"):
            expected = f"another trimtab (pid {os.getpid()}) is running on database "
        else:
            expected = "another trimtab (a lone one or a cluster) is running on this PostgreSQL"
        assert expected in output
        assert "Traceback" not in output
        assert listing(tmp_path / "state", state) == files
        assert switch_and_identity(database_url, state) == before == (False, before[1])
    # Once it has stopped, the command runs.
    code, output = invoke(*command, "-c", str(config))
    assert code == 0, output
    assert "kill switch engaged" in output


@pytest.mark.slow
def test_beside_a_real_daemon_db_init_force_and_db_restored_are_refused(tmp_path: Path) -> None:
    """The audit's repro with real processes, up to the point where it went wrong."""
    state = tmp_path / "state"
    config = write_config(tmp_path / "trimtab.toml", state)
    assert trimtab("db", "init", "-c", str(config), cwd=tmp_path).returncode == 0
    with daemon(config, tmp_path / "daemon.log") as running_daemon:
        for command in COMMANDS:
            done = trimtab(*command, "-c", str(config), cwd=tmp_path)
            assert done.returncode == 1, done.stdout + done.stderr
            expected = f"another trimtab (pid {running_daemon.pid}) is running on state directory"
            assert expected in done.stderr
        assert [p.name for p in state.iterdir() if "set-aside" in p.name] == []
        assert (state / "trimtab.db").exists()
        assert running_daemon.poll() is None
