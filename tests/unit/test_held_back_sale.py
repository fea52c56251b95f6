"""A holding with a target of 0 whose sale is held back does not rebalance the account daily.

The strategy dropped DDD: held at a target of 0, it is always out of band, so every plan
rebalances the account. While the tax step holds its sale back (a wash-sale guard with
`loss_sales = "defer"`, a short-term gains budget of 0) or a pre-trade check refuses it
(`max_order_notional`), the rest of that rebalance still traded: with `rebalance_to =
"target"`, AAA and CCC moving a little each day were traded back to their targets of the
whole account, 20 orders on 7 of 15 days (24 on 15 days when a check refused the sale).
DDD is now set aside while it waits: out of the targets and of the value they are weights
of, so nothing trades while the rest is in band, and the first plan in which the sale can
go ahead makes it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D  # noqa: N817

import pytest

from daemon.core.decide import CycleState, Decision
from daemon.core.domain import Side
from daemon.core.risk import Check
from daemon.core.tax.plan_types import TaxAction
from tests.held_back_sale_case import (
    FIRST,
    KINDS,
    LONG_TERM,
    WASH_OVER,
    HeldBackSaleAccount,
    prices,
)

DDD = D(100)
"""DDD's price: a loss on the wash case's lots, a short-term gain on the others'."""


def _waits(decision: Decision, kind: str) -> None:
    """Assert DDD's sale was held back as `kind` holds it, and the decision says so."""
    if kind == "refused":
        (refused,) = [d for d in decision.refusals if d.symbol == "DDD"]
        assert refused.check == Check.MAX_ORDER_NOTIONAL
        assert refused.side is Side.SELL
    else:
        (held,) = [d for d in decision.taxed.decisions if d.symbol == "DDD"]
        assert held.action is (TaxAction.DEFERRED if kind == "wash" else TaxAction.BUDGET)
        assert held.qty_after == 0


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_held_back_sale_sets_nothing_off_day_after_day(kind: str, rebalance_to: str) -> None:
    account = HeldBackSaleAccount(kind)
    traded: list[tuple[date, str, Side]] = []
    for day in range(15):
        today = FIRST + timedelta(days=day)
        decision = account.decide(today, prices(day, DDD), rebalance_to)
        _waits(decision, kind)
        traded += [(today, o.symbol, o.side) for o in decision.approved]
        account.fill(today, decision)
    assert traded == []


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_holding_is_set_aside_and_the_plan_says_why(kind: str, rebalance_to: str) -> None:
    decision = HeldBackSaleAccount(kind).decide(FIRST, prices(2, DDD), rebalance_to)
    assert decision.approved == ()
    assert not decision.plan.triggered
    assert "DDD" not in decision.plan_input.targets
    assert "DDD" not in {o.symbol for o in decision.plan.orders}
    rows = {r.symbol: r for r in decision.plan.drift}
    assert not rows["DDD"].managed
    assert rows["DDD"].note == "set aside: its sale is held back (see the plan's notes)"
    # The others' targets are of the value without DDD: AAA's 40% of 97,000.
    assert abs(rows["AAA"].weight - D(40000) / D(97000)) < D("1e-20")
    assert any(
        n.startswith("DDD set aside until its sale can go ahead") for n in decision.plan.notes
    )
    why = "DDD: sale refused (max_order_notional" if kind == "refused" else "tax: DDD sale"
    assert any(n.startswith(why) for n in decision.plan.notes)
    _waits(decision, kind)
    # Not a refusal of the checks' own: the account is not halted.
    assert decision.tripped is None


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
@pytest.mark.parametrize(("kind", "day"), [("wash", WASH_OVER), ("budget", LONG_TERM)])
def test_the_first_day_the_sale_can_go_ahead_it_is_sold(
    kind: str, day: date, rebalance_to: str
) -> None:
    account = HeldBackSaleAccount(kind)
    assert account.decide(day - timedelta(days=1), prices(0, DDD), rebalance_to).approved == ()
    decision = account.decide(day, prices(0, DDD), rebalance_to)
    orders = {(o.symbol, o.side) for o in decision.approved}
    assert ("DDD", Side.SELL) in orders
    assert not [d for d in decision.taxed.decisions if d.symbol == "DDD"]
    if rebalance_to == "band_edge":
        # Only DDD was out of band: its proceeds buy the holdings under their targets.
        assert {s for s, side in orders if side is Side.SELL} == {"DDD"}
    account.fill(day, decision)
    assert account.held["DDD"] == 0
    assert account.decide(day, prices(0, DDD), rebalance_to).approved == ()


@pytest.mark.parametrize("kind", KINDS)
def test_an_out_of_band_holding_is_traded_back_with_the_money_not_held_back(kind: str) -> None:
    # BBB at 24.0% of the account (24.7% without DDD): under its band of 25% to 35%. The
    # plan counted on DDD's proceeds to buy it, the tax step or the checks held them back,
    # and BBB stayed out of band for as long as DDD waited. Now AAA and CCC pay for it.
    account = HeldBackSaleAccount(kind, bbb=D(230))
    decision = account.decide(FIRST, prices(2, DDD), "band_edge")
    orders = {(o.symbol, o.side) for o in decision.approved}
    assert ("BBB", Side.BUY) in orders
    assert "DDD" not in {s for s, _ in orders}
    account.fill(FIRST, decision)
    assert account.decide(FIRST, prices(2, DDD), "band_edge").approved == ()


def test_a_check_that_refuses_every_order_sets_nothing_aside() -> None:
    # The market is closed: nothing trades, and the plan shows what the account would do.
    decision = HeldBackSaleAccount("refused").decide(
        FIRST, prices(0, DDD), "target", CycleState(market_open=False)
    )
    assert decision.approved == ()
    assert decision.plan.triggered
    assert ("DDD", Side.SELL) in {(o.symbol, o.side) for o in decision.plan.orders}
    assert {d.check for d in decision.refusals} == {Check.MARKET_HOURS}
    assert not any("set aside" in n for n in decision.plan.notes)
