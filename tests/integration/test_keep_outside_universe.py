"""A `policy.keep` holding outside the strategy's universe, with a `max_turnover` limit: the
strategy's context leaves kept holdings out, as the planner leaves them out of the value it
manages, so the turnover blend gives the kept symbol no weight and its other weights are
fractions of the managed value (before, the blend gave the kept symbol its weight of the
whole account and every cycle failed with "EMP ... (the account holds 0)")."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app
from tests.integration.test_history_cycle import closes, prices_csv


def _files(tmp_path: Path) -> tuple[Path, Path]:
    prices = prices_csv(tmp_path / "prices.csv", closes())
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[accounts.good]\nstrategy = "momentum"\n'
        f'history_file = "{prices}"\n'
        '[accounts.good.strategy_params]\nuniverse = ["BND"]\nmax_turnover = "0.25"\n'
        "lookback_days = 20\n"
        '[accounts.good.policy]\nkeep = ["EMP"]\n'
    )
    holdings = tmp_path / "holdings.json"
    holdings.write_text(
        '{"cash": "100", "positions": [{"symbol": "VTI", "qty": "40", "price": "250"}, '
        '{"symbol": "EMP", "qty": "10", "price": "100"}], "prices": {"BND": "70"}}'
    )
    return config, holdings


def test_plan_with_a_kept_holding_outside_the_universe_and_a_turnover_limit(
    tmp_path: Path,
) -> None:
    config, holdings = _files(tmp_path)
    args = ["plan", "-c", str(config), "-a", "good", "--holdings", str(holdings), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    text = json.dumps(plan)
    # EMP is neither bought nor sold; VTI is sold toward the blend, measured without EMP.
    orders = [(o["side"].lower(), o["symbol"]) for o in plan.get("orders", [])]
    assert ("sell", "VTI") in orders
    assert all(symbol != "EMP" for _, symbol in orders)
    assert "the account holds 0" not in text


def test_strategy_weights_leave_the_kept_holding_out(tmp_path: Path) -> None:
    config, holdings = _files(tmp_path)
    args = ["strategy", "weights", "-c", str(config), "-a", "good", "--json"]
    result = CliRunner().invoke(app, [*args, "--holdings", str(holdings)])
    assert result.exit_code == 0, result.output
    weights = json.loads(result.stdout)["weights"]
    assert "EMP" not in weights
    assert Decimal(str(weights["VTI"])) > Decimal("0.7")  # the blend moving out of VTI
    # The same weights as for the account without EMP: what the planner manages.
    without = tmp_path / "without.json"
    without.write_text(
        '{"cash": "100", "positions": [{"symbol": "VTI", "qty": "40", "price": "250"}], '
        '"prices": {"BND": "70"}}'
    )
    again = CliRunner().invoke(app, [*args, "--holdings", str(without)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["weights"] == weights
