"""Time the tax engine: replay 100,000 trades over 500 symbols and 10 accounts.

Run: `uv run python bench/bench_tax.py [--runs N] [--trades 100000] [--csv]`. Prints the median
and the spread of wall time per replay, and what the replay produced. With `--csv` it also
times the whole `trimtab tax replay` path in one process: parse the CSV, replay, build the
JSON. The trade list is random but seeded, so every run replays the same trades.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.domain import AccountType, Side
from daemon.core.tax import SubstantiallyIdentical, TaxPolicy, Trade, replay_trades
from daemon.core.tax.replay import book_to_json, parse_trades

TARGET_S = 5.0
"""What 100,000 trades must replay in (median), on the project's 2-core machine."""

ACCOUNTS = [
    *((f"taxable-{i}", AccountType.TAXABLE, "me") for i in range(5)),
    *((f"spouse-{i}", AccountType.TAXABLE, "spouse") for i in range(2)),
    ("ira-me", AccountType.TRADITIONAL_IRA, "me"),
    ("ira-spouse", AccountType.TRADITIONAL_IRA, "spouse"),
    ("roth-me", AccountType.ROTH_IRA, "me"),
]
START = date(2020, 1, 2)
DAYS = 5 * 365


def trade_list(count: int, symbols: int, seed: int = 7) -> list[Trade]:
    """Return `count` trades in date order: buys and sells (never more than held), 5 years."""
    rng = random.Random(seed)
    names = [f"S{i:03d}" for i in range(symbols)]
    price = {s: rng.uniform(20, 400) for s in names}
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    trades: list[Trade] = []
    for n in range(count):
        on = START + timedelta(days=n * DAYS // count)
        account, account_type, owner = rng.choice(ACCOUNTS)
        symbol = rng.choice(names)
        price[symbol] *= rng.uniform(0.97, 1.03)  # a random walk, so losses and gains both happen
        key = (account, symbol)
        qty = Decimal(rng.randint(1, 100))
        side = Side.BUY
        if held[key] > 0 and rng.random() < 0.45:
            side = Side.SELL
            qty = min(qty, held[key])
        held[key] += qty if side is Side.BUY else -qty
        amount = (qty * Decimal(repr(round(price[symbol], 2)))).quantize(Decimal("0.01"))
        trades.append(
            Trade(f"t{n}", on, account, account_type, symbol, side, qty, amount, owner=owner)
        )
    return trades


def policy(symbols: int) -> TaxPolicy:
    """Return the household policy with every pair of neighbouring symbols one group."""
    pairs = [[f"S{i:03d}", f"S{i + 1:03d}"] for i in range(0, min(symbols, 100), 2)]
    return TaxPolicy(identical=SubstantiallyIdentical.of(pairs))


def to_csv(trades: list[Trade]) -> str:
    """Return the trades as a `trimtab tax replay` CSV file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "date", "account", "account_type", "symbol", "side", "qty", "amount"])
    for t in trades:
        writer.writerow(
            [t.id, t.date, t.account, t.account_type, t.symbol, t.side, t.qty, t.amount]
        )
    return out.getvalue()


def _time(func: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Return wall and CPU seconds of each run (CPU time shows what a busy machine hides)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _report(what: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    print(
        f"{what}: median {statistics.median(wall):.2f} s wall "
        f"({statistics.median(cpu):.2f} s CPU), min {min(wall):.2f} s, max {max(wall):.2f} s "
        f"over {len(wall)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--csv", action="store_true", help="also time CSV parse + JSON")
    args = parser.parse_args()

    trades = trade_list(args.trades, args.symbols)
    household = policy(args.symbols)
    book = replay_trades(trades, household)  # warm-up, and the figures below
    sales = book.sales
    print(
        f"{len(trades):,} trades, {args.symbols} symbols, {len(ACCOUNTS)} accounts "
        f"(Python {platform.python_version()}, {platform.processor() or platform.machine()})"
    )
    print(
        f"  {len(sales):,} sales, {sum(1 for s in sales if s.disallowed):,} washed, "
        f"{len(book.adjustments):,} wash matches, {len(book.lots()):,} open lots"
    )
    # The open lots are built on demand; the replay CLI always asks for them.
    _report(
        f"replay (target < {TARGET_S:.0f} s)",
        _time(lambda: replay_trades(trades, household).lots(), args.runs),
    )
    if args.csv:
        text = to_csv(trades)

        def whole() -> None:
            parsed, _ = parse_trades(text)
            json.dumps(book_to_json(replay_trades(parsed, household)))

        _report("csv + replay + json", _time(whole, args.runs))


if __name__ == "__main__":
    main()
