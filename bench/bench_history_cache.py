"""Count price-history requests over N simulated days against the fake Alpaca.

Run: `uv run python bench/bench_history_cache.py [--days 60] [--symbols 20] [--cycles 2]`.
Each simulated session day runs `--cycles` history reads of a 252-row strategy (a 253-close
window, as `hrp` with `lookback_days = 252` reads) through `daemon.cycle.history.HistoryCache`
on a real SQLite state database and the real `AlpacaBroker` (alpaca-py on loopback HTTP to
the fake). Halfway through, one symbol splits 2-for-1, so its adjusted history changes.
Printed: how often each symbol is named in a bars query per day (the cache's promise: at most
once, never on a day's later cycles, twice on the day a symbol's adjusted history changed),
the HTTP requests (pages of up to 10,000 bars; symbols share a query), the median time of
one history read, and the same figures without the cache (every cycle fetching the whole
window).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from daemon.cycle.history import HistoryCache, previous_session
from daemon.store.db import open_database
from strategies.history import HistoryNeeds
from tests.fakes.alpaca_server import AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import make_broker

EXCHANGE = "XNYS"
ROWS = 253


def sessions(first: date, count: int) -> list[date]:
    days: list[date] = []
    day = first
    while len(days) < count:
        if previous_session(day + timedelta(days=1), EXCHANGE) == day:
            days.append(day)
        day += timedelta(days=1)
    return days


def run(days: int, symbols: int, cycles: int, cached: bool) -> dict[str, float]:
    names = [f"S{i:03d}" for i in range(symbols)]
    now = [datetime(2026, 6, 1, 17, tzinfo=UTC)]
    state = AlpacaState(clock=lambda: now[0])
    first = date(2025, 1, 2)
    every = [
        first + timedelta(days=i) for i in range(800) if (first + timedelta(days=i)).weekday() < 5
    ]
    # No rate limit here: the bench counts requests (Alpaca allows 200 a minute).
    with FakeAlpaca(state, rate_limit=10**9) as fake, tempfile.TemporaryDirectory() as tmp:
        fake.bars.page_size = 10_000  # Alpaca's largest page
        for k, symbol in enumerate(names):
            fake.bars.set_closes(
                symbol, {d: Decimal(50 + k) + Decimal(i) / 100 for i, d in enumerate(every)}
            )
        database = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp) / "state")
        # A 500-symbol window is 13 pages the fake builds slowly: a patient read timeout.
        broker = make_broker(fake, clock=lambda: now[0], read_timeout_seconds=Decimal(120))
        needs = HistoryNeeds(frozenset(names), ROWS)
        per_day: list[int] = []
        worst = 0
        seconds: list[float] = []
        later: list[float] = []
        run_days = sessions(date(2026, 6, 1), days)
        for n, day in enumerate(run_days):
            if n == days // 2:  # S000 splits 2-for-1: its adjusted closes before today halve
                fake.bars.add_split(names[0], day, Decimal(2))
            now[0] = datetime(day.year, day.month, day.day, 16, tzinfo=UTC)  # 12:00 New York
            before = Counter({s: fake.bars.requests_for(s) for s in names})
            for cycle in range(cycles):
                cache = HistoryCache(
                    broker, "alpaca:bench", database if cached else None, lambda: now[0]
                )
                end = previous_session(day, EXCHANGE)
                started = time.perf_counter()
                cache.closes(needs.symbols, end - timedelta(days=needs.calendar_days()), end)
                (seconds if cycle == 0 else later).append(time.perf_counter() - started)
            after = Counter({s: fake.bars.requests_for(s) for s in names})
            made = after - before
            per_day.append(sum(made.values()))
            worst = max(worst, max(made.values(), default=0))
        broker.close()
        database.close()
        return {
            "queries": sum(per_day),
            "first_day": per_day[0],
            "later_days": statistics.mean(per_day[1:]) if len(per_day) > 1 else 0.0,
            "worst_per_symbol_day": worst,
            "pages": fake.bars.pages,
            "median_ms": statistics.median(seconds[1:] or seconds) * 1000,
            "later_ms": statistics.median(later) * 1000 if later else 0.0,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.symbols} symbols, {args.days} session days, {args.cycles} cycles a day, "
          f"{ROWS} closes a window")  # fmt: skip
    for cached in (True, False):
        got = run(args.days, args.symbols, args.cycles, cached)
        label = "cache" if cached else "no cache"
        print(
            f"{label:>8}: symbols named in queries {got['queries']} ({got['first_day']} on day 1, "
            f"{got['later_days']:.2f}/day after; at most {got['worst_per_symbol_day']} per "
            f"symbol per day); HTTP requests {got['pages']}; median read: a day's first "
            f"{got['median_ms']:.1f} ms (day 1 left out), its later {got['later_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
