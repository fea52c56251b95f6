"""The scheduler's lease: of several `trimtab run` on one database, one leads, the rest wait.

Leading is holding a PostgreSQL advisory lock on a connection of its own; the server drops it
when that connection ends (the leader stopped, was killed, or lost the database), and a
standby's next `poll` takes it. Each takeover starts a new epoch in `cluster_leases`; every
enqueue checks its epoch in the same transaction (`daemon.store.cluster.enqueue_slot`), so a
leader that lost the lock without noticing yet cannot write any more.
"""

from __future__ import annotations

__all__ = ["SchedulerLease"]

import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime

from daemon.logs import get_logger
from daemon.store.cluster import SCHEDULER_LEASE, SessionLock, take_lease
from daemon.store.db import Database


class SchedulerLease:
    """Take, keep and give up the scheduler's lease; `poll` is called every takeover period."""

    def __init__(
        self,
        database: Database,
        *,
        queue: str,
        clock: Callable[[], datetime],
        on_gained: Callable[[int], None] = lambda _epoch: None,
        keepalive_seconds: int = 5,
    ) -> None:
        self._database = database
        self._clock = clock
        self._on_gained = on_gained
        self._lock = SessionLock(
            database, f"trimtab:lease:{queue}", keepalive_seconds=keepalive_seconds
        )
        self._guard = threading.Lock()
        self._epoch: int | None = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._log = get_logger()

    @property
    def epoch(self) -> int | None:
        """The epoch this process leads in, or None while it does not lead."""
        return self._epoch

    @property
    def held(self) -> bool:
        return self._epoch is not None

    def poll(self) -> None:
        """Keep the lease if held (and the database still answers), else try to take it."""
        with self._guard:
            if self._epoch is not None:
                if not self._lock.still_held():
                    self._lost("the lease's database connection is gone")
                return
            try:
                if not self._lock.try_acquire():
                    return
            except Exception as exc:  # the database away: stay standby, try next poll
                self._log.warning("lease_unreachable", error=f"{type(exc).__name__}: {exc}")
                return
            try:
                with self._database.transaction() as session:
                    epoch = take_lease(session, SCHEDULER_LEASE, self.holder, self._clock())
            except Exception:
                self._lock.release()
                raise
            self._epoch = epoch
        self._log.info("lease_taken", holder=self.holder, epoch=epoch)
        self._on_gained(epoch)

    def lost(self, reason: str) -> None:
        """Step down (a write found the epoch stale): stop leading until the next poll."""
        with self._guard:
            if self._epoch is not None:
                self._lost(reason)

    def _lost(self, reason: str) -> None:
        self._log.error("lease_lost", epoch=self._epoch, reason=reason)
        self._epoch = None
        self._lock.release()

    def release(self) -> None:
        """Give the lease up (a clean stop): a standby takes it at its next poll."""
        with self._guard:
            if self._epoch is not None:
                self._log.info("lease_released", epoch=self._epoch)
            self._epoch = None
            self._lock.release()
