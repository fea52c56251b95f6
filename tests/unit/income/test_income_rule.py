"""The income plan's month: its amount, its payout day and its raising window; the projection."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from daemon.core.income import (
    IncomeRule,
    month_amount,
    payout_window,
    project_months,
    symbol_dividends,
)
from daemon.core.sessions import sessions_between

D = Decimal


def _days(first: date, last: date) -> list[date]:
    return [s.day for s in sessions_between("XNYS", first, last)]


def _weekdays(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def test_a_payout_day_on_a_weekend_moves_to_the_trading_day_before() -> None:
    rule = IncomeRule(account="brokerage", payout_day=15, lead_days=3, monthly_amount=D(2000))
    # 2026-11-15 is a Sunday: Friday the 13th pays; raising starts 3 trading days before.
    window = payout_window(rule, 2026, 11, _days(date(2026, 10, 1), date(2026, 11, 30)))
    assert window.payout == date(2026, 11, 13)
    assert window.raise_from == date(2026, 11, 10)
    assert window.month == "2026-11"
    assert window.open_on(date(2026, 11, 10))
    assert window.open_on(date(2026, 11, 13))
    assert not window.open_on(date(2026, 11, 9))
    assert not window.open_on(date(2026, 11, 16))


def test_a_holiday_and_a_short_month() -> None:
    days = _days(date(2026, 11, 1), date(2027, 3, 31))
    # 2026-12-25 is a holiday: the 24th pays (an early close, still a trading day).
    christmas = IncomeRule(account="a", payout_day=25, lead_days=0, monthly_amount=D(1))
    assert payout_window(christmas, 2026, 12, days).payout == date(2026, 12, 24)
    # Day 31 in February is its last day, a Sunday in 2027: Friday the 26th.
    end = IncomeRule(account="a", payout_day=31, lead_days=2, monthly_amount=D(1))
    window = payout_window(end, 2027, 2, days)
    assert window.payout == date(2027, 2, 26)
    assert window.raise_from == date(2027, 2, 24)


def test_a_first_of_the_month_that_is_no_trading_day_pays_the_next_one() -> None:
    # 2027-01-01 is a holiday and nothing before it in January trades: January 4 pays,
    # and the raising starts in December.
    rule = IncomeRule(account="a", payout_day=1, lead_days=2, monthly_amount=D(1))
    window = payout_window(rule, 2027, 1, _days(date(2026, 12, 1), date(2027, 1, 31)))
    assert window.payout == date(2027, 1, 4)
    assert window.raise_from == date(2026, 12, 30)


def test_the_amount_fixed_with_inflation_or_a_share_of_the_value() -> None:
    fixed = IncomeRule(
        account="a",
        payout_day=1,
        lead_days=0,
        monthly_amount=D(2000),
        inflation=D("0.03"),
        base_year=2026,
    )
    assert month_amount(fixed, date(2026, 5, 1), D(0)) == D(2000)
    assert month_amount(fixed, date(2027, 5, 1), D(0)) == D("2060.00")
    assert month_amount(fixed, date(2028, 1, 3), D(0)) == D("2121.80")
    assert month_amount(fixed, date(2025, 1, 3), D(0)) == D(2000)  # never deflated
    share = IncomeRule(account="a", payout_day=1, lead_days=0, annual_pct=D("0.04"))
    assert month_amount(share, date(2026, 5, 1), D(150_000)) == D("500.00")
    assert month_amount(share, date(2026, 5, 1), D("100000.01")) == D("333.34")  # rounded up


def test_the_projection_uses_the_dividend_history_then_the_yields() -> None:
    today = date(2026, 12, 6)
    paid = symbol_dividends(
        [
            (date(2026, 3, 20), "BND", D("0.20")),
            (date(2026, 6, 20), "BND", D("0.21")),
            (date(2026, 9, 21), "VTI", D("0.90")),
            (date(2025, 9, 21), "VTI", D("5")),  # more than a year ago: not counted
            (date(2026, 12, 6), "VTI", D("5")),  # today: not counted yet
        ],
        today,
    )
    assert paid == {"BND": {3: D("0.20"), 6: D("0.21")}, "VTI": {9: D("0.90")}}
    rule = IncomeRule(account="a", payout_day=1, lead_days=0, monthly_amount=D(1000))
    windows = [
        payout_window(rule, 2027, m, _weekdays(date(2026, 12, 1), date(2027, 12, 31)))
        for m in range(1, 13)
    ]
    rows = project_months(
        rule,
        windows,
        D(200_000),
        {"BND": (D(100), D(72)), "VTI": (D(10), D(250)), "VXUS": (D(100), D(60))},
        paid,
        {"VXUS": D("0.03"), "BND": D("0.5")},  # BND has a history: its yield is not used
    )
    assert [r.month for r in rows] == [f"2027-{m:02d}" for m in range(1, 13)]
    by_month = {r.month: r for r in rows}
    assert by_month["2027-03"].dividends == D("35.00")  # 100 x 0.20 + 6000 x 3% / 12
    assert by_month["2027-09"].dividends == D("24.00")  # 10 x 0.90 + 15
    assert by_month["2027-01"].dividends == D("15.00")
    assert all(r.withdrawal == D(1000) for r in rows)
    assert by_month["2027-03"].gap == D("965.00")
    assert sum(r.dividends for r in rows) == D("180.00") + D("20") + D("21") + D("9")


@pytest.mark.parametrize("pct", [D("0.04"), D("0.5")])
def test_the_gap_is_never_negative(pct: Decimal) -> None:
    rule = IncomeRule(account="a", payout_day=1, lead_days=0, annual_pct=pct)
    window = payout_window(rule, 2027, 1, _weekdays(date(2026, 12, 1), date(2027, 1, 31)))
    rows = project_months(rule, [window], D(1200), {"BND": (D(1000), D(100))}, {}, {"BND": D(1)})
    assert rows[0].gap == 0
    assert rows[0].withdrawal == D(1200) * pct / 12
