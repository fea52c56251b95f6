"""The migration revisions a database records, and those trimtab's chain and broker branches
provide: what `daemon.bootstrap.broker_migrations` compares to choose the branches to open a
database with (the configured brokers', and those of tables the database already keeps).
"""

from __future__ import annotations

__all__ = ["known_revisions", "recorded_revisions"]

from collections.abc import Collection
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from daemon.store.db import Database, alembic_config


def known_revisions(branches: Collection[Path]) -> frozenset[str]:
    """Return the revisions of trimtab's migration chain and of `branches`."""
    script = ScriptDirectory.from_config(alembic_config(sorted(branches)))
    return frozenset(revision.revision for revision in script.walk_revisions())


def recorded_revisions(url: str, state_dir: Path) -> frozenset[str] | None:
    """Return the revisions the database at `url` is at, reading only (SQLite read-only).

    Empty for a database not made yet; None when it cannot be read here: opening it (see
    `open_database`) then meets the same fault and names it.
    """
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and not (parsed.database and Path(parsed.database).exists()):
        return frozenset()
    try:
        database = Database(url, state_dir=state_dir, read_only=sqlite)
        try:
            with database.engine.connect() as connection:
                return frozenset(MigrationContext.configure(connection).get_current_heads())
        finally:
            database.close()
    except Exception:  # met again, and named, by open_database
        return None
