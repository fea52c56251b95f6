"""Every input the planner refuses, and the message that names what is wrong."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

import pytest

from daemon.core.domain import CASH
from daemon.core.errors import DataError
from daemon.core.planner import Band, PlanInput, PlanningPolicy, plan_rebalance, validate_plan_input

D = Decimal
GOOD_INPUT = PlanInput(
    cash=D(1000),
    holdings=MappingProxyType({"VTI": D(10), "BND": D(5)}),
    prices=MappingProxyType({"VTI": D(100), "BND": D(80)}),
    targets=MappingProxyType({"VTI": D("0.6"), "BND": D("0.4")}),
)
GOOD_POLICY = PlanningPolicy(default_band=Band(absolute_pp=D(5)))


def with_input(**changes: object) -> PlanInput:
    return replace(GOOD_INPUT, **changes)  # type: ignore[arg-type]


def with_policy(**changes: object) -> PlanningPolicy:
    return replace(GOOD_POLICY, **changes)  # type: ignore[arg-type]


def test_good_input_passes() -> None:
    validate_plan_input(GOOD_INPUT, GOOD_POLICY)


@pytest.mark.parametrize(
    ("inp", "message"),
    [
        (with_input(prices={"VTI": D(0), "BND": D(80)}), "price of VTI is 0"),
        (with_input(prices={"VTI": D("NaN"), "BND": D(80)}), "price of VTI is NaN"),
        (with_input(prices={"VTI": D("sNaN"), "BND": D(80)}), "price of VTI is NaN"),
        (with_input(prices={"VTI": D("Infinity"), "BND": D(80)}), "price of VTI is infinite"),
        (with_input(prices={"VTI": D(-1), "BND": D(80)}), "price of VTI is negative (-1)"),
        (with_input(prices={"VTI": D(100)}), "price of BND is missing"),
        (
            with_input(targets={"VTI": D("0.6"), "BND": D("0.2"), "VXUS": D("0.2")}),
            "price of VXUS is missing",
        ),
        (with_input(prices={"VTI": 100.0, "BND": D(80)}), "price of VTI is not a Decimal (float)"),
        (with_input(prices={"VTI": D("1e-400"), "BND": D(80)}), "price of VTI is too small"),
        (with_input(holdings={"VTI": D(-3)}), "quantity of VTI is negative (-3)"),
        (with_input(holdings={"VTI": D("NaN")}), "quantity of VTI is NaN"),
        (with_input(holdings={"VTI": D("-Infinity")}), "quantity of VTI is infinite"),
        (with_input(holdings={"VTI": D("1e400")}), "quantity of VTI is too large"),
        (
            with_input(holdings={"VTI": D("1e200")}, prices={"VTI": D("1e200"), "BND": D(80)}),
            "quantity of VTI is too large (1E+200)",
        ),
        (
            with_input(holdings={"VTI": D("1e7")}, prices={"VTI": D("1e7"), "BND": D(80)}),
            "value of VTI is too large (quantity 1E+7 x price 1E+7)",
        ),
        (
            with_input(
                cash=D("9e12"), holdings={"VTI": D("1e5")}, prices={"VTI": D("1e8"), "BND": D(80)}
            ),
            "total value of the account is too large to plan with",
        ),
        # A target not held yet: its price was never turned into a value, so never checked.
        (
            with_input(
                targets={"VTI": D("0.3"), "BND": D("0.2"), "VXUS": D("0.5")},
                prices={"VTI": D(100), "BND": D(80), "VXUS": D("1e999")},
            ),
            "price of VXUS is too large (1E+999); a price must be from 0.000001 to",
        ),
        (
            with_input(prices={"VTI": D("1e13"), "BND": D("1e13") + D("0.01")}),
            "price of BND is too large",
        ),
        (with_input(prices={"VTI": D("0.0000009"), "BND": D(80)}), "price of VTI is too small"),
        (with_input(holdings={"VTI": D("1e14")}), "quantity of VTI is too large"),
        (with_input(cash=D("1e999")), "cash is too large (1E+999)"),
        (with_input(withdrawal=D("2e13")), "withdrawal is too large"),
        (with_input(sale_costs=D("1e300")), "sale_costs is too large"),
        (
            with_input(targets={"VTI": D("1e999"), "BND": D("0.4")}),
            "target weight of VTI is too large",
        ),
        (with_input(holdings={CASH: D(5)}), "holdings contain CASH"),
        (with_input(targets={"VTI": D("0.6"), "BND": D("0.3")}), "targets sum to 0.9, not 1"),
        (with_input(targets={}), "targets sum to 0, not 1"),
        (
            with_input(targets={"VTI": D("1.2"), "BND": D("-0.2")}),
            "target weight of BND is negative",
        ),
        (with_input(targets={"VTI": D("NaN"), "BND": D("0.4")}), "target weight of VTI is NaN"),
        (with_input(cash=D("NaN")), "cash is NaN"),
        (with_input(cash=D(-5)), "cash is negative (-5)"),
        (with_input(cash=D("Infinity")), "cash is infinite"),
        (with_input(withdrawal=D(-1)), "withdrawal is negative"),
        (with_input(withdrawal=D("NaN")), "withdrawal is NaN"),
    ],
)
def test_bad_input_is_a_data_error_naming_the_thing(inp: PlanInput, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        validate_plan_input(inp, GOOD_POLICY)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (with_policy(default_band=Band()), "the default band has neither absolute_pp nor relative"),
        (
            with_policy(band_overrides={"VTI": Band()}),
            "the band of VTI has neither absolute_pp nor relative",
        ),
        (
            with_policy(default_band=Band(absolute_pp=D(-1))),
            "absolute_pp of the default band is negative (-1)",
        ),
        (
            with_policy(band_overrides={"BND": Band(relative=D("-0.1"))}),
            "relative of the band of BND is negative (-0.1)",
        ),
        (
            with_policy(default_band=Band(relative=D("NaN"))),
            "relative of the default band is NaN",
        ),
        (with_policy(cash_buffer=D(-1)), "cash_buffer is negative (-1)"),
        (with_policy(min_trade_notional=D(-1)), "min_trade_notional is negative (-1)"),
        (with_policy(min_trade_notional=D("NaN")), "min_trade_notional is NaN"),
        (with_policy(share_increment=D(0)), "share_increment is 0; it must be greater than 0"),
        (
            with_policy(increment_overrides={"VTI": D("-0.01")}),
            "share increment of VTI is -0.01; it must be greater than 0",
        ),
        (
            with_policy(share_increment=D("1e-10")),
            "share_increment is 1E-10; it must be at least 0.000000001",
        ),
        (with_policy(share_increment=D("1e14")), "share_increment is too large"),
        (with_policy(cash_buffer=D("1e999")), "cash_buffer is too large (1E+999)"),
        (
            with_policy(default_band=Band(absolute_pp=D("1e300"))),
            "absolute_pp of the default band is too large",
        ),
        (with_policy(inner_band=D("1.5")), "inner_band is 1.5; it must be between 0 and 1"),
        (with_policy(inner_band=D(-1)), "inner_band is negative (-1)"),
        (with_policy(rebalance_to="halfway"), "rebalance_to is 'halfway'"),
        (with_policy(keep=frozenset({"VTI"})), "VTI is both in targets and in keep"),
    ],
)
def test_bad_policy_is_a_data_error_naming_the_thing(policy: PlanningPolicy, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        validate_plan_input(GOOD_INPUT, policy)


def test_plan_rebalance_validates_first() -> None:
    with pytest.raises(DataError, match="price of VTI is 0"):
        plan_rebalance(with_input(prices={"VTI": D(0), "BND": D(80)}), GOOD_POLICY)


def test_the_edges_of_the_range_pass() -> None:
    validate_plan_input(
        with_input(
            cash=D(0),
            holdings={"VTI": D(1)},
            prices={"VTI": D("1e13"), "BND": D("0.000001")},
        ),
        with_policy(share_increment=D("0.000000001")),
    )


def test_targets_within_a_millionth_of_one_pass() -> None:
    validate_plan_input(with_input(targets={"VTI": D("0.6000005"), "BND": D("0.4")}), GOOD_POLICY)


def test_keep_holdings_need_a_price_too() -> None:
    inp = with_input(holdings={"VTI": D(10), "OLD": D(1)})
    with pytest.raises(DataError, match="price of OLD is missing"):
        validate_plan_input(inp, with_policy(keep=frozenset({"OLD"})))
