"""`trimtab backtest` refuses a price file with sessions of the exchange missing (exit 2,
audited), and runs it with `--allow-missing-days`, saying which sessions had no row."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from daemon.core.sessions import sessions_between
from tests.integration.test_backtest_cli import backtest, refusals
from tests.unit.backtest_helpers import random_walk

CONFIG = """
mode = "dry-run"
state_dir = "state"
[accounts.main]
type = "taxable"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.policy]
fractional = true
min_trade_notional = 1
"""
FLOWS = ("--contribute", "1000/month", "--withdraw", "3000/month")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A year and a half of New York sessions without March to May 2019 (64 sessions)."""
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    days = [
        s.day
        for s in sessions_between("XNYS", date(2019, 1, 2), date(2020, 6, 30))
        if not date(2019, 3, 1) <= s.day <= date(2019, 5, 31)
    ]
    walk = random_walk(3, ["VTI", "BND"], len(days), volatility=0.01)
    lines = ["date,VTI,BND"] + [
        f"{d},{walk['VTI'][i]:.2f},{walk['BND'][i]:.2f}" for i, d in enumerate(days)
    ]
    (tmp_path / "prices.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def _row_of(home: Path, day: str) -> int:
    lines = (home / "prices.csv").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(day))


@pytest.mark.parametrize("extra", [(), ("--vary", "bands.absolute_pp=3,5", "--jobs", "1")])
def test_missing_months_are_refused_and_audited(home: Path, extra: tuple[str, ...]) -> None:
    """Before: exit 0, three contributions and three withdrawals silently not made, the
    three months' move one day's return."""
    result = backtest(home, *FLOWS, "--json", *extra)
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    row = _row_of(home, "2019-06-03")
    assert f"{home / 'prices.csv'} has no row for 64 sessions of the exchange calendar XNYS" in out
    assert f"the first gap is 2019-03-01 to 2019-05-31 (64), before row {row} (2019-06-03)" in out
    assert "--allow-missing-days" in out
    (refused,) = refusals(home)
    assert "has no row for 64 sessions" in refused["detail"]
    assert refused["prices"] == str(home / "prices.csv")


def test_the_opt_out_runs_and_lists_the_missing_sessions(home: Path) -> None:
    result = backtest(home, *FLOWS, "--json", "--allow-missing-days")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["missing_sessions"] == [
        {
            "first": "2019-03-01",
            "last": "2019-05-31",
            "sessions": 64,
            "next_row": _row_of(home, "2019-06-03"),
            "next_day": "2019-06-03",
        }
    ]
    assert refusals(home) == []
    summary = backtest(home, *FLOWS, "--allow-missing-days")
    assert summary.exit_code == 0, summary.output
    said = " ".join(summary.stdout.split())
    assert "64 sessions of the exchange had no row (the first: 2019-03-01" in said
    assert "--allow-missing-days ran each one's cycle on the next row" in said
