"""A second author's backtest: a plain loop over closes, written without reading the engine.

It states the semantics of `trimtab backtest` (issue 16) for the case it covers: fractional
shares, no costs, no cash flows, no taxes. The account starts with `cash` in cash on the first
day of the range and buys its targets at that day's close (day 0, not a rebalance). On each
later day on which the account's cycle runs (every row, or those a calendar rule selects, e.g.
the first row of each quarter), at the close, every holding's weight is its value over the
account's value; when a weight lies outside its band (half-width = the smaller of absolute_pp /
100 and relative x target, of those given; low = max(0, target - half); outside by more than
1e-9), every holding is traded back to its target weight at that close. A band of 0 points
makes a pure calendar rule: back to target on every cycle day.

Also here: a seeded random-walk price file and a config for the engine that matches the loop.
"""

from __future__ import annotations

__all__ = [
    "BAND_TOLERANCE",
    "Bands",
    "Reference",
    "first_day_of_quarter",
    "random_walk",
    "reference_backtest",
    "write_config",
    "write_prices",
]

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

BAND_TOLERANCE = 1e-9
"""How far outside its band a weight may sit and still count as inside (the planner's slack)."""


@dataclass(frozen=True)
class Bands:
    """The default band of every symbol: either limit or both (the smaller applies)."""

    absolute_pp: float | None = None
    relative: float | None = None

    def limits(self, targets: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        half = np.full(targets.shape, np.inf)
        if self.absolute_pp is not None:
            half = np.minimum(half, self.absolute_pp / 100.0)
        if self.relative is not None:
            half = np.minimum(half, self.relative * targets)
        return np.maximum(0.0, targets - half), targets + half


@dataclass
class Reference:
    """What the loop did: one NAV per day, its trades and the days it rebalanced."""

    dates: list[date]
    nav: list[float] = field(default_factory=list)
    trades: list[tuple[date, str, str, float]] = field(default_factory=list)
    rebalances: list[date] = field(default_factory=list)


def first_day_of_quarter(day: date, previous: date | None) -> bool:
    """Select the first trading day (row) of each calendar quarter after the first row."""
    if previous is None:
        return False
    return (day.year, (day.month - 1) // 3) != (previous.year, (previous.month - 1) // 3)


def reference_backtest(
    dates: Sequence[date],
    symbols: Sequence[str],
    closes: NDArray[np.float64],
    targets: Sequence[float],
    *,
    cash: float,
    bands: Bands,
    calendar: Callable[[date, date | None], bool] | None = None,
) -> Reference:
    """Run the plain loop over `closes` (one row per day, one column per symbol); the cycle
    runs on every row, or on the rows `calendar(day, previous day)` selects."""
    target = np.asarray(targets, dtype=np.float64)
    low, high = bands.limits(target)
    out = Reference(dates=list(dates))
    qty = target * cash / closes[0]
    held_cash = cash - float(np.sum(qty * closes[0]))
    out.nav.append(cash)
    out.trades.extend(
        (dates[0], symbol, "buy", float(q)) for symbol, q in zip(symbols, qty, strict=True) if q
    )
    for t in range(1, len(dates)):
        price = closes[t]
        nav = float(np.sum(qty * price)) + held_cash
        weights = qty * price / nav
        cycle = calendar is None or calendar(dates[t], dates[t - 1])
        outside = (weights < low - BAND_TOLERANCE) | (weights > high + BAND_TOLERANCE)
        if cycle and outside.any():
            new = target * nav / price
            for symbol, before, after in zip(symbols, qty, new, strict=True):
                if after != before:
                    side = "buy" if after > before else "sell"
                    out.trades.append((dates[t], symbol, side, float(abs(after - before))))
            qty = new
            held_cash = nav - float(np.sum(qty * price))
            out.rebalances.append(dates[t])
        out.nav.append(nav)
    return out


def random_walk(
    seed: int, days: int, vols: Sequence[float], *, start: str = "2015-01-02"
) -> tuple[list[date], NDArray[np.float64]]:
    """Return `days` weekdays from `start` and geometric random-walk closes, one column per vol.

    Closes are whole cents, as real closes are and as they are written to the file: the loop
    and the engine read the same numbers, and a fill without slippage is at the close exactly.
    """
    rng = np.random.default_rng(seed)
    sigma = np.asarray(vols, dtype=np.float64) / np.sqrt(252.0)
    steps = 0.06 / 252.0 - 0.5 * sigma**2 + sigma * rng.standard_normal((days, len(vols)))
    steps[0] = 0.0
    base = rng.uniform(20.0, 200.0, len(vols))
    closes = np.round(base * np.exp(np.cumsum(steps, axis=0)), 2)
    first = np.datetime64(start, "D")
    days_ = np.busday_offset(first, np.arange(days), roll="forward")
    return [d.astype(object) for d in days_], closes


def write_prices(
    path: Path, dates: Sequence[date], symbols: Sequence[str], closes: NDArray[np.float64]
) -> Path:
    """Write a price file: date,SYM1,SYM2,... then one row of closes per day."""
    lines = ["date," + ",".join(symbols)]
    lines.extend(
        day.isoformat() + "," + ",".join(f"{price:.2f}" for price in row)
        for day, row in zip(dates, closes, strict=True)
    )
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(
    path: Path,
    targets: dict[str, str],
    *,
    bands: Bands,
    schedule: str | None = None,
    account: str = "test",
) -> Path:
    """Write a one-account config the loop describes: fractions to 1e-9, no costs, no taxes."""
    pairs = ", ".join(f'{symbol} = "{weight}"' for symbol, weight in targets.items())
    lines = [
        'mode = "dry-run"',
        'state_dir = "state"',
        f"[accounts.{account}]",
        'broker = "sim"',
        'type = "traditional_ira"',
        'strategy = "static"',
    ]
    if schedule is not None:
        lines.append(f'schedule = "{schedule}"')
    lines += [
        f"[accounts.{account}.broker_settings]",
        "slippage_bps = 0",
        'commission_per_order = "0"',
        'commission_per_share = "0"',
        "fractional = true",
        f"[accounts.{account}.strategy_params]",
        f"targets = {{ {pairs} }}",
    ]
    # The config's default band is 5 points and 25%: a limit left out must be written as one
    # that never binds. 100 points never does; a relative 1 (the largest) does not as long as
    # no target is below the absolute limit.
    if bands.relative is None:
        assert min(float(w) for w in targets.values()) * 100 >= (bands.absolute_pp or 0)
    lines += [
        f"[accounts.{account}.bands]",
        f"absolute_pp = {100 if bands.absolute_pp is None else bands.absolute_pp}",
        f"relative = {1 if bands.relative is None else bands.relative}",
    ]
    lines += [
        f"[accounts.{account}.policy]",
        'rebalance_to = "target"',
        'cash_buffer = "0"',
        'min_trade_notional = "1"',
        "fractional = true",
        'fractional_increment = "0.000000001"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
