"""`trimtab check` asks the broker about the tax alternates too, against the fake Alpaca: an
alternate the broker does not know, or takes in whole shares only under a fractional policy,
is a failing row naming `tax.alternates` or the policy to fix.

Before 2026-12-07 only the strategy's universe was checked: ITOT, VTI's alternate, passed
unchecked although Alpaca takes it in whole shares only, and the buy the tax step redirected
to it was refused every cycle of the wash-sale window."""

from __future__ import annotations

import pytest

from tests.fakes.alpaca_server.client import household
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)
from tests.integration import test_check_alpaca
from tests.integration.test_check_alpaca import CheckFn

check = test_check_alpaca.check  # the fixture: `trimtab check --json` against the fake

pytestmark = pytest.mark.usefixtures("fresh_logging")

ALTERNATES = '[accounts.main.tax]\nalternates = { VTI = "ITOT", BND = "AGG" }'


def test_an_alternate_the_broker_takes_whole_under_a_fractional_policy_fails(
    check: CheckFn,
) -> None:
    state = household()
    state.assets["BND"].fractionable = True
    state.add_asset("ITOT", "61.29", fractionable=False)
    state.add_asset("AGG", "98.10")
    result = check(state, policy=f"fractional = true\n{ALTERNATES}")
    assert result.code == 1
    assert set(result.failing()) == {"symbol ITOT"}
    assert "whole shares only" in result.rows["symbol ITOT"]["detail"]
    assert "fractional" in result.rows["symbol ITOT"]["fix"]
    assert result.rows["symbol AGG"]["status"] == "ok"
    assert "fractionable" in result.rows["symbol AGG"]["detail"]


def test_an_alternate_the_broker_does_not_know_names_tax_alternates(check: CheckFn) -> None:
    state = household()
    state.add_asset("ITOT", "61.29")
    result = check(state, policy=ALTERNATES)
    assert result.code == 1
    assert set(result.failing()) == {"symbol AGG"}
    assert "does not know AGG" in result.rows["symbol AGG"]["detail"]
    assert "accounts.main.tax.alternates" in result.rows["symbol AGG"]["fix"]
    assert result.rows["symbol ITOT"]["status"] == "ok"
