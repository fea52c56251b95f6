"""A held alternate and the primary it stands in for are one holding for the band test.

The audit's backtest (`c4.toml`, `p4.csv`): after BBB was harvested whole into BBX, the
stand-in left BBB a small residual target (BBB's 50% less BBX's weight) whose band (25% of
that residual) BBB's weight of 0 was always outside, so every following day rebalanced the
whole account: an AAA sale realizing gains and a redirected BBB buy of BBX, 86 trades in 43
days, each BBX buy pushing back the return to BBB. The pair is now tested against BBB's
own target and band, so nothing trades while the pair and the other holdings are in band.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817

import pytest

from daemon.core.decide import CycleState, Decision, DecisionInput, TaxInputs, decide
from daemon.core.domain import AccountSnapshot, AccountType, Mode, Position, Quote, Side
from daemon.core.errors import DataError
from daemon.core.planner import PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms
from daemon.core.tax import TaxPolicy
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from tests.stand_in_case import BANDS, HARVESTED, TAX, trade

BOUGHT = D("1010.327")
"""BBX bought with the proceeds of the 500 BBB sold at $94.89 (the backtest's trade)."""
CASH = D(500) * D("94.89") - BOUGHT * D("46.96")


def _decide(
    today: date,
    prices: dict[str, D],
    *,
    holdings: dict[str, D] | None = None,
    rebalance_to: str = "target",
) -> Decision:
    """Decide the audit's account on `today`, after BBB was harvested whole into BBX."""
    trades = [
        trade(1, date(2022, 1, 3), "AAA", Side.BUY, D(500), D(100)),
        trade(2, date(2022, 1, 3), "BBB", Side.BUY, D(500), D(100)),
        trade(3, HARVESTED, "BBB", Side.SELL, D(500), D("94.89")),
        trade(4, HARVESTED, "BBX", Side.BUY, BOUGHT, D("46.96")),
    ]
    book = replay_trades(trades, TaxPolicy(methods={}, identical=SubstantiallyIdentical()))
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=19)
    held = holdings if holdings is not None else {"AAA": D(500), "BBX": BOUGHT}
    snap = AccountSnapshot(
        account="a",
        as_of=now,
        cash=CASH,
        positions=tuple(Position(s, q) for s, q in held.items()),
        quotes={s: Quote(s, p, now - timedelta(minutes=1), "test") for s, p in prices.items()},
    )
    tax = TaxSettings.model_validate(TAX)
    return decide(
        DecisionInput(
            account="a",
            account_type=AccountType.TAXABLE,
            strategy="static",
            targets={"AAA": D("0.5"), "BBB": D("0.5")},
            universe=frozenset({"AAA", "BBB"}),
            snapshot=snap,
            planning=PlanningPolicy(
                default_band=BANDS,
                rebalance_to=rebalance_to,  # type: ignore[arg-type]
                min_trade_notional=D(1),
                share_increment=D("0.001"),
            ),
            terms=OrderTerms(),
            limits=RiskConfig(),
            state=CycleState(),
            tax=TaxInputs(book=book, today=today, settings=tax, identical=SubstantiallyIdentical()),
            now=now,
            max_quote_age=timedelta(hours=96),
            mode=Mode.PAPER,
            submit=True,
            alternates=frozenset({"BBX"}),
        )
    )


def _orders(decision: Decision) -> set[tuple[str, Side]]:
    return {(o.symbol, o.side) for o in decision.approved}


def test_the_day_after_a_harvest_nothing_trades_while_the_pair_is_in_band() -> None:
    # The backtest's 2022-07-13: AAA 54.2%, BBX 45.8% against BBB's 50% +-5pp.
    decision = _decide(
        HARVESTED + timedelta(days=1), {"AAA": D("111.58"), "BBB": D("94.60"), "BBX": D("46.73")}
    )
    assert decision.approved == ()
    assert not decision.plan.triggered
    rows = {r.symbol: r for r in decision.plan.drift}
    assert not rows["BBB"].out_of_band
    assert not rows["BBX"].out_of_band
    assert "BBB with BBX: 45.8% vs target 50.0% ±5.0pp" in rows["BBB"].note
    assert rows["BBB"].low <= rows["BBB"].weight <= rows["BBB"].high


@pytest.mark.parametrize("days", [1, 5, 20, 29])
def test_nothing_trades_inside_the_window_while_prices_stay_in_band(days: int) -> None:
    # A little drift each day, the pair and AAA in their bands all the while.
    move = D(1) + D("0.0004") * days
    prices = {"AAA": D("111.58") * move, "BBB": D("94.60"), "BBX": D("46.73") / move}
    decision = _decide(HARVESTED + timedelta(days=days), prices)
    assert decision.approved == ()


def test_the_pair_out_of_band_buys_the_alternate_while_the_window_is_open() -> None:
    # BBX falls to 43.6% of the account: the pair is below 45%, so the account rebalances;
    # the buy of BBB would wash its loss and is redirected to BBX.
    decision = _decide(HARVESTED + timedelta(days=3), {"AAA": D(118), "BBB": D(90), "BBX": D(45)})
    assert decision.plan.triggered
    assert _orders(decision) == {("AAA", Side.SELL), ("BBX", Side.BUY)}
    assert "out of band: AAA, BBB, BBX; rebalancing to target" in decision.plan.notes


def test_the_pair_over_its_band_sells_the_alternate_down_to_the_primary_target() -> None:
    decision = _decide(HARVESTED + timedelta(days=3), {"AAA": D(90), "BBB": D(90), "BBX": D(60)})
    assert _orders(decision) == {("BBX", Side.SELL), ("AAA", Side.BUY)}


def test_after_the_window_the_alternate_is_sold_for_the_primary() -> None:
    # return_to_primary: no pair any more, BBX has target 0 and is sold for BBB.
    decision = _decide(
        HARVESTED + timedelta(days=31), {"AAA": D("111.58"), "BBB": D(95), "BBX": D(48)}
    )
    assert _orders(decision) == {("BBX", Side.SELL), ("BBB", Side.BUY), ("AAA", Side.SELL)}


def test_a_primary_left_beside_a_capped_alternate_is_not_sold_while_the_pair_is_in_band() -> None:
    # Some BBB kept (e.g. lots at a gain) and BBX worth more than BBB's target: BBX stands in
    # for all of it and BBB's own target is 0, but the pair, 51.9%, is in BBB's band.
    held = {"AAA": D(480), "BBB": D(20), "BBX": BOUGHT + D(60)}
    decision = _decide(
        HARVESTED + timedelta(days=2),
        {"AAA": D(100), "BBB": D(94), "BBX": D("46.96")},
        holdings=held,
    )
    assert decision.approved == ()


def _plan(
    holdings: dict[str, D], prices: dict[str, D], *, rebalance_to: str = "band_edge"
) -> PlanInput:
    # Without return_to_primary the alternate stands in without a window.
    tax = TaxSettings.model_validate(TAX | {"harvest": {"enabled": True}})
    stood = stand_in_targets(
        {"AAA": D("0.5"), "BBB": D("0.5")},
        holdings,
        prices,
        D(0),
        settings=tax,
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=HARVESTED,
    )
    assert stood.pairs == {"BBX": "BBB"}
    return PlanInput(
        cash=D(0),
        holdings=holdings,
        prices=prices,
        targets=stood.targets,
        stand_ins=stood.pairs,
    )


def test_band_edge_buys_the_pair_back_to_its_band_edge_only() -> None:
    # The pair at 40% of BBB's 50% +-5pp: band_edge buys it to 45%, through the primary (the
    # tax step redirects that buy to the alternate while the window is open).
    holdings = {"AAA": D(600), "BBX": D(800)}
    prices = {"AAA": D(100), "BBB": D(100), "BBX": D(50)}
    policy = PlanningPolicy(default_band=BANDS, rebalance_to="band_edge", share_increment=D(1))
    plan = plan_rebalance(_plan(holdings, prices), policy)
    assert {(o.symbol, o.side, o.qty) for o in plan.orders} == {
        ("AAA", Side.SELL, D(50)),
        ("BBB", Side.BUY, D(50)),
    }


def test_the_planner_refuses_a_stand_in_outside_the_plan() -> None:
    inp = PlanInput(
        cash=D(0),
        holdings={"AAA": D(1)},
        prices={"AAA": D(1)},
        targets={"AAA": D(1)},
        stand_ins={"BBX": "BBB"},
    )
    with pytest.raises(DataError, match="BBX stands in for BBB, but BBX is not in the targets"):
        plan_rebalance(inp, PlanningPolicy(default_band=BANDS))


def test_the_planner_refuses_a_stand_in_loop() -> None:
    inp = PlanInput(
        cash=D(0),
        holdings={"AAA": D(1), "BBB": D(1)},
        prices={"AAA": D(1), "BBB": D(1)},
        targets={"AAA": D("0.5"), "BBB": D("0.5")},
        stand_ins={"AAA": "BBB", "BBB": "AAA"},
    )
    with pytest.raises(DataError, match=r"AAA stands in for itself \(through BBB\)"):
        plan_rebalance(inp, PlanningPolicy(default_band=BANDS))


def test_two_alternates_and_their_primary_are_one_pool() -> None:
    # P's 50%: A1 holds 20%, A2 27%, P nothing; the pool's 47% is inside P's 50% +-5pp.
    inp = PlanInput(
        cash=D(0),
        holdings={"A1": D(20), "A2": D(27), "O": D(53)},
        prices={"A1": D(1000), "A2": D(1000), "O": D(1000), "P": D(1000)},
        targets={"P": D("0.03"), "A1": D("0.2"), "A2": D("0.27"), "O": D("0.5")},
        stand_ins={"A1": "P", "A2": "P"},
    )
    plan = plan_rebalance(inp, PlanningPolicy(default_band=BANDS))
    assert plan.orders == ()
    assert not plan.triggered
    rows = {r.symbol: r for r in plan.drift}
    for symbol in ("P", "A1", "A2"):
        assert not rows[symbol].out_of_band
        assert rows[symbol].note == "P with A1, A2: 47.0% vs target 50.0% ±5.0pp"
        assert rows[symbol].high - rows[symbol].target == D("0.05")
    # Tested alone, P's 3% target has a band of +-0.75pp that its 0% is outside.
    alone = plan_rebalance(
        PlanInput(cash=inp.cash, holdings=inp.holdings, prices=inp.prices, targets=inp.targets),
        PlanningPolicy(default_band=BANDS),
    )
    assert alone.triggered
