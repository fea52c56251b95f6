"""A held holding with a target of 0 that no order can sell changes nothing of the plan.

Dust (a sale of it under the minimum trade, or a fraction of a share of a symbol the broker
takes in whole shares only) is left unsold, out of the managed value: added to any account,
the plan orders, triggers and values exactly what it did without it, and says why it is left.
Counted in the managed value at a target of 0 it was out of band on every plan, and every
cycle rebalanced the account around it (tests/unit/test_planner_unsold_dust.py).
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_FLOOR, Decimal

from hypothesis import given
from hypothesis import strategies as st

from daemon.core.planner import out_of_band_at, plan_rebalance
from tests.property.test_planner_properties import SETTINGS, Case, cases, filled

D = Decimal
DUST = "ZZZ"  # the cases' symbols are S00 to S29


@st.composite
def with_dust(draw: st.DrawFn) -> tuple[Case, Case]:
    """Return a case and the same case holding dust in one more symbol."""
    case = draw(cases())
    policy, inp = case.policy, case.inp
    price = draw(st.decimals(min_value=D("0.5"), max_value=D(5000), places=2))
    in_targets = draw(st.booleans())  # at a weight of 0, or not named at all
    whole_only = draw(st.booleans())
    qty = D(0)
    if not whole_only:
        # A sale of all of it, in steps of 0.0001 sh, under the minimum trade.
        share = draw(st.integers(min_value=1, max_value=99))
        worth = policy.min_trade * share / 100
        qty = (worth / price).quantize(D("0.0001"), rounding=ROUND_FLOOR)
        whole_only = qty <= 0
    if whole_only:
        qty = D(draw(st.integers(min_value=1, max_value=9999))) / 10_000
        policy = dataclasses.replace(
            policy,
            whole_shares_only=policy.whole_shares_only | {DUST},
            increment_overrides={**policy.increment_overrides, DUST: D(1)},
        )
    else:
        policy = dataclasses.replace(
            policy, increment_overrides={**policy.increment_overrides, DUST: D("0.0001")}
        )
    dusty = dataclasses.replace(
        inp,
        holdings={**inp.holdings, DUST: qty},
        prices={**inp.prices, DUST: price},
        targets={**inp.targets, DUST: D(0)} if in_targets else inp.targets,
    )
    return dataclasses.replace(case, policy=policy), Case(dusty, policy)


@SETTINGS
@given(with_dust())
def test_dust_changes_no_order_and_no_band(pair: tuple[Case, Case]) -> None:
    clean, dusty = pair
    plan = plan_rebalance(clean.inp, clean.policy)
    with_it = plan_rebalance(dusty.inp, dusty.policy)
    assert with_it.orders == plan.orders
    assert (with_it.nav, with_it.cash_after, with_it.triggered) == (
        plan.nav,
        plan.cash_after,
        plan.triggered,
    )
    assert [r for r in with_it.drift if r.symbol != DUST] == list(plan.drift)
    row = next(r for r in with_it.drift if r.symbol == DUST)
    assert not row.managed
    assert not row.out_of_band
    assert row.qty_after == row.qty
    assert row.note
    assert [n for n in with_it.notes if not n.startswith(f"{DUST}: ")] == list(plan.notes)
    assert any(n.startswith(f"{DUST}: ") and "left unsold" in n for n in with_it.notes)
    # The report's and the alert's re-test of the plan's rows leaves it out, as the planner.
    weights = {r.symbol: float(r.weight) for r in with_it.drift}
    assert DUST not in out_of_band_at(with_it.drift, weights)
    again = plan_rebalance(filled(dusty, with_it), dusty.policy)
    assert again.orders == (), [o.reason for o in again.orders]
