"""The caps of `strategies.limits.apply_limits` on any raw weights and any limits.

Limits that can hold the portfolio (checked here by hand, as the docs state it: each symbol at
most `min(max_weight, 1/min_holdings)`, each capped class at most its cap, so the room is
`cap × unclassed symbols + Σ min(class cap, cap × its symbols)`) always give weights within
every cap that sum to 1; limits that cannot are the `StrategyError` that names them. And the
weights follow the documented rule: the symbols below every cap keep the strategy's
proportions, and a symbol it left at zero gets weight only when all the others are at a cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import CASH
from daemon.core.errors import StrategyError
from strategies.limits import apply_limits
from strategies.params import PolicyLimits
from tests.hypothesis_profiles import scaled

_TIGHT = 1e-12
_TINY = 1e-15
"""A raw weight below this counts as zero (`strategies.limits`)."""


@dataclass(frozen=True)
class Case:
    raw: dict[str, float]
    universe: tuple[str, ...]
    limits: PolicyLimits


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 8))
    universe = tuple(f"S{i}" for i in range(n))
    weights = draw(
        st.lists(st.one_of(st.just(0.0), st.floats(0, 1)), min_size=n, max_size=n).filter(
            lambda ws: sum(ws) > 1e-6
        )
    )
    raw = {s: w for s, w in zip(universe, weights, strict=True) if w > 0 or draw(st.booleans())}
    total = sum(raw.values())
    cash = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))
    raw = {s: w / total * (1 - cash) for s, w in raw.items()}
    if cash:
        raw[CASH] = cash
    classes = {
        s: c
        for s in universe
        if (c := draw(st.sampled_from(["equity", "bonds", "gold", ""]))) != ""
    }
    caps = {
        c: Decimal(draw(st.integers(1, 100))) / 100
        for c in sorted(set(classes.values()))
        if draw(st.booleans())
    }
    limits = PolicyLimits(
        max_weight=Decimal(draw(st.integers(1, 100))) / 100,
        min_holdings=draw(st.integers(1, n + 1)),
        asset_classes=classes,
        class_caps=caps,
    )
    return Case(raw, universe, limits)


def _room(case: Case) -> float:
    limits = case.limits
    cap = min(float(limits.max_weight), 1 / limits.min_holdings)
    capped = {s for s in case.universe if limits.asset_classes.get(s) in limits.class_caps}
    room = cap * (len(case.universe) - len(capped))
    for name, class_cap in limits.class_caps.items():
        members = sum(1 for s in case.universe if limits.asset_classes.get(s) == name)
        room += min(float(class_cap), cap * members)
    return room if limits.min_holdings <= len(case.universe) else -1.0


def _apply(case: Case) -> dict[str, float] | str:
    """Return the limited weights, or the refusal's message."""
    try:
        return apply_limits(
            case.raw, strategy="x", limits=case.limits, current={}, universe=case.universe
        )
    except StrategyError as exc:
        return str(exc)


def _vti_vea_bnd(raw: dict[str, float]) -> Case:
    return Case(
        raw,
        ("BND", "VEA", "VTI"),
        PolicyLimits(
            max_weight=Decimal("0.35"),
            asset_classes={"VTI": "equity", "VEA": "equity"},
            class_caps={"equity": Decimal("0.7")},
        ),
    )


def _seven(raw: dict[str, float]) -> Case:
    symbols = tuple(f"S{i}" for i in range(7))
    return Case(
        raw,
        symbols,
        PolicyLimits(max_weight=Decimal("0.15"), asset_classes=dict.fromkeys(symbols, "equity")),
    )


@settings(max_examples=scaled(300))
@given(cases())
# The audit's case: equity split unevenly over its cap, BND at zero (refused before).
@example(_vti_vea_bnd({"VTI": 0.25, "VEA": 0.75}))
@example(_vti_vea_bnd({"VTI": 0.5, "VEA": 0.5}))
# Found by hypothesis: weights far below a nanometre of the portfolio (overflowed a scale).
@example(_seven({"S5": 1.0, "S6": 2.225073858507e-311}))
@example(_seven({"S5": 1.0, "S6": 1.9940929144684199e-174}))
def test_limits_that_can_hold_the_portfolio_always_do_within_every_cap(case: Case) -> None:
    budget = 1 - case.raw.get(CASH, 0.0)
    room = _room(case)
    got = _apply(case)
    if isinstance(got, str):
        assert room < budget + 1e-9, f"feasible limits refused: {got}"
        assert re.search("min_holdings is|can hold only|symbols cannot hold the portfolio", got)
        return
    assert room >= budget - 1e-9
    limits = case.limits
    cap = min(float(limits.max_weight), 1 / limits.min_holdings)
    assert abs(sum(got.values()) - 1) < 1e-9
    assert got.get(CASH, 0.0) == case.raw.get(CASH, 0.0)
    assert set(got) - {CASH} <= set(case.universe)
    for symbol, w in got.items():
        assert w >= 0
        if symbol != CASH:
            assert w <= cap + _TIGHT, (symbol, w, cap)
    for name, class_cap in limits.class_caps.items():
        held = sum(w for s, w in got.items() if limits.asset_classes.get(s) == name)
        assert held <= float(class_cap) + _TIGHT, (name, held, class_cap)


@settings(max_examples=scaled(300))
@given(cases())
@example(_vti_vea_bnd({"VTI": 0.25, "VEA": 0.75}))
# Found by hypothesis before the fix: a weight cut from S5 went to the symbols at zero.
@example(_seven({"S4": 1.0, "S5": 1.4256661022301472e-130, "S6": 1.9940929144684199e-174}))
@example(_seven({"S5": 1.0, "S6": 1.9940929144684199e-174}))
def test_symbols_below_every_cap_keep_the_strategys_proportions(case: Case) -> None:
    got = _apply(case)
    if isinstance(got, str):
        return
    limits = case.limits
    cap = min(float(limits.max_weight), 1 / limits.min_holdings)
    full = {
        name
        for name, class_cap in limits.class_caps.items()
        if sum(w for s, w in got.items() if limits.asset_classes.get(s) == name)
        >= float(class_cap) - 1e-9
    }

    def free(symbol: str) -> bool:
        return got.get(symbol, 0.0) < cap - 1e-9 and limits.asset_classes.get(symbol) not in full

    chosen = [s for s in case.universe if case.raw.get(s, 0.0) >= _TINY]
    ratios = [got.get(s, 0.0) / case.raw[s] for s in chosen if free(s)]
    if ratios:
        # One factor for all of them; and none of the weight cut went to a symbol at zero.
        assert max(ratios) - min(ratios) <= 1e-9 * max(ratios)
        assert all(got.get(s, 0.0) == 0 for s in case.universe if case.raw.get(s, 0.0) < _TINY)
    # Symbols the strategy left at zero share equally what they get, as far as the caps allow.
    zeros = [got.get(s, 0.0) for s in case.universe if case.raw.get(s, 0.0) < _TINY and free(s)]
    if zeros:
        assert max(zeros) - min(zeros) <= 1e-9
