"""One running trimtab per state directory, enforced with an advisory file lock."""

from __future__ import annotations

__all__ = ["instance_lock"]

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.core.errors import StateError

LOCK_NAME = "trimtab.lock"


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's lock, or raise `StateError` naming the process that has it."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / LOCK_NAME
    handle = path.open("a+")
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
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
