"""Open the state database: create it once, migrate it, and never replace it silently.

A state directory remembers which database it uses in `database.json`. Once that marker
exists, a missing SQLite file or a database without trimtab's schema is an error to restore
from backup, not a reason to start over with an empty one: an empty database would mean "no
open orders", which invites duplicates. Without the marker, any other trace of earlier state
(the audit head, daily reports, a write-ahead log) means the same: the state was lost, not new.

A command that only reads (`read_only=True`) opens an existing SQLite database that cannot
be written read-only, when its schema is at the newest migration: it writes nothing (no
migration, no marker), so it works on a state directory that cannot be written. A SQLite
fault met while opening or writing is named precisely (`daemon.store.state_faults`):
permissions, a read-only file system, a full disk and a lock are not corruption, and only
corruption calls for a backup.

Migrations: trimtab's own chain (`migrations/versions`) plus one branch per broker plugin that
keeps tables of its own (`branches`: each its version directory, e.g. the sim's); all run to
their heads together, in one transaction.
"""

from __future__ import annotations

__all__ = [
    "Database",
    "Transaction",
    "alembic_config",
    "earlier_state_traces",
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
from urllib.parse import quote

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from daemon.audit.head import AUDIT_HEAD_NAME
from daemon.config.urls import hide_password, url_secrets
from daemon.core.errors import StateError
from daemon.core.redaction import redact
from daemon.store.audit_log import SECRETS_KEY, SESSION_KEY
from daemon.store.scrub import scrub_free_text
from daemon.store.state_faults import (
    DatabaseCorrupt,
    StateNotWritable,
    corrupt_message,
    describe_os_error,
    diagnose_sqlite_error,
    is_state_fault,
    state_files,
    write_problem,
)

Transaction: TypeAlias = Session
"""An open unit of work (`Database.transaction()`). Outside `daemon/store/` it is only handed
on, to repositories and `AuditLog`: no module outside the store imports SQLAlchemy or a row
class (tests/unit/test_layout.py), so none can query with it."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MARKER_NAME = "database.json"
TRACES = (AUDIT_HEAD_NAME, "reports")
"""Files and directories that only a state directory with a database leaves behind (the
audit head after the first audited commit; `daemon.report.writer.REPORTS_DIR`). The lock
file is not one: `trimtab run` takes it before the first database is created."""


def redact_url(url: str) -> str:
    """Return the URL with any password hidden, for messages and the marker file: all of it,
    up to the last `@` (`daemon.config.urls`), even one SQLAlchemy would misread, and a
    password given as a query parameter (`?password=`, `?sslpassword=`, ...)."""
    return hide_password(url)


def _driver_message(exc: DatabaseError, url: str) -> str:
    """Return the driver's own message with the URL's password taken out, in every form a
    driver may quote it (a host read from inside the password quotes its tail)."""
    # As `secret_values`: a piece this short would blank ordinary letters of the message.
    return redact(str(exc.orig), (s for s in url_secrets(url) if len(s) >= 4))


class Database:
    """An engine plus a session factory; `transaction()` is the unit of work.

    `read_only`: a SQLite database opened read-only (`open_database(read_only=True)`); a
    write through it raises `StateNotWritable`, naming why it was opened that way.
    """

    def __init__(
        self,
        url: str,
        *,
        audit_head: Path | None = None,
        state_dir: Path | None = None,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.secrets: frozenset[str] = frozenset()
        """The configuration's secrets, scrubbed from every audit record before it is hashed
        and stored (`AuditLog.append`); set by the composition root, renewed on a reload."""
        self.state_dir = state_dir
        self.engine: Engine = _create_engine(url, state_dir=state_dir, read_only=read_only)
        # Sessions carry the audit head file's path, so every audit append updates it.
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={SESSION_KEY: audit_head}
        )
        event.listen(self._sessions, "before_flush", scrub_free_text)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Yield a session whose work commits together, or not at all."""
        with self._sessions() as session, session.begin():
            session.info[SECRETS_KEY] = self.secrets
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _create_engine(url: str, *, state_dir: Path | None, read_only: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = Path(parsed.database or "")
    if read_only:
        uri = _read_only_uri(path, state_dir or path.parent)
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, timeout=15, check_same_thread=False),
            poolclass=NullPool,
        )
    else:
        engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below drive transactions so DDL is transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, which the write-ahead order intents rely on.
            cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue instead of failing
        # half-way through a read-then-write transaction. A reader takes no write lock.
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A fault of the place (permissions, read-only file system, full disk, lock) or of
        # the data, met on any statement, is raised as the StateError that names it.
        original = context.original_exception
        if is_state_fault(original):
            if read_only and getattr(original, "sqlite_errorname", "").startswith(
                "SQLITE_READONLY"
            ):
                raise _reader_cannot_write(path, state_dir or path.parent) from original
            raise diagnose_sqlite_error(
                original, where=str(path), state_dir=state_dir or path.parent, sqlite_path=path
            ) from original

    return engine


def _read_only_uri(path: Path, state_dir: Path) -> str:
    """Return the URI that opens `path` read-only.

    A WAL database opens read-only only where its `-shm` file exists or can be created. In a
    directory nobody can write, with no `-wal` file, no process is writing it (a writer keeps
    both files), so `immutable=1` reads it without them.
    """
    quoted = quote(str(path.resolve()))
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() and write_problem(state_dir) is not None:
        return f"file:{quoted}?mode=ro&immutable=1"
    return f"file:{quoted}?mode=ro"


def _reader_cannot_write(path: Path, state_dir: Path) -> StateError:
    problem = write_problem(state_dir, (path,))
    why = f": {problem}" if problem else ""
    return StateNotWritable(
        f"this command needs to write, but database {path} was opened read-only because it "
        f"cannot be written{why}"
    )


def open_database(
    url: str,
    state_dir: Path,
    *,
    allow_create: bool = True,
    branches: Sequence[Path] = (),
    read_only: bool = False,
    start_over: bool = False,
) -> Database:
    """Open, check and migrate the state database (and `branches`); create it only on first use.

    Raise `StateError` when the database is missing or corrupt although this state directory
    has used it before (`start_over`: the operator's `trimtab db init --force` says it has not),
    and `StateNotWritable` when it cannot be written here. `read_only` (a command that only
    reads): where the SQLite database cannot be written, open it read-only, writing nothing,
    if its schema is current; where it can, open it as usual (a command that reads may still
    write now and then: the sim fills a resting order when looked at).
    """
    sqlite_path = _sqlite_path(url)
    where = str(sqlite_path) if sqlite_path is not None else redact_url(url)
    if (
        read_only
        and sqlite_path is not None
        and sqlite_path.exists()
        and write_problem(state_dir, state_files(sqlite_path)) is not None
    ):
        reader = _open_reader(url, state_dir, sqlite_path, branches)
        if reader is not None:
            return reader
    _make_dir(state_dir, state_dir)
    marker = state_dir / MARKER_NAME
    known = marker.exists()
    if sqlite_path is not None and not sqlite_path.exists():
        if known or not allow_create:
            raise StateError(
                f"database {sqlite_path} is missing but state directory {state_dir} has used "
                "it before; restore it from a backup (see docs/operations.md), or run "
                "`trimtab db init --force` to start over with an empty one on purpose"
            )
        if not start_over:
            _refuse_lost_state(state_dir, where, sqlite_path)
        _make_dir(sqlite_path.parent, state_dir)
    database = Database(url, audit_head=state_dir / AUDIT_HEAD_NAME, state_dir=state_dir)
    try:
        _check_integrity(database)
        if not _has_schema(database):
            if known:
                raise StateError(
                    f"database {redact_url(url)} has no trimtab schema but state directory "
                    f"{state_dir} has used it before; restore it from a backup, or run "
                    "`trimtab db init --force` to start over with an empty one on purpose"
                )
            if not start_over:
                # Not its -wal and -shm: opening the database has just created them.
                _refuse_lost_state(state_dir, where, None)
        migrate(database, branches)
        if not known:
            _write_marker(marker, url)
        if sqlite_path is not None:
            _make_private(sqlite_path)
    except OSError as exc:
        database.close()
        failed = Path(exc.filename) if exc.filename else state_dir
        problem = describe_os_error(exc, failed, state_dir)
        raise StateNotWritable(f"cannot write the state: {problem}") from exc
    except BaseException:
        database.close()
        raise
    return database


def _open_reader(
    url: str, state_dir: Path, sqlite_path: Path, branches: Sequence[Path]
) -> Database | None:
    """Open the SQLite database read-only; None when its schema needs migrating first."""
    database = Database(url, state_dir=state_dir, read_only=True)
    try:
        _check_integrity(database)
        if _has_schema(database) and schema_is_current(database, branches):
            return database
    except BaseException:
        database.close()
        raise
    database.close()
    return None


def earlier_state_traces(state_dir: Path) -> list[str]:
    """Name what in `state_dir` shows that a database was used here before."""
    found = []
    for name in TRACES:
        path = state_dir / name
        if path.is_file():
            found.append(name)
        elif path.is_dir() and any(path.iterdir()):
            found.append(f"{name}/ ({sum(1 for _ in path.iterdir())} file(s))")
    return found


def _refuse_lost_state(state_dir: Path, where: str, sqlite_path: Path | None) -> None:
    traces = earlier_state_traces(state_dir)
    if sqlite_path is not None:
        traces += [p.name for p in state_files(sqlite_path)[1:] if p.exists() and p.stat().st_size]
    if traces:
        raise StateError(
            f"database {where} and its marker {MARKER_NAME} are gone, but state directory "
            f"{state_dir} still holds {', '.join(traces)}: the state was lost, not new, and "
            "an empty database would trade again from scratch; restore the database and "
            f'{MARKER_NAME} from a backup (docs/operations.md, "Back up and restore"), or run '
            "`trimtab db init --force` to start over with an empty one on purpose"
        )


def _make_dir(path: Path, state_dir: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        failed = Path(exc.filename) if exc.filename else path
        raise StateNotWritable(
            f"cannot create the state directory: {describe_os_error(exc, failed, state_dir)}"
        ) from exc


def _make_private(path: Path) -> None:
    # Only when needed: a file already private needs no chmod, which may be refused (a file
    # of another user, an immutable one) although the database is perfectly usable.
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


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
    stamp = f"set-aside-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    aside = path.with_name(f"{path.name}.{stamp}")
    # Its write-ahead log goes with it: a new database must never replay the old one's.
    for companion in state_files(path)[1:]:
        if companion.exists():
            companion.rename(companion.with_name(f"{path.name}.{stamp}{companion.name[-4:]}"))
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
                    raise DatabaseCorrupt(
                        corrupt_message(
                            redact_url(database.url), f"its integrity check says: {result}"
                        )
                    )
            else:
                connection.execute(text("SELECT 1"))
    except DatabaseError as exc:
        if isinstance(exc, OperationalError) and not database.is_sqlite:
            raise StateError(
                f"cannot reach database {redact_url(database.url)}: "
                f"{_driver_message(exc, database.url)}"
            ) from exc
        path = _sqlite_path(database.url)
        state_dir = database.state_dir or (path.parent if path is not None else Path.cwd())
        raise diagnose_sqlite_error(
            exc, where=redact_url(database.url), state_dir=state_dir, sqlite_path=path
        ) from exc


def _has_schema(database: Database) -> bool:
    return inspect(database.engine).has_table("alembic_version")


MIGRATION_LOCK = "trimtab:migrations"
"""PostgreSQL advisory lock held while migrating (with the schema's name: per schema)."""


def alembic_config(branches: Sequence[Path] = ()) -> AlembicConfig:
    """Return the Alembic configuration of trimtab's chain plus the `branches`' directories."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = [MIGRATIONS_DIR / "versions", *branches]
    config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
    return config


def migrate(database: Database, branches: Sequence[Path] = ()) -> None:
    """Apply every pending migration of trimtab's chain and of `branches` in one transaction.

    Raise `StateError` when the database is at a revision this trimtab does not know (a newer
    trimtab migrated it), before changing anything.
    """
    config = alembic_config(branches)
    with database.engine.begin() as connection:
        if not database.is_sqlite:
            # Processes starting together on one PostgreSQL database (a cluster's workers
            # and scheduler) migrate one after the other: the later ones then find nothing
            # to do, instead of racing to create the same tables.
            connection.exec_driver_sql(
                "SELECT pg_advisory_xact_lock("
                f"hashtextextended('{MIGRATION_LOCK}@' || coalesce(current_schema(), ''), 0))"
            )
        _refuse_unknown_revisions(connection, ScriptDirectory.from_config(config))
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def schema_is_current(database: Database, branches: Sequence[Path] = ()) -> bool:
    """Tell whether the database is at the newest migration of the chain and of `branches`.

    Raise `StateError` when it is at a revision this trimtab does not know.
    """
    script = ScriptDirectory.from_config(alembic_config(branches))
    with database.engine.connect() as connection:
        current = _refuse_unknown_revisions(connection, script)
    return set(current) == set(script.get_heads())


def _refuse_unknown_revisions(connection: Connection, script: ScriptDirectory) -> tuple[str, ...]:
    """Return the database's current revisions; raise `StateError` if any is not in `script`.

    Only a newer trimtab writes a revision this one lacks; Alembic would fail on it with a
    traceback ("Can't locate revision"), and there is no way back but the newer code or the
    backup taken before its upgrade.
    """
    current = MigrationContext.configure(connection).get_current_heads()
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = sorted(rev for rev in current if rev not in known)
    if unknown:
        raise StateError(
            f"database at revision {', '.join(unknown)} is newer than this trimtab "
            f"(head {', '.join(sorted(script.get_heads()))}); install the newer trimtab or "
            'restore the backup taken before the upgrade (docs/operations.md, "Upgrade")'
        )
    return current


def _write_marker(marker: Path, url: str) -> None:
    content = {"database": redact_url(url), "created_at": datetime.now(UTC).isoformat()}
    marker.write_text(json.dumps(content, indent=2) + "\n")
    marker.chmod(0o600)
