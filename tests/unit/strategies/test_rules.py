"""momentum, trend, income and composite against windows and answers computed by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from daemon.core.errors import DataError, StrategyError
from strategies.base import Allocation, Explains
from strategies.common import HistoryStrategy
from strategies.history import parse_prices_csv
from strategies.registry import load_strategy
from tests.fakes.price_history import context

# Over 4 days: A +10%, B +20%, C -5%, BIL +1% (the row before the window must be ignored).
MOMENTUM = """date,A,B,C,BIL
2024-01-01,1,1,1,1
2024-01-02,100,50,20,100
2024-01-03,101,55,19,100.2
2024-01-04,104,58,19.5,100.5
2024-01-05,108,59,19.2,100.8
2024-01-08,110,60,19,101
"""


def _allocate(
    name: str, csv: str, holdings: dict[str, str] | None = None, **params: Any
) -> Allocation:
    plugin = load_strategy(name)
    strategy = plugin.create(plugin.params_model.model_validate(params))
    held = {s: Decimal(q) for s, q in (holdings or {}).items()}
    ctx = context(parse_prices_csv(csv), holdings=held, prices=dict.fromkeys(held, Decimal(1)))
    assert isinstance(strategy, HistoryStrategy)
    return strategy.allocate(ctx)


def _momentum(holdings: dict[str, str] | None = None, **params: Any) -> Allocation:
    given = {"universe": ["A", "B", "C"], "lookback_days": 4, "benchmark": "BIL", **params}
    return _allocate("momentum", MOMENTUM, holdings, **given)


def test_momentum_holds_the_strongest_above_the_hurdle() -> None:
    got = _momentum()
    assert got.weights == {"B": 1}
    assert got.reasons["B"] == "momentum: 4-day return 20.0% > BIL 1.0% (rank 1 of 3)"
    assert _momentum(top_n=2).weights == {"A": Decimal("0.5"), "B": Decimal("0.5")}


def test_momentum_keeps_the_held_leader_unless_beaten_by_more_than_the_margin() -> None:
    assert _momentum({"A": "1"}, margin="0.05").weights == {"B": 1}  # B beats A by 10 points
    kept = _momentum({"A": "1"}, margin="0.15")
    assert kept.weights == {"A": 1}
    assert "kept: B (20.0%) does not beat it by more than the margin 15.0%" in kept.reasons["A"]


def test_momentum_goes_to_the_safe_asset_below_the_hurdle() -> None:
    csv = MOMENTUM.replace("100.8\n2024-01-08,110,60,19,101", "100.8\n2024-01-08,110,60,19,130")
    got = _momentum(safe_asset="AGG")
    assert got.weights == {"B": 1}
    got = _allocate(
        "momentum",
        csv,
        universe=["A", "B", "C"],
        lookback_days=4,
        benchmark="BIL",
        safe_asset="AGG",
    )
    assert got.weights == {"AGG": 1}
    assert got.reasons["AGG"] == "momentum: safe asset, as B 4-day return 20.0% ≤ BIL 30.0%"


def test_momentum_absolute_hysteresis_keeps_a_held_symbol_within_the_margin() -> None:
    # A alone: +10%, hurdle BIL: held A stays while 10% > hurdle - margin.
    csv = MOMENTUM.replace("2024-01-08,110,60,19,101", "2024-01-08,110,60,19,110.5")
    params: dict[str, Any] = {
        "universe": ["A"],
        "lookback_days": 4,
        "benchmark": "BIL",
        "margin": "0.02",
    }
    assert _allocate("momentum", csv, **params).weights == {"CASH": 1}  # 10% ≤ 10.5%
    assert _allocate("momentum", csv, {"A": "1"}, **params).weights == {"A": 1}  # > 8.5%


def test_momentum_hurdle_from_the_risk_free_rate() -> None:
    rate = Decimal("0.04")
    hurdle = (1 + float(rate)) ** (4 / 252) - 1
    got = _momentum(benchmark=None, risk_free_rate=str(rate))
    assert got.reasons["B"].endswith(f"> risk-free 4.0% a year {hurdle * 100:.1f}% (rank 1 of 3)")


def test_momentum_params_are_checked() -> None:
    model = load_strategy("momentum").params_model
    with pytest.raises(ValueError, match="top_n is 3 but the universe has 2"):
        model.model_validate({"universe": ["A", "B"], "top_n": 3})
    with pytest.raises(ValueError, match="safe_asset A is in the universe"):
        model.model_validate({"universe": ["A", "B"], "safe_asset": "A"})


# SMA over the last 4 closes: A (100,100,100,110) 102.5; B (..,90) 97.5; C (..,101) 100.25.
TREND = """date,A,B,C
2024-01-01,1,1,1
2024-01-02,100,100,100
2024-01-03,100,100,100
2024-01-04,100,100,100
2024-01-05,110,90,101
"""


def test_trend_holds_above_the_band_and_moves_below_it_to_the_safe_asset() -> None:
    params: dict[str, Any] = {"universe": ["A", "B", "C"], "lookback_days": 4, "safe_asset": "SHY"}
    got = _allocate("trend", TREND, **params)
    third = Decimal("0.333333333")
    # C sits inside the band and is not held: out. The residue goes to the largest (SHY).
    assert got.weights == {"A": third, "SHY": Decimal(1) - third}
    assert got.reasons["A"] == (
        "trend: close 110.00 is 7.3% from its 4-day average 102.50, above the band +2.0%"
    )
    held = _allocate("trend", TREND, {"C": "1"}, **params)
    assert held.weights == {"A": Decimal("0.333333334"), "C": third, "SHY": third}
    assert "inside the band ±2.0%, held: unchanged" in held.reasons["C"]


def test_trend_base_weights() -> None:
    got = _allocate(
        "trend",
        TREND,
        universe=["A", "B", "C"],
        lookback_days=4,
        band="0",
        weights={"A": "0.5", "B": "0.3", "C": "0.2"},
    )
    assert got.weights == {"A": Decimal("0.5"), "C": Decimal("0.2"), "CASH": Decimal("0.3")}


def test_trend_needs_lookback_days_of_closes() -> None:
    with pytest.raises(
        DataError, match="strategy trend: 5 days of price history up to 2024-01-05, needs 6"
    ):
        _allocate("trend", TREND, universe=["A"], lookback_days=6)


def _income(given: dict[str, str] | None = None, **params: Any) -> Allocation:
    plugin = load_strategy("income")
    strategy = plugin.create(
        plugin.params_model.model_validate({"universe": ["A", "B", "C"], **params})
    )
    known = given if given is not None else {"A": "0.01", "B": "0.03", "C": "0.05"}
    yields = {s: Decimal(y) for s, y in known.items()}
    assert isinstance(strategy, Explains)
    return strategy.allocate(context(parse_prices_csv(TREND), yields=yields))


def test_income_weights_by_yield_within_the_caps() -> None:
    assert _income().weights == {
        "A": Decimal("0.111111111"),
        "B": Decimal("0.333333333"),
        "C": Decimal("0.555555556"),
    }
    assert _income(max_weight="0.5").weights == {
        "A": Decimal("0.125"),
        "B": Decimal("0.375"),
        "C": Decimal("0.5"),
    }


def test_income_reaches_a_target_with_the_least_change_from_equal_weight() -> None:
    # From 1/3 each (3%), moving weight from A (1%) to C (5%) buys yield at the best rate:
    # 0.25 of it reaches 4%.
    got = _income(target_yield="0.04")
    assert got.weights == {
        "A": Decimal("0.083333333"),
        "B": Decimal("0.333333333"),
        "C": Decimal("0.583333334"),
    }
    assert "portfolio 4.0%" in got.reasons["C"]


def test_income_says_how_far_a_target_is_out_of_reach() -> None:
    with pytest.raises(
        StrategyError,
        match=r"target_yield 4.5% is out of reach: .* highest portfolio yield is 4.0%",
    ):
        _income(target_yield="0.045", max_weight="0.5")


def test_income_yields_come_from_the_context_then_the_params() -> None:
    got = _income({"A": "0.02"}, yields={"A": "0.5", "B": "0.02", "C": "0.04"})
    assert got.weights == {"A": Decimal("0.25"), "B": Decimal("0.25"), "C": Decimal("0.5")}
    with pytest.raises(DataError, match="no yield for B; give its trailing-12-month yield"):
        _income({"A": "0.02"})


def _composite(**params: Any) -> Allocation:
    sleeves = [
        {
            "name": "core",
            "weight": "0.7",
            "strategy": "static",
            "params": {"targets": {"A": "0.6", "B": "0.4"}},
        },
        {
            "name": "tilt",
            "weight": "0.3",
            "strategy": "momentum",
            "params": {"universe": ["A", "B", "C"], "lookback_days": 4, "benchmark": "BIL"},
        },
    ]
    plugin = load_strategy("composite")
    strategy = plugin.create(plugin.params_model.model_validate({"sleeves": sleeves, **params}))
    assert strategy.universe() == {"A", "B", "C"}
    assert isinstance(strategy, Explains)
    return strategy.allocate(context(parse_prices_csv(MOMENTUM)))


def test_composite_multiplies_the_sleeves_through() -> None:
    got = _composite()
    assert got.weights == {"A": Decimal("0.42"), "B": Decimal("0.58")}
    assert got.reasons["B"].startswith(
        "composite: core 70.0% × 40.0% (static: configured weight) + tilt 30.0% × 100.0% (momentum:"
    )
    capped = _composite(max_weight="0.5")
    assert capped.weights == {"A": Decimal("0.5"), "B": Decimal("0.5")}


def _sleeve(strategy: str = "static", weight: str = "1", **params: Any) -> dict[str, Any]:
    return {
        "name": "s",
        "weight": weight,
        "strategy": strategy,
        "params": params or {"targets": {"A": "1"}},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sleeves": [_sleeve(weight="0.5")]}, "sleeve weights sum to 0.5, not 1"),
        ({"sleeves": [_sleeve("nowhere")]}, "sleeve s: no plugin 'nowhere'"),
        ({"sleeves": [_sleeve(targets={"A": "2"})]}, r"sleeve s \(static\)"),
        (
            {"sleeves": [_sleeve("hrp", universe=["A", "B"], max_turnover="0.1")]},
            "max_turnover applies to the whole account",
        ),
    ],
)
def test_composite_params_are_checked_sleeve_by_sleeve(
    params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_strategy("composite").params_model.model_validate(params)


def test_composites_nest_to_a_limited_depth() -> None:
    params: dict[str, Any] = {"sleeves": [_sleeve()]}
    model = load_strategy("composite").params_model
    for _ in range(3):
        params = {"sleeves": [_sleeve("composite", **params)]}
    model.model_validate(params)  # four levels
    with pytest.raises(ValueError, match="composites nest 5 deep, more than 4"):
        model.model_validate({"sleeves": [_sleeve("composite", **params)]})


@pytest.mark.parametrize("spelling", ["strategies.composite:PLUGIN", "composite"])
def test_the_depth_limit_counts_a_composite_however_it_is_named(spelling: str) -> None:
    # Only sleeves spelled "composite" counted: six levels by module:attr passed.
    params: dict[str, Any] = {"sleeves": [_sleeve()]}
    model = load_strategy("composite").params_model
    for level in range(3):
        name = spelling if level % 2 else "strategies.composite:PLUGIN"
        params = {"sleeves": [_sleeve(name, **params)]}
    model.model_validate(params)  # four levels
    with pytest.raises(ValueError, match="composites nest 5 deep, more than 4"):
        model.model_validate({"sleeves": [_sleeve("strategies.composite:PLUGIN", **params)]})
