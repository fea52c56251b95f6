"""No order worth less than a cent ($0.00), whatever `min_trade_notional` says.

The defect these pin (a review's finding): with `min_trade_notional = 0` and fractional
increments, the cash a sale rounded up to whole increments raises beyond a withdrawal is a
fraction of a cent, and the planner spent it: "buy 0.0001 sh ($0.00)". It showed with a
reserve resting at the broker, `buy_only` and a withdrawal, and equally without the reserve
or with `buy_only` off; sizing a buy down to the cash, and topping up the rest of a buy, made
$0.00 orders too. No broker fills a sub-cent order, a dollar-amount buy of it states $0.00,
and it would be planned again every cycle.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from daemon.core.decide import decide
from daemon.core.domain import Side
from daemon.core.planner import Band, PlanInput, PlannedOrder, PlanningPolicy, plan_rebalance
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms, size_buy, top_up_order
from tests.property.test_decide_properties import given_input

D = Decimal
CENT = D("0.01")


def policy(increment: str = "0.0001", *, buy_only: bool = False) -> PlanningPolicy:
    """±5pp bands, no minimum trade: only the cent stands between a plan and dust."""
    return PlanningPolicy(
        default_band=Band(absolute_pp=D(5)),
        min_trade_notional=D(0),
        share_increment=D(increment),
        buy_only=buy_only,
    )


RESERVE_BUY_ONLY_WITHDRAWAL = PlanInput(
    cash=D(0),
    holdings={"VTI": D(100), "BND": D(100)},
    prices={"VTI": D("33.33"), "BND": D(20)},
    targets={"VTI": D("0.5"), "BND": D("0.5")},
    withdrawal=D(100),
    reserved_cash=D(1_000),
)
"""$100 withdrawal from VTI $3,333 and BND $2,000, $1,000 held by an owner's open buy.

VTI is sold for it in steps of 0.0001 sh ($0.003333): 3.0004 sh raise $100.003332, and the
$0.003332 over the withdrawal bought 0.0001 BND at $20 ($0.002)."""


def test_the_reviewers_case_sells_for_the_withdrawal_and_buys_no_dust() -> None:
    plan = plan_rebalance(RESERVE_BUY_ONLY_WITHDRAWAL, policy(buy_only=True))
    assert [(o.side, o.symbol, o.qty) for o in plan.orders] == [(Side.SELL, "VTI", D("3.0004"))]
    assert plan.cash_after == D("100.003332")
    bnd = next(r for r in plan.drift if r.symbol == "BND")
    assert bnd.note == "not enough cash (buy_only: nothing is sold to pay for buys)"


@pytest.mark.parametrize(
    ("buy_only", "reserved", "withdrawal"),
    [(True, 1_000, 100), (True, 0, 100), (False, 1_000, 100), (False, 0, 100)],
)
@pytest.mark.parametrize("increment", ["0.0001", "0.000000001"])
def test_no_order_is_worth_less_than_a_cent(
    buy_only: bool, reserved: int, withdrawal: int, increment: str
) -> None:
    inp = dataclasses.replace(
        RESERVE_BUY_ONLY_WITHDRAWAL,
        holdings={"VTI": D(100), "BND": D(100)},
        reserved_cash=D(reserved),
        withdrawal=D(withdrawal),
    )
    plan = plan_rebalance(inp, policy(increment, buy_only=buy_only))
    assert plan.orders, "the withdrawal is raised"
    assert all(o.notional >= CENT for o in plan.orders), [o.reason for o in plan.orders]


def test_a_withdrawal_in_billionths_of_a_share_buys_no_dust() -> None:
    """Hypothesis's first find: 1e-9 sh at $0.50 ($0.0000000005) bought with what the
    sale of S14 raised beyond the $123.45 withdrawal."""
    inp = PlanInput(
        cash=D(0),
        holdings={"S14": D(402)},
        prices={"S14": D("0.87"), "S16": D("0.50")},
        targets={"S14": D("0.5"), "S16": D("0.5")},
        withdrawal=D("123.45"),
    )
    plan = plan_rebalance(inp, policy("0.000000001", buy_only=True))
    assert [(o.side, o.symbol) for o in plan.orders] == [(Side.SELL, "S14")]


def test_a_holding_worth_less_than_a_cent_is_not_sold_and_says_why() -> None:
    inp = PlanInput(
        cash=D(0),
        holdings={"VTI": D(100), "OLD": D("0.0001")},
        prices={"VTI": D(100), "OLD": D(20)},
        targets={"VTI": D(1)},
    )
    plan = plan_rebalance(inp, policy())
    assert plan.orders == ()
    old = next(r for r in plan.drift if r.symbol == "OLD")
    assert old.note == "order of $0.00 below the minimum trade of $0.01"


def test_the_decision_plans_and_approves_no_dust() -> None:
    """Through `decide`, as `trimtab plan --withdraw 100` and the cycle call it: the pre-trade
    checks' own minimum (0 here) let the $0.002 buy through."""
    base = given_input(
        cash=D(0),
        held={"VTI": D(100), "BND": D(100)},
        prices={"VTI": D("33.33"), "BND": D(20), "VXUS": D(60), "VNQ": D(90)},
        targets={"VTI": D("0.5"), "BND": D("0.5")},
    )
    given = dataclasses.replace(
        base,
        snapshot=dataclasses.replace(base.snapshot, reserved_cash=D(1_000)),
        planning=policy(buy_only=True),
        limits=RiskConfig(min_trade_notional=D(0)),
        withdrawal=D(100),
    )
    decision = decide(given)
    assert [(o.side, o.symbol, o.qty) for o in decision.plan.orders] == [
        (Side.SELL, "VTI", D("3.0004"))
    ]
    assert [o.symbol for o in decision.approved] == ["VTI"]


def test_a_buy_sized_down_to_under_a_cent_is_dropped() -> None:
    """$0.01 spendable fits 0.0001 sh at $60 ($0.006): a buy of $0.00 once in whole cents."""
    order = PlannedOrder("VTI", Side.BUY, D(1), D(60), D(60), "VTI under target")
    for hold in (D(0), D("0.04")):
        assert size_buy(order, D(60), CENT, OrderTerms(), D("0.0001"), hold=hold) is None
    sized = size_buy(order, D(60), D("0.06"), OrderTerms(), D("0.0001"), hold=D(0))
    assert sized is not None
    assert (sized.qty, sized.notional) == (D("0.001"), D("0.06"))


def test_the_rest_of_a_buy_worth_less_than_a_cent_is_not_topped_up() -> None:
    order = PlannedOrder("BND", Side.BUY, D(1), D(20), D(20), "BND under target")
    assert top_up_order(order, D("0.9999")) is None  # 0.0001 sh, $0.002
    rest = top_up_order(order, D("0.9995"))  # 0.0005 sh, $0.01
    assert rest is not None
    assert (rest.qty, rest.notional) == (D("0.0005"), CENT)
