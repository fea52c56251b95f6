"""APScheduler on the exchange calendar: which slots are due, and the jobs that wake trimtab.

Each account has one job, `cycle:<account>`, whose `SessionTrigger` fires at the account's
slots (its schedule applied to the exchange's sessions: no weekends, no holidays, early closes
moving "close - 15m"). A firing does not trust its own timing: `due_slots` looks at what the
`cycles` table says was handled and finds every slot since, so the same code covers a slot on
time, a slot late because a cycle (another account's, or the account's own previous one) ran
long, and slots missed while trimtab was stopped.
Of those, only the latest runs, and only within `scheduler.misfire_grace_minutes`; the rest are
recorded as skipped (a `cycles` row with outcome "skipped", and an audit record).

Where the search starts when the account has never handled a slot: after a restart, the previous
daemon's last heartbeat (what it may have missed); on the very first start (no heartbeat), the
moment this daemon began watching the account (`CycleScheduler.cycle_job` hands it to every
firing), so a slot that came due after the start but that the account's firing reached only
past the grace (another account's long cycle held the one cycle thread) is recorded as
skipped, not silently dropped. An account a reload added (after `CycleScheduler.start`) looks
back only to the reload, heartbeat or not. Slots before that start were never due, except the
latest one inside the grace window, which the start's own firing runs (or, when late, records).
A slot handed to a cycle still running elsewhere (cluster mode's workers) counts as handled.
"""

from __future__ import annotations

__all__ = [
    "CycleScheduler",
    "Due",
    "SessionTrigger",
    "due_slots",
    "first_start_slots",
    "slot_time",
]

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.errors import ConfigError
from daemon.core.schedule import ScheduleSpec, Slot, parse_schedule
from daemon.core.sessions import next_slot, session_on, slots_between
from daemon.logs import get_logger
from daemon.store.cycles import CycleStore

SCHEDULED_SLOT = re.compile(r"^\d{4}$")
"""Slot names of scheduled cycles (HHMM); `manual` and plans are not the scheduler's."""
LOOKBACK = timedelta(days=7)
"""How far back missed slots are looked for after a long stop."""
FINISHED = ("succeeded", "failed", "skipped")


class SessionTrigger(BaseTrigger):  # type: ignore[misc]  # apscheduler ships no type hints
    """Fire at a schedule's slots on the exchange's trading sessions."""

    __slots__ = ("exchange", "spec")

    def __init__(self, spec: ScheduleSpec, exchange: str) -> None:
        self.spec = spec
        self.exchange = exchange

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the first slot after the previous firing (or from now on)."""
        after = previous_fire_time or now - timedelta(microseconds=1)
        try:
            return next_slot(self.spec, self.exchange, after).at
        except ConfigError as exc:
            # APScheduler drops a job with no next time; say so loudly (health will fail too).
            get_logger().error("schedule_exhausted", schedule=self.spec.text, error=str(exc))
            return None

    def __str__(self) -> str:
        return f"session[{self.exchange}: {self.spec.text}]"


def slot_time(day: date, name: str, exchange: str) -> datetime:
    """Return the instant of slot `name` (HHMM at the exchange) on `day`."""
    clock = time(int(name[:2]), int(name[2:]))
    return datetime.combine(day, clock, exchange_timezone(exchange))


@dataclass(frozen=True, slots=True)
class Due:
    """What to do about one account's slots now."""

    run: Slot | None
    skipped: tuple[Slot, ...]
    reason: str
    """Why the skipped slots are skipped."""


def due_slots(
    cycles: CycleStore,
    settings: Settings,
    account: str,
    now: datetime,
    *,
    previous_beat: datetime | None,
    watched_since: datetime | None = None,
    added_by_reload: bool = False,
    taken: Iterable[tuple[date, str]] = (),
    maintenance: str | None = None,
) -> Due:
    """Find the account's slots since the last one handled: the latest runs if it may, the
    others (and the latest too, when it may not) are skipped with the reason.

    `watched_since` is when this daemon began scheduling the account (its start, or the
    reload that added the account; None: now). It matters only on a first start (no
    `previous_beat`, no slot handled): every slot after it is due, so one this firing reaches
    late is recorded as skipped instead of being forgotten. An account `added_by_reload` was
    not watched by this daemon (nor, as far as it knows, by any) before `watched_since`: its
    search starts there whatever the previous heartbeat, so slots from before it was
    configured are never reported as missed.

    `taken`: (trading day, slot) of slots handed to a cycle that has not finished (cluster
    mode: a worker's `running` attempt, or a job a worker took off the queue). They count as
    handled: a slot is never both run and recorded as skipped.

    `maintenance` is the broker's word that it is in a maintenance window now
    (`adapters.base.MaintenanceWindows`, e.g. IB Gateway's nightly restart): every due slot
    is then skipped with that reason; the next slot after the window runs as usual.
    """
    spec = parse_schedule(settings.account(account).schedule)
    grace = timedelta(minutes=settings.scheduler.misfire_grace_minutes)
    since, started = _handled_through(
        cycles,
        settings,
        account,
        now,
        grace,
        previous_beat,
        watched_since,
        added_by_reload=added_by_reload,
        taken=taken,
    )
    slots = slots_between(spec, settings.exchange, since, now)
    if started is not None:
        # trimtab never ran here before: slots before its start were not missed.
        slots = first_start_slots(slots, started)
    if not slots:
        return Due(None, (), "")
    latest = slots[-1]
    late = now - latest.at
    if late > grace:
        minutes = settings.scheduler.misfire_grace_minutes
        reason = (
            f"missed by {_span(late)}, more than the {minutes}-minute grace window "
            "(trimtab was stopped, the machine off or asleep, or busy)"
        )
        return Due(None, tuple(slots), reason)
    if maintenance is not None:
        return Due(None, tuple(slots), f"the broker is unavailable: {maintenance}")
    earlier = tuple(slots[:-1])
    reason = f"missed; only the latest missed slot ({latest.name}) runs"
    policy = settings.account(account).policy
    if trading_day(now, settings.exchange) != latest.day:
        reason = f"its trading day {latest.day} is over at the exchange"
        return Due(None, tuple(slots), reason)
    if not latest.in_session and not policy.outside_hours:
        return Due(None, tuple(slots), _closed_reason(latest, settings.exchange))
    return Due(latest, earlier, reason)


def _closed_reason(slot: Slot, exchange: str) -> str:
    """Say why `slot`, outside its session, is skipped: a shortened session, or a schedule
    that falls outside even a regular one."""
    at = f"{slot.name[:2]}:{slot.name[2:]}"
    session = session_on(exchange, slot.day)
    if session is not None and not session.regular:
        return (
            f"the market is closed at {at} on {slot.day} (an early close or a late open; "
            "set policy.outside_hours to run anyway)"
        )
    return (
        f"the market is closed at {at} on {slot.day}: the schedule falls outside the "
        "regular session (use close - 1m or earlier, or set policy.outside_hours)"
    )


def first_start_slots(slots: Sequence[Slot], started: datetime) -> list[Slot]:
    """Return which of `slots` (in time order) came due for a daemon that first started at
    `started` on this state: every slot after the start, and before them the latest slot at
    or before it (the one the start's own firing runs when it is inside the grace window).
    Earlier slots never were due: trimtab was not running then."""
    before = [slot for slot in slots if slot.at <= started]
    return [*before[-1:], *(slot for slot in slots if slot.at > started)]


def _handled_through(
    cycles: CycleStore,
    settings: Settings,
    account: str,
    now: datetime,
    grace: timedelta,
    previous_beat: datetime | None,
    watched_since: datetime | None,
    *,
    added_by_reload: bool,
    taken: Iterable[tuple[date, str]],
) -> tuple[datetime, datetime | None]:
    """Return the time of the account's last handled slot (or where looking back starts), and,
    when trimtab never watched the account before, when this daemon began watching it.
    """
    floor = now - LOOKBACK
    rows = cycles.slots_since(
        account, outcomes=FINISHED, first_day=floor.date() - timedelta(days=1)
    )
    handled = [
        slot_time(day, slot, settings.exchange)
        for day, slot in [*rows, *taken]
        if SCHEDULED_SLOT.match(slot)
    ]
    if added_by_reload and watched_since is not None:
        # A reload added the account: nothing was due before it (a heartbeat from an earlier
        # daemon says nothing about an account it did not have), except the latest slot
        # inside the grace window, which the reload's own firing runs.
        started = min(watched_since, now)
        return max(started - grace, floor, *handled), started
    if handled:
        return max(*handled, floor), None
    if previous_beat is None:
        # Never handled a slot, and the first start: back to when this daemon began watching
        # the account, and over the grace window before it (a slot just before the start). A
        # firing that comes late (another account's long cycle held the cycle thread) still
        # finds the slots that came due while it waited.
        started = now if watched_since is None else min(watched_since, now)
        return max(started - grace, floor), started
    # Never handled a slot: look back to the previous daemon's last heartbeat (what it may
    # have missed), and at least over the grace window (a slot just before this start).
    return max(min(previous_beat, now - grace), floor), None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes < 2880 else f"{minutes // 1440} days"


class CycleScheduler:
    """The APScheduler set-up: one worker thread for cycles (they never overlap), one for
    the daily jobs (the end of day, the digest), and one for each periodic job (`every`: the
    heartbeat, the lease), so neither a long cycle nor a daily job waiting for the cycle lock
    or a broker ever delays a beat: systemd's watchdog hears from trimtab unless a cycle is
    stuck (`Daemon.beat`)."""

    def __init__(self, *, exchange: str, on_event: Callable[[str, str, Any], None]) -> None:
        self._scheduler = BackgroundScheduler(
            executors={
                "cycles": ThreadPoolExecutor(1),
                "control": ThreadPoolExecutor(1),
            },
            timezone=exchange_timezone(exchange),
        )
        self._periodic: set[str] = set()
        """The executors `every` added, one per periodic job."""
        self._on_event = on_event
        self._watched_since: dict[str, datetime] = {}
        """When each account's job was first added: where a first start's firings look back to."""
        self._added_by_reload: set[str] = set()
        """Accounts whose job was first added after `start` (by a reload), not at the start."""
        self._scheduler.add_listener(
            self._event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )

    def _event(self, event: Any) -> None:
        names = {
            EVENT_JOB_ERROR: "job_error",
            EVENT_JOB_MISSED: "job_missed",
            EVENT_JOB_MAX_INSTANCES: "job_busy",
        }
        self._on_event(names[event.code], event.job_id, getattr(event, "exception", None))

    def start(self) -> None:
        self._scheduler.start()

    def cycle_job(
        self,
        account: str,
        spec: ScheduleSpec,
        exchange: str,
        func: Callable[[str, datetime, bool], None],
    ) -> datetime:
        """(Re)schedule the account's job and run it once now (missed slots are found then);
        return the next slot time.

        Each firing calls `func(account, watched_since, added_by_reload)`, for `due_slots`:
        when this scheduler first added the account's job (a reload that keeps the account
        keeps the time), and whether that was after `start`, by a reload (then the previous
        daemon's heartbeat says nothing about the account)."""
        now = datetime.now(exchange_timezone(exchange))
        if account not in self._watched_since and self._scheduler.running:
            self._added_by_reload.add(account)
        watched_since = self._watched_since.setdefault(account, now)
        self._scheduler.add_job(
            func,
            trigger=SessionTrigger(spec, exchange),
            args=(account, watched_since, account in self._added_by_reload),
            id=f"cycle:{account}",
            name=f"cycle {account}",
            executor="cycles",
            replace_existing=True,
            coalesce=True,
            # One running and one waiting: a slot that comes due while the account's cycle
            # still runs is not dropped (APScheduler drops a firing past `max_instances`, and
            # nothing fires again before the next slot, by then out of grace); it waits for
            # the one cycle thread and finds every slot due by then. A firing dropped with
            # two outstanding is found by the waiting one, which has not started yet.
            max_instances=2,
            # The job judges lateness per slot itself (`due_slots`): a firing APScheduler
            # dropped as misfired would leave its slot unrecorded, so every firing runs.
            misfire_grace_time=None,
            next_run_time=now,
        )
        return next_slot(spec, exchange, now).at

    def wake_cycle_jobs(self) -> None:
        """Fire every account's job now (a standby that took over finds what is due)."""
        now = datetime.now(self._scheduler.timezone)
        for job in self._scheduler.get_jobs():
            if job.id.startswith("cycle:"):
                job.modify(next_run_time=now)

    def remove_cycle_jobs(self, keep: set[str]) -> None:
        """Remove the jobs of accounts no longer configured."""
        for job in self._scheduler.get_jobs():
            if job.id.startswith("cycle:") and job.id.removeprefix("cycle:") not in keep:
                job.remove()
                self._watched_since.pop(job.id.removeprefix("cycle:"), None)
                self._added_by_reload.discard(job.id.removeprefix("cycle:"))

    def every(self, job_id: str, seconds: float, func: Callable[[], None]) -> None:
        """Run `func` now and every `seconds` on a thread of its own (one per `job_id`).

        Nothing else runs there: a firing that finds the thread busy is dropped (`job_busy`),
        and a heartbeat dropped behind a daily job (which waits for the cycle lock, then reads
        every broker with its retry budget) would starve systemd's watchdog for minutes."""
        executor = f"every:{job_id}"
        if executor not in self._periodic:
            self._scheduler.add_executor(ThreadPoolExecutor(1), executor)
            self._periodic.add(executor)
        self._scheduler.add_job(
            func,
            trigger=IntervalTrigger(seconds=seconds),
            id=job_id,
            executor=executor,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # A beat later than one interval is worthless; the next one is on its way.
            misfire_grace_time=max(1, int(seconds)),
            next_run_time=datetime.now(self._scheduler.timezone),
        )

    def at_slots(
        self,
        job_id: str,
        spec: ScheduleSpec,
        exchange: str,
        grace: timedelta,
        func: Callable[[], None],
    ) -> None:
        """Run `func` at a schedule's slots on the control thread (shared by the daily jobs:
        one waits for another, never for a cycle's thread, and never holds up `every`'s)."""
        self._scheduler.add_job(
            func,
            trigger=SessionTrigger(spec, exchange),
            id=job_id,
            executor="control",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(grace.total_seconds())),
        )

    def remove(self, job_id: str) -> None:
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def jobs(self) -> list[Any]:
        """Return APScheduler's jobs (for `trimtab`'s own checks and tests)."""
        return list(self._scheduler.get_jobs())

    def pause(self) -> None:
        """Stop starting jobs; jobs already running go on."""
        self._scheduler.pause()

    def shutdown(self, *, wait: bool) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
