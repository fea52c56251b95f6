"""A strategy's weight on a `policy.keep` symbol (`check_kept_weights`, run by `decide`): a
kept holding is never traded, so a weight of 0 on it is dropped (as if the strategy had not
named it) and a weight above 0 is refused, naming the symbol, the strategy and the fix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.core.errors import StrategyError
from daemon.core.inputs import check_kept_weights

D = Decimal


def test_without_a_kept_symbol_among_the_targets_they_are_returned_as_given() -> None:
    targets = {"VTI": D("0.6"), "BND": D("0.4")}
    assert check_kept_weights(targets, "static", {"SCHD"}) == targets
    assert check_kept_weights(targets, "static", ()) == targets


def test_a_zero_weight_on_a_kept_symbol_is_dropped() -> None:
    targets = {"VTI": D("0.5"), "BND": D("0.4"), "CASH": D("0.1"), "SCHD": D(0)}
    kept = check_kept_weights(targets, "static", {"SCHD", "EMP"})
    assert kept == {"VTI": D("0.5"), "BND": D("0.4"), "CASH": D("0.1")}


def test_a_weight_above_zero_on_a_kept_symbol_is_refused_with_the_fix() -> None:
    targets = {"VTI": D("0.5"), "SCHD": D("0.3"), "EMP": D(0), "BND": D("0.2")}
    with pytest.raises(StrategyError) as caught:
        check_kept_weights(targets, "momentum", {"SCHD", "EMP"})
    message = str(caught.value)
    assert message.startswith("strategy momentum gave a weight to SCHD 0.3, which the account's")
    assert "policy.keep" in message
    assert "EMP" not in message  # its weight is 0: nothing to refuse
    assert "Fix: take SCHD off policy.keep" in message
    assert "out of the strategy's universe" in message
