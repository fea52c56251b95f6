"""One running trimtab per state directory, enforced with an advisory file lock; and one per
database: on SQLite with a file lock beside the database, on PostgreSQL with an advisory lock
unless they run as one cluster."""

from __future__ import annotations

__all__ = ["CYCLE_LOCK", "cycle_lock", "database_lock", "instance_lock"]

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from daemon.core.errors import StateError
from daemon.store.state_faults import StateNotWritable, describe_os_error

if TYPE_CHECKING:
    from daemon.store.cluster import SessionLock
    from daemon.store.db import Database

LOCK_NAME = "trimtab.lock"
DATABASE_LOCK = "trimtab:instance"
"""The advisory lock a running trimtab holds on its PostgreSQL database: exclusive for a
lone daemon or `run --once`, shared by every process of a cluster."""
CYCLE_LOCK = "trimtab:cycle:{group}"
"""The advisory lock held while one of a lock group's accounts is in a cycle: by a worker
around each job, and by `run --once` around each account's cycle."""


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's lock, or raise `StateError` naming the process that has it.

    `StateNotWritable` when the lock file can be neither created nor opened: the state
    directory cannot be written, so no cycle could record anything either.
    """
    with _file_lock(state_dir, state_dir / LOCK_NAME, f"state directory {state_dir}"):
        yield


@contextmanager
def _file_lock(directory: Path, path: Path, what: str) -> Iterator[None]:
    """Hold the advisory lock on `path` (in `directory`), writing this process's pid into it,
    or raise `StateError` naming the pid written by the process that holds it."""
    handle, writable = _open(directory, path)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise StateError(
                f"another trimtab (pid {holder}) is running on {what}; "
                "wait for it to finish or stop it first"
            ) from None
        if writable:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        yield
    finally:
        handle.close()


def _open(state_dir: Path, path: Path) -> tuple[IO[str], bool]:
    """Open the lock file for writing, else (it exists but is read-only) for reading: a lock
    is held on any open file, so only the pid written for the curious is lost."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path.open("a+"), True
    except OSError as exc:
        try:
            return path.open("r"), False
        except OSError:
            failed = Path(exc.filename) if exc.filename else path
            problem = describe_os_error(exc, failed, state_dir)
            raise StateNotWritable(f"cannot take the lock {path}: {problem}") from exc


@contextmanager
def database_lock(
    database: Database, *, cluster: bool, command: str | None = None
) -> Iterator[None]:
    """Hold the database's instance lock while running cycles, or raise `StateError`.

    Two lone daemons with their own state directories but one database would each schedule
    every account's cycles and run the same slots twice; a lone daemon beside a cluster
    likewise. On SQLite the lock is the file `<database>.lock` beside the database (beside
    the file a symbolic link names): database_url may name a file outside the state
    directory, whose own lock then does not cover it. On PostgreSQL it is an advisory lock
    the processes of one cluster share, on a connection of its own: if the server ends it, it
    is gone until a restart, and the cycles' own per-account guards still keep each slot to
    one run. `command`: a command that must not run beside any trimtab on the database (`db
    restored`), which its refusal names.
    """
    if database.is_sqlite:
        name = database.engine.url.database
        if not name:  # in memory: `open_database` refuses it
            yield
            return
        path = Path(name)
        real = path.resolve()
        with _file_lock(real.parent, real.with_name(real.name + ".lock"), f"database {path}"):
            yield
        return
    from daemon.store.cluster import SessionLock  # SQL is loaded only to run cycles

    lock = SessionLock(database, DATABASE_LOCK, shared=cluster)
    if not lock.try_acquire():
        if command is not None:
            raise StateError(
                "another trimtab (a lone one or a cluster) is running on this PostgreSQL "
                f"database (database_url); stop it before `{command}`"
            )
        holder = "a lone trimtab" if cluster else "another trimtab (a lone one or a cluster)"
        raise StateError(
            f"{holder} is running cycles on this PostgreSQL database (database_url); "
            + (
                "stop it before starting the cluster"
                if cluster
                else "stop it first, or run them all as one cluster ([cluster] enabled = "
                "true, docs/scaling.md)"
            )
        )
    try:
        yield
    finally:
        lock.release()


def cycle_lock(database: Database, group: str) -> SessionLock | None:
    """Return the (not yet taken) lock one cycle of `group` holds, or None on SQLite.

    On PostgreSQL a worker of a cluster may be running the group's cycle while `run --once`
    wants to (the database lock is shared by a cluster's processes, and a lone process's
    exclusive hold ends with its session): both take this lock, so an account is in one cycle
    at a time. A SQLite database is one process's, under `database_lock`.
    """
    if database.engine.dialect.name != "postgresql":
        return None
    from daemon.store.cluster import SessionLock  # SQL is loaded only to run cycles

    return SessionLock(database, CYCLE_LOCK.format(group=group))
