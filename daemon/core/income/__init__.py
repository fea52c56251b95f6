"""The monthly income plan, pure: the rule, the payout calendar, the raising order, the projection.

- `rule`: how much a month pays (fixed, or a share of the household's value, with inflation),
  on which day, and when its cash starts being raised;
- `raising`: which account raises how much, cash first, then sales in the order that costs
  least tax, never into a wash sale, within the gains budget;
- `projection`: the next 12 months: expected dividends, planned withdrawals, the gap.
"""

from __future__ import annotations

from daemon.core.income.candidates import sale_candidates
from daemon.core.income.projection import MonthProjection, project_months, symbol_dividends
from daemon.core.income.raising import (
    AccountCash,
    IncomeTooLarge,
    RaisedSale,
    RaisePlan,
    SaleCandidate,
    Skipped,
    Transfer,
    raise_cash,
)
from daemon.core.income.rule import (
    IncomeRule,
    PayoutWindow,
    month_amount,
    month_key,
    payout_window,
)

__all__ = [
    "AccountCash",
    "IncomeRule",
    "IncomeTooLarge",
    "MonthProjection",
    "PayoutWindow",
    "RaisePlan",
    "RaisedSale",
    "SaleCandidate",
    "Skipped",
    "Transfer",
    "month_amount",
    "month_key",
    "payout_window",
    "project_months",
    "raise_cash",
    "sale_candidates",
    "symbol_dividends",
]
