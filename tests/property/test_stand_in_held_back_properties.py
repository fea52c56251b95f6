"""An alternate whose sale the tax step holds back never makes the account trade every day.

After BBB's loss window, BBX (its alternate, `return_to_primary`) is to be sold for BBB, but a
purchase of BBX inside the window makes that sale a wash sale the policy defers. On any day
of the deferral, at any prices: BBX is neither sold nor bought; when the pair (against BBB's
target and band) and every other holding are inside their bands, nothing trades; and a plan
filled at its prices leaves nothing for a second plan at those prices to trade. Before, BBX
held at a target of 0 was out of band every day, and every day rebalanced the account.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D  # noqa: N817

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.tax.plan_types import TaxAction
from tests.hypothesis_profiles import scaled
from tests.stand_in_held_back_case import REDIRECTED, TARGETS, WINDOW_OVER, HeldBackAccount

DEFERRED_UNTIL = REDIRECTED + timedelta(days=31)
"""The first day BBX can be sold: 30 days after its purchase inside BBB's window."""
HALF = D("0.05")
"""The band's half-width for every target here: 5 points (25% of 30% or 40% is wider)."""
MARGIN = D("1e-6")
"""How far inside its band each weight is asked to be: clear of the planner's float noise."""


def _in_band(account: HeldBackAccount, prices: dict[str, D]) -> bool:
    """Say whether AAA, CCC and the pair BBB with BBX (against BBB's target) are in band."""
    values = {s: q * prices[s] for s, q in account.held.items()}
    nav = account.cash + sum(values.values(), D(0))
    groups = (
        (("AAA",), TARGETS["AAA"]),
        (("BBB", "BBX"), TARGETS["BBB"]),
        (("CCC",), TARGETS["CCC"]),
    )
    return all(
        abs(sum((values.get(s, D(0)) for s in group), D(0)) / nav - target) <= HALF - MARGIN
        for group, target in groups
    )


@settings(max_examples=scaled(60))
@given(
    days=st.integers(0, (DEFERRED_UNTIL - WINDOW_OVER).days - 1),
    aaa=st.decimals(D(90), D(130), places=2),
    ccc=st.decimals(D(80), D(120), places=2),
    bbx=st.decimals(D(38), D("46.90"), places=2),
    rebalance_to=st.sampled_from(["target", "band_edge"]),
)
@example(days=0, aaa=D(108), ccc=D(100), bbx=D("46.5"), rebalance_to="target")
@example(days=3, aaa=D(125), ccc=D(85), bbx=D(40), rebalance_to="band_edge")
def test_a_held_back_alternate_waits_and_a_filled_plan_is_not_traded_again(
    days: int, aaa: D, ccc: D, bbx: D, rebalance_to: str
) -> None:
    today = WINDOW_OVER + timedelta(days=days)
    prices = {"AAA": aaa, "BBB": D(95), "BBX": bbx, "CCC": ccc}
    account = HeldBackAccount(wash=True, budget=False)
    first = account.decide(today, prices, rebalance_to)
    assert any(d.symbol == "BBX" and d.action is TaxAction.DEFERRED for d in first.taxed.decisions)
    assert first.plan_input.stand_ins == {"BBX": "BBB"}
    assert "BBX" not in {o.symbol for o in first.approved}
    if _in_band(account, prices):
        assert first.approved == (), [(o.symbol, o.side, o.qty) for o in first.approved]
    account.fill(today, first)
    again = account.decide(today, prices, rebalance_to)
    assert again.approved == (), [(o.symbol, o.side, o.qty) for o in again.approved]
    assert again.plan_input.stand_ins == {"BBX": "BBB"}
