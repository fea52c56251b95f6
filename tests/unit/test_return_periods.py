"""Returns over periods (calendar years, rolling windows, money-weighted) and the falls of a
series, against plain loops, closed forms and numpy's statistics."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.performance import (
    DailyPoint,
    ReturnArray,
    drawdowns,
    max_drawdown,
    time_weighted_return,
)
from daemon.core.return_periods import (
    calendar_year_returns,
    money_weighted_return,
    relation,
    rolling_returns,
)
from tests.hypothesis_profiles import scaled

START = date(2019, 12, 20)
growth_st = st.lists(
    st.floats(min_value=-0.3, max_value=0.3, allow_nan=False), min_size=1, max_size=60
)


def returns_of(values: list[float], *, step: int = 7, start: date = START) -> ReturnArray:
    """Daily returns ending `step` calendar days apart, the first `step` days after `start`."""
    days = tuple(start + timedelta(days=step * (i + 1)) for i in range(len(values)))
    return ReturnArray(days, np.array(values, dtype=np.float64))


# -- calendar years ------------------------------------------------------------------------


@settings(max_examples=scaled(60), deadline=None)
@given(growth_st, st.integers(min_value=1, max_value=40))
def test_each_year_links_its_own_days_and_the_years_link_to_the_whole(
    values: list[float], step: int
) -> None:
    returns = returns_of(values, step=step)
    years = calendar_year_returns(returns, START)
    # A plain loop: each return belongs to the year of the day it ends on.
    by_year: dict[int, float] = {}
    for day, r in zip(returns.index, values, strict=True):
        by_year[day.year] = by_year.get(day.year, 1.0) * (1.0 + r)
    assert [y.year for y in years] == sorted(by_year)
    for year in years:
        assert year.value == pytest.approx(by_year[year.year] - 1.0, rel=1e-12, abs=1e-12)
    linked = math.prod(1.0 + y.value for y in years) - 1.0
    assert linked == pytest.approx(time_weighted_return(returns), rel=1e-9, abs=1e-12)
    # Each year is measured from the close before its first return: the last of the year
    # before, or the series' first day.
    assert years[0].start == START
    for before, year in pairwise(years):
        assert year.start == before.end


def test_a_year_is_whole_from_its_first_week_to_its_last() -> None:
    days = (date(2020, 1, 2), date(2020, 12, 31), date(2021, 6, 30), date(2021, 12, 23))
    returns = ReturnArray(days, np.array([0.01, 0.02, 0.03, 0.04]))
    years = calendar_year_returns(returns, date(2019, 12, 31))
    assert [(y.year, y.start, y.end, y.whole) for y in years] == [
        (2020, date(2019, 12, 31), date(2020, 12, 31), True),
        (2021, date(2020, 12, 31), date(2021, 12, 23), False),  # ends before the last week
    ]
    started_late = calendar_year_returns(ReturnArray(days[:2], np.array([0.0, 0.0])), days[0])
    assert started_late[0].whole is True  # measured from 2 January: its first week
    from_march = calendar_year_returns(returns, date(2020, 3, 2))
    assert from_march[0].whole is False


# -- rolling windows -----------------------------------------------------------------------


@settings(max_examples=scaled(60), deadline=None)
@given(growth_st, st.integers(min_value=1, max_value=3), st.integers(min_value=1, max_value=6))
def test_rolling_returns_are_every_windows_annualized_growth(
    values: list[float], years: int, per_year: int
) -> None:
    returns = returns_of(values)
    rolled = rolling_returns(returns, years, per_year)
    size = years * per_year
    if len(values) < size:
        assert rolled is None
        return
    windows = [
        math.prod(1.0 + r for r in values[i : i + size]) ** (1.0 / years) - 1.0
        for i in range(len(values) - size + 1)
    ]
    assert rolled is not None
    assert rolled.windows == len(windows)
    assert rolled.worst == pytest.approx(min(windows), rel=1e-9, abs=1e-12)
    assert rolled.best == pytest.approx(max(windows), rel=1e-9, abs=1e-12)
    assert rolled.median == pytest.approx(float(np.median(windows)), rel=1e-9, abs=1e-12)


def test_a_day_that_lost_everything_has_no_rolling_return() -> None:
    assert rolling_returns(returns_of([0.1, -1.0, 0.2]), 1, 2) is None


# -- money-weighted return -----------------------------------------------------------------


def point(day: date, value: str, flow: str = "0") -> DailyPoint:
    return DailyPoint(day, Decimal(value), Decimal(flow))


def test_without_flows_the_money_weighted_return_is_the_annualized_growth() -> None:
    points = [point(date(2020, 1, 1), "1000"), point(date(2021, 12, 31), "1210")]
    span = (points[-1].day - points[0].day).days / 365.25
    assert money_weighted_return(points) == pytest.approx(1.21 ** (1 / span) - 1, rel=1e-12)


def test_a_deposit_halfway_solves_the_quadratic() -> None:
    # 1,461 days are four 365.25-day years: 1,000 in, 1,000 more after four years, 2,200 out
    # after eight. With y = (1 + r)^4: 1000 y^2 + 1000 y = 2200.
    points = [
        point(date(2000, 1, 1), "1000"),
        point(date(2004, 1, 1), "2050", flow="1000"),
        point(date(2008, 1, 1), "2200"),
    ]
    y = (-1 + math.sqrt(1 + 4 * 2.2)) / 2
    assert money_weighted_return(points) == pytest.approx(y**0.25 - 1, rel=1e-10)


@settings(max_examples=scaled(60), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=400),
            st.integers(min_value=1, max_value=1000),
            st.integers(min_value=-300, max_value=1000),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_the_flows_are_worth_nothing_together_at_the_rate_found(
    steps: list[tuple[int, int, int]],
) -> None:
    day = date(2010, 1, 4)
    points = [point(day, "1000")]
    for gap, value, flow in steps:
        day += timedelta(days=gap)
        points.append(point(day, str(value), str(flow)))
    rate = money_weighted_return(points)
    if rate is None or 1 + rate < 1e-6:
        # Within a millionth of -100% a year, 1 + r keeps too few digits to show the zero.
        return
    first = points[0].day
    flows = [(-float(points[0].value), 0.0)]
    flows += [(-float(p.flow), (p.day - first).days / 365.25) for p in points[1:] if p.flow]
    flows.append((float(points[-1].value), (points[-1].day - first).days / 365.25))
    worth = sum(amount * (1 + rate) ** -years for amount, years in flows)
    scale = sum(abs(amount) * (1 + rate) ** -years for amount, years in flows)
    assert abs(worth) <= 1e-9 * scale


def test_no_money_weighted_return_without_a_span_or_a_value() -> None:
    day = date(2020, 1, 1)
    assert money_weighted_return([point(day, "1000")]) is None
    assert money_weighted_return([point(day, "0"), point(day + timedelta(400), "10")]) is None
    assert money_weighted_return([point(day, "10"), point(day + timedelta(400), "0")]) is None


# -- with the benchmark ----------------------------------------------------------------------


@settings(max_examples=scaled(40), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-0.1, max_value=0.1, allow_nan=False),
            st.floats(min_value=-0.1, max_value=0.1, allow_nan=False),
        ),
        min_size=3,
        max_size=50,
    )
)
def test_correlation_and_beta_are_numpys(pairs: list[tuple[float, float]]) -> None:
    ours = returns_of([a for a, _ in pairs])
    theirs = returns_of([b for _, b in pairs])
    moved = relation(ours, theirs)
    assert moved is not None
    assert moved.days == len(pairs)
    a, b = ours.values, theirs.values
    if np.std(b, ddof=1) <= 1e-12:
        assert moved.beta is None
        return
    beta = float(np.cov(a, b, ddof=1)[0, 1] / np.var(b, ddof=1))
    assert moved.beta == pytest.approx(beta, rel=1e-9, abs=1e-12)
    if np.std(a, ddof=1) > 1e-12:
        assert moved.correlation == pytest.approx(float(np.corrcoef(a, b)[0, 1]), abs=1e-9)


def test_only_days_both_have_count() -> None:
    ours = ReturnArray(
        (date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 6)), np.array([0.01, 0.02, -0.01])
    )
    theirs = ReturnArray((date(2020, 1, 3), date(2020, 1, 6)), np.array([0.04, -0.02]))
    moved = relation(ours, theirs)
    assert moved is not None
    assert moved.days == 2
    assert moved.beta == pytest.approx(0.5)  # (0.02, -0.01) against (0.04, -0.02)
    assert moved.correlation == pytest.approx(1.0)
    assert relation(ours, ReturnArray((date(2020, 1, 3),), np.array([0.01]))) is None


# -- the deepest falls -----------------------------------------------------------------------


@settings(max_examples=scaled(80), deadline=None)
@given(growth_st)
def test_the_falls_are_every_stretch_below_a_peak_deepest_first(values: list[float]) -> None:
    returns = returns_of(values)
    days = [START, *returns.index]
    levels = [1.0]
    for r in values:
        levels.append(levels[-1] * (1.0 + r))
    # A plain loop: walk the levels, opening a fall below the peak (from the first day at
    # that level) and closing it on the first day back at it.
    expected: list[tuple[date | None, date | None, float]] = []
    peak_at, lowest = 0, None
    for i, level in enumerate(levels):
        if level >= levels[peak_at]:
            if lowest is not None:
                expected.append((days[peak_at], days[i], 1.0 - lowest / levels[peak_at]))
                lowest = None
            if level > levels[peak_at]:
                peak_at = i
        else:
            lowest = level if lowest is None else min(lowest, level)
    if lowest is not None:
        expected.append((days[peak_at], None, 1.0 - lowest / levels[peak_at]))
    found = drawdowns(returns, START, top=len(values) + 1)
    assert sorted(((f.peak, f.recovered) for f in found), key=str) == sorted(
        ((peak, recovered) for peak, recovered, _ in expected), key=str
    )
    depth_of = {(peak, recovered): depth for peak, recovered, depth in expected}
    for fall in found:
        assert fall.depth == pytest.approx(depth_of[(fall.peak, fall.recovered)], rel=1e-9)
        assert fall.peak is not None
        assert fall.trough is not None
        assert fall.peak < fall.trough
        assert fall.recovered is None or fall.trough < fall.recovered
    assert [f.depth for f in found] == sorted((f.depth for f in found), reverse=True)
    first = max_drawdown(returns, START)
    if found:
        assert found[0] == first
    else:
        assert first.depth == 0.0
    assert drawdowns(returns, START, top=2) == found[:2]


def test_falls_by_hand() -> None:
    #          +10%   -20%   +5%    +30%  -1%    -50%
    returns = returns_of([0.10, -0.20, 0.05, 0.30, -0.01, -0.50])
    day = [START + timedelta(days=7 * i) for i in range(7)]
    falls = drawdowns(returns, START)
    assert [(f.peak, f.trough, f.recovered) for f in falls] == [
        (day[4], day[6], None),
        (day[1], day[2], day[4]),
    ]
    assert falls[0].depth == pytest.approx(1 - 0.99 * 0.5)
    assert falls[1].depth == pytest.approx(0.20)


def test_an_account_the_withdrawals_emptied_has_a_money_weighted_return() -> None:
    # 1,000 in; after four 365.25-day years 1,464.10 taken out, the last value 0: 10% a year.
    points = [
        point(date(2000, 1, 1), "1000"),
        point(date(2004, 1, 1), "0", flow="-1464.10"),
    ]
    assert money_weighted_return(points) == pytest.approx(0.1, rel=1e-10)
    # A deposit the account then lost whole has no rate from -99.9999999% up.
    lost = [point(date(2000, 1, 1), "1000"), point(date(2001, 1, 1), "0", flow="500")]
    assert money_weighted_return(lost) is None


@settings(max_examples=scaled(60), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=30, max_value=400), st.integers(min_value=1, max_value=900)
        ),
        min_size=1,
        max_size=20,
    ),
    st.decimals(min_value=1, max_value=2, places=3),
)
def test_withdrawals_down_to_nothing_have_the_rate_that_solves_them(
    steps: list[tuple[int, int]], paid_back: Decimal
) -> None:
    # 1,000 in, then withdrawals of 1 to 2 times that in all, a month or more apart: a rate
    # from 0% to 2^(365.25 / 30) - 1 a year fits, inside the range looked in.
    total = sum(share for _, share in steps)
    day = date(2010, 1, 4)
    points = [point(day, "1000")]
    for gap, share in steps:
        day += timedelta(days=gap)
        taken = (Decimal(1000) * paid_back * share / total).quantize(Decimal("0.01"))
        points.append(point(day, "500", str(-taken)))
    points[-1] = DailyPoint(day, Decimal(0), points[-1].flow)
    rate = money_weighted_return(points)
    assert rate is not None
    first = points[0].day
    flows = [(-1000.0, 0.0)]
    flows += [(-float(p.flow), (p.day - first).days / 365.25) for p in points[1:]]
    worth = sum(amount * (1 + rate) ** -years for amount, years in flows)
    scale = sum(abs(amount) * (1 + rate) ** -years for amount, years in flows)
    assert abs(worth) <= 1e-9 * scale
