"""The hand-written migrations build exactly the schema the models declare, on every database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from adapters.sim.models import SimAccountRow
from daemon.store.db import (
    MIGRATIONS_DIR,
    Database,
    migrate,
    open_database,
    schema_is_current,
)
from daemon.store.metadata import full_metadata

SIM_TABLES = {"sim_accounts", "sim_positions", "sim_orders", "sim_fills", "sim_cash_movements"}


@pytest.fixture
def migrated(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A database upgraded from empty to head by `open_database`."""
    database = open_database(database_url, tmp_path / "state")
    yield database
    database.close()


def _differences(database: Database) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, full_metadata()))


def _alembic(database: Database) -> Iterator[AlembicConfig]:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        yield config


def test_upgrade_from_empty_matches_the_models(migrated: Database) -> None:
    assert _differences(migrated) == []
    assert set(inspect(migrated.engine).get_table_names()) >= SIM_TABLES
    assert schema_is_current(migrated)


@pytest.mark.slow
def test_full_metadata_declares_every_table_in_a_fresh_interpreter() -> None:
    # This test process has imported every model already, which would hide a module that
    # full_metadata() forgets to import; a new interpreter sees only what it imports.
    code = (
        "from daemon.store.metadata import full_metadata; "
        "print(' '.join(sorted(full_metadata().tables)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert set(result.stdout.split()) == set(full_metadata().tables)


def test_migrations_form_one_line_of_history() -> None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1
    revisions = [rev.revision for rev in script.walk_revisions("base", "heads")]
    assert revisions[-2:] == ["0002", "0001"]


def test_migrating_twice_is_a_no_op(migrated: Database) -> None:
    created = datetime(2024, 3, 5, 21, 0, tzinfo=UTC)
    with migrated.transaction() as session:
        session.add(SimAccountRow(account="paper", cash=Decimal("1234.56"), created_at=created))

    migrate(migrated)

    assert _differences(migrated) == []
    assert schema_is_current(migrated)
    with migrated.transaction() as session:
        row = session.scalars(select(SimAccountRow)).one()
    assert (row.account, row.cash, row.created_at) == ("paper", Decimal("1234.56"), created)


def test_downgrade_of_the_sim_tables_then_upgrade_again(migrated: Database) -> None:
    for config in _alembic(migrated):
        command.downgrade(config, "0001")
    assert not SIM_TABLES & set(inspect(migrated.engine).get_table_names())

    migrate(migrated)

    assert _differences(migrated) == []
