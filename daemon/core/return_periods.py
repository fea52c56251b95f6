"""Returns over periods of a valuation series: calendar years, rolling windows, the
money-weighted return, and how an account moved with its benchmark. Pure functions, no I/O.

The conventions of `daemon.core.performance` hold: daily returns are time-weighted (a flow
is not a return), fractions are floats (0.05 is 5%), and what the data cannot give is None.
"""

from __future__ import annotations

__all__ = [
    "Relation",
    "RollingReturns",
    "YearReturn",
    "calendar_year_returns",
    "money_weighted_return",
    "relation",
    "rolling_returns",
]

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from daemon.core.performance import NO_VARIATION, TRADING_DAYS, DailyPoint, ReturnArray

if TYPE_CHECKING:
    import pandas as pd

YEAR_DAYS = 365.25
"""Days in a year, for the money-weighted return's year fractions (as CAGR counts them)."""
_LOWEST = math.log(1e-9)
"""The lowest money-weighted rate looked for, as log(1 + r): -99.9999999% a year."""
WHOLE_FROM = (1, 7)
WHOLE_TO = (12, 24)
"""A year counts as whole when its return is measured from a day in its first week (or
before the year) to a day in its last week: every exchange's first session of a year falls
in its first week and its last in its last."""


@dataclass(frozen=True, slots=True)
class YearReturn:
    """One calendar year's time-weighted return, from the close of `start` (the previous
    year's last day, or the series' first) to the close of `end` (the year's last day)."""

    year: int
    start: date
    end: date
    value: float
    whole: bool
    """False for a year the series covers only part of (see `WHOLE_FROM`)."""


@dataclass(frozen=True, slots=True)
class RollingReturns:
    """The annualized returns over every window of `years` x 252 daily returns."""

    years: int
    windows: int
    worst: float
    median: float
    best: float


@dataclass(frozen=True, slots=True)
class Relation:
    """How the account's daily returns moved with the benchmark's, over the days both have."""

    days: int
    correlation: float | None
    beta: float | None
    """Covariance over the benchmark's variance: the account's move for a 1.0 move of it."""


def calendar_year_returns(returns: pd.Series | ReturnArray, start: date) -> list[YearReturn]:
    """Return each calendar year's return, oldest first; `start` is the day of the series'
    first value (which has no return of its own)."""
    values = returns.to_numpy()
    days = list(returns.index)
    years: list[YearReturn] = []
    begin = 0
    base = start
    while begin < len(days):
        year = days[begin].year
        end = begin
        while end + 1 < len(days) and days[end + 1].year == year:
            end += 1
        growth = float(np.prod(1.0 + values[begin : end + 1])) - 1.0
        whole = base <= date(year, *WHOLE_FROM) and days[end] >= date(year, *WHOLE_TO)
        years.append(YearReturn(year, base, days[end], growth, whole))
        base = days[end]
        begin = end + 1
    return years


def rolling_returns(
    returns: pd.Series | ReturnArray, years: int, periods_per_year: int = TRADING_DAYS
) -> RollingReturns | None:
    """Return the worst, median and best annualized return over every window of `years` x
    `periods_per_year` consecutive daily returns; None when the series is shorter, or when
    a day lost everything (no growth to annualize)."""
    size = years * periods_per_year
    values = returns.to_numpy()
    if size <= 0 or len(values) < size or bool(np.any(values <= -1.0)):
        return None
    # Sums of log growth over each window: one pass, and no product of thousands of floats.
    logs = np.concatenate(([0.0], np.cumsum(np.log1p(values))))
    annual = np.expm1((logs[size:] - logs[:-size]) / years)
    return RollingReturns(
        years=years,
        windows=len(annual),
        worst=float(annual.min()),
        median=float(np.median(annual)),
        best=float(annual.max()),
    )


def money_weighted_return(points: Sequence[DailyPoint]) -> float | None:
    """Return the money-weighted return a year (the internal rate of return): the rate at
    which the first value, each later flow and the last value are worth nothing together.

    Flows are dated on their points (deposits paid in, withdrawals taken out), years are
    365.25 days. A last value of 0 counts when there are flows (withdrawals that emptied the
    account earned a rate). None with fewer than two points, a first value that is not
    positive, a negative last value, or no such rate from -99.9999999% to 10^6 a year (a
    range of a few days that lost a lot can annualize below that; a last value of 0 without
    flows is -100%). With withdrawals between deposits more than one rate can fit; the one
    given is found by bisection of a bracket up from -100%.
    """
    if len(points) < 2 or points[0].value <= 0 or points[-1].value < 0:
        return None
    first = points[0].day
    span = (points[-1].day - first).days / YEAR_DAYS
    if span <= 0:
        return None
    flows = [p for p in points[1:] if p.flow != 0]
    if not flows:
        if points[-1].value == 0:
            return None  # all lost: -100%, below every rate looked for
        # One amount in, one out: the rate is the value's annualized growth.
        growth = math.log(float(points[-1].value / points[0].value)) / span
        return math.expm1(growth) if growth >= _LOWEST else None
    times = np.array(
        [0.0, *((p.day - first).days / YEAR_DAYS for p in flows), span], dtype=np.float64
    )
    # The investor's side: the first value and deposits paid in, withdrawals and the last
    # value received.
    amounts = np.array(
        [-float(points[0].value), *(-float(p.flow) for p in flows), float(points[-1].value)],
        dtype=np.float64,
    )

    # Solved for the continuously compounded rate g = log(1 + r): near r = -100% the worth
    # moves by orders of magnitude for a tiny change of r, but evenly in g.
    def worth(growth: float) -> float:
        return float(np.sum(amounts * np.exp(-times * growth)))

    low, high = _LOWEST, math.log(2.0)
    if not worth(low) > 0:
        return None
    cap = math.log(1e6)
    while worth(high) > 0:
        if high >= cap:
            return None
        high = min(high * 2.0, cap)
    # Bisection, not scipy's brentq: importing scipy.optimize takes 0.3 to 0.7 s, more than a
    # whole backtest of a few symbols; 200 halvings of this bracket reach float resolution
    # in about a millisecond, whatever the function's shape.
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if worth(middle) > 0:
            low = middle
        else:
            high = middle
    return math.expm1((low + high) / 2)


def relation(
    account: pd.Series | ReturnArray, benchmark: pd.Series | ReturnArray
) -> Relation | None:
    """Return the correlation and beta of the account's daily returns with the benchmark's,
    over the days both have a return; None with fewer than two such days."""
    theirs = dict(zip(benchmark.index, benchmark.to_numpy().tolist(), strict=True))
    pairs = [
        (ours, theirs[day])
        for day, ours in zip(account.index, account.to_numpy().tolist(), strict=True)
        if day in theirs
    ]
    if len(pairs) < 2:
        return None
    both = np.array(pairs, dtype=np.float64)
    spread = both.std(axis=0, ddof=1)
    if spread[1] <= NO_VARIATION:
        return Relation(len(pairs), None, None)
    centred = both - both.mean(axis=0)
    covariance = float(centred[:, 0] @ centred[:, 1]) / (len(pairs) - 1)
    beta = covariance / float(spread[1]) ** 2
    correlation = None
    if spread[0] > NO_VARIATION:
        correlation = covariance / float(spread[0] * spread[1])
    return Relation(len(pairs), correlation, beta)
