"""What is wrong with a state directory that cannot be used, and what to do about it.

A database that cannot be opened is either in the wrong *place* (the directory or a file is
not writable by this user, the file system is mounted read-only, the disk is full, another
process holds the lock) or *damaged* (SQLite says "file is not a database", "database disk
image is malformed", or the integrity check fails). The two call for opposite actions: fix
the place and keep the data, or restore the data. Telling an operator to restore an intact
database from a backup throws away everything since that backup, so a message only says
"corrupt" when SQLite itself says so; otherwise the directory is probed with real writes
(a temporary file, an open for writing that changes nothing) and the operating system's own
answer (EACCES, EPERM, EROFS, ENOSPC) is named with its fix.
"""

from __future__ import annotations

__all__ = [
    "DatabaseCorrupt",
    "DatabaseLocked",
    "StateNotWritable",
    "corrupt_message",
    "describe_os_error",
    "diagnose_sqlite_error",
    "is_state_fault",
    "state_files",
    "write_problem",
]

import errno
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from daemon.core.errors import StateError

_CORRUPT = frozenset({"SQLITE_NOTADB", "SQLITE_CORRUPT"})
_LOCKED = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
# Codes that mean "this place cannot be written (or opened)", never "the data is bad".
_PLACE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_FULL")
NOT_CORRUPT = "the database itself is not damaged: do not restore it from a backup"


class StateNotWritable(StateError):
    """The state cannot be written here (permissions, a read-only file system, a full disk,
    an immutable file); the data is intact and stays so."""


class DatabaseLocked(StateError):
    """Another process holds the database's write lock for longer than the busy timeout."""


class DatabaseCorrupt(StateError):
    """SQLite says the file is not a database, or it fails its integrity check."""


def corrupt_message(where: str, detail: str) -> str:
    """Return the one message for a damaged database: both ways out, the safer first."""
    return (
        f"database {where} is corrupt ({detail}); restore it from a backup (docs/operations.md, "
        '"Back up and restore"), or run `trimtab db init --force` to set it aside and start '
        "over with an empty one (it starts with the kill switch engaged: check each account "
        "at its broker, then `trimtab resume`)"
    )


def state_files(sqlite_path: Path) -> tuple[Path, ...]:
    """Return the SQLite file and its write-ahead log and shared-memory files."""
    return (sqlite_path, *(sqlite_path.with_name(sqlite_path.name + s) for s in ("-wal", "-shm")))


def write_problem(state_dir: Path, files: Sequence[Path] = ()) -> str | None:
    """Probe `state_dir` and `files` with real writes; return what stops them, or None.

    The directory gets a temporary file created and removed; each existing file is opened
    for appending and closed, which changes nothing in it. The first refusal is described.
    """
    try:
        handle, name = tempfile.mkstemp(prefix=".trimtab-probe-", dir=state_dir)
    except FileNotFoundError:
        return None  # the directory does not exist yet: nothing here to diagnose
    except OSError as exc:
        return describe_os_error(exc, state_dir, state_dir)
    os.close(handle)
    Path(name).unlink(missing_ok=True)
    for path in files:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        except FileNotFoundError:
            continue
        except OSError as exc:
            return describe_os_error(exc, path, state_dir)
    return None


def describe_os_error(exc: OSError, path: Path, state_dir: Path) -> str:
    """Say what the operating system's refusal to write `path` means and how to fix it."""
    user = _user_name(os.geteuid())
    code = exc.errno
    if code == errno.EROFS:
        return (
            f"{path} is on a read-only file system; remount it read-write "
            f"(e.g. `mount -o remount,rw` on its mount point) or set state_dir to a "
            "writable directory"
        )
    if code in (errno.ENOSPC, errno.EDQUOT):
        free = shutil.disk_usage(state_dir).free if state_dir.exists() else 0
        return (
            f"the disk holding {state_dir} is full ({free // 1024} KiB free, or the user's "
            "quota is used up); free some space there"
        )
    owner, mode = _owner_and_mode(path)
    if code == errno.EACCES:
        return (
            f"{path} is not writable by user {user} (owner {owner}, mode {mode}); make that "
            f"user its owner with write permission: `chown -R {user} {state_dir}` and "
            f"`chmod -R u+rwX {state_dir}`, or run trimtab as {owner}"
        )
    if code == errno.EPERM:
        return (
            f"{path} may not be changed by user {user} (owner {owner}, mode {mode}; "
            "Operation not permitted: an immutable or append-only attribute, which "
            f"`lsattr -d {path}` shows, or a file of another user); clear the attribute with "
            f"`chattr -i {path}`, or give it to {user} with `chown`"
        )
    return f"{path} cannot be written: {exc.strerror or exc}"


def is_state_fault(error: BaseException) -> bool:
    """Tell whether a DB-API error is a fault of the place or of the data (which
    `diagnose_sqlite_error` names), not of a statement (a constraint, a typo in SQL)."""
    name = str(getattr(error, "sqlite_errorname", ""))
    return name in _CORRUPT or name in _LOCKED or name.startswith(_PLACE)


def diagnose_sqlite_error(
    error: BaseException, *, where: str, state_dir: Path, sqlite_path: Path | None
) -> StateError:
    """Turn a SQLite error met while opening or writing into the `StateError` it calls for.

    `error` is the DB-API exception (`sqlite3.Error`), or anything carrying one as `orig`.
    """
    orig = getattr(error, "orig", None) or error
    name = str(getattr(orig, "sqlite_errorname", ""))
    detail = str(orig)
    if name in _CORRUPT:
        return DatabaseCorrupt(corrupt_message(where, detail))
    if name in _LOCKED:
        return DatabaseLocked(
            f"database {where} stayed locked by another process ({detail}); wait for it to "
            f"finish and try again (`fuser -v {sqlite_path or where}` names it); "
            f"{NOT_CORRUPT}"
        )
    if name.startswith(_PLACE):
        files = state_files(sqlite_path) if sqlite_path is not None else ()
        problem = write_problem(state_dir, files)
        if problem is not None:
            return StateNotWritable(f"cannot write the state ({detail}): {problem}; {NOT_CORRUPT}")
        if name == "SQLITE_FULL":
            return StateNotWritable(
                f"database {where} is full ({detail}); free space on the disk holding "
                f"{state_dir}; {NOT_CORRUPT}"
            )
        return StateError(
            f"cannot open or write database {where} ({detail}), although {state_dir} takes "
            f"new files; check that the files in it belong to the user running trimtab "
            f"(`ls -la {state_dir}`) and that the disk is healthy (`dmesg`)"
        )
    return StateError(f"database {where} failed ({detail})")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _owner_and_mode(path: Path) -> tuple[str, str]:
    try:
        info = path.stat()
    except OSError:
        return "unknown", "unknown"
    return _user_name(info.st_uid), f"{stat.S_IMODE(info.st_mode):o}"
