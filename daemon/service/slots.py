"""One firing of an account's job: record the skipped slots, run the due one, tell the owner.

Runs on the scheduler's single cycle thread, under `lock`, so cycles never overlap each other
or a configuration swap; `idle` is clear while it works, which is what a stopping daemon
waits for.
"""

from __future__ import annotations

__all__ = ["SlotRunner"]

import threading
import time
from collections.abc import Callable
from datetime import date, datetime

from adapters.base import MaintenanceWindows
from daemon.audit.events import CycleFinished
from daemon.bootstrap import App
from daemon.core.cycle_report import CycleReport
from daemon.core.errors import TrimtabError
from daemon.core.schedule import Slot
from daemon.cycle.engine import SlotAlreadyRan
from daemon.logs import get_logger
from daemon.monitor.alerting import SENT_BY_SLOT_RUNNER, check_alerts
from daemon.monitor.messages import cycle_message, skipped_message
from daemon.monitor.notify import Message
from daemon.service.scheduler import Due, due_slots
from daemon.store.audit_log import AuditLog
from daemon.store.cycles import CycleRecord, CycleStore, next_attempt_id, slot_base
from daemon.store.db import Transaction

MAX_LISTED = 50
"""Skipped slots named in one audit record; more are counted."""


class SlotRunner:
    """Handle the firings of every account's cycle job."""

    def __init__(
        self, app: App, *, clock: Callable[[], datetime], notify: Callable[[Message], None]
    ) -> None:
        self._app = app
        self._clock = clock
        self._notify = notify
        self._log = get_logger()
        self._cycle_started: float | None = None
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()
        self.stopping = False
        """Set by a stopping daemon: firings already queued return without doing anything."""
        self.previous_beat: datetime | None = None
        """The previous daemon's last heartbeat: where to look for slots it missed."""
        self.started_at = clock()
        """This daemon's start: where a first start looks back to when a firing does not say
        when its account began to be watched."""

    @property
    def busy(self) -> bool:
        return not self.idle.is_set()

    def running_for(self) -> float | None:
        """Return how many seconds the current cycle has been running, or None."""
        started = self._cycle_started
        return None if started is None else time.monotonic() - started

    def handle(
        self, account: str, watched_since: datetime | None = None, added_by_reload: bool = False
    ) -> None:
        """Deal with every slot of `account` due since the last one handled.

        `watched_since`: when the daemon began scheduling the account (`CycleScheduler`
        passes it with each firing); by default, this runner's start. `added_by_reload`: the
        account was not configured at the daemon's start (`due_slots`).
        """
        with self.lock:
            # Clear before looking at `stopping`: a stopping daemon sets `stopping` first and
            # then waits for `idle`, so one of the two always sees the other.
            self.idle.clear()
            try:
                if self.stopping or account not in self._app.settings.accounts:
                    return
                self._handle(account, watched_since or self.started_at, added_by_reload)
            except Exception as exc:  # the daemon must outlive any one account's trouble
                self._log.exception("slot_handling_failed", account=account)
                self._notify(
                    Message(
                        kind="error",
                        key=f"slot_handling:{account}:{type(exc).__name__}",
                        title=f"trimtab: could not handle {account}'s schedule",
                        body=f"{type(exc).__name__}: {exc}",
                        severity="failure",
                    )
                )
            finally:
                self.idle.set()

    def _handle(self, account: str, watched_since: datetime, added_by_reload: bool) -> None:
        settings = self._app.settings
        now = self._clock()
        cycle_ids: list[str] = []
        maintenance = self._maintenance(account, now)
        with self._app.database.transaction() as session:
            due = due_slots(
                CycleStore(session),
                settings,
                account,
                now,
                previous_beat=self.previous_beat,
                watched_since=watched_since,
                added_by_reload=added_by_reload,
                taken=self._taken(session, account, now),
                maintenance=maintenance,
            )
            if due.skipped:
                cycle_ids = self._record_skipped(session, account, due, now)
        if cycle_ids:
            self._log.warning(
                "slots_skipped",
                account=account,
                slots=cycle_ids[-10:],
                count=len(cycle_ids),
                reason=due.reason,
            )
            self._notify(skipped_message(account, cycle_ids, due.reason))
        report = self._run(account, due.run) if due.run is not None else None
        if due.run is None and not due.skipped:
            self._log.info("nothing_due", account=account)
            return
        check_alerts(
            database=self._app.database,
            settings=self._app.settings,
            account=account,
            clock=self._clock,
            notify=self._notify,
            report=report,
            already_sent=SENT_BY_SLOT_RUNNER,
        )

    def _taken(self, session: Transaction, account: str, now: datetime) -> list[tuple[date, str]]:
        """Return the account's slots handed to a cycle that has not finished (`due_slots`).

        None here: this daemon's cycles run on its one cycle thread, under `lock`, so none is
        running while a firing looks; a `running` row is a cycle a stopped daemon left
        unfinished, whose slot may run again (its reconciliation settles what it sent).
        """
        return []

    def _record_skipped(
        self, session: Transaction, account: str, due: Due, now: datetime
    ) -> list[str]:
        """Write one `cycles` row for the latest skipped slot (it marks all of them handled)
        and one audit record naming them all."""
        cycle_ids = [slot_base(account, slot.day, slot.name) for slot in due.skipped]
        latest = due.skipped[-1]
        cycles = CycleStore(session)
        cycle_id = next_attempt_id(cycle_ids[-1], len(cycles.attempts(cycle_ids[-1])))
        cycles.add(
            CycleRecord(
                cycle_id=cycle_id,
                account=account,
                trading_day=latest.day,
                slot=latest.name,
                mode=str(self._app.settings.mode),
                started_at=now,
                finished_at=now,
                outcome="skipped",
                error=due.reason,
            )
        )
        AuditLog(session).append(
            CycleFinished(
                outcome="skipped",
                submitted=False,
                why_not_submitted=due.reason,
                planned_orders=0,
                scheduled_at=latest.at,
                skipped_slots=tuple(cycle_ids[-MAX_LISTED:]),
                skipped_count=len(cycle_ids),
            ),
            at=now,
            account=account,
            cycle_id=cycle_id,
        )
        return cycle_ids

    def _maintenance(self, account: str, now: datetime) -> str | None:
        """Return why the account's broker is in a maintenance window now, or None.

        A broker that cannot be built is not in a window: the cycle then fails with the
        reason, as it would without this question.
        """
        try:
            broker = self._app.broker(account)
        except TrimtabError:
            return None
        return broker.maintenance(now) if isinstance(broker, MaintenanceWindows) else None

    def _run(self, account: str, slot: Slot) -> CycleReport | None:
        self._log.info(
            "slot_due", account=account, slot=slot.name, scheduled_at=slot.at.isoformat()
        )
        self._cycle_started = time.monotonic()
        try:
            report = self._app.engine(should_stop=lambda: self.stopping).run_once(
                account, slot=slot.name
            )
        except SlotAlreadyRan as exc:
            # `due_slots` only offers slots with no finished row, so this means the cycles
            # table changed under us; the engine refused, nothing ran twice.
            self._log.warning("slot_already_ran", account=account, slot=slot.name, detail=str(exc))
            return None
        finally:
            self._cycle_started = None
        message = cycle_message(report, str(self._app.settings.mode))
        if message is not None:
            self._notify(message)
        return report
