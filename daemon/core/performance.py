"""Performance and risk metrics of a valuation series: pure functions, no clock, no I/O.

Conventions (see docs/monitoring.md for the formulas):

- A series is a sequence of `DailyPoint`s, one per trading day with a valuation, oldest first.
  `flow` is the net external cash flow (deposits positive, withdrawals negative) that arrived
  after the previous point's valuation and at or before this point's.
- Flows count at the END of the period they fall in: the deposited money earned nothing in
  that period, so the period's return is `r_t = (V_t - F_t) / V_{t-1} - 1`. A period whose
  start value `V_{t-1}` is not positive has no return (it is left out of the series).
- Returns, volatility, drawdown, ratios and weights are `float` fractions (0.05 is 5%);
  currency amounts (value at risk) are `Decimal`, rounded to cents towards the larger loss.
  Something that cannot be computed from the data given (too few points) is `None`.
- Annualisation uses `periods_per_year` (252 trading days by default) whatever the gaps
  between points: a missing day folds into the next period's return.
"""

from __future__ import annotations

__all__ = [
    "NO_VARIATION",
    "TRADING_DAYS",
    "Concentration",
    "DailyPoint",
    "Drawdown",
    "PerformanceSummary",
    "PeriodReturns",
    "ReturnArray",
    "RiskMetrics",
    "ValueAtRisk",
    "annualized_volatility",
    "combine_series",
    "concentration",
    "current_drawdown",
    "daily_return_array",
    "daily_returns",
    "drawdowns",
    "growth_array",
    "growth_index",
    "historical_var",
    "max_drawdown",
    "period_returns",
    "risk_metrics",
    "sharpe_ratio",
    "sortino_ratio",
    "summarize",
    "time_weighted_return",
]

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from daemon.core.money import cents_up

if TYPE_CHECKING:
    # pandas is imported where a Series is built: it costs ~35 MB and a good part of a second,
    # which a backtest (numpy only, `ReturnArray`) need not pay.
    import pandas as pd

TRADING_DAYS = 252
NO_VARIATION = 1e-12
"""A per-period deviation at or below this is float noise around a constant series: the
ratios that divide by it are None rather than meaningless millions."""


@dataclass(frozen=True, slots=True)
class DailyPoint:
    """The value of an account (or household, or benchmark) at the end of one trading day."""

    day: date
    value: Decimal
    flow: Decimal = Decimal(0)
    """Net external flow since the previous point (positive: money in)."""


@dataclass(frozen=True, slots=True)
class PeriodReturns:
    """Time-weighted returns ending on `as_of`; None where the series does not reach."""

    as_of: date
    day: float | None
    month_to_date: float | None
    year_to_date: float | None
    since_start: float | None
    start: date | None
    """The first day of the series: where `since_start` is measured from."""


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall of the growth index from a running peak (0.0 for a series that never
    fell), where that peak was, where the bottom was, and when the peak was regained."""

    depth: float
    peak: date | None
    trough: date | None
    recovered: date | None


@dataclass(frozen=True, slots=True)
class ValueAtRisk:
    """One-day historical value at risk: the loss not exceeded on `level` of the days."""

    level: float
    fraction: float
    """Loss as a fraction of value (0.021 = 2.1%); 0.0 when even that quantile is a gain."""
    amount: Decimal
    """`fraction` of the latest value, in currency, rounded up to the cent."""
    observations: int


@dataclass(frozen=True, slots=True)
class Concentration:
    """How concentrated the holdings are, as fractions of the account's total value."""

    largest_symbol: str | None
    largest_weight: float
    herfindahl: float
    """Sum of squared holding weights: 1.0 for one holding and no cash, 1/n for n equal."""


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    observations: int
    """Number of daily returns the metrics were computed from."""
    volatility: float | None
    max_drawdown: Drawdown
    current_drawdown: float
    sharpe: float | None
    sortino: float | None
    var: ValueAtRisk | None


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """Everything the daily report shows about performance, for one series."""

    returns: PeriodReturns
    benchmark: PeriodReturns | None
    risk: RiskMetrics
    value: Decimal | None
    """The latest value in the series (on or before `as_of`)."""


def daily_returns(points: Sequence[DailyPoint]) -> pd.Series:
    """Return each period's flow-adjusted return, indexed by the period's end day.

    `r_t = (V_t - F_t) / V_{t-1} - 1`; periods starting from a value <= 0 are left out.
    """
    returns = daily_return_array(points)
    import pandas as pd

    index = pd.Index(list(returns.index), name="day")
    return pd.Series(returns.values, index=index, dtype="float64", name="return")


@dataclass(frozen=True, slots=True)
class ReturnArray:
    """`daily_returns` without pandas: the same returns by end day, for the statistics below
    (which read only `len`, `index` and `to_numpy`), where importing pandas would cost more
    than the work (a backtest's metrics)."""

    index: tuple[date, ...]
    values: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.index)

    def to_numpy(self, dtype: type[np.float64] | None = None) -> NDArray[np.float64]:
        return self.values


def daily_return_array(points: Sequence[DailyPoint]) -> ReturnArray:
    """`daily_returns` as a `ReturnArray`: the same days and the same floats."""
    _check_order(points)
    days: list[date] = []
    values: list[float] = []
    for previous, point in pairwise(points):
        if previous.value <= 0:
            continue
        days.append(point.day)
        values.append(float((point.value - point.flow) / previous.value) - 1.0)
    return ReturnArray(tuple(days), np.array(values, dtype=np.float64))


def growth_index(returns: pd.Series) -> pd.Series:
    """Return the growth of 1 through `returns` (the TWR index), without a starting row."""
    return (1.0 + returns).cumprod()


def growth_array(returns: ReturnArray) -> NDArray[np.float64]:
    """`growth_index` without pandas: the same products, in the same order."""
    return np.cumprod(1.0 + returns.values, dtype=np.float64)


def time_weighted_return(returns: pd.Series | ReturnArray) -> float:
    """Link period returns: `prod(1 + r_t) - 1` (0.0 for no periods)."""
    return float(np.prod(1.0 + returns.to_numpy())) - 1.0 if len(returns) else 0.0


def period_returns(points: Sequence[DailyPoint], as_of: date) -> PeriodReturns:
    """Return the day's, month's, year's and whole series' TWR ending on `as_of`.

    A period is measured from the last point before it began (the previous month's last
    valuation for the month), or from the series' first point when it began inside the period.
    """
    upto = [p for p in points if p.day <= as_of]
    if not upto:
        return PeriodReturns(as_of, None, None, None, None, None)
    returns = daily_returns(upto)
    day = float(returns.iloc[-1]) if len(returns) and returns.index[-1] == as_of else None
    month = _since(upto, returns, as_of.replace(day=1))
    year = _since(upto, returns, as_of.replace(month=1, day=1))
    total = time_weighted_return(returns) if len(upto) > 1 else None
    return PeriodReturns(as_of, day, month, year, total, upto[0].day)


def _since(points: Sequence[DailyPoint], returns: pd.Series, start: date) -> float | None:
    inside = [p for p in points if p.day >= start]
    if not inside:
        return None
    if inside[0] is points[0] and len(inside) == 1:
        return None
    window = returns[[d >= start for d in returns.index]]
    return time_weighted_return(window)


def annualized_volatility(
    returns: pd.Series | ReturnArray, periods_per_year: int = TRADING_DAYS
) -> float | None:
    """Return the sample standard deviation of `returns` times `sqrt(periods_per_year)`."""
    if len(returns) < 2:
        return None
    return float(np.std(returns.to_numpy(), ddof=1)) * math.sqrt(periods_per_year)


def max_drawdown(returns: pd.Series | ReturnArray, start: date | None = None) -> Drawdown:
    """Return the deepest peak-to-trough fall of the growth index (starting at 1.0).

    `start` names the day of the starting level (the series' first point), which has no
    return of its own; it is reported as the peak when the fall began from there.
    """
    deepest = drawdowns(returns, start, top=1)
    return deepest[0] if deepest else Drawdown(0.0, None, None, None)


def drawdowns(
    returns: pd.Series | ReturnArray, start: date | None = None, *, top: int = 5
) -> list[Drawdown]:
    """Return the `top` deepest falls of the growth index, deepest first (the earlier of
    two as deep), each from a peak to its trough and to the day the peak was regained.

    The falls do not overlap: one ends when the index is back at its peak, and the next
    begins from a later peak. The first is `max_drawdown`'s.
    """
    if not len(returns):
        return []
    # np.cumprod multiplies in order as pandas' cumprod does: the same floats, bit for bit.
    levels = np.concatenate(([1.0], np.cumprod(1.0 + returns.to_numpy())))
    days: list[date | None] = [start, *returns.index]
    peaks = np.maximum.accumulate(levels)
    falls = levels / peaks - 1.0
    below = falls < 0.0
    # Each run of days below the running peak is one fall: from its first day to its last.
    edges = np.diff(np.concatenate(([0], below.astype(np.int8), [0])))
    firsts = np.flatnonzero(edges == 1)
    lasts = np.flatnonzero(edges == -1) - 1
    found: list[tuple[float, int, Drawdown]] = []
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        bottom = first + int(np.argmin(falls[first : last + 1]))
        # The peak: the first day at the level the run fell from (a flat top counts from its
        # first day).
        peak = int(np.argmax(levels[:first] >= peaks[first]))
        recovered = days[last + 1] if last + 1 < len(levels) else None
        depth = -float(falls[bottom])
        found.append((depth, bottom, Drawdown(depth, days[peak], days[bottom], recovered)))
    found.sort(key=lambda fall: (-fall[0], fall[1]))
    return [fall for _, _, fall in found[:top]]


def current_drawdown(returns: pd.Series | ReturnArray) -> float:
    """Return how far the growth index now stands below its highest level (0.0 at a peak)."""
    if not len(returns):
        return 0.0
    levels = np.concatenate(([1.0], np.cumprod(1.0 + returns.to_numpy())))
    return max(0.0, 1.0 - float(levels[-1] / levels.max()))


def _excess(
    returns: pd.Series | ReturnArray, risk_free_rate: float, periods_per_year: int
) -> NDArray[np.float64]:
    per_period = (1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0
    excess: NDArray[np.float64] = returns.to_numpy(dtype=np.float64) - per_period
    return excess


def sharpe_ratio(
    returns: pd.Series | ReturnArray,
    risk_free_rate: float = 0.0,
    periods_per_year: int = TRADING_DAYS,
) -> float | None:
    """Return the annualised Sharpe ratio: mean excess return over its sample deviation.

    `risk_free_rate` is annual and compounded to a per-period rate. None with fewer than two
    returns or no variation (`NO_VARIATION`).
    """
    if len(returns) < 2:
        return None
    excess = _excess(returns, risk_free_rate, periods_per_year)
    spread = float(np.std(excess, ddof=1))
    if spread <= NO_VARIATION:
        return None
    return float(np.mean(excess)) / spread * math.sqrt(periods_per_year)


def sortino_ratio(
    returns: pd.Series | ReturnArray,
    risk_free_rate: float = 0.0,
    periods_per_year: int = TRADING_DAYS,
) -> float | None:
    """Return the annualised Sortino ratio: mean excess return over the downside deviation.

    Downside deviation is `sqrt(mean(min(0, excess)^2))` over every period. None with fewer
    than two returns or no period below the risk-free rate (`NO_VARIATION`).
    """
    if len(returns) < 2:
        return None
    excess = _excess(returns, risk_free_rate, periods_per_year)
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside <= NO_VARIATION:
        return None
    return float(np.mean(excess)) / downside * math.sqrt(periods_per_year)


def historical_var(returns: pd.Series, value: Decimal, level: float = 0.95) -> ValueAtRisk | None:
    """Return the one-day historical VaR at `level` of `value`.

    The loss fraction is minus the `1 - level` quantile of the returns (linear interpolation
    between order statistics, numpy's default), floored at zero.
    """
    if not len(returns):
        return None
    if not 0.0 < level < 1.0:
        raise ValueError(f"VaR level must be between 0 and 1, not {level}")
    quantile = float(np.quantile(returns.to_numpy(), 1.0 - level))
    fraction = max(0.0, -quantile)
    amount = cents_up(Decimal(repr(fraction)) * value)
    return ValueAtRisk(level, fraction, max(amount, Decimal(0)), len(returns))


def concentration(holdings: Mapping[str, Decimal], total_value: Decimal) -> Concentration:
    """Return the largest holding's weight and the Herfindahl index of the holdings.

    Weights are market values over `total_value` (the account's value, cash included); cash
    itself is not a holding. Short or zero positions count by their absolute value.
    """
    if total_value <= 0 or not holdings:
        return Concentration(None, 0.0, 0.0)
    weights = {s: float(abs(v) / total_value) for s, v in holdings.items() if v != 0}
    if not weights:
        return Concentration(None, 0.0, 0.0)
    largest = max(sorted(weights), key=lambda s: weights[s])
    return Concentration(largest, weights[largest], sum(w * w for w in weights.values()))


def risk_metrics(
    returns: pd.Series,
    value: Decimal,
    *,
    start: date | None = None,
    risk_free_rate: float = 0.0,
    periods_per_year: int = TRADING_DAYS,
    var_level: float = 0.95,
) -> RiskMetrics:
    """Return volatility, drawdowns, Sharpe, Sortino and VaR of one return series."""
    return RiskMetrics(
        observations=len(returns),
        volatility=annualized_volatility(returns, periods_per_year),
        max_drawdown=max_drawdown(returns, start),
        current_drawdown=current_drawdown(returns),
        sharpe=sharpe_ratio(returns, risk_free_rate, periods_per_year),
        sortino=sortino_ratio(returns, risk_free_rate, periods_per_year),
        var=historical_var(returns, value, var_level),
    )


def summarize(
    points: Sequence[DailyPoint],
    as_of: date,
    *,
    benchmark: Sequence[DailyPoint] | None = None,
    risk_free_rate: float = 0.0,
    periods_per_year: int = TRADING_DAYS,
    var_level: float = 0.95,
) -> PerformanceSummary:
    """Return period returns (and the benchmark's), and risk metrics up to `as_of`."""
    upto = [p for p in points if p.day <= as_of]
    returns = daily_returns(upto)
    value = upto[-1].value if upto else None
    return PerformanceSummary(
        returns=period_returns(upto, as_of),
        benchmark=period_returns(benchmark, as_of) if benchmark is not None else None,
        risk=risk_metrics(
            returns,
            value if value is not None else Decimal(0),
            start=upto[0].day if upto else None,
            risk_free_rate=risk_free_rate,
            periods_per_year=periods_per_year,
            var_level=var_level,
        ),
        value=value,
    )


def combine_series(series: Mapping[str, Sequence[DailyPoint]]) -> list[DailyPoint]:
    """Return the household series: the accounts' values summed day by day.

    An account without a point on some day counts at its last known value. The day an
    account's series begins, its value enters the household as a flow, so a new account
    (or one whose history starts later) does not show as a gain.
    """
    for points in series.values():
        _check_order(points)
    by_day: dict[date, dict[str, DailyPoint]] = {}
    for account, points in series.items():
        for point in points:
            by_day.setdefault(point.day, {})[account] = point
    last: dict[str, Decimal] = {}
    combined: list[DailyPoint] = []
    for day in sorted(by_day):
        flow = Decimal(0)
        for account, point in by_day[day].items():
            flow += point.flow if account in last else point.value
            last[account] = point.value
        value = sum(last.values(), Decimal(0))
        if not combined:
            flow = Decimal(0)
        combined.append(DailyPoint(day, value, flow))
    return combined


def _check_order(points: Sequence[DailyPoint]) -> None:
    for previous, point in pairwise(points):
        if point.day <= previous.day:
            raise ValueError(
                f"points must be in strictly increasing day order: {point.day} after {previous.day}"
            )
