"""Performance metrics against values computed another way (by hand, brute force, statistics)."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.performance import (
    NO_VARIATION,
    DailyPoint,
    annualized_volatility,
    combine_series,
    concentration,
    current_drawdown,
    daily_return_array,
    daily_returns,
    growth_array,
    growth_index,
    historical_var,
    max_drawdown,
    period_returns,
    sharpe_ratio,
    sortino_ratio,
    summarize,
    time_weighted_return,
)
from tests.hypothesis_profiles import scaled

START = date(2026, 1, 2)
returns_st = st.lists(
    st.floats(min_value=-0.2, max_value=0.2, allow_nan=False), min_size=1, max_size=40
)


def _series(
    growth: list[float], flows: list[float] | None = None, start: Decimal = Decimal(10000)
) -> list[DailyPoint]:
    """Values that grow by `growth[t]` each day, with `flows[t]` added at the day's end."""
    points = [DailyPoint(START, start)]
    value = start
    for t, r in enumerate(growth):
        flow = Decimal(repr(flows[t])) if flows else Decimal(0)
        value = value * (1 + Decimal(repr(r))) + flow
        points.append(DailyPoint(START + timedelta(days=t + 1), value, flow))
    return points


def _returns(values: list[float]) -> pd.Series:
    days = [START + timedelta(days=i + 1) for i in range(len(values))]
    return pd.Series(values, index=days, dtype="float64")


@given(returns_st, st.data())
def test_flows_do_not_change_the_time_weighted_return(
    growth: list[float], data: st.DataObject
) -> None:
    flows = data.draw(
        st.lists(
            st.floats(min_value=-2000, max_value=5000, allow_nan=False),
            min_size=len(growth),
            max_size=len(growth),
        )
    )
    with_flows = _series(growth, flows, Decimal(20000))
    # Withdrawals never take the account to or below zero in this setting.
    if any(p.value <= 0 for p in with_flows):
        return
    expected = math.prod(1 + r for r in growth) - 1
    assert time_weighted_return(daily_returns(with_flows)) == pytest.approx(expected, abs=1e-9)
    assert time_weighted_return(daily_returns(_series(growth))) == pytest.approx(expected, abs=1e-9)


def test_a_deposit_is_not_a_gain() -> None:
    points = [
        DailyPoint(START, Decimal(1000)),
        DailyPoint(START + timedelta(days=1), Decimal(1510), Decimal(500)),
    ]
    # 1000 grew to 1010, then 500 arrived at the end of the day: +1%, not +51%.
    assert daily_returns(points).tolist() == pytest.approx([0.01])


@given(st.floats(min_value=-0.05, max_value=0.05, allow_nan=False), st.integers(2, 60))
def test_a_constant_return_has_no_volatility(rate: float, days: int) -> None:
    returns = daily_returns(_series([rate] * days))
    volatility = annualized_volatility(returns)
    assert volatility is not None
    assert volatility == pytest.approx(0.0, abs=1e-9)


@given(st.lists(st.floats(min_value=0.0, max_value=0.1, allow_nan=False), min_size=1, max_size=40))
def test_a_series_that_never_falls_has_no_drawdown(growth: list[float]) -> None:
    returns = daily_returns(_series(growth))
    assert max_drawdown(returns).depth == pytest.approx(0.0, abs=1e-12)
    assert current_drawdown(returns) == pytest.approx(0.0, abs=1e-12)


@given(returns_st)
def test_max_drawdown_equals_the_worst_fall_between_any_two_days(growth: list[float]) -> None:
    levels = [1.0]
    for r in growth:
        levels.append(levels[-1] * (1 + r))
    worst = max(
        (1 - levels[j] / levels[i] for i in range(len(levels)) for j in range(i, len(levels))),
        default=0.0,
    )
    result = max_drawdown(_returns(growth), START)
    assert result.depth == pytest.approx(worst, abs=1e-9)
    assert current_drawdown(_returns(growth)) == pytest.approx(1 - levels[-1] / max(levels))


def test_drawdown_names_peak_trough_and_recovery() -> None:
    returns = _returns([0.10, -0.20, 0.05, 0.30, -0.01])
    result = max_drawdown(returns, START)
    assert result.depth == pytest.approx(0.20)
    assert (result.peak, result.trough) == (START + timedelta(1), START + timedelta(2))
    assert result.recovered == START + timedelta(4)
    falling_first = max_drawdown(_returns([-0.10, 0.05]), START)
    assert falling_first.peak == START
    assert falling_first.recovered is None


@given(st.lists(st.floats(min_value=-0.1, max_value=0.1, allow_nan=False), min_size=2, max_size=50))
def test_var_is_the_interpolated_fifth_percentile_loss(values: list[float]) -> None:
    ordered = sorted(values)
    position = 0.05 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    quantile = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    var = historical_var(_returns(values), Decimal(100000))
    assert var is not None
    assert var.fraction == pytest.approx(max(0.0, -quantile), abs=1e-12)
    assert var.amount >= Decimal(repr(var.fraction)) * 100000 - Decimal("0.005")
    assert var.amount - Decimal(repr(var.fraction)) * 100000 <= Decimal("0.01")
    assert var.observations == len(values)


def test_var_of_twenty_days_by_hand() -> None:
    values = [0.01] * 17 + [-0.03, -0.02, -0.05]
    var = historical_var(_returns(values), Decimal(50000))
    assert var is not None
    # Sorted: -0.05, -0.03, -0.02, 0.01...; 5% of 19 = 0.95 between -0.05 and -0.03.
    assert var.fraction == pytest.approx(0.05 - 0.95 * 0.02)
    assert var.amount == Decimal("1550.00")


@given(
    st.lists(st.floats(min_value=-0.1, max_value=0.1, allow_nan=False), min_size=2, max_size=50),
    st.floats(min_value=0.0, max_value=0.1),
)
@example([0.0, 0.0], 1e-12)  # found by hypothesis: float noise around a constant series
def test_sharpe_and_sortino_match_a_direct_computation(values: list[float], rf: float) -> None:
    daily_rf = (1 + rf) ** (1 / 252) - 1
    excess = [v - daily_rf for v in values]
    spread = statistics.stdev(excess)
    downside = math.sqrt(sum(min(0.0, e) ** 2 for e in excess) / len(excess))
    sharpe = sharpe_ratio(_returns(values), rf)
    sortino = sortino_ratio(_returns(values), rf)
    # Deviations near the cut-off may land either side of it in different float sums.
    if spread > 2 * NO_VARIATION:
        assert sharpe == pytest.approx(statistics.fmean(excess) / spread * math.sqrt(252), rel=1e-6)
    elif spread < NO_VARIATION / 2:
        assert sharpe is None
    if downside > 2 * NO_VARIATION:
        assert sortino == pytest.approx(
            statistics.fmean(excess) / downside * math.sqrt(252), rel=1e-6
        )
    elif downside < NO_VARIATION / 2:
        assert sortino is None


def test_too_few_returns_give_none() -> None:
    one = _returns([0.01])
    assert annualized_volatility(one) is None
    assert sharpe_ratio(one) is None
    assert sortino_ratio(one) is None
    assert historical_var(_returns([]), Decimal(1)) is None


@given(st.integers(1, 20))
def test_equal_holdings_without_cash_have_herfindahl_one_over_n(n: int) -> None:
    holdings = {f"S{i}": Decimal(100) for i in range(n)}
    result = concentration(holdings, Decimal(100 * n))
    assert result.herfindahl == pytest.approx(1 / n)
    assert result.largest_weight == pytest.approx(1 / n)


def test_concentration_counts_cash_in_the_total_but_not_as_a_holding() -> None:
    result = concentration({"VTI": Decimal(600), "BND": Decimal(300)}, Decimal(1000))
    assert result.largest_symbol == "VTI"
    assert result.largest_weight == pytest.approx(0.6)
    assert result.herfindahl == pytest.approx(0.36 + 0.09)
    assert concentration({}, Decimal(1000)).largest_symbol is None


def test_period_returns_start_at_the_previous_period_end() -> None:
    points = [
        DailyPoint(date(2025, 12, 30), Decimal(100)),
        DailyPoint(date(2025, 12, 31), Decimal(110)),
        DailyPoint(date(2026, 1, 30), Decimal(121)),
        DailyPoint(date(2026, 2, 2), Decimal("133.1")),
        DailyPoint(date(2026, 2, 3), Decimal("1133.1"), Decimal(1000)),
    ]
    result = period_returns(points, date(2026, 2, 3))
    assert result.day == pytest.approx(0.0)
    assert result.month_to_date == pytest.approx(0.10)
    assert result.year_to_date == pytest.approx(1.21 - 1)
    assert result.since_start == pytest.approx(1.331 - 1)
    assert result.start == date(2025, 12, 30)
    before = period_returns(points, date(2026, 2, 1))
    assert before.day is None
    assert before.month_to_date is None
    assert before.year_to_date == pytest.approx(0.10)


def test_a_series_that_begins_inside_the_month_is_measured_from_its_first_point() -> None:
    points = [
        DailyPoint(date(2026, 3, 10), Decimal(100)),
        DailyPoint(date(2026, 3, 11), Decimal(90)),
    ]
    result = period_returns(points, date(2026, 3, 11))
    assert result.month_to_date == pytest.approx(-0.10)
    assert period_returns(points[:1], date(2026, 3, 10)).month_to_date is None


@given(returns_st, st.integers(1, 10))
def test_a_household_of_accounts_earning_the_same_return_earns_it(
    growth: list[float], late: int
) -> None:
    a = _series(growth, start=Decimal(1000))
    b = _series(growth, start=Decimal(5000))[late:]
    household = combine_series({"a": a, "b": b})
    expected = math.prod(1 + r for r in growth) - 1
    assert time_weighted_return(daily_returns(household)) == pytest.approx(expected, abs=1e-9)


def test_points_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="increasing day order"):
        daily_returns([DailyPoint(START, Decimal(1)), DailyPoint(START, Decimal(2))])


@settings(max_examples=scaled(50))
@given(returns_st)
def test_summary_agrees_with_its_parts(growth: list[float]) -> None:
    points = _series(growth)
    benchmark = _series([g / 2 for g in growth])
    last = points[-1].day
    summary = summarize(points, last, benchmark=benchmark)
    returns = daily_returns(points)
    assert summary.value == points[-1].value
    assert summary.returns.since_start == pytest.approx(time_weighted_return(returns))
    assert summary.benchmark is not None
    assert summary.benchmark.since_start == pytest.approx(
        math.prod(1 + g / 2 for g in growth) - 1, abs=1e-9
    )
    assert summary.risk.observations == len(growth)
    assert summary.risk.max_drawdown == max_drawdown(returns, START)


@settings(max_examples=scaled(100))
@given(
    returns_st, st.lists(st.floats(min_value=-500, max_value=500), max_size=40), st.floats(0, 0.1)
)
def test_the_array_of_returns_gives_the_series_statistics_bit_for_bit(
    growth: list[float], flows: list[float], risk_free: float
) -> None:
    # A backtest computes its metrics without pandas (`daily_return_array`): they must be the
    # very floats the pandas Series gives, so its JSON does not depend on which was used.
    flows = (flows + [0.0] * len(growth))[: len(growth)]
    points = _series(growth, flows)
    series, array = daily_returns(points), daily_return_array(points)
    assert list(array.index) == list(series.index)
    assert array.to_numpy().tolist() == series.to_numpy().tolist()
    for stat in (time_weighted_return, annualized_volatility, max_drawdown, current_drawdown):
        assert stat(array) == stat(series)
    assert sharpe_ratio(array, risk_free) == sharpe_ratio(series, risk_free)
    assert sortino_ratio(array, risk_free) == sortino_ratio(series, risk_free)


def test_the_growth_array_is_the_growth_index_float_for_float() -> None:
    start = date(2024, 1, 2)
    values = ["100", "101.5", "99.25", "0", "50", "50.5", "75.125"]
    flows = ["0", "0", "10", "0", "40", "0", "0"]
    points = [
        DailyPoint(start + timedelta(days=n), Decimal(v), Decimal(f))
        for n, (v, f) in enumerate(zip(values, flows, strict=True))
    ]
    assert growth_array(daily_return_array(points)).tolist() == (
        growth_index(daily_returns(points)).tolist()
    )
