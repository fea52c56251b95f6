"""The next 12 months of the income plan: expected dividends, planned withdrawals, the gap.

Pure. A symbol's dividends are projected from what it paid per share in each calendar month
of the last 12 (the broker's dividend history), times the shares the household holds now;
a symbol without such a history takes its configured yield (`[income] yields`), spread evenly
over the months. Neither: no dividends are expected from it (the table says which symbols).
The gap is what sales must raise: the withdrawal less the expected dividends, never below 0.
"""

from __future__ import annotations

__all__ = ["MonthProjection", "project_months", "symbol_dividends"]

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.income.rule import IncomeRule, PayoutWindow, month_amount
from daemon.core.money import cents

_ZERO = Decimal(0)
_TWELVE = Decimal(12)
_YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class MonthProjection:
    """One month of the plan."""

    month: str
    payout: date
    dividends: Decimal
    withdrawal: Decimal
    gap: Decimal


def symbol_dividends(
    paid: Iterable[tuple[date, str, Decimal]], today: date
) -> dict[str, dict[int, Decimal]]:
    """Return, per symbol, the cash paid per share in each calendar month (1-12) of the 12
    months before `today`, from (day, symbol, per-share amount) records."""
    start = today - _YEAR
    found: defaultdict[str, defaultdict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for day, symbol, per_share in paid:
        if start <= day < today and per_share > 0:
            found[symbol][day.month] += per_share
    return {s: dict(m) for s, m in found.items()}


def project_months(
    rule: IncomeRule,
    windows: Sequence[PayoutWindow],
    household_value: Decimal,
    holdings: Mapping[str, tuple[Decimal, Decimal]],
    per_share: Mapping[str, Mapping[int, Decimal]],
    yields: Mapping[str, Decimal],
) -> tuple[MonthProjection, ...]:
    """Return one row per payout window: `holdings` is symbol -> (shares, price) across the
    household, `per_share` as `symbol_dividends` gives it, `yields` yearly fractions."""
    rows = []
    for window in windows:
        month = window.payout.month
        expected = _ZERO
        for symbol, (qty, price) in holdings.items():
            if symbol in per_share:
                expected += qty * per_share[symbol].get(month, _ZERO)
            elif symbol in yields:
                expected += qty * price * yields[symbol] / _TWELVE
        dividends = cents(expected)
        withdrawal = month_amount(rule, window.payout, household_value)
        rows.append(
            MonthProjection(
                month=window.month,
                payout=window.payout,
                dividends=dividends,
                withdrawal=withdrawal,
                gap=max(withdrawal - dividends, _ZERO),
            )
        )
    return tuple(rows)
