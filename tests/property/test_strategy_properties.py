"""Invariants of every library strategy on generated markets: weights non-negative and summing
to exactly 1, the policy limits respected, the turnover limit respected, and no look-ahead
(whatever follows a day in the history never changes that day's weights)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from daemon.core.domain import CASH
from daemon.core.errors import StrategyError
from strategies.base import Allocation, Explains
from strategies.history import CloseHistory
from strategies.limits import apply_limits
from strategies.params import PolicyLimits
from strategies.registry import load_strategy
from tests.fakes.price_history import context, history
from tests.hypothesis_profiles import scaled

HISTORY_STRATEGIES = (
    "inverse_vol",
    "risk_parity",
    "min_variance",
    "max_sharpe",
    "hrp",
    "momentum",
    "trend",
)


@dataclass(frozen=True)
class Case:
    name: str
    symbols: tuple[str, ...]
    params: dict[str, Any]
    seed: int
    days: int


@st.composite
def cases(draw: st.DrawFn, limits: bool = True) -> Case:
    name = draw(st.sampled_from(HISTORY_STRATEGIES))
    n = draw(st.integers(2, 7))
    symbols = tuple(f"S{i}" for i in range(n))
    lookback = draw(st.integers(20, 60))
    params: dict[str, Any] = {"universe": list(symbols), "lookback_days": lookback}
    if name in {"risk_parity", "min_variance", "max_sharpe", "inverse_vol", "hrp"}:
        params["covariance"] = draw(st.sampled_from(["sample", "ledoit_wolf"]))
    if name == "hrp":
        params["linkage"] = draw(st.sampled_from(["single", "complete", "average", "ward"]))
    if name == "momentum":
        params["top_n"] = draw(st.integers(1, n))
        params["margin"] = str(draw(st.sampled_from(["0", "0.01", "0.05"])))
    if name == "trend":
        params["band"] = str(draw(st.sampled_from(["0", "0.02", "0.1"])))
    if limits:
        # Feasible by construction: at least 1/n per symbol.
        cap = draw(st.integers(int(np.ceil(100 / n)), 100))
        params["max_weight"] = str(Decimal(cap) / 100)
        params["min_holdings"] = draw(st.integers(1, n))
        if n >= 4 and draw(st.booleans()):
            params["asset_classes"] = {
                s: ("equity" if i % 2 else "bonds") for i, s in enumerate(symbols)
            }
            params["class_caps"] = {"equity": "0.6"}
    return Case(
        name, symbols, params, draw(st.integers(0, 10_000)), lookback + 1 + draw(st.integers(0, 30))
    )


def _allocate(case: Case, hist: CloseHistory, **ctx: Any) -> Allocation | None:
    plugin = load_strategy(case.name)
    strategy = plugin.create(plugin.params_model.model_validate(case.params))
    assert isinstance(strategy, Explains)
    try:
        return strategy.allocate(context(hist, **ctx))
    except StrategyError as exc:
        # Legitimate refusals on random data: say so, and skip the example.
        text = str(exc)
        assert (
            "beats the risk-free rate" in text
            # The feasibility checks' own refusals only: the capping never refuses limits
            # they passed ("cannot hold the whole portfolio" would be that bug).
            or "the symbols cannot hold the portfolio" in text
            or "can hold only" in text
        ), text
        return None


@settings(max_examples=scaled(60))
@given(cases())
def test_weights_are_non_negative_sum_to_one_and_respect_the_limits(case: Case) -> None:
    hist = history(seed=case.seed, days=case.days, symbols=case.symbols)
    got = _allocate(case, hist)
    assume(got is not None)
    assert got is not None
    assert sum(got.weights.values()) == 1
    assert all(w > 0 for w in got.weights.values())
    assert set(got.reasons) == set(got.weights)
    cap = min(Decimal(case.params["max_weight"]), Decimal(1) / case.params["min_holdings"])
    slack = Decimal("0.000000002")  # nine-place rounding plus the residue
    for symbol, w in got.weights.items():
        if symbol != CASH:
            assert w <= cap + slack, (symbol, w, cap)
    if "class_caps" in case.params:
        equity = sum(
            (
                w
                for s, w in got.weights.items()
                if s in case.params["asset_classes"] and case.params["asset_classes"][s] == "equity"
            ),
            Decimal(0),
        )
        assert equity <= Decimal("0.6") + 10 * slack


@settings(max_examples=scaled(40))
@given(cases(limits=False), st.integers(1, 40), st.integers(0, 10_000))
def test_no_look_ahead_future_rows_never_change_a_past_day(
    case: Case, extra: int, noise: int
) -> None:
    past = history(seed=case.seed, days=case.days, symbols=case.symbols)
    rng = np.random.default_rng(noise)
    future = past.closes[-1] * np.cumprod(
        1 + rng.normal(0, 0.05, (extra, len(case.symbols))), axis=0
    )
    later = CloseHistory(
        past.days + history(days=case.days + extra).days[case.days :],
        past.symbols,
        np.vstack([past.closes, future]),
    )
    day = past.days[-1]
    before = _allocate(case, past, day=day)
    after = _allocate(case, later, day=day)
    assert (before is None) == (after is None)
    if before is not None and after is not None:
        assert before.weights == after.weights
        assert before.reasons == after.reasons


@settings(max_examples=scaled(60))
@given(
    st.lists(st.floats(0, 1), min_size=2, max_size=8),
    st.lists(st.floats(0, 1), min_size=2, max_size=8),
    st.integers(0, 100),
)
def test_turnover_never_exceeds_the_limit(raw: list[float], held: list[float], limit: int) -> None:
    assume(sum(raw) > 1e-6 and sum(held) > 1e-6)
    target = {f"S{i}": w / sum(raw) for i, w in enumerate(raw)}
    current = {f"S{i}": w / sum(held) for i, w in enumerate(held)}
    max_turnover = Decimal(limit) / 100
    got = apply_limits(
        target, strategy="x", limits=PolicyLimits(max_turnover=max_turnover), current=current
    )
    keys = set(got) | set(current)
    turnover = sum(abs(got.get(k, 0.0) - current.get(k, 0.0)) for k in keys) / 2
    assert turnover <= float(max_turnover) + 1e-9
    assert abs(sum(got.values()) - 1) < 1e-9
    assert all(w >= 0 for w in got.values())


@settings(max_examples=scaled(60))
@given(
    st.lists(st.integers(0, 800), min_size=2, max_size=7),
    st.integers(0, 100),
    st.booleans(),
    st.integers(0, 600),
)
def test_income_weights_sum_to_one_within_the_caps(
    basis_points: list[int], cap_pct: int, targeted: bool, target_bp: int
) -> None:
    symbols = [f"S{i}" for i in range(len(basis_points))]
    yields = {s: Decimal(bp) / 10_000 for s, bp in zip(symbols, basis_points, strict=True)}
    eligible = [s for s in symbols if yields[s] > 0]
    assume(eligible)
    cap = max(Decimal(cap_pct) / 100, Decimal(1) / len(eligible) + Decimal("0.01"))
    params: dict[str, Any] = {"universe": symbols, "max_weight": str(min(cap, Decimal(1)))}
    if targeted:
        params["target_yield"] = str(Decimal(target_bp) / 10_000)
    plugin = load_strategy("income")
    strategy = plugin.create(plugin.params_model.model_validate(params))
    assert isinstance(strategy, Explains)
    try:
        got = strategy.allocate(context(history(days=3), yields=yields))
    except StrategyError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:  # only an unreachable target may be refused
        assert targeted, refusal
        assert "is out of reach" in refusal
        return
    assert sum(got.weights.values()) == 1
    assert all(w > 0 and yields[s] > 0 for s, w in got.weights.items())
    assert max(got.weights.values()) <= min(cap, Decimal(1)) + Decimal("0.000000002")
    if targeted:
        portfolio = sum(w * yields[s] for s, w in got.weights.items())
        assert portfolio >= Decimal(target_bp) / 10_000 - Decimal("0.00000001")
