"""Telling a fault of the place from a fault of the data, with the errors SQLite really raises.

Each case provokes the real `sqlite3` error (a file that is not a database, a page limit
reached, a write lock held by another connection, a write through a read-only opening) and
checks the classification and its advice. Only the descriptions of operating-system errors
that an unprivileged test cannot provoke on any machine (EROFS, ENOSPC) take a constructed
`OSError`; the read-only directory itself is tested for real in
tests/integration/test_state_faults.py.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from daemon.core.errors import StateError
from daemon.store.state_faults import (
    NOT_CORRUPT,
    DatabaseCorrupt,
    DatabaseLocked,
    StateNotWritable,
    describe_os_error,
    diagnose_sqlite_error,
    write_problem,
)


def _error(path: Path, *statements: str, uri: str | None = None) -> sqlite3.Error:
    connection = sqlite3.connect(uri or str(path), uri=uri is not None, timeout=0)
    try:
        for statement in statements:
            connection.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("SQLite accepted what it should have refused")


def _diagnose(error: sqlite3.Error, path: Path) -> StateError:
    return diagnose_sqlite_error(error, where=str(path), state_dir=path.parent, sqlite_path=path)


def test_a_file_that_is_not_a_database_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "trimtab.db"
    path.write_bytes(b"definitely not SQLite " * 400)
    error = _error(path, "SELECT * FROM sqlite_master")
    assert error.sqlite_errorname == "SQLITE_NOTADB"
    found = _diagnose(error, path)
    assert isinstance(found, DatabaseCorrupt)
    assert "restore it from a backup" in str(found)
    assert "`trimtab db init --force`" in str(found)


def test_a_full_database_is_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "trimtab.db"
    error = _error(
        path,
        "CREATE TABLE t (x BLOB)",
        "PRAGMA max_page_count = 3",
        "INSERT INTO t VALUES (zeroblob(100000))",
    )
    assert error.sqlite_errorname == "SQLITE_FULL"
    found = _diagnose(error, path)
    assert isinstance(found, StateNotWritable)
    assert "is full" in str(found)
    assert NOT_CORRUPT in str(found)


def test_a_held_lock_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "trimtab.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        error = _error(path, "BEGIN IMMEDIATE")
    finally:
        holder.close()
    assert error.sqlite_errorname == "SQLITE_BUSY"
    found = _diagnose(error, path)
    assert isinstance(found, DatabaseLocked)
    assert "wait for it to finish" in str(found)
    assert "corrupt" not in str(found).replace(NOT_CORRUPT, "")


def test_a_read_only_opening_in_a_writable_place_is_not_called_unwritable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trimtab.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    error = _error(path, "INSERT INTO t VALUES (1)", uri=f"file:{path}?mode=ro")
    assert error.sqlite_errorname == "SQLITE_READONLY"
    found = _diagnose(error, path)
    # The place takes writes, so this is neither "not writable" nor "corrupt".
    assert type(found) is StateError
    assert "corrupt" not in str(found)
    assert "ls -la" in str(found)


def test_the_probe_finds_nothing_wrong_with_a_writable_place(tmp_path: Path) -> None:
    (tmp_path / "trimtab.db").write_bytes(b"")
    assert write_problem(tmp_path, [tmp_path / "trimtab.db", tmp_path / "absent-wal"]) is None
    assert list(tmp_path.iterdir()) == [tmp_path / "trimtab.db"]  # the probe cleaned up


@pytest.mark.parametrize(
    ("code", "named", "fix"),
    [
        (errno.EROFS, "read-only file system", "remount it read-write"),
        (errno.ENOSPC, "is full", "free some space"),
        (errno.EACCES, "is not writable by user", "chown -R"),
        (errno.EPERM, "immutable or append-only attribute", "chattr -i"),
    ],
)
def test_each_refusal_is_named_with_its_fix(
    tmp_path: Path, code: int, named: str, fix: str
) -> None:
    text = describe_os_error(OSError(code, "refused"), tmp_path, tmp_path)
    assert named in text
    assert fix in text
    assert str(tmp_path) in text
