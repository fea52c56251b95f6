"""Time the planner's tax step on an account with 50,000 open lots over 500 holdings.

Run: `uv run python bench/bench_tax_planner.py [--runs N] [--lots 50000] [--holdings 500]`.
Prints the median and 90th percentile of wall time for: the tax step alone (guards, lot
choice and previews of every sell, the gains budget, harvesting), the planner plus the tax
step, and the windows and realized gains the cycle reads from the engine's book. The replay
that builds the book (once per cycle, before planning) is timed once and printed too, and a
whole cycle's share (a fresh replay, then the planner and the tax step) is timed last.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.domain import CASH, AccountType, Side
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax import SubstantiallyIdentical, TaxPolicy, Trade
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.plan_types import TaxContext
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.tax_step import apply_tax, realized_this_year
from daemon.core.tax.types import LotMethod

TARGET_MS = 100.0
"""Planner with 50,000 open lots and 500 holdings (issue 7), median."""
TODAY = date(2026, 11, 24)
ACCOUNT = "brokerage"


def household(lots: int, holdings: int, seed: int) -> tuple[list[Trade], PlanInput]:
    """Return `lots` purchases over `holdings` symbols in 5 years, and the account drifted."""
    rng = random.Random(seed)
    symbols = [f"S{i:04d}" for i in range(holdings)]
    prices = {s: Decimal(repr(round(rng.uniform(20, 400), 2))) for s in symbols}
    trades = []
    held: dict[str, Decimal] = dict.fromkeys(symbols, Decimal(0))
    for i in range(lots):
        symbol = symbols[i % holdings]
        qty = Decimal(rng.randint(1, 40))
        paid = prices[symbol] * Decimal(repr(round(rng.uniform(0.6, 1.4), 3)))
        trades.append(
            Trade(
                id=f"b{i}",
                date=TODAY - timedelta(days=rng.randint(1, 1800)),
                account=ACCOUNT,
                account_type=AccountType.TAXABLE,
                symbol=symbol,
                side=Side.BUY,
                qty=qty,
                amount=(qty * paid).quantize(Decimal("0.01")),
            )
        )
        held[symbol] += qty
    raw = [Decimal(repr(rng.uniform(0.5, 1.5))) for _ in symbols]
    total = sum(raw) / Decimal("0.98")
    targets = {s: (r / total).quantize(Decimal("1e-9")) for s, r in zip(symbols, raw, strict=True)}
    targets[CASH] = Decimal(1) - sum(targets.values())
    return trades, PlanInput(cash=Decimal(50_000), holdings=held, prices=prices, targets=targets)


def context(book: TaxBook, prices: dict[str, Decimal], settings: TaxSettings) -> TaxContext:
    return TaxContext(
        account=ACCOUNT,
        account_type=AccountType.TAXABLE,
        today=TODAY,
        settings=settings,
        identical=book.policy.identical,
        book=book,
        loss_windows=book.loss_windows(TODAY),
        purchase_windows=book.purchase_windows(TODAY),
        realized=realized_this_year(book.sales, ACCOUNT, TODAY.year),
        prices=prices,
        min_trade=Decimal(50),
    )


def timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--lots", type=int, default=50_000)
    parser.add_argument("--holdings", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=5, help="Runs of replay + planning.")
    parser.add_argument(
        "--band", default="0.05", help="Band half-width in pp (0.05: every holding trades)."
    )
    args = parser.parse_args()
    trades, inp = household(args.lots, args.holdings, seed=7)
    start = time.perf_counter()
    book = replay_trades(
        trades,
        TaxPolicy(default_method=LotMethod.FIFO, identical=SubstantiallyIdentical.of(())),
    )
    replay_s = time.perf_counter() - start
    policy = PlanningPolicy(default_band=Band(absolute_pp=Decimal(args.band)))
    plan = plan_rebalance(inp, policy)
    sells = sum(1 for o in plan.orders if o.side is Side.SELL)
    prices = dict(inp.prices)
    settings = {
        "fifo": TaxSettings(),
        "min_tax + budget + harvest": TaxSettings.model_validate(
            {
                "lot_method": "specific",
                "gains_budget": {"short_term": "5000", "long_term": "20000"},
                "harvest": {"enabled": True},
                "alternates": {s: f"ALT{i}" for i, s in enumerate(sorted(prices)[:50])},
            }
        ),
    }
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, {args.runs} runs each")
    print(
        f"{args.lots} open lots, {args.holdings} holdings, ±{args.band}pp bands; plan of "
        f"{len(plan.orders)} orders "
        f"({sells} sells); replay of the lots {replay_s:.2f} s (once per cycle, not timed below)"
    )
    print(f"{'what':<44} {'median ms':>10} {'p90 ms':>8}")
    median, p90 = timed(args.runs, lambda: context(book, prices, settings["fifo"]))
    print(f"{'windows + realized gains from the book':<44} {median:>10.1f} {p90:>8.1f}")
    for name, tax in settings.items():
        ctx = context(book, prices | {f"ALT{i}": Decimal(50) for i in range(50)}, tax)
        median, p90 = timed(args.runs, lambda ctx=ctx: apply_tax(plan, ctx))  # type: ignore[misc]
        print(f"{'tax step, ' + name:<44} {median:>10.1f} {p90:>8.1f}")
    ctx = context(book, prices, settings["fifo"])
    selling = [o for o in plan.orders if o.side is Side.SELL]
    buying = [o for o in plan.orders if o.side is Side.BUY]
    for count in (10, 40, 100):
        part = dataclasses.replace(plan, orders=tuple(selling[:count] + buying))
        median, p90 = timed(args.runs, lambda part=part: apply_tax(part, ctx))  # type: ignore[misc]
        print(f"{f'tax step, fifo, first {count} sells only':<44} {median:>10.1f} {p90:>8.1f}")
    median, p90 = timed(args.runs, lambda: apply_tax(plan_rebalance(inp, policy), ctx))
    print(f"{'planner + tax step, fifo':<44} {median:>10.1f} {p90:>8.1f}")

    def cycle() -> None:
        # What a cycle does: a fresh replay, then planning on it. The collector's first passes
        # over the new book fall into the planning, so the two are timed together.
        fresh = replay_trades(trades, book.policy)
        apply_tax(plan_rebalance(inp, policy), context(fresh, prices, settings["fifo"]))

    median, p90 = timed(args.cycles, cycle)
    print(f"{'replay + planner + tax step (one cycle)':<44} {median:>10.1f} {p90:>8.1f}")
    print(f"target: {args.lots} lots and {args.holdings} holdings under {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
