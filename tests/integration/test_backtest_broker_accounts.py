"""`trimtab backtest` of an account on a real broker, as its owner runs it: a backtest never
reaches the broker, so it runs without the broker's keys (the service's secrets file may be
readable by the service only), `--vary` included."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.alpaca.costs import TRADE_COSTS as ALPACA
from daemon.cli import app
from tests.unit.backtest_helpers import random_walk, weekdays

CONFIG = """
mode = "dry-run"
state_dir = "state"
[accounts.main]
type = "traditional_ira"
broker = "alpaca"
broker_settings = { environment = "paper" }
strategy = "static"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.bands]
absolute_pp = 2
[accounts.main.policy]
fractional = true
min_trade_notional = 1
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in os.environ:
        if name.startswith("TRIMTAB_ACCOUNTS"):
            monkeypatch.delenv(name)
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    days = weekdays(date(2020, 1, 2), 60)
    walk = random_walk(4, ["VTI", "BND"], 60, volatility=0.03)
    lines = ["date,VTI,BND"] + [
        f"{d},{walk['VTI'][i]:.2f},{walk['BND'][i]:.2f}" for i, d in enumerate(days)
    ]
    (tmp_path / "prices.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("vary", [[], ["--vary", "bands.absolute_pp=2,5", "--jobs", "1"]])
def test_an_alpaca_account_is_backtested_without_its_keys(home: Path, vary: list[str]) -> None:
    argv = ["backtest", "-c", str(home / "trimtab.toml"), "-a", "main"]
    argv += ["--prices", str(home / "prices.csv"), "--json", *vary]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    runs = out if vary else [out]
    assert len(runs) == (2 if vary else 1)
    for run in runs:
        assert run["trades"], "day 0 buys the targets"
        # Alpaca charges no commission; its sales pay the SEC's and FINRA's fees, which its
        # plugin declares as bounds: each at most a cent above the declared rates.
        sales = [t for t in run["trades"] if t["side"] == "sell"]
        assert sales, "the walk should cross the bands"
        bound = sum(ALPACA.sale_fees(Decimal(t["qty"]), Decimal(t["price"])) for t in sales)
        assert Decimal(run["metrics"]["commissions"]) == bound > 0
