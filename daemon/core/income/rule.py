"""How much one month of the income plan pays, on which day, and when its cash is raised.

Pure: the trading days are handed in (the caller reads them from the exchange calendar).
"""

from __future__ import annotations

__all__ = ["IncomeRule", "PayoutWindow", "month_amount", "month_key", "payout_window"]

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.core.money import cents_up

_TWELVE = Decimal(12)


@dataclass(frozen=True, slots=True)
class IncomeRule:
    """The configured plan: exactly one of `monthly_amount` and `annual_pct` is set.

    `annual_pct` is a fraction of the household's value per year (0.04 = 4%), paid in twelve
    equal parts. `inflation` (0.025 = 2.5% a year) raises the fixed amount once a year from
    `base_year` on: the amount of year Y is `monthly_amount * (1 + inflation) ** (Y - base_year)`.
    """

    account: str
    payout_day: int
    lead_days: int
    monthly_amount: Decimal | None = None
    annual_pct: Decimal | None = None
    inflation: Decimal = Decimal(0)
    base_year: int | None = None


def month_key(day: date) -> str:
    """Return the month a payout belongs to, as 'YYYY-MM' (the key of its audit records)."""
    return f"{day.year:04d}-{day.month:02d}"


def month_amount(rule: IncomeRule, month: date, household_value: Decimal) -> Decimal:
    """Return the cash month `month` pays, rounded up to the cent (a cash need)."""
    if rule.monthly_amount is not None:
        amount = rule.monthly_amount
        if rule.inflation and rule.base_year is not None and month.year > rule.base_year:
            amount *= (1 + rule.inflation) ** (month.year - rule.base_year)
    else:
        assert rule.annual_pct is not None  # the config allows exactly one of them
        amount = max(household_value, Decimal(0)) * rule.annual_pct / _TWELVE
    return cents_up(amount)


@dataclass(frozen=True, slots=True)
class PayoutWindow:
    """One month's payout day and the first trading day its cash may be raised."""

    month: str
    payout: date
    raise_from: date

    def open_on(self, day: date) -> bool:
        """Say whether a cycle on `day` raises (or holds) this month's cash."""
        return self.raise_from <= day <= self.payout


def payout_window(
    rule: IncomeRule, year: int, month: int, trading_days: Sequence[date]
) -> PayoutWindow:
    """Return the month's payout day (the configured day, or the trading day before it when it
    is not one; the month's last day when the month is shorter) and its raising window.

    `trading_days` is sorted and covers the month and `lead_days` trading days before it.
    Raising starts `lead_days` trading days before the payout day, so the cash is there in
    time even when sales settle a day or two later (T+1).
    """
    last = _last_day(year, month)
    wanted = date(year, month, min(rule.payout_day, last))
    at = bisect_right(trading_days, wanted) - 1
    if at < 0 or trading_days[at].year != year or trading_days[at].month != month:
        # No trading day in the month up to the payout day: the first one after it.
        at = bisect_left(trading_days, wanted)
        if at >= len(trading_days):
            raise ValueError(f"no trading day known around {wanted}")
    payout = trading_days[at]
    start = max(at - rule.lead_days, 0)
    return PayoutWindow(
        month=f"{year:04d}-{month:02d}", payout=payout, raise_from=trading_days[start]
    )


def _last_day(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days
