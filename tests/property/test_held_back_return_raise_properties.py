"""A returning alternate whose sale the gains budget holds back, on a day cash is raised.

BBX (BBB's alternate, `return_to_primary`) is held at a short-term gain after BBB's window
closed, and the year's short-term budget of 0 cuts its return sale to nothing but the shares
that raise cash, which the tax step sells all the same. At any prices and withdrawal: BBX
stands in still; each held-back decision is recorded once; and the plan filled at its prices,
the withdrawal paid out, the next plan (no withdrawal) at those prices undoes none of its
trades. Before, the sale made in part let the account rebalance and buy BBB beside BBX, and
the next plan, the pair over its band, sold that BBB again. (The next plan may trade on in
the same direction: with `band_edge`, a holding brought to its band's edge against targets
scaled down for the withdrawal's cash is inside it no longer once the cash is paid out.)
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal as D  # noqa: N817

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import Side
from tests.hypothesis_profiles import scaled
from tests.stand_in_held_back_case import WINDOW_OVER, HeldBackAccount


@settings(max_examples=scaled(40))
@given(
    days=st.integers(0, 30),
    aaa=st.decimals(D(60), D(130), places=2),
    ccc=st.decimals(D(80), D(120), places=2),
    bbx=st.decimals(D("47.50"), D(58), places=2),
    withdrawal=st.sampled_from([D(0), D(500), D(5000)]),
    rebalance_to=st.sampled_from(["target", "band_edge"]),
)
@example(days=0, aaa=D(65), ccc=D(100), bbx=D(52), withdrawal=D(500), rebalance_to="target")
def test_a_return_held_back_by_the_budget_waits_through_a_withdrawal(
    days: int, aaa: D, ccc: D, bbx: D, withdrawal: D, rebalance_to: str
) -> None:
    today = WINDOW_OVER + timedelta(days=days)
    prices = {"AAA": aaa, "BBB": D(95), "BBX": bbx, "CCC": ccc}
    account = HeldBackAccount(wash=False, budget=True)
    first = account.decide(today, prices, rebalance_to, withdrawal)
    assert first.plan_input.stand_ins == {"BBX": "BBB"}
    keys = Counter((d.symbol, d.action, d.reason) for d in first.taxed.decisions)
    assert [k for k, n in keys.items() if n > 1] == []
    account.fill(today, first)
    account.cash -= withdrawal
    assert account.cash >= 0
    again = account.decide(today, prices, rebalance_to)
    undone = {(o.symbol, o.side) for o in first.approved} & {
        (o.symbol, Side.BUY if o.side is Side.SELL else Side.SELL) for o in again.approved
    }
    assert undone == set(), [(o.symbol, o.side, o.qty) for o in again.approved]
