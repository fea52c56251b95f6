"""`trimtab check` for an IB account against the fake TWS, through ib_async: a read-only
connection (IB's orders are not even read), every failure a row naming the account and the
fix, exit 1, nothing sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)
from tests.fakes.tws import FakeTws, Quote, TwsState, two_accounts
from tests.fakes.tws.states import BND

pytestmark = pytest.mark.usefixtures("fresh_logging")


@dataclass
class Checked:
    code: int
    rows: dict[str, dict[str, str]]
    output: str


CheckFn = Callable[..., Checked]


@pytest.fixture
def check(tmp_path: Path, database_url: str) -> Iterator[CheckFn]:
    fakes: list[FakeTws] = []

    def run(
        state: TwsState | None = None,
        *,
        account_id: str = "DU1234567",
        environment: str = "paper",
        mode: str = "paper",
        targets: str = 'VTI = "0.6", BND = "0.4"',
        extra: str = "",
        read_only: bool = False,
    ) -> Checked:
        fake = FakeTws(state or two_accounts())
        fake.read_only = read_only  # IB Gateway's "Read-Only API" setting
        fake.start()
        fakes.append(fake)
        config = tmp_path / "trimtab.toml"
        config.write_text(
            f"""
mode = "{mode}"
database_url = "{database_url}"
[accounts.ira]
broker = "ibkr"
[accounts.ira.broker_settings]
environment = "{environment}"
account_id = "{account_id}"
port = {fake.port}
connect_timeout_seconds = 2
request_timeout_seconds = 2
{extra}
[accounts.ira.strategy_params]
targets = {{ {targets} }}
"""
        )
        result = CliRunner().invoke(app, ["check", "-c", str(config), "--json"])
        if result.exit_code == 2:
            assert fake.received == []  # the configuration was refused: nothing was asked
            return Checked(2, {}, result.output)
        table = CliRunner().invoke(app, ["check", "-c", str(config)])
        assert table.exit_code == result.exit_code, table.output
        data = json.loads(result.stdout)
        assert all(row["account"] == "ira" for row in data["rows"])
        # Read-only: no order sent; IB's orders read only by the one listing that shows
        # whether the Gateway's "Read-Only API" setting is on (per run: table and --json).
        assert fake.count("placeOrder") == 0
        assert fake.count("cancelOrder") == 0
        assert fake.count("reqOpenOrders") == 0
        assert fake.count("reqCompletedOrders") <= 2
        assert all(row["fix"] for row in data["rows"] if row["status"] != "ok")
        return Checked(result.exit_code, {r["check"]: r for r in data["rows"]}, table.output)

    yield run
    for fake in fakes:
        fake.stop()


def test_a_healthy_paper_account_passes(check: CheckFn) -> None:
    result = check()
    assert result.code == 0, result.output
    assert set(result.rows) == {
        "broker",
        "account",
        "environment",
        "symbol BND",
        "symbol VTI",
        "market data",
        "account values",
        "read-only API",
        "calendar",
        "trading state",
    }
    assert {row["status"] for row in result.rows.values()} == {"ok"}, result.rows
    assert "DU1234567 (paper)" in result.rows["broker"]["detail"]
    assert "type 1 (live) for all 2 symbols" in result.rows["market data"]["detail"]
    assert "net liquidation" in result.rows["account values"]["detail"]
    assert "not compared" in result.rows["calendar"]["detail"]


def test_an_account_the_login_does_not_manage_fails_naming_it_and_the_fix(
    check: CheckFn,
) -> None:
    result = check(account_id="DU9999999")
    assert result.code == 1
    row = result.rows["broker"]
    assert row["status"] == "fail"
    assert "IB account DU9999999 is not among the accounts" in row["detail"]
    assert "broker_settings.account_id" in row["fix"]


def test_a_live_account_in_paper_mode_is_refused_before_anything_is_asked(
    check: CheckFn,
) -> None:
    assert check(account_id="U7654321", environment="live").code == 2
    assert check(account_id="U7654321", environment="paper").code == 2


def test_symbols_that_do_not_qualify_fail_naming_why(check: CheckFn) -> None:
    result = check(targets='VTI = "0.5", NOSUCH = "0.25", DUAL = "0.25"')
    assert result.code == 1
    assert result.rows["symbol VTI"]["status"] == "ok"
    nosuch, dual = result.rows["symbol NOSUCH"], result.rows["symbol DUAL"]
    assert (nosuch["status"], dual["status"]) == ("fail", "fail")
    assert "IB has no SMART-routed USD stock or ETF NOSUCH (error 200)" in nosuch["detail"]
    assert (
        "DUAL is ambiguous at IB: NASDAQ (conId 12345011), NYSE (conId 12345010)"
        in (dual["detail"])
    )


def test_no_subscription_fails_with_the_fix_and_delayed_data_then_passes(check: CheckFn) -> None:
    state = two_accounts()
    state.market_data_subscribed = False  # IB answers type 1 requests with error 354
    result = check(state)
    row = result.rows["market data"]
    assert result.code == 1
    assert row["status"] == "fail"
    assert "IB sent no price for BND, VTI" in row["detail"]
    assert "market_data_type = 3" in row["fix"]
    state = two_accounts()
    state.market_data_subscribed = False
    delayed = check(state, extra="market_data_type = 3")
    assert delayed.code == 0, delayed.output
    assert "type 3 (delayed) for all 2 symbols" in delayed.rows["market data"]["detail"]


def test_delayed_requested_with_a_live_subscription_says_nothing_is_missing(
    check: CheckFn,
) -> None:
    result = check(extra="market_data_type = 3")  # subscribed: IB sends live (type 1)
    row = result.rows["market data"]
    assert row["status"] == "warn"
    assert "type 3 (delayed) requested, IB sends 1 (live)" in row["detail"]
    assert "has a market data subscription" in row["detail"]
    assert "subscribe" not in row["fix"]
    assert "market_data_type = 1" in row["fix"]


def test_the_read_only_api_setting_fails_the_check_with_the_fix(check: CheckFn) -> None:
    fake_state = two_accounts()
    result = check(fake_state, read_only=True)
    assert result.code == 1
    row = result.rows["read-only API"]
    assert row["status"] == "fail"
    assert "'Read-Only API' setting is on" in row["detail"]
    assert "error 321" in row["detail"]
    assert "READ_ONLY_API=no" in row["fix"]


def test_nothing_listening_is_one_failing_row_with_the_fix(check: CheckFn) -> None:
    # The fake listens on 127.0.0.1 only: the same port on 127.0.0.2 has nothing behind it.
    result = check(extra='host = "127.0.0.2"')
    assert result.code == 1
    row = result.rows["broker"]
    assert row["status"] == "fail"
    assert "nothing is listening at 127.0.0.2:" in row["detail"]


@pytest.mark.parametrize("traded", [True, False])
def test_a_last_without_its_trade_time_is_no_price_to_the_check_as_to_a_cycle(
    check: CheckFn, traded: bool
) -> None:
    """No bid or ask and a last: priced with IB's trade time (tick 45), as a cycle prices it;
    without one the cycle would not use the last, so the check names the symbol unpriced."""
    state = two_accounts()
    state.quotes[BND.con_id] = Quote(
        bid=Decimal(-1),
        ask=Decimal(-1),
        last=Decimal("72.10"),
        close=Decimal("72.00"),
        last_time=datetime.now(UTC) - timedelta(minutes=5) if traded else None,
    )
    result = check(state)
    row = result.rows["market data"]
    if traded:
        assert (result.code, row["status"]) == (0, "ok"), result.output
    else:
        assert (result.code, row["status"]) == (1, "fail")
        assert "IB sent no price for BND " in row["detail"]
