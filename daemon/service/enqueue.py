"""Cluster mode's scheduler: the same firings as the single-process daemon, but the due slot
becomes a job on the queue instead of a cycle in this process.

Only the lease's holder enqueues; a standby's firings return at once. Skipped slots are
recorded exactly as `SlotRunner` records them. A slot is enqueued once, however many
schedulers fire for it (`cluster_slots`' key and procrastinate's queueing lock).
"""

from __future__ import annotations

__all__ = ["SlotEnqueuer"]

from collections.abc import Callable
from datetime import date, datetime, timedelta

from daemon.bootstrap import App
from daemon.core.cycle_report import CycleReport
from daemon.core.schedule import Slot
from daemon.monitor.notify import Message
from daemon.service.lease import SchedulerLease
from daemon.service.scheduler import LOOKBACK
from daemon.service.slots import SlotRunner
from daemon.store.cluster import StaleEpoch, enqueue_slot, taken_slots
from daemon.store.cycles import CycleStore
from daemon.store.db import Transaction


class SlotEnqueuer(SlotRunner):
    """Handle the firings of every account's job by enqueueing its due slot."""

    def __init__(
        self,
        app: App,
        *,
        clock: Callable[[], datetime],
        notify: Callable[[Message], None],
        lease: SchedulerLease,
    ) -> None:
        super().__init__(app, clock=clock, notify=notify)
        self._lease = lease
        self.enqueued = 0
        """Jobs this process enqueued (for its log and tests)."""

    def handle(
        self, account: str, watched_since: datetime | None = None, added_by_reload: bool = False
    ) -> None:
        if not self._lease.held:
            return
        super().handle(account, watched_since, added_by_reload)

    def _taken(self, session: Transaction, account: str, now: datetime) -> list[tuple[date, str]]:
        """A worker's cycle runs apart from this process, as long as it takes: its slot (a
        `running` attempt, or a job a worker took off the queue and has not finished) is
        handled, never recorded as skipped under it. A job still waiting is not: a later slot
        supersedes it (recorded skipped; the worker then drops it, see `SlotJob`)."""
        first_day = (now - LOOKBACK).date() - timedelta(days=1)
        running = CycleStore(session).slots_since(
            account, outcomes=("running",), first_day=first_day
        )
        return [*running, *taken_slots(session, account, first_day)]

    def _run(self, account: str, slot: Slot) -> CycleReport | None:
        epoch = self._lease.epoch
        if epoch is None:
            return None
        settings = self._app.settings
        day = slot.day
        try:
            with self._app.database.transaction() as session:
                job_id = enqueue_slot(
                    session,
                    epoch=epoch,
                    queue=settings.cluster.queue,
                    account=account,
                    day=day,
                    slot=slot.name,
                    lock=settings.lock_key(account),
                    now=self._clock(),
                )
        except StaleEpoch as exc:
            self._lease.lost(str(exc))
            return None
        if job_id is not None:
            self.enqueued += 1
            self._log.info(
                "slot_enqueued", account=account, slot=slot.name, day=str(day), job_id=job_id
            )
        return None
