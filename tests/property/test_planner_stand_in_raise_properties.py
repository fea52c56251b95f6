"""Raising cash with an alternate standing in never sells a pool that is not over its target.

For random holdings of a primary (P), its two alternates (A1, A2, standing in through
`stand_in_targets`) and two other holdings, with a withdrawal, random bands, increments, cash,
buffer and minimum trade, in both rebalance modes: when the pool is at or below its target
and another holding is over its own target by enough to raise all the cash needed alone, the
cash raise sells no leg of the pool. (Leg by leg, a standing alternate was over its own target
whenever the targets were scaled for cash, and was sold from a pool under its target.)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from daemon.core.domain import CASH, Side
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance
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
)
increments = st.sampled_from([D(1), D("0.0001"), D("0.01")])


@st.composite
def cases(draw: st.DrawFn) -> tuple[PlanInput, PlanningPolicy]:
    weighted = ["P", *OTHERS] + ([CASH] if draw(st.integers(0, 3)) == 0 else [])
    span = {"P": (40, 100), "O1": (5, 40)}
    raw = {s: draw(st.integers(*span.get(s, (1, 100)))) for s in weighted}
    total = sum(raw.values())
    targets = {s: (D(r) / D(total)).quantize(D("0.000001")) for s, r in raw.items()}
    targets["P"] += D(1) - sum(targets.values())  # exactly 1 in all
    prices = {s: draw(st.decimals(D(1), D(500), places=2)) for s in (*POOL, *OTHERS)}
    increment = draw(increments)
    # Values near the targets times a random factor, the pool's spread over its members: O1
    # near its target (so over it once scaled), the pool often under its own, a large pool.
    factor = {"P": (0.6, 1.0), "O1": (0.85, 1.15)}
    value = {
        s: float(targets[s]) * 100_000 * draw(st.floats(*factor.get(s, (0.5, 1.5)))) for s in raw
    }
    spread = [draw(st.integers(0, 10)) for _ in POOL]
    spread[2] += 3  # A2 held, most of the pool often: at least one alternate stands in
    value |= {s: value["P"] * part / sum(spread) for s, part in zip(POOL, spread, strict=True)}
    holdings = {s: (D(v) / prices[s]).quantize(increment) for s, v in value.items() if s != CASH}
    holdings = {s: q for s, q in holdings.items() if q > 0}
    assume("A2" in holdings)
    withdrawal = draw(st.sampled_from([D(1_000), D(10_000), D(20_000), D(30_000)]))
    buffer = draw(st.sampled_from([D(0), D(500), D(2_000)]))
    # Most of the withdrawal already in cash: the targets are scaled by all of it, so each
    # standing alternate is over its own target by more than the little left to raise.
    short = draw(st.sampled_from([D(500), D(2_000), D(4_000), D(10_000)]))
    cash = max(D(0), withdrawal + buffer - short)
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
    policy = PlanningPolicy(
        default_band=draw(bands),
        band_overrides={s: draw(bands) for s in ("P", *OTHERS) if draw(st.booleans())},
        rebalance_to=draw(st.sampled_from(["target", "band_edge"])),
        cash_buffer=buffer,
        min_trade_notional=draw(st.sampled_from([D(0), D(1), D(100)])),
        buy_only=draw(st.integers(0, 4)) == 0,
        share_increment=increment,
    )
    inp = PlanInput(
        cash=cash,
        holdings=holdings,
        prices=prices,
        targets=stood.targets,
        stand_ins=stood.pairs,
        withdrawal=withdrawal,
    )
    return inp, policy


@settings(
    max_examples=scaled(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(cases())
def test_the_raise_never_sells_a_pool_at_or_below_its_target_for_another_holdings_excess(
    case: tuple[PlanInput, PlanningPolicy],
) -> None:
    inp, policy = case
    assume(inp.stand_ins)
    plan = plan_rebalance(inp, policy)
    rows = {r.symbol: r for r in plan.drift}
    nav = inp.cash + sum(q * inp.prices[s] for s, q in inp.holdings.items())
    pooled = [s for s in POOL if s in rows]
    pool_over = sum(rows[s].weight - rows[s].target for s in pooled) * nav
    raise_to = inp.withdrawal if policy.buy_only else policy.cash_buffer + inp.withdrawal
    need = raise_to - inp.cash
    # What rounding to whole increments and the minimum trade may add to one holding's sale.
    margin = max(need, policy.min_trade) + 2 * max(inp.prices.values()) * policy.share_increment
    able = [s for s in OTHERS if s in rows and (rows[s].weight - rows[s].target) * nav > margin]
    assume(need > 0 and pool_over <= 0 and able)
    # Without the rebalance every sell raises cash; with it, only the ones it alone asked for.
    rebalanced = any(n.startswith("out of band") for n in plan.notes)
    event(f"rebalanced: {rebalanced}")
    raised = {
        o.symbol
        for o in plan.orders
        if o.side is Side.SELL and (not rebalanced or o.reason.endswith("to raise cash"))
    }
    assert not raised & set(POOL), (
        raised,
        float(pool_over),
        able,
        [(o.symbol, o.side, o.qty, o.reason) for o in plan.orders],
    )
