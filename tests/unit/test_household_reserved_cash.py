"""Cash a broker holds for a member's open buys (`reserved_cash`) in the household split.

The planner treats reserved cash as an open buy's money on its way into a holding: counted in
the account's value, never spent, and not kept as cash (docs/alpaca.md). The split does the
same: a member's reserve is not put in its CASH target, or the member's planner would keep
that much of its spendable cash idle besides the reserve (a review's finding, 2026-12-07).
"""

from __future__ import annotations

from decimal import Decimal

from daemon.core.domain import CASH, AccountType
from daemon.core.household.split import split_household
from daemon.core.household.types import HouseholdAccount, HouseholdRules
from daemon.core.planner import PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.planner.types import Band

POLICY = PlanningPolicy(default_band=Band(absolute_pp=Decimal(5)))
PRICES = {"X": Decimal(100), "Y": Decimal(100)}


def test_a_members_reserve_is_not_kept_as_cash_so_its_spendable_cash_is_invested() -> None:
    rules = HouseholdRules(targets={"X": Decimal("0.5"), "Y": Decimal("0.5")})
    member = HouseholdAccount(
        name="a",
        type=AccountType.TAXABLE,
        cash=Decimal(20000),
        reserved_cash=Decimal(10000),
        holdings={"X": Decimal(40000)},
    )
    other = HouseholdAccount(
        name="b", type=AccountType.TRADITIONAL_IRA, cash=Decimal(0), holdings={"Y": Decimal(50000)}
    )
    split = split_household(rules, [member, other])
    targets = next(s for s in split.accounts if s.account == "a").targets
    assert targets.get(CASH, Decimal(0)) == 0  # no cash need: nothing kept in cash
    plan = plan_rebalance(
        PlanInput(
            cash=Decimal(20000),
            reserved_cash=Decimal(10000),
            holdings={"X": Decimal(400)},
            prices=PRICES,
            targets=dict(targets),
        ),
        POLICY,
    )
    # All $20,000 to spend is spent (before: $10,100 left idle); the reserve never is.
    assert plan.cash_after < Decimal(100)
    assert sum((o.qty * o.price for o in plan.orders), Decimal(0)) <= Decimal(20000)


def test_a_single_accounts_reserve_goes_toward_its_holdings_not_its_cash_target() -> None:
    """X 90% / CASH 10%, $70,000 of X, $20,000 to spend, $10,000 held by an open buy: the
    planner keeps 10% of the $100,000 in spendable cash and buys $10,000 of X; once the open
    buy (of X) fills, X is at 90%. Counting the reserve toward CASH instead would buy $20,000
    and leave the account over-invested once the open buy fills."""
    plan = plan_rebalance(
        PlanInput(
            cash=Decimal(20000),
            reserved_cash=Decimal(10000),
            holdings={"X": Decimal(700)},
            prices={"X": Decimal(100)},
            targets={"X": Decimal("0.9"), CASH: Decimal("0.1")},
        ),
        POLICY,
    )
    assert [(o.symbol, o.qty) for o in plan.orders] == [("X", Decimal(100))]
    assert plan.cash_after == Decimal(10000)
