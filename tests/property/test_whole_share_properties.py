"""Over random accounts holding fractions: a symbol the broker takes in whole shares only (left
out of the snapshot's `fractionable`) is never planned in a fraction, a sale of the whole
holding included, and the plan's cash is what its orders add up to."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.config.policy import planning_policy
from daemon.config.settings import AccountSettings
from daemon.core.domain import CASH, Side
from daemon.core.planner import PlanInput, plan_rebalance
from tests.hypothesis_profiles import scaled

D = Decimal
SYMBOLS = ("BND", "ITOT", "VTI", "VXUS")
SETTINGS = settings(max_examples=scaled(200), deadline=None)


@st.composite
def accounts(draw: st.DrawFn) -> tuple[AccountSettings, PlanInput, frozenset[str] | None]:
    raw = draw(st.lists(st.integers(0, 10), min_size=4, max_size=4).filter(any))
    targets = {s: D(w) / sum(raw) for s, w in zip(SYMBOLS, raw, strict=True) if w}
    last = max(targets)
    targets = {s: w.quantize(D("0.0001")) for s, w in targets.items()}
    targets[last] += 1 - sum(targets.values(), D(0))
    held = {
        s: D(draw(st.integers(0, 4000))) / 4 for s in SYMBOLS if draw(st.booleans())
    }  # quarters: a dividend reinvestment, a split
    prices = {s: D(draw(st.integers(100, 50_000))) / 100 for s in SYMBOLS}
    policy = {
        "fractional": draw(st.booleans()),
        "fractional_symbols": sorted(draw(st.sets(st.sampled_from(SYMBOLS), max_size=2))),
        "min_trade_notional": str(draw(st.sampled_from([0, 1, 50]))),
        "rebalance_to": draw(st.sampled_from(["target", "band_edge"])),
        "cash_buffer": str(draw(st.sampled_from([0, 500]))),
    }
    account = AccountSettings.model_validate({"policy": policy})
    fractionable = draw(st.one_of(st.none(), st.sets(st.sampled_from(SYMBOLS)).map(frozenset)))
    inp = PlanInput(
        cash=D(draw(st.integers(0, 100_000))),
        holdings=held,
        prices=prices,
        targets=targets,
        withdrawal=D(draw(st.sampled_from([0, 1_000, 50_000]))),
    )
    return account, inp, fractionable


def whole(qty: Decimal) -> bool:
    return qty == qty.to_integral_value()


@SETTINGS
@given(accounts())
@example(  # the audit's case: 10.5 BND, target 0, Alpaca takes BND in whole shares only
    (
        AccountSettings.model_validate({"policy": {"min_trade_notional": "0"}}),
        PlanInput(
            cash=D(10_000),
            holdings={"BND": D("10.5")},
            prices={"BND": D("72.50"), "VTI": D(250)},
            targets={"VTI": D(1)},
        ),
        frozenset({"VTI"}),
    )
)
def test_whole_share_symbols_are_planned_in_whole_shares(
    case: tuple[AccountSettings, PlanInput, frozenset[str] | None],
) -> None:
    account, inp, fractionable = case
    symbols = (inp.holdings.keys() | inp.targets.keys()) - {CASH}
    policy = planning_policy(account, fractionable=fractionable, symbols=symbols)
    plan = plan_rebalance(inp, policy)
    cash = inp.cash
    for order in plan.orders:
        if fractionable is not None and order.symbol not in fractionable:
            assert whole(order.qty), order
        if order.side is Side.SELL:
            assert order.qty <= inp.holdings[order.symbol], order
            cash += order.qty * order.price
        else:
            cash -= order.qty * order.price
    assert plan.cash_after == cash
    for row in plan.drift:
        if row.symbol == CASH or not row.managed:
            continue
        # A holding with target 0 keeps less than one whole share, and only where the
        # broker takes whole shares only (or no order was placed at all).
        sold = any(o.symbol == row.symbol and o.side is Side.SELL for o in plan.orders)
        if row.target == 0 and sold:
            left = row.qty_after
            assert left < 1
            if left > 0:
                assert fractionable is not None
                assert row.symbol not in fractionable
                assert "sh left" in row.note
