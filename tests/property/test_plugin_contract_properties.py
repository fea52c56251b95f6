"""The plugin contracts as pure rules: a strategy's targets stay within its universe (and
`CASH`) with Decimal weights (`check_targets`); a broker's snapshot lists each symbol once,
with Decimal amounts and aware times (`check_snapshot`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.domain import CASH, AccountSnapshot, Position, Quote
from daemon.core.errors import DataError, StrategyError
from daemon.core.inputs import check_snapshot, check_targets
from strategies.base import ask_strategy
from tests.hypothesis_profiles import scaled

SETTINGS = settings(max_examples=scaled(200))
SYMBOLS = ["VTI", "BND", "VXUS", "TSLA", "GME", "SCHD"]
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)

universes = st.frozensets(st.sampled_from(SYMBOLS), max_size=len(SYMBOLS))
names = st.lists(st.sampled_from([*SYMBOLS, CASH]), min_size=1, max_size=5, unique=True)


def _weights(keys: list[str], parts: list[int]) -> dict[str, Decimal]:
    """Weights over `keys` summing to exactly 1 (the last takes the rounding)."""
    total = sum(parts)
    weights = {
        k: (Decimal(p) / total).quantize(Decimal("0.0001"))
        for k, p in zip(keys, parts, strict=True)
    }
    weights[keys[-1]] += Decimal(1) - sum(weights.values())
    return weights


@SETTINGS
@given(universe=universes, keys=names, data=st.data())
def test_targets_are_refused_exactly_when_they_leave_the_universe(
    universe: frozenset[str], keys: list[str], data: st.DataObject
) -> None:
    parts = data.draw(st.lists(st.integers(1, 100), min_size=len(keys), max_size=len(keys)))
    targets = _weights(keys, parts)
    outside = sorted(set(keys) - universe - {CASH})
    if outside:
        with pytest.raises(StrategyError) as raised:
            check_targets(targets, "plug", universe)
        message = str(raised.value)
        assert message.startswith("strategy plug gave a weight to ")
        assert all(symbol in message for symbol in outside)
        assert "fix the plugin" in message
    else:
        assert check_targets(targets, "plug", universe) == targets


@SETTINGS
@given(keys=names, data=st.data())
def test_a_weight_that_is_not_a_decimal_is_named_with_its_type(
    keys: list[str], data: st.DataObject
) -> None:
    targets: dict[str, Any] = dict(_weights(keys, [1] * len(keys)))
    wrong = data.draw(st.sampled_from(keys))
    value = data.draw(st.sampled_from([0.5, 1, True, "0.5"]))
    targets[wrong] = value
    with pytest.raises(StrategyError, match=f"weight of {wrong} must be a Decimal, got"):
        check_targets(targets, "plug", frozenset(SYMBOLS))
    with pytest.raises(StrategyError, match=type(value).__name__):
        check_targets(targets, "plug", frozenset(SYMBOLS))


def _snapshot(positions: list[Position]) -> AccountSnapshot:
    quotes = {s: Quote(s, Decimal(100), NOW, "test") for s in {p.symbol for p in positions}}
    return AccountSnapshot("acct", NOW, Decimal(1000), tuple(positions), quotes)


@SETTINGS
@given(symbols=st.lists(st.sampled_from(SYMBOLS), max_size=8))
def test_a_snapshot_is_refused_exactly_when_a_symbol_repeats(symbols: list[str]) -> None:
    snapshot = _snapshot([Position(s, Decimal(i + 1)) for i, s in enumerate(symbols)])
    repeated = sorted({s for s in symbols if symbols.count(s) > 1})
    if repeated:
        with pytest.raises(DataError) as raised:
            check_snapshot(snapshot, "mybroker")
        message = str(raised.value)
        assert message.startswith("broker plugin mybroker (account acct): ")
        for symbol in repeated:
            assert f"{symbol} is listed {symbols.count(symbol)} times" in message
        assert "fix the plugin" in message
    else:
        assert check_snapshot(snapshot, "mybroker") is snapshot


def test_ask_strategy_names_the_plugin_and_chains_the_cause_but_lets_trimtabs_own_pass() -> None:
    def broken() -> dict[str, Decimal]:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(StrategyError) as raised:
        ask_strategy("plug", broken)
    assert str(raised.value) == (
        "strategy plug raised ZeroDivisionError: division by zero; fix the plugin (or report "
        "it to its author)"
    )
    assert isinstance(raised.value.__cause__, ZeroDivisionError)

    def no_history() -> dict[str, Decimal]:
        raise DataError("no closes for VTI")

    with pytest.raises(DataError, match="no closes for VTI"):
        ask_strategy("plug", no_history)
