"""One lone trimtab per database; the processes of one cluster share a PostgreSQL one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import broker_migrations
from daemon.cli import app as cli
from daemon.core.errors import StateError
from daemon.service.lock import database_lock
from daemon.store.db import Database, open_database

CONFIG = """
database_url = "{url}"
state_dir = "{state}"
[accounts.main]
broker = "sim"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.policy]
outside_hours = true
"""


@pytest.fixture
def other(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A second process's view of the same database, from another state directory."""
    db = open_database(database_url, tmp_path / "elsewhere", branches=broker_migrations())
    yield db
    db.close()


def test_a_second_lone_trimtab_on_one_postgresql_database_is_refused(
    database: Database, other: Database
) -> None:
    if database.engine.dialect.name != "postgresql":
        # SQLite: a file lock beside the database (tests/integration/test_sqlite_database_lock.py).
        with (
            database_lock(database, cluster=False),
            pytest.raises(StateError, match=r"another trimtab \(pid \d+\) is running on database"),
            database_lock(other, cluster=False),
        ):
            pass
        return
    with database_lock(database, cluster=False):
        with (
            pytest.raises(StateError, match=r"another trimtab .* is running cycles on this"),
            database_lock(other, cluster=False),
        ):
            pass
        with (
            pytest.raises(StateError, match="a lone trimtab is running cycles"),
            database_lock(other, cluster=True),
        ):
            pass
    # Released when the first one stops: the next one starts.
    with database_lock(other, cluster=False):
        pass


@pytest.mark.postgres
def test_the_processes_of_one_cluster_share_the_database(
    database: Database, other: Database
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("cluster mode runs on PostgreSQL only")
    with (
        database_lock(database, cluster=True),
        database_lock(other, cluster=True),
        pytest.raises(StateError, match="another trimtab"),
        database_lock(other, cluster=False),
    ):
        pass


@pytest.mark.postgres
def test_run_once_on_a_database_a_daemon_holds_exits_naming_it(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("the SQLite case: tests/integration/test_sqlite_database_lock.py")
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG.format(url=database_url, state=tmp_path / "second"))
    with database_lock(database, cluster=False):
        result = CliRunner().invoke(cli, ["run", "--once", "-c", str(config)])
        assert result.exit_code != 0
        assert "is running cycles on this PostgreSQL database" in result.output
        assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["run", "--once", "-c", str(config)])
    assert result.exit_code == 0, result.output
