"""Open the state database: create it once, migrate it, and never replace it silently.

A state directory remembers which database it uses in `database.json`. Once that marker
exists, a missing SQLite file or a database without trimtab's schema is an error to restore
from backup, not a reason to start over with an empty one: an empty database would mean "no
open orders", which invites duplicates.

Migrations: trimtab's own chain (`migrations/versions`) plus one branch per broker plugin that
keeps tables of its own (`branches`: each its version directory, e.g. the sim's); all run to
their heads together, in one transaction.
"""

from __future__ import annotations

__all__ = [
    "Database",
    "Transaction",
    "alembic_config",
    "open_database",
    "redact_url",
    "reset_marker",
    "set_aside_sqlite_file",
]

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from daemon.audit.head import AUDIT_HEAD_NAME
from daemon.core.errors import StateError
from daemon.store.audit_log import SESSION_KEY

Transaction: TypeAlias = Session
"""An open unit of work (`Database.transaction()`). Outside `daemon/store/` it is only handed
on, to repositories and `AuditLog`: no module outside the store imports SQLAlchemy or a row
class (tests/unit/test_layout.py), so none can query with it."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MARKER_NAME = "database.json"


def redact_url(url: str) -> str:
    """Return the URL with any password hidden, for messages and the marker file."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """An engine plus a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str, *, audit_head: Path | None = None) -> None:
        self.url = url
        self.engine: Engine = _create_engine(url)
        # Sessions carry the audit head file's path, so every audit append updates it.
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={SESSION_KEY: audit_head}
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Yield a session whose work commits together, or not at all."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below drive transactions so DDL is transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, which the write-ahead order intents rely on.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue instead of failing
        # half-way through a read-then-write transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_database(
    url: str, state_dir: Path, *, allow_create: bool = True, branches: Sequence[Path] = ()
) -> Database:
    """Open, check and migrate the state database (and `branches`); create it only on first use.

    Raise `StateError` when the database is missing or corrupt although this state directory
    has used it before.
    """
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    marker = state_dir / MARKER_NAME
    known = marker.exists()
    sqlite_path = _sqlite_path(url)
    if sqlite_path is not None and not sqlite_path.exists() and (known or not allow_create):
        raise StateError(
            f"database {sqlite_path} is missing but state directory {state_dir} has used it "
            "before; restore it from a backup (see docs/operations.md), or run "
            "`trimtab db init --force` to start over with an empty one on purpose"
        )
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = Database(url, audit_head=state_dir / AUDIT_HEAD_NAME)
    try:
        _check_integrity(database)
        if known and not _has_schema(database):
            raise StateError(
                f"database {redact_url(url)} has no trimtab schema but state directory "
                f"{state_dir} has used it before; restore it from a backup, or run "
                "`trimtab db init --force` to start over with an empty one on purpose"
            )
        migrate(database, branches)
    except BaseException:
        database.close()
        raise
    if not known:
        _write_marker(marker, url)
    if sqlite_path is not None:
        sqlite_path.chmod(0o600)
    return database


def reset_marker(state_dir: Path) -> None:
    """Forget which database this state directory used (the operator's explicit start-over)."""
    (state_dir / MARKER_NAME).unlink(missing_ok=True)
    head = state_dir / AUDIT_HEAD_NAME
    if head.exists():
        # The new log starts again at record 1; keep the old head beside the old database.
        aside = f"{AUDIT_HEAD_NAME}.set-aside-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        head.rename(head.with_name(aside))


def set_aside_sqlite_file(url: str) -> Path | None:
    """Rename the SQLite file of `url` aside (the operator's explicit start-over); return its
    new path, or None when there is no such file (or the database is not SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database)
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.set-aside-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    path.rename(aside)
    return aside


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise StateError("an in-memory SQLite database would lose every order; use a file")
    return Path(parsed.database)


def _check_integrity(database: Database) -> None:
    try:
        with database.engine.connect() as connection:
            if database.is_sqlite:
                result = connection.exec_driver_sql("PRAGMA quick_check").scalar()
                if result != "ok":
                    raise StateError(
                        f"database {redact_url(database.url)} failed its integrity check "
                        f"({result}); restore it from a backup"
                    )
            else:
                connection.execute(text("SELECT 1"))
    except DatabaseError as exc:
        if isinstance(exc, OperationalError) and not database.is_sqlite:
            raise StateError(
                f"cannot reach database {redact_url(database.url)}: {exc.orig}"
            ) from exc
        raise StateError(
            f"database {redact_url(database.url)} is unreadable or corrupt ({exc.orig}); "
            "restore it from a backup"
        ) from exc


def _has_schema(database: Database) -> bool:
    return inspect(database.engine).has_table("alembic_version")


def alembic_config(branches: Sequence[Path] = ()) -> AlembicConfig:
    """Return the Alembic configuration of trimtab's chain plus the `branches`' directories."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = [MIGRATIONS_DIR / "versions", *branches]
    config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
    return config


def migrate(database: Database, branches: Sequence[Path] = ()) -> None:
    """Apply every pending migration of trimtab's chain and of `branches` in one transaction."""
    config = alembic_config(branches)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def schema_is_current(database: Database, branches: Sequence[Path] = ()) -> bool:
    """Tell whether the database is at the newest migration of the chain and of `branches`."""
    heads = ScriptDirectory.from_config(alembic_config(branches)).get_heads()
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(heads)


def _write_marker(marker: Path, url: str) -> None:
    content = {"database": redact_url(url), "created_at": datetime.now(UTC).isoformat()}
    marker.write_text(json.dumps(content, indent=2) + "\n")
    marker.chmod(0o600)
