"""A [household] whose weights come from a strategy: `inverse_vol` over the simulated
broker's daily closes chooses the household's weights, and the same split as fixed targets
places them; `trimtab plan` shows where they came from, and the audit says so."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.audit.events import HouseholdSplitMade, TargetsChosen
from daemon.audit.view import summarize
from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.core.domain import CASH
from daemon.report.data import gather
from daemon.store.audit_log import AuditLog
from tests.fakes.cli import fresh_logging

__all__ = ["fresh_logging"]

D = Decimal
REPO = Path(__file__).resolve().parents[2]
UNIVERSE = ("BND", "VTI", "VXUS")
# An account outside the household with the same strategy on the same market: its targets
# are what the strategy says on these closes, whatever it holds (inverse_vol reads none).
PROBE = """
[accounts.probe]
broker = "sim"
type = "taxable"
strategy = "inverse_vol"
[accounts.probe.broker_settings]
starting_cash = "1000"
[accounts.probe.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
annual_drift = 0.07
annual_volatility = 0.18
base_prices = { VTI = "180", VXUS = "55", BND = "80" }
[accounts.probe.strategy_params]
universe = ["VTI", "VXUS", "BND"]
lookback_days = 20
[accounts.probe.policy]
outside_hours = true
"""
HOUSEHOLD = """
[household]
accounts = ["brokerage", "ira"]
strategy = "inverse_vol"
strategy_params = { universe = ["VTI", "VXUS", "BND"], lookback_days = 20 }
asset_classes = { VTI = "us_equity", VXUS = "intl_equity", BND = "bonds" }
location = [
  { assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] },
  { assets = "us_equity", prefer = ["roth_ira", "taxable", "traditional_ira"] },
]
"""


def household_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    config.write_text(config.read_text() + PROBE + HOUSEHOLD)
    return config


def probe_targets(config: Path) -> dict[str, Decimal]:
    """The probe account's strategy targets, as its plan audited them."""
    opened = open_app(config)
    try:
        with opened.database.transaction() as session:
            chosen = [
                r.event
                for r in AuditLog(session).records()
                if isinstance(r.event, TargetsChosen) and r.account == "probe"
            ]
    finally:
        opened.close()
    assert len(chosen) == 1
    return dict(chosen[0].targets)


def test_the_household_strategy_chooses_the_weights_the_split_places(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = household_config(tmp_path)
    result = CliRunner().invoke(app, ["plan", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    household = shown["household"]
    assert household["targets_from"] == "inverse_vol"
    assert set(household["reasons"]) == set(UNIVERSE)
    assert all("vol" in reason for reason in household["reasons"].values())
    # The household's targets are the strategy's weights on the same closes (the probe's),
    # the invested ones scaled down as fixed targets are to keep the accounts' cash buffers.
    targets = {r["symbol"]: D(r["target"]) for r in household["rows"]}
    probe = probe_targets(config)
    invested = 1 - targets[CASH]
    assert D("0.9") < invested < 1
    for symbol in UNIVERSE:
        assert abs(targets[symbol] / invested - probe[symbol]) <= D("0.00001"), symbol
        assert D("0.1") < targets[symbol] < D("0.6"), symbol
    assert abs(sum(targets.values(), D(0)) - 1) <= D("0.00001")
    # Placed as fixed targets are: every account's targets sum to 1, the bonds go to the
    # IRA first, and the split adds up to the strategy's weights.
    assert {a["account"] for a in household["accounts"]} == {"brokerage", "ira"}
    for account in household["accounts"]:
        weights = [D(w) for w in account["targets"].values()]
        assert abs(sum(weights, D(0)) - 1) <= D("0.00001"), account
    ira = next(a for a in household["accounts"] if a["account"] == "ira")
    assert D(ira["targets"]["BND"]) > targets["BND"]
    for row in household["rows"]:
        if row["symbol"] != CASH:
            assert abs(D(row["planned"]) - D(row["target"])) <= D("0.001"), row
    # Each member's own plan is on its share of the split.
    brokerage = {r["symbol"]: D(r["target"]) for r in shown["brokerage"]["drift"]}
    split = next(a for a in household["accounts"] if a["account"] == "brokerage")
    for symbol, weight in split["targets"].items():
        assert abs(brokerage.get(symbol, D(0)) - D(weight)) <= D("0.000001"), symbol


def test_the_plan_and_the_audit_say_the_targets_came_from_the_strategy(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = household_config(tmp_path)
    result = CliRunner().invoke(app, ["plan", "-c", str(config)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    start = out.index("household (2 accounts")
    said = out.index("targets from strategy inverse_vol")
    assert start < said < out.index("split by account")
    for symbol in UNIVERSE:
        assert f"    {symbol}: " in out[said : out.index("split by account")]
    opened = open_app(config)
    try:
        with opened.database.transaction() as session:
            records = AuditLog(session).records()
            splits = [r for r in records if isinstance(r.event, HouseholdSplitMade)]
            chosen = {r.account: r.event for r in records if isinstance(r.event, TargetsChosen)}
            at = splits[-1].recorded_at + timedelta(seconds=1)
            daily = gather(session, opened.settings, at.date(), now=at)
        assert [r.account for r in splits] == ["brokerage", "ira"]
        first, second = (r.event for r in splits)
        assert isinstance(first, HouseholdSplitMade)
        assert isinstance(second, HouseholdSplitMade)
        assert first.split.targets_from == "inverse_vol"
        assert set(first.split.reasons) == set(UNIVERSE)
        # Both members' plans split the same weights (the history is the first member's).
        assert [r.target for r in first.split.rows] == [r.target for r in second.split.rows]
        text = summarize(splits[0])
        assert "targets from strategy inverse_vol" in text
        assert all(f"    {symbol}: " in text for symbol in UNIVERSE)
        assert chosen["brokerage"].strategy == "household: inverse_vol"
        assert chosen["probe"].strategy == "inverse_vol"
        # The daily report's household target is the latest split's.
        allocation = daily.household_allocation
        assert allocation is not None
        targets = {line.symbol: line.target for line in allocation.lines}
        for row in second.split.rows:
            assert targets[row.symbol] == float(row.target), row.symbol
        assert allocation.notes[0] == "targets from strategy inverse_vol"
    finally:
        opened.close()


def test_strategy_weights_shows_the_households_strategy(
    tmp_path: Path, fresh_logging: None
) -> None:
    config = household_config(tmp_path)
    runner = CliRunner()

    def weights(*args: str) -> dict[str, str]:
        result = runner.invoke(app, ["strategy", "weights", "--json", "-c", str(config), *args])
        assert result.exit_code == 0, result.output
        shown: dict[str, str] = json.loads(result.stdout)["weights"]
        return shown

    # The same strategy on the same closes as the probe account: the same weights.
    household = weights("--household")
    assert set(household) == set(UNIVERSE)
    assert household == weights("-a", "probe")
    table = runner.invoke(app, ["strategy", "weights", "--household", "-c", str(config)])
    assert table.exit_code == 0, table.output
    assert "household: strategy inverse_vol on" in table.stdout

    both = runner.invoke(
        app, ["strategy", "weights", "--household", "-a", "probe", "-c", str(config)]
    )
    assert both.exit_code == 2
    assert "give one" in both.output
    alone = tmp_path / "alone.toml"
    alone.write_text(config.read_text().split("[household]")[0])
    none = runner.invoke(app, ["strategy", "weights", "--household", "-c", str(alone)])
    assert none.exit_code == 2
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(
        config.read_text().replace(
            'strategy = "inverse_vol"\nstrategy_params = { universe = ["VTI", "VXUS", "BND"], '
            "lookback_days = 20 }",
            'targets = { VTI = "0.5", VXUS = "0.2", BND = "0.3" }',
        )
    )
    targets = runner.invoke(app, ["strategy", "weights", "--household", "-c", str(fixed)])
    assert targets.exit_code == 2
    assert "fixed targets, not a strategy" in targets.output.replace("\n", " ")
    assert "no [household] table" in none.output
