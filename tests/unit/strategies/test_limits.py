"""The one way limits shape weights, and the Decimal weights summing to exactly 1."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from daemon.core.errors import DataError, StrategyError
from strategies.limits import apply_limits, current_weights, to_allocation
from strategies.params import PolicyLimits
from strategies.registry import load_strategy
from tests.fakes.price_history import context, history


def _limits(**kw: Any) -> PolicyLimits:
    return PolicyLimits.model_validate(kw)


def _apply(
    raw: dict[str, float], current: dict[str, float] | None = None, **kw: Any
) -> dict[str, float]:
    return apply_limits(raw, strategy="hrp", limits=_limits(**kw), current=current or {})


def test_without_limits_the_weights_pass_unchanged() -> None:
    assert _apply({"A": 0.5, "B": 0.3, "C": 0.2}) == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2})


def test_weight_above_max_weight_is_spread_over_the_rest_in_proportion() -> None:
    # A is cut to 0.5; its 0.1 goes to B and C as 3:1.
    got = _apply({"A": 0.6, "B": 0.3, "C": 0.1}, max_weight="0.5")
    assert got == pytest.approx({"A": 0.5, "B": 0.375, "C": 0.125})


def test_a_spread_that_overflows_another_cap_goes_on_to_the_rest() -> None:
    # A 0.7 -> 0.4; B would get 0.2 + 0.3 * 2/3 = 0.4; C 0.1 + 0.1 = 0.2: all within caps.
    got = _apply({"A": 0.7, "B": 0.2, "C": 0.1}, max_weight="0.4")
    assert got == pytest.approx({"A": 0.4, "B": 0.4, "C": 0.2})
    got = _apply({"A": 0.8, "B": 0.19, "C": 0.01}, max_weight="0.4")
    assert got == pytest.approx({"A": 0.4, "B": 0.4, "C": 0.2})


def test_zero_weights_share_equally_when_nothing_else_is_free() -> None:
    got = _apply({"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0}, max_weight="0.4")
    assert got == pytest.approx({"A": 0.4, "B": 0.2, "C": 0.2, "D": 0.2})


def test_min_holdings_caps_each_symbol_at_one_over_it() -> None:
    got = _apply({"A": 0.9, "B": 0.1, "C": 0.0}, min_holdings=3)
    assert got == pytest.approx({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})


def test_class_caps_scale_the_class_and_send_the_rest_elsewhere() -> None:
    got = _apply(
        {"VTI": 0.5, "VEA": 0.3, "BND": 0.2},
        asset_classes={"VTI": "equity", "VEA": "equity", "BND": "bonds"},
        class_caps={"equity": "0.6"},
    )
    assert got == pytest.approx({"VTI": 0.375, "VEA": 0.225, "BND": 0.4})


def test_cash_is_exempt_and_keeps_its_weight() -> None:
    got = _apply({"CASH": 0.5, "A": 0.4, "B": 0.1}, max_weight="0.3")
    assert got == pytest.approx({"CASH": 0.5, "A": 0.3, "B": 0.2})
    with pytest.raises(StrategyError, match=r"= 0.3 < 0.5 \(the part not in CASH\)"):
        _apply({"CASH": 0.5, "A": 0.5}, max_weight="0.3")


@pytest.mark.parametrize(
    ("raw", "kw", "message"),
    [
        (
            {"A": 0.5, "B": 0.5},
            {"max_weight": "0.3"},
            r"max_weight 0.3 × 2 symbols = 0.6 < 1, .* raise max_weight to at least 0.5000",
        ),
        ({"A": 0.5, "B": 0.5}, {"min_holdings": 3}, "min_holdings is 3 but only 2 symbols"),
        (
            {"A": 0.5, "B": 0.5},
            {"asset_classes": {"A": "x", "B": "x"}, "class_caps": {"x": "0.5"}},
            "class_caps {'x': Decimal\\('0.5'\\)} with max_weight 1 can hold only 0.5",
        ),
    ],
)
def test_infeasible_limits_name_the_limit_and_the_fix(
    raw: dict[str, float], kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(StrategyError, match=message):
        _apply(raw, **kw)


def test_a_class_cap_on_an_unknown_class_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="class_caps names 'bonds', which no symbol has"):
        _limits(asset_classes={"A": "equity"}, class_caps={"bonds": "0.5"})


def test_turnover_above_the_limit_moves_exactly_that_far_in_the_same_direction() -> None:
    current = {"A": 1.0}
    got = _apply({"B": 1.0}, current, max_turnover="0.25")
    assert got == pytest.approx({"A": 0.75, "B": 0.25})
    assert _apply({"A": 0.9, "B": 0.1}, current, max_turnover="0.25") == pytest.approx(
        {"A": 0.9, "B": 0.1}
    )


def test_current_weights_come_from_holdings_prices_and_cash() -> None:
    h = history(days=3)
    ctx = context(h, holdings={"A": Decimal(10)}, prices={"A": Decimal(50)}, cash=Decimal(500))
    assert current_weights(ctx) == {"A": 0.5, "CASH": 0.5}
    with pytest.raises(DataError, match="no price for held B"):
        current_weights(context(h, holdings={"B": Decimal(1)}))


def test_decimal_weights_sum_to_exactly_one_with_the_residue_on_the_largest() -> None:
    third = 1 / 3
    got = to_allocation({"C": third, "B": third, "A": third}, {}, strategy="x")
    assert sum(got.weights.values()) == 1
    # A tie for largest goes to the first by name.
    assert got.weights == {
        "A": Decimal("0.333333334"),
        "B": Decimal("0.333333333"),
        "C": Decimal("0.333333333"),
    }
    assert got.reasons["A"].startswith("x:")


@pytest.mark.parametrize("bad", [float("nan"), -0.1, float("inf")])
def test_unusable_weights_are_a_strategy_error(bad: float) -> None:
    with pytest.raises(StrategyError, match="strategy x gave A the weight"):
        to_allocation({"A": bad, "B": 1.0}, {}, strategy="x")


def _classed(raw: dict[str, float], **kw: Any) -> dict[str, float]:
    limits = _limits(asset_classes={"VTI": "equity", "VEA": "equity"}, **kw)
    return apply_limits(
        raw, strategy="x", limits=limits, current={}, universe=["VTI", "VEA", "BND"]
    )


@pytest.mark.parametrize("raw", [{"VTI": 0.25, "VEA": 0.75}, {"VTI": 0.5, "VEA": 0.5}])
def test_a_full_class_with_a_member_at_max_weight_leaves_the_rest_to_a_symbol_at_zero(
    raw: dict[str, float],
) -> None:
    # Refused before ("cannot hold the whole portfolio"): the cut kept going back to the class.
    got = _classed(raw, max_weight="0.35", class_caps={"equity": "0.7"})
    assert got == pytest.approx({"VTI": 0.35, "VEA": 0.35, "BND": 0.30})


def test_a_class_member_cut_to_max_weight_leaves_its_class_room_to_the_others() -> None:
    # Equity scaled to 0.7 would give VEA 0.63: it stops at 0.5, and VTI holds the class's
    # other 0.2 before anything leaves the class; BND, at zero, takes what is left.
    got = _classed({"VTI": 0.1, "VEA": 0.9}, max_weight="0.5", class_caps={"equity": "0.7"})
    assert got == pytest.approx({"VTI": 0.2, "VEA": 0.5, "BND": 0.3})


def test_symbols_at_zero_share_equally_within_their_class_cap() -> None:
    # VTI stops at 0.4; VEA and BND share the rest equally, VEA within equity's 0.75.
    got = _classed({"VTI": 1.0}, max_weight="0.4", class_caps={"equity": "0.75"})
    assert got == pytest.approx({"VTI": 0.4, "VEA": 0.3, "BND": 0.3})
    got = _classed({"VTI": 1.0}, max_weight="0.5", class_caps={"equity": "0.6"})
    assert got == pytest.approx({"VTI": 0.5, "VEA": 0.1, "BND": 0.4})


def test_the_residue_never_pushes_a_weight_at_its_cap_over_it() -> None:
    # 13 × 0.046153846 (0.6/13 rounded) + 0.4 = 0.999999998: the 2e-9 used to go to A, the
    # largest, at max_weight, making it 0.400000002.
    weights = {"A": 0.4} | {f"B{i:02d}": 0.6 / 13 for i in range(13)}
    limits = _limits(max_weight="0.4")
    got = to_allocation(weights, {}, strategy="x", limits=limits)
    assert sum(got.weights.values()) == 1
    assert got.weights["A"] == Decimal("0.4")
    assert got.weights["B00"] == Decimal("0.046153848")
    # A full class is a cap too: the residue goes outside it.
    classed = _limits(asset_classes={"A": "equity"}, class_caps={"equity": "0.4"})
    got = to_allocation(weights, {}, strategy="x", limits=classed)
    assert got.weights["A"] == Decimal("0.4")
    assert got.weights["B00"] == Decimal("0.046153848")


def test_inverse_vol_at_max_weight_stays_at_it_after_rounding() -> None:
    # The audit's case: 23 symbols at max_weight 0.06 gave S05 0.060000003 on HEAD.
    symbols = tuple(f"S{i:02d}" for i in range(23))
    plugin = load_strategy("inverse_vol")
    breached = []
    for seed in range(30):
        h = history(seed=seed, days=253, symbols=symbols)
        strategy = plugin.create(
            plugin.params_model.model_validate(
                {"universe": list(symbols), "lookback_days": 252, "max_weight": "0.06"}
            )
        )
        got = strategy.targets(context(h))
        assert sum(got.values()) == 1
        breached += [(seed, s, w) for s, w in got.items() if w > Decimal("0.06")]
    assert breached == []
