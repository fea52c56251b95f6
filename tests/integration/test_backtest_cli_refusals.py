"""`trimtab backtest` refuses what it cannot backtest as a live cycle would run it, before
running, audited like every refusal (exit 2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.integration.test_backtest_cli import backtest, refusals
from tests.unit.backtest_helpers import random_walk, weekdays

DAYS = 30
HOUSEHOLD = """
mode = "dry-run"
state_dir = "state"
[household]
accounts = ["main", "ira"]
targets = { VTI = "0.5", BND = "0.5" }
[accounts.main]
type = "taxable"
[accounts.main.strategy_params]
targets = { VTI = "0.2", BND = "0.8" }
[accounts.ira]
type = "traditional_ira"
[accounts.ira.strategy_params]
targets = { VTI = "0.2", BND = "0.8" }
[accounts.solo]
type = "traditional_ira"
[accounts.solo.strategy_params]
targets = { VTI = "0.2", BND = "0.8" }
"""


def _home(tmp_path: Path, config: str) -> Path:
    (tmp_path / "trimtab.toml").write_text(config)
    days = weekdays(date(2020, 1, 2), DAYS)
    walk = random_walk(4, ["VTI", "BND"], DAYS, volatility=0.03)
    lines = ["date,VTI,BND"] + [
        f"{d},{walk['VTI'][i]:.2f},{walk['BND'][i]:.2f}" for i, d in enumerate(days)
    ]
    (tmp_path / "prices.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("extra", [(), ("--vary", "bands.absolute_pp=3,5")])
def test_a_household_member_is_refused_naming_the_split(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """Live, the household split decides a member's targets; its own strategy is never used.
    A backtest on that strategy would show an account that never trades that way."""
    home = _home(tmp_path, HOUSEHOLD)
    result = backtest(home, "-a", "main", "--json", *extra)
    assert result.exit_code == 2, result.output
    out = result.output.replace("\n", " ")
    assert "main is in the [household]: its targets come from the household split" in out
    (refused,) = refusals(home)
    assert "main is in the [household]" in refused["detail"]


def test_an_account_outside_the_household_is_backtested(tmp_path: Path) -> None:
    home = _home(tmp_path, HOUSEHOLD)
    assert backtest(home, "-a", "solo", "--json").exit_code == 0


DUST_SALE = """
mode = "dry-run"
state_dir = "state"
[risk]
max_move_since_close = "0.5"
[accounts.main]
type = "taxable"
[accounts.main.strategy_params]
targets = { A = "0.3334", B = "0.3333", C = "0.3333" }
[accounts.main.bands]
absolute_pp = 3
[accounts.main.policy]
fractional = true
fractional_increment = "0.001"
min_trade_notional = 0
cash_buffer = 100
[accounts.main.broker_settings]
commission_per_order = 1
"""


def test_a_sale_whose_commission_is_more_than_it_brings_is_not_refused_input(
    tmp_path: Path,
) -> None:
    """The plan sells 0.005 A for $0.57 with a $1 commission: the sim fills it, and so does
    the backtest, to the end (before: exit 2, filed as refused input)."""
    (tmp_path / "trimtab.toml").write_text(DUST_SALE)
    (tmp_path / "prices.csv").write_text(
        "date,A,B,C\n2021-01-04,100,100,100\n2021-01-05,114.99,100,130\n2021-01-06,114.99,100,130\n"
    )
    result = backtest(tmp_path, "--cash", "30000", "--json")
    assert result.exit_code == 0, result.output
    assert refusals(tmp_path) == []


HARVEST = """
mode = "dry-run"
state_dir = "state"
[accounts.main]
type = "taxable"
[accounts.main.strategy_params]
targets = {{ VTI = "0.5", BND = "0.5" }}
[accounts.main.tax]
alternates = {{ VTI = "ITOT", BND = ["AGG", "SCHZ"] }}
[accounts.main.tax.harvest]
enabled = {harvest}
[accounts.main.tax.wash_sale]
buys = "{buys}"
"""


@pytest.mark.parametrize(
    ("harvest", "buys", "extra"),
    [
        ("true", "block", ()),
        ("false", "redirect", ()),
        ("false", "block", ("--vary", "tax.harvest.enabled=false,true")),
    ],
)
def test_alternates_without_a_column_are_refused_where_the_tax_step_needs_them(
    tmp_path: Path, harvest: str, buys: str, extra: tuple[str, ...]
) -> None:
    """Harvesting and redirected buys trade the alternates: without their closes the tax step
    leaves them out, so harvesting would silently do nothing and a comparison of it on and
    off would show two equal runs. The refusal names the missing columns and the fixes."""
    home = _home(tmp_path, HARVEST.format(harvest=harvest, buys=buys))
    result = backtest(home, "-a", "main", "--json", *extra)
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "prices.csv has no column for AGG, ITOT, SCHZ" in out
    assert "trimtab prices export" in out
    (refused,) = refusals(home)
    assert "no column for AGG, ITOT, SCHZ" in refused["detail"]


def test_alternates_without_a_column_are_no_matter_where_no_rule_trades_them(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path, HARVEST.format(harvest="false", buys="block"))
    assert backtest(home, "-a", "main", "--json").exit_code == 0
