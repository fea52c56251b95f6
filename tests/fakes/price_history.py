"""Generated daily closes for strategy tests: factor-driven returns, reproducible by seed."""

from __future__ import annotations

__all__ = ["SYMBOLS", "context", "history", "market"]

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from daemon.core.domain import AccountType
from strategies.base import StrategyContext
from strategies.history import CloseHistory

SYMBOLS = ("VTI", "VEA", "BND", "GLD", "VNQ", "TIP")
START = date(2023, 1, 2)


def market(seed: int, days: int, n: int) -> np.ndarray:
    """Closes (days × n): a few common factors, distinct volatilities, a drift per symbol."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(0, 0.01, (days - 1, 3))
    loadings = rng.normal(0, 0.6, (3, n))
    own = rng.normal(0, 0.01, (days - 1, n)) * rng.uniform(0.5, 2.0, n)
    drift = rng.normal(0.0003, 0.0004, n)
    daily = factors @ loadings + own + drift
    start = rng.uniform(20, 300, n)
    growth = np.vstack([np.ones(n), np.cumprod(1 + daily, axis=0)])
    return start * growth


def weekdays(count: int, start: date = START) -> tuple[date, ...]:
    out: list[date] = []
    day = start
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return tuple(out)


def history(seed: int = 1, days: int = 300, symbols: Sequence[str] = SYMBOLS) -> CloseHistory:
    return CloseHistory(weekdays(days), tuple(symbols), market(seed, days, len(symbols)))


def context(
    hist: CloseHistory,
    *,
    day: date | None = None,
    holdings: Mapping[str, Decimal] | None = None,
    prices: Mapping[str, Decimal] | None = None,
    cash: Decimal = Decimal(10_000),
    yields: Mapping[str, Decimal] | None = None,
) -> StrategyContext:
    return StrategyContext(
        trading_day=day or hist.days[-1],
        account="acct",
        account_type=AccountType.TAXABLE,
        cash=cash,
        holdings=dict(holdings or {}),
        prices=dict(prices or {}),
        history=hist,
        yields=dict(yields or {}),
    )
