"""Time the risk-based strategies' weights for 500 symbols on 252 days of returns.

Run: `uv run python bench/bench_strategies.py [--runs N] [--symbols 500] [--days 252]`. Prints
the median and 90th percentile of wall time per `allocate` (the history check, the returns,
the covariance, the rule, the limits and the Decimal weights) for each strategy. With more
symbols than returns the sample covariance is singular, so every strategy here uses
`covariance = "ledoit_wolf"`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from daemon.core.domain import AccountType
from strategies.base import Explains, StrategyContext
from strategies.history import CloseHistory
from strategies.registry import load_strategy

TARGET_MS = 200.0
"""What `hrp` and `min_variance` must take for 500 symbols × 252 days (median)."""
STRATEGIES = ("hrp", "min_variance", "inverse_vol", "risk_parity", "max_sharpe")


def market(symbols: int, days: int, seed: int = 7) -> CloseHistory:
    """Closes driven by five common factors and each symbol's own noise."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(0, 0.01, (days, 5))
    loadings = rng.normal(0, 0.6, (5, symbols))
    daily = factors @ loadings + rng.normal(0.0003, 0.012, (days, symbols))
    closes = 100 * np.vstack([np.ones(symbols), np.cumprod(1 + daily, axis=0)])
    start = date(2024, 1, 1)
    return CloseHistory(
        tuple(start + timedelta(days=i) for i in range(days + 1)),
        tuple(f"S{i:04d}" for i in range(symbols)),
        closes,
    )


def measure(name: str, history: CloseHistory, days: int, runs: int) -> tuple[float, float, int]:
    """Return the median and p90 milliseconds of one allocation, and how many symbols it holds."""
    plugin = load_strategy(name)
    params = {"universe": list(history.symbols), "lookback_days": days, "covariance": "ledoit_wolf"}
    strategy = plugin.create(plugin.params_model.model_validate(params))
    assert isinstance(strategy, Explains)
    context = StrategyContext(
        trading_day=history.days[-1],
        account="bench",
        account_type=AccountType.TAXABLE,
        cash=Decimal(0),
        holdings={},
        prices={},
        history=history,
    )
    held = len(strategy.allocate(context).weights)  # warm up (imports scipy)
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        strategy.allocate(context)
        times.append((time.perf_counter() - begin) * 1000.0)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))], held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--days", type=int, default=252)
    args = parser.parse_args()
    history = market(args.symbols, args.days)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
        f"OPENBLAS_NUM_THREADS={threads}, load {os.getloadavg()[0]:.1f}, {args.runs} runs each"
    )
    print(
        f"{'strategy':<13} {'symbols':>7} {'days':>5} {'held':>5} {'median ms':>10} {'p90 ms':>8}"
    )
    for name in STRATEGIES:
        median, p90, held = measure(name, history, args.days, args.runs)
        print(f"{name:<13} {args.symbols:>7} {args.days:>5} {held:>5} {median:>10.1f} {p90:>8.1f}")
    print(f"target: hrp and min_variance under {TARGET_MS:.0f} ms (median) for 500 × 252")


if __name__ == "__main__":
    main()
