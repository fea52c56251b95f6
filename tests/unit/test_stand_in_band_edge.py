"""`band_edge` trades a pool of a primary and its standing alternates to the pool's edge.

A primary and the alternates standing in for it are one holding for the band test
(`PlanInput.stand_ins`). Until 2026-12-07 `band_edge` then traded each leg to the edge of its
own row's band (its own target plus or minus the pool's whole half-width): a primary whose
capped alternate took all of its target had a target of 0 and was sold whole, realizing its
gains on shares the pool's edge did not ask for, and two alternates over their targets were
each sold to their own target plus the half-width, leaving the pool two half-widths over its
edge, to be sold again on the next plan. The pool is now traded as a whole to its own edge.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D  # noqa: N817

from daemon.core.domain import Side
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings


def _plan(
    targets: dict[str, D],
    holdings: dict[str, D],
    prices: dict[str, D],
    cash: D,
    alternates: dict[str, list[str]],
    policy: PlanningPolicy,
    withdrawal: D = D(0),
) -> Plan:
    tax = TaxSettings.model_validate({"alternates": alternates})
    stood = stand_in_targets(
        targets,
        holdings,
        prices,
        cash,
        settings=tax,
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=date(2022, 1, 1),
    )
    return plan_rebalance(
        PlanInput(
            cash=cash,
            holdings=holdings,
            prices=prices,
            targets=stood.targets,
            stand_ins=stood.pairs,
            withdrawal=withdrawal,
        ),
        policy,
    )


def _fill(plan: Plan, holdings: dict[str, D], cash: D) -> tuple[dict[str, D], D]:
    held = dict(holdings)
    for order in plan.orders:
        sign = 1 if order.side == Side.BUY else -1
        held[order.symbol] = held.get(order.symbol, D(0)) + sign * order.qty
        cash -= sign * order.qty * order.price
    return held, cash


def test_a_capped_pair_is_sold_to_its_edge_only() -> None:
    # BBB 50% +-5pp. BBX (its alternate) at 52% stands in for all of it (its share is capped
    # at 50%, BBB's target is 0); 8% of BBB is left. The pair, 60%, is 5pp over its edge.
    holdings = {"AAA": D(400), "BBB": D(80), "BBX": D(1040)}
    prices = {"AAA": D(100), "BBB": D(100), "BBX": D(50)}
    targets = {"AAA": D("0.5"), "BBB": D("0.5")}
    alternates = {"BBB": ["BBX"]}
    policy = PlanningPolicy(
        default_band=Band(absolute_pp=D(5)), rebalance_to="band_edge", share_increment=D(1)
    )
    plan = _plan(targets, holdings, prices, D(0), alternates, policy)
    sold = {o.symbol: o.qty for o in plan.orders if o.side == Side.SELL}
    # The primary's own shares go first, and only the 5pp over the pair's edge of 55%.
    assert sold == {"BBB": D(50)}
    rows = {r.symbol: r for r in plan.drift}
    assert rows["BBB"].weight_after + rows["BBX"].weight_after == D("0.55")
    held, cash = _fill(plan, holdings, D(0))
    again = _plan(targets, held, prices, cash, alternates, policy)
    assert again.orders == ()


def test_two_alternates_over_land_the_pool_inside_its_band() -> None:
    # P 21% +-2pp (scaled by the withdrawal); its alternates A1 and A2 both held, P not.
    targets = {"P": D("0.21"), "O": D("0.79")}
    prices = {"P": D(10), "A1": D(40), "A2": D(11), "O": D(12)}
    holdings = {"A1": D(305), "A2": D(1023), "O": D(3000)}
    cash = D(548)
    alternates = {"P": ["A1", "A2"]}
    policy = PlanningPolicy(
        default_band=Band(absolute_pp=D(5)),
        band_overrides={"P": Band(absolute_pp=D(2))},
        rebalance_to="band_edge",
        cash_buffer=D(1000),
        min_trade_notional=D(5),
        share_increment=D("0.0001"),
    )
    plan = _plan(targets, holdings, prices, cash, alternates, policy, D(5000))
    rows = {r.symbol: r for r in plan.drift}
    pool = ("P", "A1", "A2")
    after = sum((rows[s].weight_after for s in pool), D(0))
    high = sum((rows[s].target for s in pool), D(0)) + D("0.02")
    assert after <= high
    # To the edge, not further (the increments are a hundredth of a cent here).
    assert high - after < D("0.000001")
    assert not any("increment" in rows[s].note for s in pool), plan.drift
    held, cash = _fill(plan, holdings, cash)
    again = _plan(targets, held, prices, cash, alternates, policy, D(5000))
    assert again.orders == ()
