"""`--vary` at its edges: a value is checked as the config file's would be (every rule, the
plugins' and the whole configuration's), arrays and tables are values, and a key the
backtest never reads is refused instead of giving identical runs."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.vary import parse_vary
from daemon.cli import app
from tests.integration.test_backtest_cli import refusals
from tests.unit.backtest_helpers import random_walk, weekdays

DAYS = 120

CONFIG = """
mode = "dry-run"
state_dir = "state"
[risk]
allowed_symbols = ["VTI", "BND"]
[accounts.main]
type = "taxable"
schedule = "close - 15m"
[accounts.main.broker_settings]
starting_cash = "100000"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.bands]
absolute_pp = 2
[accounts.main.policy]
fractional = true
min_trade_notional = 1
"""

MANUAL = """
mode = "dry-run"
state_dir = "state"
[accounts.main]
broker = "manual"
type = "taxable"
[accounts.main.broker_settings]
environment = "live"
exports = "exports"
preset = "fidelity"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.policy]
fractional = true
min_trade_notional = 1
"""


def _home(tmp_path: Path, config: str = CONFIG) -> Path:
    (tmp_path / "exports").mkdir(parents=True)
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
    result = CliRunner().invoke(app, [*argv, "--jobs", "1", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _refused(home: Path, *args: str) -> str:
    """Return the message of a refused backtest (exit 2, audited, nothing run)."""
    result = _backtest(home, "--json", *args)
    assert result.exit_code == 2, result.output
    assert not result.stdout.startswith("["), "no run may start"
    (refused,) = refusals(home)
    return " ".join(refused["detail"].split())


# -- A: a value is checked as the config file's is ------------------------------------------


def test_a_broker_that_is_not_a_plugin_is_refused(tmp_path: Path) -> None:
    said = _refused(_home(tmp_path), "--vary", "broker=sim,foo")
    assert "--vary broker=foo" in said
    assert "accounts.main.broker: no plugin 'foo'" in said


def test_another_broker_is_checked_against_its_own_settings(tmp_path: Path) -> None:
    # The file's broker_settings are the sim's: alpaca refuses them, as `config check` would.
    said = _refused(_home(tmp_path), "--vary", "broker=alpaca")
    assert "--vary broker=alpaca" in said
    assert "accounts.main.broker_settings.starting_cash: Extra inputs are not permitted" in said


def test_specific_lots_on_a_broker_that_cannot_name_them_is_refused(tmp_path: Path) -> None:
    home = _home(tmp_path, MANUAL)
    assert _backtest(home, "--vary", "tax.lot_method=fifo,hifo").exit_code == 0
    said = _refused(home, "--vary", "tax.lot_method=fifo,specific")
    assert "--vary tax.lot_method=specific" in said
    assert "broker 'manual' cannot be told which lots a sale relieves" in said


def test_a_rule_of_the_whole_configuration_applies(tmp_path: Path) -> None:
    # The account's own list shares no symbol with [risk]'s: a rule of the Settings, not of
    # the account's table alone.
    said = _refused(_home(tmp_path), "--vary", 'policy.allowed_symbols=["VTI"],["QQQ"]')
    assert '--vary policy.allowed_symbols=["QQQ"]' in said
    assert "shares no symbol with risk.allowed_symbols" in said


# -- B: arrays and tables are values ---------------------------------------------------------


def test_two_allocations_are_compared(tmp_path: Path) -> None:
    home = _home(tmp_path)
    result = _backtest(
        home,
        "--json",
        "--vary",
        'strategy_params.targets={VTI="0.6", BND="0.4"},{VTI="0.7",BND="0.3"}',
    )
    assert result.exit_code == 0, result.output
    sixty, seventy = json.loads(result.stdout)
    assert sixty["overrides"] == {"strategy_params.targets": {"VTI": "0.6", "BND": "0.4"}}
    assert seventy["overrides"] == {"strategy_params.targets": {"VTI": "0.7", "BND": "0.3"}}
    assert sixty["trades"] != seventy["trades"]
    # Each run is the one the config file gives with those targets.
    assert {k: v for k, v in sixty.items() if k != "overrides"} == json.loads(
        _backtest(home, "--json").stdout
    )
    (home / "trimtab.toml").write_text(CONFIG.replace('"0.6", BND = "0.4"', '"0.7", BND = "0.3"'))
    assert {k: v for k, v in seventy.items() if k != "overrides"} == json.loads(
        _backtest(home, "--json").stdout
    )


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("policy.keep=[1, 2]", [[1, 2]]),
        ('policy.fractional_symbols=["AAA","BBB"],[]', [["AAA", "BBB"], []]),
        (
            "strategy_params.targets={ A = 0.6, B = '0.4' }, {A=1}",
            [{"A": "0.6", "B": "0.4"}, {"A": 1}],
        ),
        ('schedule="close - 15m", 15:45', ["close - 15m", "15:45"]),
        ('strategy_params.names=["a,b", "c]"],[]', [["a,b", "c]"], []]),
        ("bands.absolute_pp=3, 5", ["3", "5"]),
    ],
)
def test_values_split_at_top_level_commas_only(text: str, values: list[object]) -> None:
    [(_, parsed)] = parse_vary([text])
    assert parsed == values


@pytest.mark.parametrize(
    "text", ["policy.keep=[1, 2", "policy.keep={A=1", 'schedule="close', "policy.keep=[1,]]"]
)
def test_an_unclosed_array_or_table_is_named(text: str) -> None:
    with pytest.raises(BacktestInputError, match="is not a TOML value"):
        parse_vary([text])


# -- C: a key the backtest never reads is refused --------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--calendar", "monthly", "--vary", "schedule=close - 15m,15:45"), "--calendar monthly"),
        (("--vary", "broker_settings.starting_cash=1,999999"), "--cash"),
        (("--vary", "broker_settings.prices.seed=1,2"), "the price file"),
        (("--vary", "history_file=prices.csv"), "one price file"),
        (("--vary", "read_retry_seconds=0,30"), "read of the broker"),
        (("--vary", "fill_wait_seconds=5,60"), "fills every order at its day's close"),
        (("--vary", "lock_group=x,y"), "cluster"),
        (("--vary", "policy.outside_hours=true,false"), "at each day's close"),
    ],
)
def test_a_key_with_no_effect_is_refused(tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    said = _refused(_home(tmp_path), *args)
    key = args[-1].split("=")[0]
    assert f"--vary key {key} has no effect in a backtest" in said
    assert named in said


def test_a_cost_of_the_sim_is_read_but_not_for_another_broker(tmp_path: Path) -> None:
    home = _home(tmp_path)
    result = _backtest(home, "--json", "--vary", "broker_settings.slippage_bps=0,50")
    assert result.exit_code == 0, result.output
    free, dear = json.loads(result.stdout)
    assert free["trades"] != dear["trades"]
    # Of the manual broker's settings, `fractional` is read (its plugin declares whole
    # shares without it, as its snapshot says); where its exports are is not.
    manual = _home(tmp_path / "manual", MANUAL)
    result = _backtest(manual, "--json", "--vary", "broker_settings.fractional=true,false")
    assert result.exit_code == 0, result.output
    fractions, whole = json.loads(result.stdout)
    assert any(Decimal(t["qty"]) % 1 for t in fractions["trades"])
    assert not any(Decimal(t["qty"]) % 1 for t in whole["trades"])
    said = _refused(manual, "--vary", 'broker_settings.pattern="*.csv","x*.csv"')
    assert "--vary key broker_settings.pattern has no effect in a backtest" in said


def test_the_schedule_is_read_with_the_schedule_calendar(tmp_path: Path) -> None:
    result = _backtest(
        _home(tmp_path),
        "--json",
        "--vary",
        "schedule=close - 15m,last trading day of the month at close",
    )
    assert result.exit_code == 0, result.output
    daily, monthly = json.loads(result.stdout)
    assert daily["metrics"]["rebalance_count"] > monthly["metrics"]["rebalance_count"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRIMTAB_ACCOUNTS__MAIN__BANDS__ABSOLUTE_PP", "1"),
        ("trimtab_accounts__main__bands", '{"absolute_pp": 1}'),
    ],
)
def test_a_key_the_environment_sets_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # The environment wins over the config file: every run would have its value.
    monkeypatch.setenv(variable, value)
    said = _refused(_home(tmp_path), "--vary", "bands.absolute_pp=1,20")
    assert f"environment variable {variable} sets accounts.main.bands.absolute_pp" in said


def test_a_table_in_the_environment_without_the_key_leaves_it_varied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BANDS", '{"relative": 0.5}')
    result = _backtest(_home(tmp_path), "--json", "--vary", "bands.absolute_pp=1,20")
    assert result.exit_code == 0, result.output
    narrow, wide = json.loads(result.stdout)
    assert narrow["metrics"]["rebalance_count"] > wide["metrics"]["rebalance_count"]
