"""A member with negative cash (a fee, a pending debit).

Buy-only, with more negative cash than its largest holding: the split folded the cash into
that holding's weight, which went negative, and the member's decide blamed the household's
targets ("weight of VTI is negative"). The weights are now never negative, so its decide
names the negative cash (it never plans on margin). And a debit larger than the rest of the
household is refused by the split, naming it, instead of every member being told to hold
only cash."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from daemon.core.decide import decide
from daemon.core.domain import AccountType
from daemon.core.errors import DataError
from daemon.core.household import HouseholdAccount, HouseholdRules
from daemon.core.household.split import split_household
from tests.property.test_decide_properties import given_input

D = Decimal
RULES = HouseholdRules(targets={"VTI": D("0.6"), "BND": D("0.4")})


def _split(cash: Decimal) -> dict[str, Decimal]:
    accounts = [
        HouseholdAccount("brokerage", AccountType.TAXABLE, D(50000), {"VTI": D(10000)}),
        HouseholdAccount(
            "ira",
            AccountType.TRADITIONAL_IRA,
            cash,
            {"VTI": D(51), "BND": D(50)},
            buy_only=True,
        ),
    ]
    return dict(split_household(RULES, accounts).targets_for("ira"))


@pytest.mark.parametrize("cash", [D("-0.50"), D("-50"), D("-100"), D("-100.99")])
def test_no_weight_is_negative_and_they_sum_to_one(cash: Decimal) -> None:
    weights = _split(cash)
    assert all(w >= 0 for w in weights.values()), weights
    assert sum(weights.values(), D(0)) == 1
    # It may not sell and has nothing to buy with: its holdings, in their own proportions.
    assert weights["VTI"] > weights["BND"] > D("0.49"), weights


def test_the_members_decide_names_the_negative_cash() -> None:
    targets = _split(D(-100))
    given = given_input(
        cash=D(-100),
        held={"VTI": D("0.51"), "BND": D("0.5")},
        prices={"VTI": D(100), "BND": D(100)},
        targets=targets,
    )
    given = dataclasses.replace(given, universe=frozenset({"VTI", "BND"}))
    with pytest.raises(DataError, match=r"cash reported by the broker is negative \(-100\)"):
        decide(given)


def test_a_household_worth_nothing_for_negative_cash_is_refused_naming_it() -> None:
    """One member's debit larger than the rest of the household: the split had every member
    hold only cash ("the household holds nothing yet"), so a member free to sell would have
    sold everything it held."""
    accounts = [
        HouseholdAccount("brokerage", AccountType.TAXABLE, D(0), {"VTI": D(500), "BND": D(400)}),
        HouseholdAccount("ira", AccountType.TRADITIONAL_IRA, D(-1000), {}),
    ]
    with pytest.raises(DataError) as caught:
        split_household(RULES, accounts)
    message = str(caught.value)
    assert "account ira has negative cash (-1000.00)" in message
    assert "the household is worth -100.00" in message
    assert "brokerage" not in message


def test_a_household_that_holds_nothing_yet_keeps_cash() -> None:
    accounts = [
        HouseholdAccount("brokerage", AccountType.TAXABLE, D(0), {}),
        HouseholdAccount("ira", AccountType.TRADITIONAL_IRA, D(0), {}),
    ]
    split = split_household(RULES, accounts)
    assert all(dict(a.targets) == {"CASH": D(1)} for a in split.accounts)
