"""A database migrated by a newer trimtab than the one running: a clear refusal, untouched.

Found by an audit: an older checkout (without the backup restored) met `alembic_version` at a
revision it has never heard of, and `status` and `run --once` died with Alembic's traceback
"Can't locate revision identified by ...".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from daemon.bootstrap import broker_migrations
from daemon.cli import app
from daemon.core.errors import StateError
from daemon.store.db import Database, open_database, schema_is_current
from tests.fakes.cli import fresh_logging

__all__ = ["fresh_logging"]  # a fixture, used by name

FUTURE = "9999"
"""A revision beyond every one this trimtab ships (0011 is a real one now)."""


def _from_the_future(database: Database) -> str:
    """Move the database's trimtab chain to FUTURE, as a newer trimtab's upgrade would; return
    the revision it was at."""
    with database.engine.begin() as connection:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        ours = str(next(rev for rev in rows if not rev.startswith("sim_")))
        connection.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"new": FUTURE, "old": ours},
        )
    return ours


def _versions(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _assert_refusal(message: str, head: str) -> None:
    assert f"database at revision {FUTURE} is newer than this trimtab" in message
    assert f"(head {head}" in message
    assert "install the newer trimtab or restore the backup taken before the upgrade" in message
    assert "docs/operations.md" in message


def test_opening_a_newer_database_is_refused_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    branches = broker_migrations()
    database = open_database(database_url, state, branches=branches)
    head = _from_the_future(database)
    before = _versions(database)
    with pytest.raises(StateError) as caught:
        schema_is_current(database, branches)  # what a read-only opening asks first
    _assert_refusal(str(caught.value), head)
    database.close()

    with pytest.raises(StateError) as caught:
        open_database(database_url, state, branches=branches)
    _assert_refusal(str(caught.value), head)
    with pytest.raises(StateError):
        open_database(database_url, state, branches=branches, read_only=True)

    database = Database(database_url)
    try:
        assert _versions(database) == before  # nothing migrated, nothing stamped
    finally:
        database.close()


@pytest.mark.usefixtures("fresh_logging")
def test_status_and_run_say_so_without_a_traceback(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example.parent)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "init", "-c", str(example)]).exit_code == 0
    database = Database(f"sqlite:///{example.parent / 'state' / 'trimtab.db'}")
    try:
        head = _from_the_future(database)
    finally:
        database.close()
    for args in (["status"], ["run", "--once"]):
        result = runner.invoke(app, [*args, "-c", str(example)])
        assert isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        _assert_refusal(" ".join(result.output.split()), head)
