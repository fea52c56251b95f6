"""`trimtab backtest` refuses what it cannot backtest as a live cycle would run it, before
running, audited like every refusal (exit 2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daemon.cli import app
from tests.integration.test_backtest_cli import refusals
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


def _backtest(home: Path, *args: str) -> Result:
    argv = ["backtest", "-c", str(home / "trimtab.toml"), "--prices", str(home / "prices.csv")]
    result = CliRunner().invoke(app, [*argv, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("extra", [(), ("--vary", "bands.absolute_pp=3,5")])
def test_a_household_member_is_refused_naming_the_split(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """Live, the household split decides a member's targets; its own strategy is never used.
    A backtest on that strategy would show an account that never trades that way."""
    home = _home(tmp_path, HOUSEHOLD)
    result = _backtest(home, "-a", "main", "--json", *extra)
    assert result.exit_code == 2, result.output
    out = result.output.replace("\n", " ")
    assert "main is in the [household]: its targets come from the household split" in out
    (refused,) = refusals(home)
    assert "main is in the [household]" in refused["detail"]


def test_an_account_outside_the_household_is_backtested(tmp_path: Path) -> None:
    home = _home(tmp_path, HOUSEHOLD)
    assert _backtest(home, "-a", "solo", "--json").exit_code == 0
