"""Raising cash sells a pool of a primary and its standing alternates only for what it is over.

A primary and the alternates standing in for it are one holding (`PlanInput.stand_ins`).
Until 2026-12-07 raising a withdrawal or the cash buffer compared each leg with its own
target: when the targets were scaled to make room for cash, a standing alternate (whose target
is its weight before scaling) was always over its own target, so the raise sold it although
its pool was under the pool's target, and left a holding over its target unsold. The raise now
takes from a pool only what the pool holds above its target, the primary's own shares first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D  # noqa: N817

import pytest

from daemon.core.domain import Side
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings

PRICES = {"AAA": D(100), "BBB": D(100), "BBX": D(100)}


def _plan(holdings: dict[str, D], cash: D, mode: str, withdrawal: D) -> Plan:
    targets = {"AAA": D("0.5"), "BBB": D("0.5")}
    stood = stand_in_targets(
        targets,
        holdings,
        PRICES,
        cash,
        settings=TaxSettings.model_validate({"alternates": {"BBB": "BBX"}}),
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=date(2022, 1, 1),
    )
    return plan_rebalance(
        PlanInput(
            cash=cash,
            holdings=holdings,
            prices=PRICES,
            targets=stood.targets,
            stand_ins=stood.pairs,
            withdrawal=withdrawal,
        ),
        PlanningPolicy(
            default_band=Band(absolute_pp=D(5)),
            rebalance_to=mode,  # type: ignore[arg-type]
            share_increment=D(1),
            min_trade_notional=D(1),
        ),
    )


def _sold(plan: Plan) -> dict[str, D]:
    return {o.symbol: o.qty for o in plan.orders if o.side == Side.SELL}


@pytest.mark.parametrize("mode", ["target", "band_edge"])
def test_the_raise_comes_from_the_overweight_holding_not_an_underweight_pool(mode: str) -> None:
    # AAA 45% against 40%, the pool BBB+BBX 39% against 40%; $20k withdrawal, $16k cash.
    plan = _plan({"AAA": D(450), "BBX": D(390)}, D(16000), mode, D(20000))
    assert _sold(plan) == {"AAA": D(40)}, [(o.symbol, o.side, o.qty) for o in plan.orders]


@pytest.mark.parametrize("mode", ["target", "band_edge"])
def test_an_overweight_pool_pays_from_the_primary_first_then_the_alternate(mode: str) -> None:
    # Targets scaled by 0.82 for the $18k withdrawal: AAA 40% against 41%; the pool 44%
    # against 41% (BBB 30% against 29.52%, BBX 14% against 11.48%). The $2k comes from the
    # pool's $3k over: the primary's own 4 whole shares over its target first, then BBX.
    plan = _plan({"AAA": D(400), "BBB": D(300), "BBX": D(140)}, D(16000), mode, D(18000))
    assert _sold(plan) == {"BBB": D(4), "BBX": D(16)}, [
        (o.symbol, o.side, o.qty) for o in plan.orders
    ]


# --- past targets: leg by leg (a reviewer's cases against the first version of this fix) ----


def test_past_targets_an_alternate_over_its_own_target_is_sold_before_the_primary() -> None:
    """Only the pool can raise (O1 over, but not to be sold): the cash is raised from A1,
    over its own target, not from P under its own, and the filled account plans nothing
    more. Ranked as a pool past targets too, P was sold, $711 stayed above the cash target
    and the next plan bought P back."""
    raw = {"P": D("0.337142"), "O1": D("0.251429"), "O2": D("0.411429")}
    tax = TaxSettings.model_validate({"alternates": {"P": ["A1", "A2"]}})
    prices = {"P": D("349.34"), "A1": D("252.8"), "A2": D("314.86"), "O1": D("12.37")}
    prices["O2"] = D("105.47")
    policy = PlanningPolicy(
        default_band=Band(relative=D("0.5")),
        band_overrides={
            "P": Band(relative=D("0.2")),
            "O1": Band(absolute_pp=D(5), relative=D("0.25")),
            "O2": Band(absolute_pp=D(2), relative=D("0.25")),
        },
        rebalance_to="band_edge",
        cash_buffer=D(2000),
        min_trade_notional=D(0),
        share_increment=D("0.001"),
    )

    def plan(holdings: dict[str, D], cash: D) -> Plan:
        stood = stand_in_targets(
            raw,
            holdings,
            prices,
            cash,
            settings=tax,
            identical=SubstantiallyIdentical(),
            loss_windows=(),
            today=date(2026, 1, 5),
        )
        given = PlanInput(
            cash=cash,
            holdings=holdings,
            prices=prices,
            targets=stood.targets,
            stand_ins=stood.pairs,
            withdrawal=D(5000),
            raise_without=frozenset({"O1", "A2"}),
        )
        return plan_rebalance(given, policy)

    held = {"P": D(36), "O1": D(2868), "O2": D(157), "A1": D(19), "A2": D(13)}
    first = plan(held, D(5000))
    assert first.cash_after <= D(7001)
    cash = D(5000)
    for order in first.orders:
        change = order.qty if order.side is Side.BUY else -order.qty
        held[order.symbol] += change
        cash -= change * prices[order.symbol]
    assert plan(held, cash).orders == ()


def test_past_targets_the_pool_sells_no_more_than_the_withdrawal_needs() -> None:
    """The pool pays the $4,000 alone (O2 may not raise it, O1's excess is under the minimum
    trade): ranked as a pool past targets, P under its own target was sold and then the
    rebalance sold the alternates to theirs too, $877 more than needed."""
    given = PlanInput(
        cash=D("26000"),
        holdings={
            "P": D("14.2452"),
            "O1": D("4.3061"),
            "O2": D("30.2191"),
            "A1": D("4.8889"),
            "A2": D("2.7984"),
        },
        prices={
            "P": D("247.76"),
            "A1": D("270.72"),
            "A2": D("420.41"),
            "O1": D("83.6"),
            "O2": D("259.64"),
        },
        targets={
            "P": D("0.4004508037583367095445768816"),
            "O1": D("0.013605"),
            "O2": D("0.523810"),
            "A2": D("0.02923975923387901768133478747"),
            "A1": D("0.03289443700778427277408833089"),
        },
        withdrawal=D("30000"),
        raise_without=frozenset({"O2"}),
        stand_ins={"A2": "P", "A1": "P"},
    )
    policy = PlanningPolicy(
        default_band=Band(absolute_pp=D(2), relative=D("0.25")),
        band_overrides={"O2": Band(absolute_pp=D(1))},
        rebalance_to="target",
        inner_band=D("0.5"),
        min_trade_notional=D(500),
        share_increment=D("0.001"),
    )
    plan = plan_rebalance(given, policy)
    sold = [o for o in plan.orders if o.side is Side.SELL]
    pool_sold = sum((o.notional for o in sold if o.symbol in ("P", "A1", "A2")), D(0))
    assert pool_sold <= D(4050), pool_sold
