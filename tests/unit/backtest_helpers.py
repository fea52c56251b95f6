"""Build a backtest's inputs as a user would: a config file and a price file on disk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from daemon.backtest.prices import PriceTable, read_prices
from daemon.backtest.runner import Options, Run, run_one
from daemon.config.settings import Settings, load_config


def write_config(
    directory: Path,
    targets: dict[str, str],
    *,
    account_type: str = "taxable",
    extra: str = "",
    top: str = "",
) -> Settings:
    """Write a one-account config (account `main`, static strategy) and load it."""
    weights = "\n".join(f"{symbol} = {weight}" for symbol, weight in targets.items())
    text = f"""mode = "dry-run"
state_dir = "state"
{top}
[accounts.main]
type = "{account_type}"
strategy = "static"
[accounts.main.strategy_params.targets]
{weights}
{extra}
"""
    path = directory / "config.toml"
    path.write_text(text)
    return load_config(path)


def weekdays(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_prices(
    directory: Path, days: Sequence[date], closes: Mapping[str, Sequence[float | str]]
) -> PriceTable:
    """Write a wide price CSV (floats as cents) and read it back."""
    symbols = list(closes)
    lines = ["date," + ",".join(symbols)]
    for i, day in enumerate(days):
        cells = [c if isinstance(c, str) else f"{c:.2f}" for c in (closes[s][i] for s in symbols)]
        lines.append(f"{day.isoformat()}," + ",".join(cells))
    path = directory / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    return read_prices(path)


def random_walk(
    seed: int, symbols: Sequence[str], count: int, *, volatility: float = 0.02
) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    out = {}
    for symbol in symbols:
        steps = rng.normal(0.0, volatility, count)
        start = rng.uniform(20, 200)
        out[symbol] = [round(float(v), 2) for v in start * np.exp(np.cumsum(steps))]
    return out


def run(settings: Settings, table: PriceTable, **options: object) -> Run:
    return run_one(settings, "main", table, Options(**options))  # type: ignore[arg-type]


def cash(text: str) -> Decimal:
    return Decimal(text)
