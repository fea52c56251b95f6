"""Is trimtab doing its job? The daemon's heartbeat, and each account's cycles, judged.

The heartbeat is a row the running daemon rewrites every `health.heartbeat_seconds`. The
accounts are judged from their `cycles` rows, the record the engine keeps anyway: the last
cycle that ran, how long the broker has failed, and how many trading days that had a slot for
the account went by without a successful cycle.
"""

from __future__ import annotations

__all__ = ["Check", "HealthReport", "evaluate", "queue_checks"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from daemon.config.settings import Settings
from daemon.core.calendar import exchange_timezone
from daemon.core.domain import TradingState
from daemon.core.schedule import parse_schedule
from daemon.core.sessions import sessions_between
from daemon.store.cluster import JobRow, QueueFigures
from daemon.store.cycles import CycleRecord, CycleStore
from daemon.store.heartbeat import Heartbeat, HeartbeatStore
from daemon.store.trading_state import AccountState

RAN = ("succeeded", "failed", "running")
"""Cycle outcomes of cycles that ran (a skipped slot did not)."""
BROKER_ERRORS = ("TransientBrokerError:",)
"""How the engine's error text starts when the broker could not be reached."""
STREAK_LOOKBACK = 500
"""Most recent cycles of an account read for the broker-failure streak."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    """heartbeat, last_cycle, broker, success or trading_state."""
    account: str | None
    ok: bool
    detail: str

    @property
    def key(self) -> str:
        return f"{self.name}:{self.account}" if self.account else self.name


@dataclass(frozen=True, slots=True)
class HealthReport:
    checked_at: datetime
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failing(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


def evaluate(
    cycles: CycleStore,
    heartbeats: HeartbeatStore,
    settings: Settings,
    now: datetime,
    *,
    states: Mapping[str, AccountState],
    heartbeat: bool = True,
) -> HealthReport:
    """Judge the heartbeat (unless `heartbeat` is false: the daemon asking about itself) and
    every configured account; `states`: the accounts' trading states (ACTIVE if missing)."""
    checks: list[Check] = []
    beat = heartbeats.get()
    if heartbeat:
        ran = any(cycles.latest(account) is not None for account in settings.accounts)
        checks.append(_heartbeat(beat, settings, now, cycles_ran=ran))
    for account in settings.accounts:
        checks += _account(cycles, settings, account, now, beat)
        checks.append(_trading_state(account, states.get(account)))
    return HealthReport(checked_at=now, checks=tuple(checks))


def queue_checks(figures: QueueFigures, settings: Settings) -> list[Check]:
    """Judge cluster mode's queue: a live worker, no stalled job, no account whose jobs fail
    without a success since, nothing waiting too long."""
    lease = int(settings.cluster.lease_seconds)
    checks = [
        Check(
            "queue_workers",
            None,
            figures.live_workers > 0,
            f"{figures.live_workers} worker(s) beat within {lease} s"
            if figures.live_workers
            else f"no live worker ({len(figures.workers)} registered, none beat within "
            f"{lease} s): start `trimtab worker -c CONFIG` on a machine",
        )
    ]
    if figures.stalled:
        named = ", ".join(f"{j.job_id} ({j.account} {j.slot})" for j in figures.stalled[:5])
        checks.append(
            Check(
                "queue_stalled",
                None,
                False,
                f"{len(figures.stalled)} running job(s) whose worker is gone: {named}; a live "
                "worker gives them back to the queue",
            )
        )
    else:
        checks.append(Check("queue_stalled", None, True, "no running job without its worker"))
    checks += _queue_failed(figures, settings)
    limit = settings.cluster.queue_stale_minutes
    if figures.oldest_wait_seconds is None:
        checks.append(Check("queue_depth", None, True, "no job waiting"))
    else:
        # The server's clock, as the queue's own stamps: a skewed host does not move it.
        waited = figures.oldest_wait_seconds / 60
        checks.append(
            Check(
                "queue_depth",
                None,
                waited <= limit,
                f"{figures.todo} job(s) waiting, the oldest for {waited:.0f} min"
                + ("" if waited <= limit else f" (more than {limit}): add workers"),
            )
        )
    return checks


def _queue_failed(figures: QueueFigures, settings: Settings) -> list[Check]:
    """One failing check per configured account whose jobs failed since its last successful
    cycle: a worker refusing every job of an account (say, its configuration lacks it)
    leaves no cycle behind, so the account's own checks alone would say all is well."""
    failing: dict[str, list[JobRow]] = {}
    for job in figures.unrecovered:
        if job.account in settings.accounts:  # an account since removed runs no slots
            failing.setdefault(job.account, []).append(job)
    if not failing:
        return [Check("queue_failed", None, True, "no job failed since its account's last success")]
    return [
        Check(
            "queue_failed",
            account,
            False,
            f"{len(jobs)} job(s) failed since the account's last successful cycle (latest: job "
            f"{jobs[0].job_id}, slot {jobs[0].slot} of {jobs[0].day}); see `trimtab cluster "
            f"status` and `trimtab audit -k job_refused -a {account}`",
        )
        for account, jobs in sorted(failing.items())
    ]


def _heartbeat(
    beat: Heartbeat | None, settings: Settings, now: datetime, *, cycles_ran: bool
) -> Check:
    if beat is None:
        detail = "`trimtab run` has never run on this state"
        if cycles_ran:
            # Cycles without a daemon: `trimtab run --once`, perhaps from a timer.
            detail += (
                "; cycles ran without it (`trimtab run --once`): check them with "
                "`trimtab health --no-daemon`"
            )
        return Check("heartbeat", None, False, detail)
    if beat.stopped_at is not None:
        return Check(
            "heartbeat",
            None,
            False,
            f"`trimtab run` stopped at {beat.stopped_at:%Y-%m-%d %H:%M:%S} UTC",
        )
    age = (now - beat.beat_at).total_seconds()
    limit = settings.health.stale_after_seconds
    if age > limit:
        return Check(
            "heartbeat",
            None,
            False,
            f"last heartbeat {age:.0f} s ago (limit {limit} s) from pid {beat.pid} on "
            f"{beat.hostname}: trimtab is stuck or was killed",
        )
    return Check("heartbeat", None, True, f"beat {age:.0f} s ago (pid {beat.pid})")


def _account(
    cycles: CycleStore, settings: Settings, account: str, now: datetime, beat: Heartbeat | None
) -> list[Check]:
    recent = cycles.recent(account, outcomes=RAN, limit=STREAK_LOOKBACK)
    return [
        _last_cycle(account, recent, settings, now),
        _broker(account, recent, settings, now),
        _success(cycles, settings, account, now, beat),
    ]


def _trading_state(account: str, state: AccountState | None) -> Check:
    """A HALTED account trades nothing until someone resumes it: its cycles still succeed,
    so without this check a trip rule would leave `health` saying all is well."""
    if state is None or state.state is not TradingState.HALTED:
        return Check("trading_state", account, True, str(state.state if state else "active"))
    return Check(
        "trading_state",
        account,
        False,
        f"HALTED: {state.reason}; nothing trades until `trimtab resume -a {account}`",
    )


def _last_cycle(
    account: str, recent: Sequence[CycleRecord], settings: Settings, now: datetime
) -> Check:
    if not recent:
        return Check("last_cycle", account, True, "no cycle yet")
    last = recent[0]
    if last.outcome == "failed":
        return Check("last_cycle", account, False, f"{last.cycle_id} failed: {last.error}")
    stuck_after = timedelta(minutes=settings.health.max_cycle_minutes)
    if last.outcome == "running" and now - last.started_at > stuck_after:
        return Check(
            "last_cycle",
            account,
            False,
            f"{last.cycle_id} started {last.started_at:%Y-%m-%d %H:%M} UTC and never finished "
            "(trimtab was stopped or is stuck in it)",
        )
    return Check("last_cycle", account, True, f"{last.cycle_id} {last.outcome}")


def _broker(
    account: str, recent: Sequence[CycleRecord], settings: Settings, now: datetime
) -> Check:
    streak = []
    for row in recent:
        if row.outcome != "failed" or not (row.error or "").startswith(BROKER_ERRORS):
            break
        streak.append(row)
    if not streak:
        return Check("broker", account, True, "reachable at the last cycle")
    since = streak[-1].started_at
    minutes = (now - since).total_seconds() / 60
    limit = settings.health.broker_unreachable_minutes
    detail = (
        f"unreachable since {since:%Y-%m-%d %H:%M} UTC ({minutes:.0f} min, {len(streak)} cycles)"
    )
    return Check("broker", account, minutes <= limit, detail)


def _success(
    cycles: CycleStore,
    settings: Settings,
    account: str,
    now: datetime,
    beat: Heartbeat | None,
) -> Check:
    last_success = cycles.last_success_day(account)
    tz = exchange_timezone(settings.exchange)
    if last_success is not None:
        first, origin = last_success + timedelta(days=1), f"last success {last_success}"
    else:
        first_row = cycles.first_started_at(account)
        start = first_row or (beat.started_at if beat is not None else None)
        if start is None:
            return Check("success", account, True, "no cycle yet")
        first, origin = start.astimezone(tz).date(), "never succeeded"
    missed = _days_with_due_slots(settings, account, first, now)
    limit = settings.health.max_days_without_success
    if missed >= limit:
        return Check(
            "success",
            account,
            False,
            f"no successful cycle on {missed} trading days with a slot ({origin}; limit {limit})",
        )
    return Check("success", account, True, f"{origin}; {missed} day(s) with a slot since")


def _days_with_due_slots(settings: Settings, account: str, first: date, now: datetime) -> int:
    spec = parse_schedule(settings.account(account).schedule)
    tz = exchange_timezone(settings.exchange)
    today = now.astimezone(tz).date()
    count = 0
    for session in sessions_between(settings.exchange, first, today):
        slots = spec.slots(session, tz)
        if slots and slots[0].at <= now:
            count += 1
    return count
