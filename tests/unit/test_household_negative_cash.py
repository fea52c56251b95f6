"""The household split with a member whose cash is slightly negative (a fee, a pending debit).

Before 2026-12-07 a buy-only member with cash of -0.50 made the programme infeasible (its
cash had to be at least 0 and at most -0.50), and every household cycle failed with a
`DataError` that named no account.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from daemon.core.domain import CASH, AccountType
from daemon.core.errors import DataError
from daemon.core.household import HouseholdAccount, HouseholdRules, Restrictions
from daemon.core.household.split import _Problem, split_household

D = Decimal
RULES = HouseholdRules(targets={"VTI": D("0.6"), "BND": D("0.4")})


def _accounts(cash: Decimal, *, buy_only: bool = True) -> list[HouseholdAccount]:
    return [
        HouseholdAccount("brokerage", AccountType.TAXABLE, D(50000), {"VTI": D(10000)}),
        HouseholdAccount(
            "ira",
            AccountType.TRADITIONAL_IRA,
            cash,
            {"BND": D(20000)},
            buy_only=buy_only,
            cash_need=D(100),
        ),
    ]


@pytest.mark.parametrize("cash", [D("-0.50"), D("-250")])
def test_a_buy_only_member_with_negative_cash_keeps_what_it_holds(cash: Decimal) -> None:
    split = split_household(RULES, _accounts(cash))
    ira = next(a for a in split.accounts if a.account == "ira")
    # It may not sell and has no cash to buy with: it is planned as it is, its cash
    # not asked back above what it has.
    assert ira.targets == {"BND": D(1)}
    brokerage = next(a for a in split.accounts if a.account == "brokerage")
    assert sum(brokerage.targets.values()) == 1
    assert brokerage.targets["VTI"] > brokerage.targets["BND"] > 0


def test_a_member_with_negative_cash_that_may_not_trade_its_holdings_is_split() -> None:
    accounts = [
        HouseholdAccount("brokerage", AccountType.TAXABLE, D(50000), {"VTI": D(10000)}),
        HouseholdAccount(
            "ira",
            AccountType.TRADITIONAL_IRA,
            D("-0.50"),
            {"BND": D(20000)},
            restrictions=Restrictions(blocked=frozenset({"BND"})),
        ),
    ]
    split = split_household(RULES, accounts)
    ira = next(a for a in split.accounts if a.account == "ira")
    assert ira.targets == {"BND": D(1)}
    assert CASH not in ira.targets


def test_an_infeasible_split_names_the_account_and_the_cause() -> None:
    accounts = _accounts(D("-0.50"))
    household = float(sum((a.value for a in accounts), D(0)))
    problem = _Problem(RULES, accounts, ("BND", "VTI", CASH), household)
    # The bound the split had before the fix: at least no cash, at most -0.50.
    problem.lo[1, -1] = np.float64(0.0)
    with pytest.raises(DataError) as caught:
        problem.solve()
    message = str(caught.value)
    assert "account ira has negative cash (-0.50) and may not sell" in message
    assert "brokerage" not in message
