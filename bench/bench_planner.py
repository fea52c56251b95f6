"""Time `plan_rebalance` on seeded random portfolios drifted out of band.

Run: `uv run python bench/bench_planner.py [--runs N] [--sizes 50,500,5000]`. Prints the median
and 90th percentile of wall time per plan for each portfolio size.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from decimal import Decimal

from daemon.core.domain import CASH
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance

TARGET_MS = 50.0
"""What 5,000 holdings must plan in (median), on the project's 2-core machine."""


def portfolio(size: int, seed: int) -> PlanInput:
    """Return a portfolio of `size` holdings whose weights drift well outside ±2pp bands."""
    rng = random.Random(seed)
    symbols = [f"SYM{i:05d}" for i in range(size)]
    raw = [Decimal(repr(rng.uniform(0.5, 1.5))) for _ in symbols]
    total = sum(raw) / Decimal("0.98")  # 2% stays in cash
    targets = {s: (r / total).quantize(Decimal("1e-9")) for s, r in zip(symbols, raw, strict=True)}
    targets[CASH] = Decimal(1) - sum(targets.values())
    nav = Decimal(1_000_000) * size
    prices: dict[str, Decimal] = {}
    holdings: dict[str, Decimal] = {}
    for s in symbols:
        price = Decimal(repr(round(rng.uniform(5, 500), 2)))
        drift = Decimal(repr(rng.uniform(0.6, 1.4)))
        prices[s] = price
        holdings[s] = (targets[s] * nav * drift / price).quantize(Decimal(1))
    return PlanInput(cash=Decimal(5_000) * size, holdings=holdings, prices=prices, targets=targets)


def measure(size: int, runs: int, policy: PlanningPolicy) -> tuple[float, float, int]:
    """Return the median and p90 milliseconds of planning, and the orders of one plan."""
    inp = portfolio(size, seed=size)
    orders = len(plan_rebalance(inp, policy).orders)  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        plan_rebalance(inp, policy)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))], orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", default="50,500,5000")
    args = parser.parse_args()
    policies = {
        "target": PlanningPolicy(
            default_band=Band(absolute_pp=Decimal(2), relative=Decimal("0.25"))
        ),
        "band_edge": PlanningPolicy(
            default_band=Band(absolute_pp=Decimal(2), relative=Decimal("0.25")),
            rebalance_to="band_edge",
            min_trade_notional=Decimal(100),
            share_increment=Decimal("0.0001"),
        ),
    }
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, {args.runs} runs each")
    print(f"{'mode':<10} {'holdings':>8} {'orders':>7} {'median ms':>10} {'p90 ms':>8}")
    for name, policy in policies.items():
        for size in (int(s) for s in args.sizes.split(",")):
            median, p90, orders = measure(size, args.runs, policy)
            print(f"{name:<10} {size:>8} {orders:>7} {median:>10.1f} {p90:>8.1f}")
    print(f"target: 5,000 holdings under {TARGET_MS:.0f} ms (median)")


if __name__ == "__main__":
    main()
