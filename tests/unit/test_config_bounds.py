"""`trimtab config check` refuses what would make every cycle fail later: an exchange calendar
exchange_calendars does not know, and amounts beyond any account (beyond float64, where the
planner works), each with its key path and a fix (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.config.settings import check_config, load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(example: Path) -> Path:
    return example  # tests/conftest.py


def _edit(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))


def test_an_unknown_exchange_is_refused_with_the_likely_code(config: Path) -> None:
    _edit(config, 'exchange = "XNYS"', 'exchange = "XNSY"')
    [problem] = check_config(config)
    assert problem.path == "exchange"
    assert problem.problem == "unknown exchange calendar 'XNSY' (did you mean XNYS or XNAS?)"
    assert "exchange_calendars code" in problem.fix
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2


@pytest.mark.parametrize("code", ["XLON", "NYSE", "24/7"])
def test_any_calendar_exchange_calendars_knows_is_accepted(config: Path, code: str) -> None:
    _edit(config, 'exchange = "XNYS"', f'exchange = "{code}"')
    assert load_config(config).exchange == code


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('cash_buffer = "500"', 'cash_buffer = "1e999"', "accounts.brokerage.policy.cash_buffer"),
        (
            'min_trade_notional = "50"',
            'min_trade_notional = "1e16"',
            "accounts.brokerage.policy.min_trade_notional",
        ),
        (
            "# max_order_notional = 50000",
            'max_order_notional = "1e999"',
            "risk.max_order_notional",
        ),
    ],
)
def test_an_amount_beyond_any_account_is_refused(
    config: Path, old: str, new: str, path: str
) -> None:
    _edit(config, old, new)
    [problem] = check_config(config)
    assert problem.path == path
    assert problem.problem.startswith("the amount is above 10^13, more than any account holds")
    assert "write the amount in the account's currency" in problem.fix
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert path in result.output


def test_an_amount_up_to_the_bound_is_accepted(config: Path) -> None:
    _edit(config, 'cash_buffer = "500"', 'cash_buffer = "1e13"')
    assert load_config(config).accounts["brokerage"].policy.cash_buffer == 10**13


def test_a_band_beyond_100_percentage_points_is_refused(config: Path) -> None:
    _edit(config, "absolute_pp = 5", 'absolute_pp = "1e999"')
    [problem] = check_config(config)
    assert problem.path == "accounts.brokerage.bands.absolute_pp"
    assert problem.fix == "use a value of at most 100"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('# long_term = "10000"', 'long_term = "1e999"'),
        ('min_loss_amount = "200"', 'min_loss_amount = "1e14"'),
    ],
)
def test_a_tax_amount_beyond_the_planning_range_is_refused(
    config: Path, old: str, new: str
) -> None:
    _edit(config, old, new)
    [problem] = check_config(config)
    assert problem.path.startswith("accounts.brokerage.tax."), problem


# -- numbers that loaded and then crashed or misbehaved every cycle -------------------------------
# Each loaded with "configuration OK" before: a quote age of 1e11 hours overflowed the cycle's
# timedelta (OverflowError in every account's cycle; so did `trimtab backtest`), a turnover of
# 1e999999 overflowed the pre-trade check's Decimal arithmetic, a fractional_increment below
# 0.000000001 failed every cycle in the planner (DataError), a simulated starting_cash above
# 10^13 failed every cycle (cash beyond the planning range) and 1e300 crashed `config check`
# itself (decimal.InvalidOperation), a commission of 1e300 crashed the cycle (and the backtest)
# when the first buy was sized, a limit collar wider than risk.max_price_collar had every limit
# order refused, and a health broker_unreachable_minutes beyond any outage never failed.
SIM = "accounts.brokerage.broker_settings"
OUT_OF_RANGE = [
    # (old line, new line, key path, words of the problem)
    *(
        ("max_quote_age_hours = 96", f"max_quote_age_hours = {value}", "risk.max_quote_age_hours",
         "must be a number of hours above 0 and at most 8784 (a year)")
        for value in ("1e11", "1e300", "8785", "0", "-1")
    ),
    *(
        (f"{key} = {default}", f"{key} = {value}", f"risk.{key}",
         "must be a multiple of the account's value above 0 and at most 1000000")
        for key, default in (("max_turnover_per_cycle", 2), ("max_turnover_per_day", 3))
        for value in ('"1e999999"', "1000001", "0")
    ),
    (
        "broker_unreachable_minutes = 60",
        "broker_unreachable_minutes = 10081",
        "health.broker_unreachable_minutes",
        "less than or equal to 10080",
    ),
    *(
        ('fractional_increment = "0.001"', f"fractional_increment = {value}",
         "accounts.brokerage.policy.fractional_increment",
         "must be from 0.000000001 (the finest step a broker takes) to 1")
        for value in ('"1e-300"', '"0.0000000009"', '"1.5"', "0")
    ),
    *(
        ('starting_cash = "100000"', f"starting_cash = {value}", f"{SIM}.starting_cash",
         "is over 10000000000000 (1e13)")
        for value in ('"1e300"', '"1e14"')
    ),
    *(
        ('commission_per_order = "0"', f"commission_per_order = {value}",
         f"{SIM}.commission_per_order", "is over 1000 dollars")
        for value in ('"1e300"', '"1000.01"')
    ),
    *(
        ('commission_per_share = "0"', f"commission_per_share = {value}",
         f"{SIM}.commission_per_share", "is over 1 dollar")
        for value in ('"1e300"', '"1.01"')
    ),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path", "words"), OUT_OF_RANGE)
def test_a_number_that_failed_cycles_later_is_refused_naming_the_key_the_range_and_a_fix(
    config: Path, old: str, new: str, path: str, words: str
) -> None:
    _edit(config, old, new)
    [problem] = check_config(config)
    assert problem.path == path
    assert words in problem.problem
    assert problem.fix
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert path in result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("max_quote_age_hours = 96", "max_quote_age_hours = 8784"),
        ("max_quote_age_hours = 96", 'max_quote_age_hours = "0.5"'),
        ("max_turnover_per_cycle = 2", "max_turnover_per_cycle = 1000000"),
        ("max_turnover_per_day = 3", "max_turnover_per_day = 1000"),  # the drills'
        ("max_turnover_per_day = 3", "max_turnover_per_day = 1000000"),
        ("broker_unreachable_minutes = 60", "broker_unreachable_minutes = 10080"),
        ('fractional_increment = "0.001"', 'fractional_increment = "0.000000001"'),
        ('fractional_increment = "0.001"', "fractional_increment = 1"),
        ('starting_cash = "100000"', 'starting_cash = "1e13"'),
        ('commission_per_order = "0"', 'commission_per_order = "1000"'),
        ('commission_per_share = "0"', 'commission_per_share = "1"'),
    ],
)
def test_a_number_at_its_bound_is_accepted(config: Path, old: str, new: str) -> None:
    _edit(config, old, new)
    assert check_config(config) == []


def test_a_limit_collar_the_pre_trade_check_would_refuse_is_refused_at_load(
    config: Path,
) -> None:
    _edit(config, 'order_type = "market"', 'order_type = "limit"')
    _edit(config, 'limit_collar = "0.005"', 'limit_collar = "0.05"')  # = max_price_collar
    [problem] = check_config(config)
    assert problem.path == "accounts.brokerage.policy.limit_collar"
    assert "not below risk.max_price_collar (0.05)" in problem.problem
    assert "every limit order" in problem.problem
    assert "lower accounts.brokerage.policy.limit_collar" in problem.fix
    assert "raise risk.max_price_collar" in problem.fix


def test_a_limit_collar_below_the_check_or_on_market_orders_is_accepted(config: Path) -> None:
    _edit(config, 'limit_collar = "0.005"', 'limit_collar = "0.2"')  # market orders: unused
    assert check_config(config) == []
    _edit(config, 'order_type = "market"', 'order_type = "limit"')
    _edit(config, "max_price_collar = 0.05", "max_price_collar = 0.25")
    assert check_config(config) == []


MANUAL = """mode = "dry-run"
[accounts.man]
broker = "manual"
[accounts.man.broker_settings]
environment = "live"
exports = "exports"
preset = "custom"
columns = {{ symbol = "symbol", quantity = "quantity", price = "price" }}
max_export_age_hours = {hours}
[accounts.man.strategy_params]
targets = {{ VTI = "1" }}
"""


@pytest.mark.parametrize("hours", ["1e11", "8785", "0"])
def test_a_manual_export_age_past_a_year_is_refused(tmp_path: Path, hours: str) -> None:
    # 1e11 passed `config check`; then `trimtab plan` and `trimtab manual show` crashed
    # (OverflowError from timedelta) at the first read of the export.
    (tmp_path / "exports").mkdir()
    config = tmp_path / "trimtab.toml"
    config.write_text(MANUAL.format(hours=hours))
    [problem] = check_config(config)
    assert problem.path == "accounts.man.broker_settings.max_export_age_hours"
    assert "must be a number of hours above 0 and at most 8784 (a year)" in problem.problem
    assert "max_export_age_hours" in problem.fix


def test_a_manual_export_age_of_a_year_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    config = tmp_path / "trimtab.toml"
    config.write_text(MANUAL.format(hours=8784))
    assert check_config(config) == []


def test_a_quote_age_that_crashed_every_cycle_stops_trimtab_plan_at_load(config: Path) -> None:
    # The reported repro: `config check` said OK, then `trimtab plan` failed every account's
    # cycle with "OverflowError: Python int too large to convert to C int".
    _edit(config, "max_quote_age_hours = 96", "max_quote_age_hours = 1e11")
    result = CliRunner().invoke(app, ["plan", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "risk.max_quote_age_hours" in result.output
    assert "at most 8784 (a year)" in result.output
    assert "OverflowError" not in result.output
    assert not (config.parent / "state").exists()  # refused before any cycle or database
