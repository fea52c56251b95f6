"""An alternate whose sale the tax step holds back keeps standing in for its primary.

With `return_to_primary`, once the primary's loss window closes the alternate stops standing
in: its target is 0 and the planner sells it and buys the primary. When the tax step holds
that sale back (a wash-sale guard on the alternate's own recent purchase, or the year's gains
budget), the alternate stayed held at a target of 0, and a held holding without a target is
always out of band: every cycle rebalanced the account, selling AAA and buying BBB beside the
BBX still held, until the alternate could be sold. The audit's backtest (`bench_backtest_tax`'s
`harvest` account) traded every day of such a deferral, 4 to 5 orders a day for weeks. The
alternate now stands in until its sale can go ahead, so the pair is tested against the
primary's target and band as inside the window, and nothing trades while it is in band.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D  # noqa: N817

import pytest

from daemon.core.domain import Side
from daemon.core.tax.plan_types import TaxAction
from tests.stand_in_held_back_case import REDIRECTED, WINDOW_OVER, HeldBackAccount


def _prices(day: int, bbx: D) -> dict[str, D]:
    """AAA and CCC moving a little each day (inside their bands), BBB and BBX still."""
    move = D("0.004") * (day % 5 - 2)
    return {"AAA": D(108) * (1 + move), "BBB": D(95), "BBX": bbx, "CCC": D(100) * (1 - move)}


CASES = [
    pytest.param(True, False, D("46.5"), id="wash-sale guard on the alternate"),
    pytest.param(False, True, D(52), id="gains budget"),
]


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
@pytest.mark.parametrize(("wash", "budget", "bbx"), CASES)
def test_a_held_back_alternate_stands_in_and_nothing_trades_each_day(
    wash: bool, budget: bool, bbx: D, rebalance_to: str
) -> None:
    account = HeldBackAccount(wash=wash, budget=budget)
    traded: list[tuple[date, str, Side]] = []
    for day in range(15):
        today = WINDOW_OVER + timedelta(days=day)
        decision = account.decide(today, _prices(day, bbx), rebalance_to)
        held = [d for d in decision.taxed.decisions if d.symbol == "BBX" and d.qty_after == 0]
        assert held, decision.taxed.decisions  # the tax step holds the sale of BBX back
        assert held[0].action is (TaxAction.DEFERRED if wash else TaxAction.BUDGET)
        traded += [(today, o.symbol, o.side) for o in decision.approved]
        account.fill(today, decision)
    assert traded == []


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
@pytest.mark.parametrize(("wash", "budget", "bbx"), CASES)
def test_the_pair_is_tested_against_the_primary_target_and_says_why(
    wash: bool, budget: bool, bbx: D, rebalance_to: str
) -> None:
    decision = HeldBackAccount(wash=wash, budget=budget).decide(
        WINDOW_OVER, _prices(0, bbx), rebalance_to
    )
    assert decision.approved == ()
    assert not decision.plan.triggered
    assert decision.plan_input.stand_ins == {"BBX": "BBB"}
    rows = {r.symbol: r for r in decision.plan.drift}
    assert rows["BBX"].pool == rows["BBB"].pool == "BBB"
    assert not rows["BBX"].out_of_band
    said = [s for s in decision.stand_ins if s.startswith("BBX")]
    assert len(said) == 1
    assert said[0].startswith("BBX stands in for BBB (")
    assert said[0].endswith("until the tax step lets it be sold: returning to BBB then")


@pytest.mark.parametrize("rebalance_to", ["target", "band_edge"])
def test_once_the_deferral_ends_the_alternate_is_sold_for_the_primary(rebalance_to: str) -> None:
    account = HeldBackAccount(wash=True, budget=False)
    deferred = account.decide(WINDOW_OVER, _prices(0, D("46.5")), rebalance_to)
    until = next(d.until for d in deferred.taxed.decisions if d.symbol == "BBX")
    assert until == REDIRECTED + timedelta(days=31)
    decision = account.decide(until, _prices(0, D("46.5")), rebalance_to)
    assert {("BBX", Side.SELL), ("BBB", Side.BUY)} <= {
        (o.symbol, o.side) for o in decision.approved
    }
    assert decision.plan_input.stand_ins == {}
    assert "BBX no longer stands in for BBB: returning to BBB" in decision.stand_ins
    # Filled, the next plan at the same prices trades nothing.
    account.fill(until, decision)
    assert account.decide(until, _prices(0, D("46.5")), rebalance_to).approved == ()


def test_the_pair_out_of_band_buys_the_primary_while_the_alternate_waits() -> None:
    # BBX falls to 23% of the account: the pair is under BBB's 25%, and the window is
    # closed, so the account buys BBB itself (not BBX), and still does not sell BBX.
    account = HeldBackAccount(wash=True, budget=False)
    prices = {"AAA": D(120), "BBB": D(95), "BBX": D(40), "CCC": D(110)}
    decision = account.decide(WINDOW_OVER, prices, "target")
    assert decision.plan.triggered
    orders = {(o.symbol, o.side) for o in decision.approved}
    assert ("BBB", Side.BUY) in orders
    assert ("BBX", Side.SELL) not in orders
    assert ("BBX", Side.BUY) not in orders
