"""`trimtab plan` with a [household]: the household view first, then each account's plan."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app
from tests.fakes.cli import fresh_logging

REPO = Path(__file__).resolve().parents[2]
ROTH = """
[accounts.roth]
broker = "sim"
type = "roth_ira"
[accounts.roth.broker_settings]
starting_cash = "20000"
[accounts.roth.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = { VTI = "180", VXUS = "55", BND = "80" }
[accounts.roth.strategy_params]
targets = { VTI = "1" }
[accounts.roth.policy]
outside_hours = true
"""
HOUSEHOLD = """
[household]
targets = { VTI = "0.45", VXUS = "0.25", BND = "0.28", CASH = "0.02" }
asset_classes = { VTI = "us_equity", VXUS = "intl_equity", BND = "bonds" }
location = [
  { assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] },
  { assets = "us_equity", prefer = ["roth_ira", "taxable", "traditional_ira"] },
]
"""

__all__ = ["fresh_logging"]


def test_plan_shows_the_household_first_then_each_account(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    config.write_text(config.read_text() + ROTH + HOUSEHOLD)
    result = CliRunner().invoke(app, ["plan", "-c", str(config)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    household = out.index("household (3 accounts")
    assert household < out.index("split by account") < out.index("brokerage (brokerage:")
    assert out.index("brokerage (brokerage:") < out.index("ira (ira:") < out.index("roth (roth:")
    header = out[household : out.index("split by account")]
    for column in ("Target", "Band", "Split", "taxable", "traditional_ira", "roth_ira"):
        assert column in header
    # The IRA (40,000 of 160,000) holds the bonds (28%: 44,800) as far as it can; the rest
    # goes to the Roth, the next choice, and the note says why.
    split = out[out.index("split by account") : out.index("brokerage (brokerage:")]
    ira_line = next(line for line in split.splitlines() if line.strip().startswith("ira "))
    assert "BND 100.0%" in ira_line
    assert "BND in roth" in split


def test_an_offline_plan_of_a_household_account_is_refused_with_the_way_out(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    config.write_text(config.read_text() + ROTH + HOUSEHOLD)
    holdings = tmp_path / "holdings.json"
    holdings.write_text('{"cash": "1000", "positions": {}, "prices": {"VTI": "100"}}')
    result = CliRunner().invoke(
        app, ["plan", "-c", str(config), "--account", "roth", "--holdings", str(holdings)]
    )
    assert result.exit_code == 2, result.output
    assert "roth is in the [household]" in result.output
    assert "run `trimtab plan` without --holdings" in result.output


def test_plan_json_adds_the_household_beside_the_plan_keys(
    tmp_path: Path, fresh_logging: None
) -> None:
    import json
    from decimal import Decimal

    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    config.write_text(config.read_text() + ROTH + HOUSEHOLD)
    result = CliRunner().invoke(app, ["plan", "--json", "-c", str(config), "--account", "roth"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    # The one account's plan keeps its keys; the household is one more.
    assert {"orders", "drift", "nav", "cash_before", "refusals"} <= set(shown)
    household = shown["household"]
    assert {a["account"] for a in household["accounts"]} == {"brokerage", "ira", "roth"}
    for account in household["accounts"]:
        weights = [Decimal(w) for w in account["targets"].values()]
        assert abs(sum(weights, Decimal(0)) - 1) <= Decimal("0.00001"), account
    bonds = next(r for r in household["rows"] if r["symbol"] == "BND")
    assert bonds["target"] == "0.280000"
    assert Decimal(bonds["by_type"]["traditional_ira"]) > 0
    assert any(p["reason"] for p in household["placements"])
