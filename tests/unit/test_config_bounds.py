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
    assert problem.fix == "use a smaller value"


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
