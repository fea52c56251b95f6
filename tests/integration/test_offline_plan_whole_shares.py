"""`trimtab plan --holdings` plans whole shares where the live plan does (invariant 6): the
sim's `fractional = false` is declared offline (`DeclaresFractionable`), so a policy that
allows fractions is planned in whole shares, as the sim's snapshot makes the live cycle do.

Before, the offline plan bought 76.876 BND where `trimtab plan` against the sim bought 75."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app as cli

D = Decimal
NOW = datetime(2025, 3, 4, 21, 5, tzinfo=UTC)  # 16:05 in New York, after the close
CONFIG = """
mode = "paper"
database_url = "sqlite:///{state}/trimtab.db"
state_dir = "{state}"
[accounts.main]
broker = "sim"
type = "traditional_ira"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.broker_settings]
starting_cash = "10000"
fractional = {sim_fractional}
[accounts.main.broker_settings.prices]
source = "csv"
path = "{prices}"
[accounts.main.policy]
fractional = true
fractional_increment = "0.001"
min_trade_notional = "1"
outside_hours = true
"""


def _orders(plan: dict[str, object]) -> list[tuple[str, str, Decimal]]:
    orders = plan["orders"]
    assert isinstance(orders, list)
    return sorted((o["symbol"], o["side"], D(o["qty"])) for o in orders)


@pytest.mark.parametrize("sim_fractional", ["false", "true"])
def test_the_offline_plan_is_the_live_plan_of_the_sim(tmp_path: Path, sim_fractional: str) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("date,VTI,BND\n2025-03-03,249.00,72.60\n2025-03-04,250.00,72.50\n")
    config = tmp_path / "trimtab.toml"
    config.write_text(
        CONFIG.format(state=tmp_path / "state", prices=prices, sim_fractional=sim_fractional)
    )
    holdings = tmp_path / "holdings.json"
    holdings.write_text(json.dumps({"cash": "10000", "prices": {"VTI": "250", "BND": "72.50"}}))

    app = open_app(config, clock=lambda: NOW)
    try:
        report = app.engine().plan("main")
        assert report.outcome == "planned", report.error
        assert report.plan is not None
        live = sorted((o.symbol, o.side.value, o.qty) for o in report.plan.orders)
    finally:
        app.close()

    result = CliRunner().invoke(
        cli, ["plan", "-c", str(config), "-a", "main", "--holdings", str(holdings), "--json"]
    )
    assert result.exit_code == 0, result.output
    offline = _orders(json.loads(result.stdout))
    assert offline == live
    whole = all(qty == qty.to_integral_value() for _, _, qty in offline)
    assert whole is (sim_fractional == "false"), offline
