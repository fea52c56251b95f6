"""One running trimtab per state directory, enforced with an advisory file lock."""

from __future__ import annotations

__all__ = ["instance_lock"]

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from daemon.core.errors import StateError
from daemon.store.state_faults import StateNotWritable, describe_os_error

LOCK_NAME = "trimtab.lock"


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's lock, or raise `StateError` naming the process that has it.

    `StateNotWritable` when the lock file can be neither created nor opened: the state
    directory cannot be written, so no cycle could record anything either.
    """
    path = state_dir / LOCK_NAME
    handle, writable = _open(state_dir, path)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise StateError(
                f"another trimtab (pid {holder}) is running on state directory {state_dir}; "
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
