"""A held symbol outside the strategy's universe (a dropped holding a turnover limit moves
out of gradually, a household member's pinned holding) is let through `decide` at no more
than its current weight, and the plan then never buys it; given more, or not held, it is
refused (`check_targets`, `check_held_weights`)."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from daemon.core.decide import DecisionInput, decide
from daemon.core.domain import CASH, Side
from daemon.core.errors import StrategyError
from daemon.core.inputs import HELD_WEIGHT_TOLERANCE, check_held_weights
from daemon.core.planner import Band, PlanInput, PlanningPolicy
from daemon.core.risk import RiskConfig
from tests.hypothesis_profiles import scaled
from tests.property.test_decide_properties import given_input

D = Decimal
UNIVERSE = ("VTI", "BND", "VXUS")
OUTSIDE = ("OLD", "ITOT")
SETTINGS = settings(max_examples=scaled(150), deadline=None)
NINE = D("0.000000001")
ZERO = D(0)


@dataclasses.dataclass(frozen=True)
class Case:
    given: DecisionInput
    current: dict[str, Decimal]
    """Each outside symbol's current weight, exactly."""


def _case(
    *,
    cash: Decimal,
    reserved: Decimal,
    held: dict[str, Decimal],
    prices: dict[str, Decimal],
    shares: dict[str, Decimal],
    inside: list[int],
    policy: PlanningPolicy,
    withdrawal: Decimal = ZERO,
    over: str | None = None,
) -> Case:
    """An account holding `held`, its strategy giving each outside symbol `shares[s]` of its
    current weight (rounded to 9 places, as the built-in strategies give weights), `over`
    0.01 more (or half the rest, if less), and the rest to the universe and CASH in the
    proportions `inside`."""
    value = cash + reserved + sum((q * prices[s] for s, q in held.items()), D(0))
    current = {s: held[s] * prices[s] / value for s in OUTSIDE if s in held}
    targets = {s: (current[s] * shares[s]).quantize(NINE) for s in current}
    if over is not None:
        targets[over] += min(D("0.01"), (1 - sum(targets.values(), D(0))) / 2)
    targets = {s: w for s, w in targets.items() if w > 0}
    rest = 1 - sum(targets.values(), D(0))
    names = [*UNIVERSE, CASH]
    parts = {s: p for s, p in zip(names, inside, strict=True) if p}
    for s in list(parts)[:-1]:
        targets[s] = (rest * parts[s] / sum(parts.values())).quantize(NINE, ROUND_FLOOR)
    last = list(parts)[-1]
    targets[last] = targets.get(last, D(0)) + 1 - sum(targets.values(), D(0))
    base = given_input(
        cash=cash,
        held=held,
        prices=prices,
        targets=targets,
        limits=RiskConfig(max_order_pct_nav=D(1), max_turnover_per_cycle=D(10)),
    )
    snapshot = dataclasses.replace(base.snapshot, reserved_cash=reserved)
    given_ = dataclasses.replace(
        base,
        universe=frozenset(UNIVERSE),
        snapshot=snapshot,
        planning=policy,
        withdrawal=withdrawal,
    )
    return Case(given_, current)


@st.composite
def policies(draw: st.DrawFn) -> PlanningPolicy:
    band = draw(
        st.sampled_from(
            [Band(absolute_pp=D(5)), Band(absolute_pp=D("0.5")), Band(relative=D("0.25"))]
        )
    )
    return PlanningPolicy(
        default_band=band,
        rebalance_to=draw(st.sampled_from(["target", "band_edge"])),
        inner_band=draw(st.sampled_from([D(0), D("0.5")])),
        cash_buffer=D(draw(st.sampled_from([0, 50, 500]))),
        min_trade_notional=D(draw(st.sampled_from([0, 1, 25]))),
        buy_only=draw(st.booleans()),
        share_increment=draw(st.sampled_from([D(1), NINE, D("0.001")])),
    )


@st.composite
def cases(draw: st.DrawFn, *, over: bool = False) -> Case:
    held = {s: D(draw(st.integers(0, 400))) for s in (*UNIVERSE, *OUTSIDE)}
    for s in OUTSIDE:
        held[s] += D(draw(st.sampled_from([0, 1, 7]))) / 1000  # a fraction held besides
    held = {s: q for s, q in held.items() if q}
    held.setdefault(draw(st.sampled_from(OUTSIDE)), D(3))
    prices = {s: D(draw(st.integers(50, 90_000))) / 100 for s in (*UNIVERSE, *OUTSIDE)}
    # A share of the current weight: 0 (sell it all), a turnover blend, all of it (pinned).
    share = st.sampled_from([D(0), D("0.25"), D("0.75"), D("0.999"), D(1)])
    shares = {s: draw(share) for s in OUTSIDE}
    cash = D(draw(st.integers(0, 50_000)))
    more = draw(st.sampled_from([s for s in OUTSIDE if s in held])) if over else None
    case = _case(
        cash=cash,
        reserved=D(draw(st.sampled_from([0, 0, 100, 5_000]))),
        held=held,
        prices=prices,
        shares=shares,
        inside=draw(st.lists(st.integers(0, 10), min_size=4, max_size=4).filter(any)),
        policy=draw(policies()),
        withdrawal=D(draw(st.sampled_from([0, 0, 300]))),
        over=more,
    )
    if more is not None:  # more than the tolerance over (an account all in it has no room)
        assume(case.given.targets[more] - case.current[more] > 2 * HELD_WEIGHT_TOLERANCE)
    return case


def _buys(case: Case) -> list[str]:
    decision = decide(case.given)
    return [o.symbol for o in decision.plan.orders if o.side is Side.BUY and o.symbol in OUTSIDE]


@SETTINGS
@given(cases())
@example(  # a pinned holding with reserved cash and much cash to spend, fractional shares
    _case(
        cash=D(40_000),
        reserved=D(5_000),
        held={"OLD": D("3.007"), "VTI": D(10)},
        prices={"VTI": D(250), "BND": D(70), "VXUS": D(60), "OLD": D("123.45"), "ITOT": D(1)},
        shares={"OLD": D(1), "ITOT": D(1)},
        inside=[1, 1, 1, 0],
        policy=PlanningPolicy(default_band=Band(relative=D("0.25")), share_increment=NINE),
    )
)
def test_a_held_symbol_outside_the_universe_at_most_at_its_weight_is_never_bought(
    case: Case,
) -> None:
    decision = decide(case.given)
    bought = [o for o in decision.plan.orders if o.side is Side.BUY and o.symbol in OUTSIDE]
    assert bought == []
    for symbol, weight in decision.targets.items():
        if symbol in OUTSIDE:
            assert weight <= case.current[symbol]


@SETTINGS
@given(cases(over=True))
def test_more_than_the_current_weight_is_refused_naming_the_strategy(case: Case) -> None:
    with pytest.raises(StrategyError) as raised:
        decide(case.given)
    message = str(raised.value)
    assert message.startswith("strategy static gave a weight to ")
    assert "outside its universe (BND, VTI, VXUS)" in message
    assert "more than the account holds" in message


@SETTINGS
@given(
    value=st.integers(1, 10**9).map(D),
    rest=st.integers(0, 10**9).map(D),
    delta=st.integers(-(10**4), 10**4).map(lambda n: D(n) * D("0.00000001")),
)
def test_a_weight_is_let_through_exactly_up_to_the_current_weight_and_the_tolerance(
    value: Decimal, rest: Decimal, delta: Decimal
) -> None:
    """The pure rule: refused above the current weight by more than the tolerance; let
    through otherwise, and lowered to at most the current weight (the excess to CASH)."""
    current = value / (value + rest)
    weight = min(max(current + delta, D(0)), D(1))
    checked = PlanInput(
        cash=rest,
        holdings={"OLD": D(1)},
        prices={"OLD": value},
        targets={"OLD": weight, CASH: 1 - weight},
    )
    if weight - current > HELD_WEIGHT_TOLERANCE:
        with pytest.raises(StrategyError, match="OLD"):
            check_held_weights(checked, "plug", {"VTI"})
        return
    out = check_held_weights(checked, "plug", {"VTI"})
    assert out.targets["OLD"] <= current
    assert out.targets["OLD"] == min(weight, out.targets["OLD"])
    assert abs(sum(out.targets.values(), D(0)) - 1) <= D("1e-20")


def test_a_symbol_outside_the_universe_the_account_does_not_hold_is_refused() -> None:
    checked = PlanInput(
        cash=D(1000),
        holdings={"VTI": D(1)},
        prices={"VTI": D(100), "TSLA": D(300)},
        targets={"TSLA": D(0), "VTI": D(1)},
    )
    with pytest.raises(StrategyError, match="TSLA 0"):
        check_held_weights(checked, "plug", {"VTI"})


def test_a_kept_holding_has_no_weight_to_keep() -> None:
    """`keep` holdings are outside the managed value the weights are of."""
    checked = PlanInput(
        cash=D(1000),
        holdings={"OLD": D(10)},
        prices={"OLD": D(100)},
        targets={"OLD": D("0.1"), CASH: D("0.9")},
    )
    with pytest.raises(StrategyError, match="OLD"):
        check_held_weights(checked, "plug", {"VTI"}, keep={"OLD"})
    assert check_held_weights(checked, "plug", {"VTI"}).targets["OLD"] == D("0.1")
