"""Time the performance history on long histories: reading the daily series, the metrics, and
the alert check that runs after every slot.

Run: `uv run python bench/bench_performance.py [--years 1,5,20] [--per-day 2] [--runs 15]`.

Each history is one account on SQLite with `--per-day` cycle valuations and one end-of-day
valuation per weekday (a seeded random walk, 18% yearly volatility) and a deposit on the first
Monday of every month. Prints medians (ms) of `daily_series`, `summarize` on that series, and
`check_alerts` (which reads the series, the latest valuation, cycles and the latest
reconciliation, then evaluates and stores episodes).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from daemon.config.settings import Settings
from daemon.core.movements import CashFlow, FlowKind
from daemon.core.performance import DailyPoint, summarize
from daemon.monitor.alerting import check_alerts
from daemon.store.cash_flows import record_flow
from daemon.store.db import Database, open_database
from daemon.store.valuations import Valuation, ValuationSource, daily_series, record_valuation

CENT = Decimal("0.01")


def seed(database: Database, years: int, per_day: int) -> date:
    """Fill `database` with `years` of weekday valuations; return the last day."""
    rng = random.Random(years)
    last = date(2026, 1, 2)
    first = last - timedelta(days=365 * years)
    value = Decimal(100000)
    step = 0.0113 / (per_day + 1) ** 0.5
    with database.transaction() as session:
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1)):
            if day.weekday() >= 5:
                continue
            at = datetime(day.year, day.month, day.day, 20, 0, tzinfo=UTC)
            if day.day <= 7 and day.weekday() == 0:
                deposit = CashFlow(
                    "a", at - timedelta(hours=6), Decimal(1000), FlowKind.DEPOSIT, "bench", str(day)
                )
                record_flow(session, deposit, exchange="XNYS", now=at)
                value += deposit.amount
            for slot in range(per_day + 1):
                value = (value * Decimal(repr(1 + rng.gauss(0.0003, step)))).quantize(CENT)
                record_valuation(session, _valuation(day, at, slot, per_day, value), now=at)
    return last


def _valuation(day: date, at: datetime, slot: int, per_day: int, value: Decimal) -> Valuation:
    eod = slot == per_day
    return Valuation(
        account="a",
        as_of=at + timedelta(minutes=10 * slot),
        trading_day=day,
        source=ValuationSource.EOD if eod else ValuationSource.CYCLE,
        ref="eod" if eod else f"a:{day}:{slot}",
        equity=value,
        cash=value * Decimal("0.02"),
        positions_value=value * Decimal("0.98"),
        holdings={
            "VTI": (value * Decimal("0.6")).quantize(CENT),
            "BND": (value * Decimal("0.38")).quantize(CENT),
        },
    )


def timed(runs: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(
    database: Database, settings: Settings, last: date, runs: int
) -> tuple[float, float, float, list[DailyPoint]]:
    """Return the median ms of reading the series, summarising it and checking alerts."""
    with database.transaction() as session:
        series = daily_series(session, "a")

    def read() -> None:
        with database.transaction() as session:
            daily_series(session, "a")

    def alerts() -> None:
        check_alerts(
            database=database,
            settings=settings,
            account="a",
            clock=lambda: datetime(2026, 1, 2, 21, 0, tzinfo=UTC),
        )

    return (
        timed(runs, read),
        timed(runs, lambda: summarize(series, last)),
        timed(runs, alerts),
        series,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", default="1,5,20")
    parser.add_argument("--per-day", type=int, default=2)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    settings = Settings.model_validate(
        {"accounts": {"a": {"broker": "sim", "strategy": "static",
                            "strategy_params": {"targets": {"VTI": "1"}}}}}
    )  # fmt: skip
    print(f"python {platform.python_version()}, {os.cpu_count()} cpu(s), runs {args.runs}")
    print("years  valuations  points  daily_series ms  summarize ms  check_alerts ms")
    for years in (int(y) for y in args.years.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            database = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))
            last = seed(database, years, args.per_day)
            read_ms, metrics_ms, alerts_ms, series = measure(database, settings, last, args.runs)
            rows = len(series) * (args.per_day + 1)
            print(
                f"{years:5d}  {rows:10d}  {len(series):6d}  {read_ms:15.1f}  "
                f"{metrics_ms:12.1f}  {alerts_ms:15.1f}"
            )
            database.close()


if __name__ == "__main__":
    main()
