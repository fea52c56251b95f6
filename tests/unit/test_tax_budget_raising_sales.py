"""The shares a sale sells to raise cash claim the gains budget's room too, and first.

A sale's shares that raise a withdrawal or the buffer are never cut by the gains budget (the
owner asked for that cash). But the tax step did not charge them to the budget's room either,
and with the sales of holdings with a target of 0 claiming the room first (507ed4f), such a
sale took all of it before the raising shares were sold "all the same": $2,000 of short-term
gain against a budget of $1,000. Now the raising shares, sold whatever the budget, claim the
room first; the other sales get what they leave.

The account: A (700 sh) and B (300 sh) of a 50/50 strategy, X (40 sh) dropped by it, every lot
bought at $50 or $100 this year and worth $100 now (A's and X's at a short-term gain of $50 a
share), no cash, and a withdrawal of $2,000: 20 sh of A raise it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D  # noqa: N817

import pytest

from daemon.core.decide import Decision
from daemon.core.domain import Side
from daemon.core.tax.plan_types import TaxAction
from tests.hand_account_case import decide_account
from tests.stand_in_case import trade

BOUGHT = date(2024, 1, 2)
TODAY = date(2024, 6, 3)
TRADES = [
    trade(1, BOUGHT, "A", Side.BUY, D(700), D(50)),
    trade(2, BOUGHT, "B", Side.BUY, D(300), D(100)),
    trade(3, BOUGHT, "X", Side.BUY, D(40), D(50)),
]


def _decide(budget: str) -> Decision:
    return decide_account(
        today=TODAY,
        held={"A": 700, "B": 300, "X": 40},
        prices={"A": 100, "B": 100, "X": 100},
        targets={"A": "0.5", "B": "0.5"},
        universe={"A", "B", "X"},
        trades=TRADES,
        withdrawal=2000,
        tax={"gains_budget": {"short_term": budget}},
    )


def _sold(decision: Decision) -> dict[str, D]:
    return {o.symbol: o.qty for o in decision.approved if o.side is Side.SELL}


def test_the_raising_shares_claim_the_room_before_a_target_0_sale() -> None:
    # The 20 sh of A that raise the $2,000 realize $1,000: the whole budget. X's sale fits in
    # none of it and waits (set aside); A's rebalancing shares beyond the 20 are cut too.
    decision = _decide("1000")
    assert _sold(decision) == {"A": D(20)}
    assert decision.plan.cash_after >= 2000
    assert decision.taxed.preview.short_term_gain == D(1000)
    (x,) = [d for d in decision.taxed.decisions if d.symbol == "X"]
    assert x.action is TaxAction.BUDGET
    assert x.qty_after == 0
    assert (
        "short-term gains this year $0.00 + $1,000 from the plan's sales before it + $2,000 "
        "from this sale against a budget of $1,000" in x.reason
    )
    assert any(n.startswith("X set aside") for n in decision.plan.notes)


@pytest.mark.parametrize("budget", ["0", "500", "999"])
def test_the_raise_is_raised_over_the_budget_and_nothing_else_is_sold(budget: str) -> None:
    # The raise alone is over the budget: it is still raised (never cut), and it uses up the
    # room: no other sale realizes a gain beside it.
    decision = _decide(budget)
    assert _sold(decision) == {"A": D(20)}
    assert decision.plan.cash_after >= 2000
    assert decision.taxed.preview.short_term_gain == D(1000)


def test_room_left_by_the_raise_goes_to_the_target_0_sale_first() -> None:
    # $1,600: the raise takes $1,000, X's sale is cut to the $600 left (12 sh), and A's
    # rebalancing shares beyond the 20 that raise cash get nothing.
    decision = _decide("1600")
    assert _sold(decision) == {"A": D(20), "X": D(12)}
    assert decision.taxed.preview.short_term_gain == D(1600)
