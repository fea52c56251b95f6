"""A built-in strategy's turnover limit keeps part of a held symbol its universe() no longer
lists: the cycle goes ahead and only sells it (decide's check lets a held symbol outside the
universe through at no more than its current weight)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app
from tests.integration.test_history_cycle import MONDAY_NOON, Clock, closes, intents, prices_csv


def _config(path: Path, database_url: str, prices: Path, params: str) -> Path:
    path.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\nstate_dir = "{path.parent / "state"}"\n'
        '[accounts.good]\nbroker = "sim"\nstrategy = "momentum"\n'
        f"[accounts.good.strategy_params]\n{params}\nlookback_days = 20\n"
        '[accounts.good.broker_settings]\nstarting_cash = "10000"\n'
        f'[accounts.good.broker_settings.prices]\nsource = "csv"\npath = "{prices}"\n'
    )
    return path


def test_turnover_limited_move_out_of_a_dropped_symbol_sells_it_and_buys_none(
    tmp_path: Path, database_url: str
) -> None:
    prices = prices_csv(tmp_path / "prices.csv", closes())
    first = _config(tmp_path / "a.toml", database_url, prices, 'universe = ["VTI", "BND"]')
    app = open_app(first, clock=Clock(MONDAY_NOON))
    try:
        report = app.engine(fill_timeout=2).run_once("good")
        assert report.outcome == "succeeded", report.error
        bought = intents(app, "good")
    finally:
        app.close()
    assert ("buy", "VTI") in bought
    # The owner narrows the universe and limits turnover, to move out of VTI gradually.
    second = _config(
        tmp_path / "b.toml", database_url, prices, 'universe = ["BND"]\nmax_turnover = "0.25"'
    )
    app = open_app(second, clock=Clock(MONDAY_NOON.replace(hour=19)))
    try:
        report = app.engine(fill_timeout=2).run_once("good", slot="later")
        assert report.outcome == "succeeded", report.error
        later = intents(app, "good")
    finally:
        app.close()
    new = list(later)
    for intent in bought:
        new.remove(intent)
    assert ("sell", "VTI") in new
    assert ("buy", "VTI") not in new


def test_strategy_weights_with_holdings_shows_the_turnover_blend_of_a_dropped_symbol(
    tmp_path: Path,
) -> None:
    """`strategy weights --holdings` checks as a cycle does: a held symbol outside the
    universe may keep a weight (here the blend moving out of VTI); one not held may not."""
    prices = prices_csv(tmp_path / "prices.csv", closes())
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[accounts.good]\nstrategy = "momentum"\n'
        '[accounts.good.strategy_params]\nuniverse = ["BND"]\nmax_turnover = "0.25"\n'
        "lookback_days = 20\n"
    )
    holdings = tmp_path / "holdings.json"
    holdings.write_text(
        '{"cash": "100", "positions": [{"symbol": "VTI", "qty": "40", "price": "250"}], '
        '"prices": {"BND": "70"}}'
    )
    args = ["-c", str(config), "-a", "good", "--prices", str(prices), "--json"]
    result = CliRunner().invoke(app, ["strategy", "weights", *args, "--holdings", str(holdings)])
    assert result.exit_code == 0, result.output
    weights = json.loads(result.stdout)["weights"]
    # A quarter of the way out of it, not all at once (VTI was all of the account).
    assert Decimal("0.7") < Decimal(weights["VTI"]) < 1
    # Without the holdings the account holds no VTI: the blend gives it nothing to keep.
    result = CliRunner().invoke(app, ["strategy", "weights", *args])
    assert result.exit_code == 0, result.output
    assert "VTI" not in json.loads(result.stdout)["weights"]
