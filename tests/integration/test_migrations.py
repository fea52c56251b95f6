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

from adapters.sim.plugin import MIGRATIONS
from adapters.sim.store import SimAccountRow, SimBase
from daemon.bootstrap import broker_migrations
from daemon.store.db import (
    Database,
    alembic_config,
    migrate,
    open_database,
    schema_is_current,
)
from daemon.store.metadata import full_metadata

SIM_TABLES = {"sim_accounts", "sim_positions", "sim_orders", "sim_fills", "sim_cash_movements"}
BRANCHES = (MIGRATIONS,)
CREATED = datetime(2024, 3, 5, 21, 0, tzinfo=UTC)


@pytest.fixture
def migrated(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A database upgraded from empty to head by `open_database`, the sim's branch included."""
    database = open_database(database_url, tmp_path / "state", branches=BRANCHES)
    yield database
    database.close()


def _differences(database: Database) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, [full_metadata(), SimBase.metadata]))  # type: ignore[arg-type] # Alembic compares a list of metadata too; its hint names one


def _alembic(database: Database) -> Iterator[AlembicConfig]:
    config = alembic_config(BRANCHES)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        yield config


def test_upgrade_from_empty_matches_the_models(migrated: Database) -> None:
    assert _differences(migrated) == []
    assert set(inspect(migrated.engine).get_table_names()) >= SIM_TABLES
    assert schema_is_current(migrated, BRANCHES)


def test_the_composition_root_migrates_the_sim_branch() -> None:
    assert MIGRATIONS in broker_migrations()


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
    assert not SIM_TABLES & set(full_metadata().tables)
    assert set(SimBase.metadata.tables) == SIM_TABLES


def test_migrations_form_one_line_of_history_and_one_sim_branch() -> None:
    script = ScriptDirectory.from_config(alembic_config(BRANCHES))
    heads = script.get_heads()
    assert len(heads) == 2
    lines = {}
    for head in heads:
        line = list(script.iterate_revisions(head, "base"))
        assert all(not isinstance(rev.down_revision, tuple) for rev in line)
        lines[line[-1].revision] = [rev.revision for rev in line]
    assert lines["0001"][-2:] == ["0002", "0001"]
    assert lines["sim_0001"] == ["sim_0001"]
    assert script.get_revision("sim@head").revision == "sim_0001"


def test_migrating_twice_is_a_no_op(migrated: Database) -> None:
    with migrated.transaction() as session:
        session.add(SimAccountRow(account="paper", cash=Decimal("1234.56"), created_at=CREATED))

    migrate(migrated, BRANCHES)

    assert _differences(migrated) == []
    assert schema_is_current(migrated, BRANCHES)
    with migrated.transaction() as session:
        row = session.scalars(select(SimAccountRow)).one()
    assert (row.account, row.cash, row.created_at) == ("paper", Decimal("1234.56"), CREATED)


def test_downgrade_of_the_sim_branch_then_upgrade_again(migrated: Database) -> None:
    main_tables = set(full_metadata().tables)
    for config in _alembic(migrated):
        command.downgrade(config, "sim@base")
    tables = set(inspect(migrated.engine).get_table_names())
    assert not SIM_TABLES & tables
    assert main_tables <= tables  # trimtab's own chain is untouched

    migrate(migrated, BRANCHES)

    assert _differences(migrated) == []
    assert schema_is_current(migrated, BRANCHES)


@pytest.mark.parametrize("notional", [True, False], ids=["at-0007", "before-0007"])
def test_a_database_from_before_the_sim_branch_upgrades_cleanly(
    database_url: str, tmp_path: Path, notional: bool
) -> None:
    """Databases made when trimtab's chain held the sim's tables (0002, and 0007's column)."""
    (tmp_path / "state").mkdir()  # where the SQLite file of `database_url` goes
    database = Database(database_url)
    try:
        migrate(database)  # trimtab's chain alone, as far as revision 0007
        with database.engine.begin() as connection:
            SimBase.metadata.create_all(connection)
            if not notional:  # made before 0007 added the column
                connection.exec_driver_sql("ALTER TABLE sim_orders DROP COLUMN notional")
        with database.transaction() as session:
            session.add(SimAccountRow(account="paper", cash=Decimal(5), created_at=CREATED))
        assert not schema_is_current(database, BRANCHES)

        migrate(database, BRANCHES)

        assert _differences(database) == []
        assert schema_is_current(database, BRANCHES)
        with database.transaction() as session:
            row = session.scalars(select(SimAccountRow)).one()
        assert (row.account, row.cash) == ("paper", Decimal(5))
    finally:
        database.close()
