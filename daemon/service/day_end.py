"""The end of the trading day: each account's closing valuation, new flows, benchmark, alerts.

`end_of_day` is what the daemon runs once a day after the last slot (and what
`trimtab performance record` runs by hand). It only reads from brokers. One account's
trouble (its broker down) is reported in its result and does not stop the others.
"""

from __future__ import annotations

__all__ = [
    "JOB_ID",
    "KEEP_CLOSES_MARGIN",
    "KEEP_JOBS",
    "EndOfDayResult",
    "end_of_day",
    "forget_old_closes",
    "forget_old_jobs",
    "schedule_end_of_day",
]

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from daemon.bootstrap import App
from daemon.core.calendar import trading_day
from daemon.core.errors import TrimtabError
from daemon.core.schedule import parse_schedule
from daemon.cycle.retry import ReadRetrying
from daemon.logs import get_logger
from daemon.monitor.alerting import check_alerts
from daemon.monitor.alerts import Transition
from daemon.monitor.history import PointRecorded, record_point
from daemon.monitor.notify import Message
from daemon.service.scheduler import CycleScheduler
from daemon.store.valuations import EOD_REF, ValuationSource

JOB_ID = "end_of_day"
KEEP_CLOSES_MARGIN = timedelta(days=31)
"""Closes kept beyond the longest window a configured strategy reads: a month's room for a
window that grows a little (a changed lookback) without fetching again."""
KEEP_JOBS = timedelta(days=90)
"""How long cluster mode keeps a finished job (and a past day's slot) in the queue's tables:
`trimtab cluster status` reads them; the audit log keeps what the cycles did for good."""


@dataclass(frozen=True, slots=True)
class EndOfDayResult:
    account: str
    point: PointRecorded | None
    """None when the broker could not be read (see `error`)."""
    error: str | None
    alerts: Transition | None


def end_of_day(
    app: App,
    *,
    notify: Callable[[Message], None] | None = None,
    accounts: Iterable[str] | None = None,
) -> list[EndOfDayResult]:
    """Record each account's day-end valuation and flows, the benchmark, and check alerts."""
    settings = app.settings
    benchmark = settings.performance.benchmark
    results = []
    for account in accounts if accounts is not None else settings.accounts:
        log = get_logger(account=account)
        point: PointRecorded | None = None
        error: str | None = None
        try:
            configured = settings.accounts[account]
            broker = ReadRetrying(
                app.broker(account),
                log=log,
                budget=float(configured.read_retry_seconds),
                name=configured.broker,
            )
            snapshot = broker.snapshot([benchmark] if benchmark else [])
            point = record_point(
                database=app.database,
                settings=settings,
                account=account,
                broker=broker,
                snapshot=snapshot,
                source=ValuationSource.EOD,
                ref=EOD_REF,
                clock=app.clock,
                log=log,
            )
        except TrimtabError as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("end_of_day_not_recorded", error=error)
        alerts = None
        if settings.alerts.enabled:
            alerts = check_alerts(
                database=app.database,
                settings=settings,
                account=account,
                clock=app.clock,
                notify=notify,
            )
        results.append(EndOfDayResult(account, point, error, alerts))
        log.info(
            "end_of_day_recorded",
            equity=str(point.valuation.equity) if point and point.valuation else None,
            error=error,
        )
    return results


def forget_old_closes(app: App) -> int:
    """Forget the cached daily closes older than any configured strategy looks back (the
    longest window, accounts' and the household's, plus `KEEP_CLOSES_MARGIN`): the cache
    holds a copy per source (`alpaca:<account>`, ...), which would otherwise grow by every
    symbol's every day. A longer window later fetches what it lacks. Return the closes
    forgotten."""
    from daemon.config.household import household_strategy
    from daemon.store.price_history import PriceHistoryStore
    from strategies.base import ReadsHistory

    settings = app.settings
    strategies = [app.strategy(name) for name in settings.accounts]
    if settings.household is not None:
        strategies += [s for s in [household_strategy(settings.household)] if s is not None]
    days = max(
        (s.history_needs().calendar_days() for s in strategies if isinstance(s, ReadsHistory)),
        default=0,
    )
    before = trading_day(app.clock(), settings.exchange) - timedelta(days=days) - KEEP_CLOSES_MARGIN
    with app.database.transaction() as session:
        forgotten = PriceHistoryStore(session).forget_before(before)
    get_logger().info("price_cache_pruned", closes=forgotten, before=before.isoformat())
    return forgotten


def forget_old_jobs(app: App) -> tuple[int, int]:
    """Remove the queue's jobs finished more than `KEEP_JOBS` ago and the slots of days as
    old (cluster mode; the leader, once a day): the tables would otherwise grow by every
    account's every slot. Return (jobs, slots) removed."""
    from daemon.store.cluster import prune_queue

    before = app.clock() - KEEP_JOBS
    with app.database.transaction() as session:
        jobs, slots = prune_queue(session, queue=app.settings.cluster.queue, before=before)
    get_logger().info("queue_pruned", jobs=jobs, slots=slots, before=before.isoformat())
    return jobs, slots


def schedule_end_of_day(
    scheduler: CycleScheduler,
    app: App,
    *,
    lock: threading.Lock,
    notify: Callable[[Message], None],
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Add (or replace) the daily job at `[performance] end_of_day` on trading days: the
    day-end valuations and alerts, then the day's report (`daemon.report`), written to the
    state directory and sent as the day's summary; then the price cache's closes older than
    any strategy reads are forgotten (`forget_old_closes`) and, in cluster mode, the queue's
    old jobs (`forget_old_jobs`).

    The job takes `lock` (the cycle lock), so it never runs beside a cycle or a
    configuration swap, and reads `app.settings` when it fires, so a reload applies.
    """
    settings = app.settings

    def job() -> None:
        with lock:
            if not stopping():
                end_of_day(app, notify=notify)
                # After the closing valuation, so the day's page shows it. Loaded here, not at
                # start: the charting libraries are only needed once a day.
                from daemon.report.writer import publish_daily_report

                publish_daily_report(app, trading_day(app.clock(), app.settings.exchange), notify)
                forget_old_closes(app)
                if app.settings.cluster.enabled:
                    forget_old_jobs(app)

    scheduler.at_slots(
        JOB_ID,
        parse_schedule(settings.performance.end_of_day),
        settings.exchange,
        timedelta(minutes=settings.scheduler.misfire_grace_minutes),
        job,
    )
