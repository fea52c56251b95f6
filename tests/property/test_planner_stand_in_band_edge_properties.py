"""`band_edge` with alternates standing in: a pool traded to its edge stays there.

For random holdings of a primary (P), its two alternates (A1, A2, standing in through
`stand_in_targets`) and two other holdings, with random bands, increments, cash, buffer,
withdrawal and minimum trade, planning `band_edge`, filling every order at its planning price
and planning again (the alternates standing in afresh, as the next cycle has them) gives no
orders: each pool was traded as a whole to its edge, not each leg to its own.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import CASH, Side
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.settings import TaxSettings
from tests.hypothesis_profiles import scaled

D = Decimal
POOL = ("P", "A1", "A2")
OTHERS = ("O1", "O2")
TAX = TaxSettings.model_validate({"alternates": {"P": ["A1", "A2"]}})

bands = st.one_of(
    st.builds(Band, absolute_pp=st.decimals(D("0.5"), D(10), places=1)),
    st.builds(Band, relative=st.decimals(D("0.05"), D("0.5"), places=2)),
    st.builds(
        Band,
        absolute_pp=st.decimals(D("0.5"), D(10), places=1),
        relative=st.decimals(D("0.05"), D("0.5"), places=2),
    ),
)
increments = st.sampled_from([D(1), D("0.0001"), D("0.01")])


def _stood(
    targets: dict[str, Decimal],
    holdings: dict[str, Decimal],
    prices: dict[str, Decimal],
    cash: Decimal,
    withdrawal: Decimal,
) -> PlanInput:
    """Return the plan input with held alternates standing in for P, as `decide` has it."""
    stood = stand_in_targets(
        targets,
        holdings,
        prices,
        cash,
        settings=TAX,
        identical=SubstantiallyIdentical(),
        loss_windows=(),
        today=date(2026, 1, 5),
    )
    return PlanInput(
        cash=cash,
        holdings=holdings,
        prices=prices,
        targets=stood.targets,
        stand_ins=stood.pairs,
        withdrawal=withdrawal,
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[PlanInput, PlanningPolicy, dict[str, Decimal]]:
    weighted = ["P", *OTHERS] + ([CASH] if draw(st.booleans()) else [])
    raw = {s: draw(st.integers(0, 100)) for s in weighted}
    raw["P"] = max(raw["P"], 1)
    total = sum(raw.values())
    targets = {s: (D(r) / D(total)).quantize(D("0.000001")) for s, r in raw.items()}
    targets["O2"] += D(1) - sum(targets.values())  # exactly 1 in all
    if targets["O2"] < 0:
        targets["P"] += targets["O2"]
        targets["O2"] = D(0)
    prices = {s: draw(st.decimals(D(1), D(500), places=2)) for s in (*POOL, *OTHERS)}
    default_increment = draw(increments)
    overrides = {s: draw(increments) for s in (*POOL, *OTHERS) if draw(st.booleans())}
    increment = {s: overrides.get(s, default_increment) for s in prices}
    if draw(st.booleans()):
        holdings = {
            s: D(draw(st.integers(0, 2000))).quantize(increment[s])
            for s in (*POOL, *OTHERS)
            if s != "A1" or draw(st.booleans())
        }
    else:  # near the targets, the pool's value spread over its members: bands decide
        value = {s: float(targets[s]) * 100_000 * draw(st.floats(0.7, 1.3)) for s in raw}
        spread = [draw(st.integers(0, 10)) for _ in POOL]
        value |= {
            s: value["P"] * part / max(sum(spread), 1) for s, part in zip(POOL, spread, strict=True)
        }
        holdings = {
            s: (D(v) / prices[s]).quantize(increment[s]) for s, v in value.items() if s != CASH
        }
    holdings["A2"] = max(holdings.get("A2", D(0)), D(1))  # at least one alternate held
    policy = PlanningPolicy(
        default_band=draw(bands),
        band_overrides={s: draw(bands) for s in ("P", *OTHERS) if draw(st.booleans())},
        rebalance_to="band_edge",
        inner_band=draw(st.sampled_from([D(0), D(0), D("0.5"), D(1)])),
        cash_buffer=draw(st.sampled_from([D(0), D(0), D(500), D(5_000)])),
        min_trade_notional=draw(st.sampled_from([D(0), D(1), D(100)])),
        buy_only=draw(st.integers(0, 4)) == 0,
        share_increment=default_increment,
        increment_overrides=overrides,
    )
    cash = draw(st.sampled_from([D(0), D(0), D(1_000), D(20_000)]))
    withdrawal = draw(st.sampled_from([D(0), D(0), D(1_000), D(10_000)]))
    return _stood(targets, holdings, prices, cash, withdrawal), policy, targets


def _filled(inp: PlanInput, plan: Plan) -> tuple[dict[str, Decimal], Decimal]:
    holdings = dict(inp.holdings)
    cash = inp.cash
    for order in plan.orders:
        sign = 1 if order.side is Side.BUY else -1
        holdings[order.symbol] = holdings.get(order.symbol, D(0)) + sign * order.qty
        cash -= sign * order.notional
    return holdings, cash


CUT_BY_FLOAT_NOISE = (
    PlanInput(
        cash=D(0),
        holdings={"P": D(0), "O1": D(5983), "O2": D("69925.2500"), "A1": D(0), "A2": D(1)},
        prices={"P": D("1.02"), "A1": D("1.00"), "A2": D("1.00"), "O1": D("1.00"), "O2": D("1.00")},
        targets={
            "P": D("0.1452858263749147831127300033"),
            "O1": D("0.059829"),
            "O2": D("0.658120"),
            CASH: D("0.136752"),
            "A2": D("0.00001317362508521688726999673953"),
        },
        withdrawal=D(10_000),
        stand_ins={"A2": "P"},
    ),
    PlanningPolicy(
        default_band=Band(absolute_pp=D("1.7")),
        rebalance_to="band_edge",
        increment_overrides={"O2": D("0.0001")},
    ),
    {"P": D("0.145299"), "O1": D("0.059829"), "O2": D("0.658120"), CASH: D("0.136752")},
)
"""The nightly profile's find: the buy of 9,548 P into the pool's band cost $9,738.96, all the
cash the sales left above the withdrawal; summed in floats it was $9,738.960000000001, and
the cash limit cut it to 9,547, $0.14 outside the band: the next plan sold O1 to buy one more."""


@settings(max_examples=scaled(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
@example(CUT_BY_FLOAT_NOISE)
def test_planning_again_after_the_fills_gives_no_orders(
    case: tuple[PlanInput, PlanningPolicy, dict[str, Decimal]],
) -> None:
    inp, policy, _targets = case
    plan = plan_rebalance(inp, policy)
    rows = {r.symbol: r for r in plan.drift}
    event(f"pool out of band: {rows['P'].out_of_band}")
    holdings, cash = _filled(inp, plan)
    again = plan_rebalance(dataclasses.replace(inp, holdings=holdings, cash=cash), policy)
    assert again.orders == (), [(o.symbol, o.side, o.qty, o.reason) for o in again.orders]
