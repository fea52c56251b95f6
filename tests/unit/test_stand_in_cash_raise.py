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
