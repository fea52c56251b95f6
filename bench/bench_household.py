"""Time `split_household` on seeded random households.

Run: `uv run python bench/bench_household.py [--runs N] [--sizes 3x5,3x20,10x100]`
(accounts x symbols). Prints the median and 90th percentile of wall time per split.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from decimal import Decimal

from daemon.core.domain import CASH, AccountType
from daemon.core.household import HouseholdAccount, HouseholdRules, LocationPreference
from daemon.core.household.split import split_household

TYPES = tuple(AccountType)


def household(
    accounts: int, symbols: int, seed: int
) -> tuple[HouseholdRules, list[HouseholdAccount]]:
    """Return a household whose accounts hold a random mix; four classes with preferences."""
    rng = random.Random(seed)
    names = [f"S{i:04d}" for i in range(symbols)]
    raw = [rng.uniform(0.5, 1.5) for _ in names]
    total = sum(raw) / 0.98
    targets = {
        s: Decimal(repr(r / total)).quantize(Decimal("1e-9"))
        for s, r in zip(names, raw, strict=True)
    }
    targets[CASH] = Decimal(1) - sum(targets.values())
    classes = {s: f"c{i % 4}" for i, s in enumerate(names)}
    location = tuple(LocationPreference(f"c{i}", tuple(rng.sample(TYPES, 3))) for i in range(4))
    members = [
        HouseholdAccount(
            name=f"a{i}",
            type=TYPES[i % 3],
            cash=Decimal(rng.randint(0, 50_000)),
            holdings={s: Decimal(rng.randint(0, 20_000)) for s in rng.sample(names, symbols // 2)},
            gains={s: Decimal(rng.randint(-2_000, 5_000)) for s in names},
        )
        for i in range(accounts)
    ]
    return HouseholdRules(targets=targets, asset_classes=classes, location=location), members


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes", default="3x5,3x20,10x100")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}"
    )
    for size in args.sizes.split(","):
        accounts, symbols = (int(part) for part in size.split("x"))
        times = []
        for run in range(args.runs):
            rules, members = household(accounts, symbols, seed=run)
            start = time.perf_counter()
            split_household(rules, members)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p90 = times[int(0.9 * (len(times) - 1))]
        print(f"{size:>8}: median {statistics.median(times):7.1f} ms, p90 {p90:7.1f} ms")


if __name__ == "__main__":
    main()
