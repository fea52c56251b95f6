"""Keep the performance history: valuations, flows and benchmark prices, at cycles and day end.

`record_point` runs inside a cycle right after the snapshot and at the end of the day. It
never fails the cycle: a broker that cannot report its flows now, or a position without a
quote, is logged and left for the next point; the cycle's own work goes on.
"""

from __future__ import annotations

__all__ = ["PointRecorded", "record_point"]

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from daemon.config.settings import Settings
from daemon.core.calendar import trading_day
from daemon.core.domain import AccountSnapshot
from daemon.core.errors import BrokerError, DataError
from daemon.core.movements import CashFlow
from daemon.core.plannable import price_problem
from daemon.logs import Log
from daemon.store.cash_flows import sync_flows
from daemon.store.db import Database
from daemon.store.valuations import (
    Valuation,
    ValuationSource,
    record_benchmark_price,
    record_valuation,
    valuation_from_snapshot,
)


@dataclass(frozen=True, slots=True)
class PointRecorded:
    valuation: Valuation | None
    """None when the snapshot could not be valued (the reason is in `problems`)."""
    new_flows: tuple[CashFlow, ...]
    benchmark_recorded: bool
    problems: tuple[str, ...]


def record_point(
    *,
    database: Database,
    settings: Settings,
    account: str,
    broker: Any,
    snapshot: AccountSnapshot,
    source: ValuationSource,
    ref: str,
    clock: Callable[[], datetime],
    log: Log,
) -> PointRecorded:
    """Record the broker's new flows, the snapshot's valuation and the benchmark's price.

    Everything is filed under `account` (trimtab's name), whatever the snapshot calls it.
    """
    problems: list[str] = []
    new: list[CashFlow] = []
    try:
        new = sync_flows(
            database=database,
            broker=broker,
            account=account,
            exchange=settings.exchange,
            clock=clock,
        )
    except (BrokerError, ValueError) as exc:
        # A broker that cannot be read now, or that reports a movement trimtab cannot take
        # (zero, wrong sign, another account): nothing is recorded, the cycle goes on, and
        # the next point reads the same movements again.
        problems.append(f"cash flows not recorded: {exc}")
    valuation: Valuation | None = None
    try:
        valuation = valuation_from_snapshot(
            replace(snapshot, account=account), source=source, ref=ref, exchange=settings.exchange
        )
    except DataError as exc:
        problems.append(str(exc))
    benchmark = settings.performance.benchmark
    quote = snapshot.quotes.get(benchmark) if benchmark is not None else None
    if quote is not None and (problem := price_problem(quote.price)) is not None:
        problems.append(f"benchmark price not recorded: price of {benchmark} {problem}")
        quote = None
    with database.transaction() as session:
        now = clock()
        if valuation is not None:
            record_valuation(session, valuation, now=now)
        if benchmark is not None and quote is not None:
            # Filed under the valuation's day, not the quote's: the benchmark is then observed
            # exactly when the account is, and their returns cover the same periods.
            record_benchmark_price(
                session,
                benchmark,
                trading_day(snapshot.as_of, settings.exchange),
                quote.price,
                as_of=quote.as_of,
                source=quote.source,
            )
    for problem in problems:
        log.warning("performance_point_incomplete", source=str(source), problem=problem)
    if new:
        log.info("cash_flows_recorded", count=len(new), total=str(sum(f.amount for f in new)))
    return PointRecorded(valuation, tuple(new), quote is not None, tuple(problems))
