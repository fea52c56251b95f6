"""A holding with a target of 0 whose sale is held back never makes the account trade daily.

The strategy dropped DDD, and its sale waits: a wash-sale guard defers it, a short-term
gains budget of 0 cuts it to nothing, or `max_order_notional` refuses it. On any day of the
wait, at any prices: DDD is neither sold nor bought; when AAA, BBB and CCC are inside their
bands (against their targets of the value without DDD), nothing trades; and a plan filled
at its prices leaves nothing for a second plan at those prices to trade. Before, DDD held at
a target of 0 was out of band every day, and every day rebalanced the account.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D  # noqa: N817

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.held_back_sale_case import (
    FIRST,
    KINDS,
    TARGETS,
    WASH_OVER,
    HeldBackSaleAccount,
)
from tests.hypothesis_profiles import scaled

HALF = D("0.05")
"""The band's half-width for every target here: 5 points (25% of 30% or 40% is wider)."""
MARGIN = D("1e-6")
"""How far inside its band each weight is asked to be: clear of the planner's float noise."""


def _in_band(account: HeldBackSaleAccount, prices: dict[str, D]) -> bool:
    """Say whether AAA, BBB and CCC are in band, as weights of the value without DDD."""
    values = {s: q * prices[s] for s, q in account.held.items() if s != "DDD"}
    nav = account.cash + sum(values.values(), D(0))
    return all(abs(values[s] / nav - w) <= HALF - MARGIN for s, w in TARGETS.items())


@settings(max_examples=scaled(60))
@given(
    kind=st.sampled_from(KINDS),
    days=st.integers(0, (WASH_OVER - FIRST).days - 1),
    aaa=st.decimals(D(80), D(130), places=2),
    bbb=st.decimals(D(80), D(120), places=2),
    ccc=st.decimals(D(80), D(120), places=2),
    rebalance_to=st.sampled_from(["target", "band_edge"]),
)
@example(kind="wash", days=0, aaa=D(100), bbb=D(100), ccc=D("100.80"), rebalance_to="target")
@example(kind="refused", days=3, aaa=D(125), bbb=D(85), ccc=D(85), rebalance_to="band_edge")
@example(  # nightly: the cap refused AAA's sale and BBB's buy too; CCC's sale went ahead
    kind="refused", days=0, aaa=D("92.56"), bbb=D("80.00"), ccc=D("92.59"), rebalance_to="target"
)
def test_a_held_back_sale_waits_and_a_filled_plan_is_not_traded_again(
    kind: str, days: int, aaa: D, bbb: D, ccc: D, rebalance_to: str
) -> None:
    today = FIRST + timedelta(days=days)
    # DDD at $100: a loss on the wash case's lots, a short-term gain on the others'.
    prices = {"AAA": aaa, "BBB": bbb, "CCC": ccc, "DDD": D(100)}
    account = HeldBackSaleAccount(kind)
    first = account.decide(today, prices, rebalance_to)
    assert "DDD" not in {o.symbol for o in first.plan.orders}
    assert "DDD" not in first.plan_input.targets
    if _in_band(account, prices):
        assert first.approved == (), [(o.symbol, o.side, o.qty) for o in first.approved]
    account.fill(today, first)
    if any(not d.allowed and d.symbol != "DDD" for d in first.review.decisions):
        # The cap that refuses DDD's sale refused another order too (prices far from $100
        # make a trade over it): what that left undone is the next plan's to do, DDD or not.
        assert kind == "refused"
        return
    again = account.decide(today, prices, rebalance_to)
    assert again.approved == (), [(o.symbol, o.side, o.qty) for o in again.approved]
    assert "DDD" not in {o.symbol for o in again.plan.orders}
