"""`trimtab backtest --vary` says, per run, how many orders were refused or skipped: a run
whose every order a pre-trade check refused is not shown as a quiet strategy at 0%."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.integration.test_backtest_cli import CONFIG, backtest
from tests.unit.backtest_helpers import random_walk, weekdays

LIMIT = "[risk]\nmax_order_notional = 350000\n"
VARY = 'strategy_params.targets={VTI="0.34",BND="0.33",SPY="0.33"},{VTI="0.6",BND="0.4"}'
DAYS = 60


def _home(tmp_path: Path) -> Path:
    (tmp_path / "trimtab.toml").write_text(CONFIG + LIMIT)
    days = weekdays(date(2020, 1, 2), DAYS)
    walk = random_walk(4, ["VTI", "BND", "SPY"], DAYS, volatility=0.03)
    lines = ["date,VTI,BND,SPY"] + [
        f"{d},{walk['VTI'][i]:.2f},{walk['BND'][i]:.2f},{walk['SPY'][i]:.2f}"
        for i, d in enumerate(days)
    ]
    (tmp_path / "prices.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_the_comparison_table_counts_refused_and_skipped_orders(tmp_path: Path) -> None:
    home = _home(tmp_path)
    out = json.loads(backtest(home, "--vary", VARY, "--jobs", "1", "--json").stdout)
    spread, refused = (len(r.get("refused", [])) for r in out)
    assert spread == 0
    assert refused > 0
    assert out[1]["metrics"]["trade_count"] == 0
    result = backtest(home, "--vary", VARY, "--jobs", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "CAGR" in line)
    assert header.split()[-2:] == ["refused", "skipped"]
    # Each run's row ends with its counts: refused, skipped.
    rows = [line for line in lines if line.startswith("{VTI")]
    assert [row.split()[-2:] for row in rows] == [["0", "0"], [str(refused), "0"]]
    text = " ".join(result.stdout.split())
    assert (
        'strategy_params.targets={VTI = "0.6", BND = "0.4"}: '
        f"{refused} orders were refused by a pre-trade check (max_order_notional {refused})"
    ) in text
    assert "--json lists them under 'refused'" in text
