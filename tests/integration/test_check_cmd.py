"""`trimtab check` on the simulated broker: read-only rows per account, exit 1 on a failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.sim.broker import SimBroker
from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.core.domain import TradingState
from daemon.store.killswitch import set_kill_switch
from daemon.store.trading_state import set_trading_state
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)

pytestmark = pytest.mark.usefixtures("fresh_logging")


def invoke(*args: str, code: int) -> str:
    result = CliRunner().invoke(app, ["check", *args])
    assert result.exit_code == code, result.output
    return result.stdout if "--json" in args else result.output


def write_config(tmp_path: Path, database_url: str, *, ira: str = "", brokerage: str = "") -> Path:
    closes = tmp_path / "closes.csv"
    # VXUS has a column (config check requires one per target) but no close yet: a symbol
    # the sim does not know now, as a not-yet-listed one.
    closes.write_text("date,VTI,BND,VXUS\n2026-11-20,250.00,70.00,\n2026-11-23,251.00,70.10,\n")
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""
mode = "paper"
database_url = "{database_url}"
[accounts.brokerage]
broker = "sim"
[accounts.brokerage.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.brokerage.broker_settings]
starting_cash = "1000"
{brokerage}
[accounts.ira]
broker = "sim"
[accounts.ira.strategy_params]
targets = {{ VTI = "0.5", BND = "0.3", VXUS = "0.2" }}
[accounts.ira.broker_settings]
{ira}
[accounts.ira.broker_settings.prices]
source = "csv"
path = "{closes}"
"""
    )
    return config


def rows_of(output: str) -> dict[tuple[str, str], dict[str, str]]:
    data = json.loads(output)
    return {(row["account"], row["check"]): row for row in data["rows"]}


def test_a_healthy_sim_account_passes_every_check(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    output = invoke("-c", str(config), "-a", "brokerage", "--json", code=0)
    assert json.loads(output)["ok"] is True
    rows = rows_of(output)
    assert {check for _, check in rows} == {
        "broker",
        "account",
        "environment",
        "symbol BND",
        "symbol VTI",
        "calendar",
        "trading state",
    }
    assert all(row["status"] in ("ok", "warn") for row in rows.values())
    assert rows[("brokerage", "trading state")]["status"] == "ok"
    # The sim's synthetic calendar has no holidays: said, but not a failure.
    calendar = rows[("brokerage", "calendar")]
    assert calendar["status"] in ("ok", "warn")
    if calendar["status"] == "warn":
        assert "synthetic" in calendar["detail"]
    table = invoke("-c", str(config), "-a", "brokerage", code=0)
    assert "every check passed" in table
    assert "nothing is sent" in table


def test_each_problem_is_a_failing_row_naming_the_account_and_the_fix(
    tmp_path: Path, database_url: str
) -> None:
    config = write_config(
        tmp_path,
        database_url,
        ira='fractional = false\n[accounts.ira.broker_settings.faults]\nreject_symbols = ["BND"]',
    )
    text = config.read_text().replace(
        "[accounts.ira.strategy_params]",
        '[accounts.ira.policy]\nfractional_symbols = ["VTI"]\n[accounts.ira.strategy_params]',
    )
    config.write_text(text)
    output = invoke("-c", str(config), "--json", code=1)
    assert json.loads(output)["ok"] is False
    rows = rows_of(output)
    failing = {key: row for key, row in rows.items() if row["status"] == "fail"}
    assert set(failing) == {("ira", "symbol VTI"), ("ira", "symbol BND"), ("ira", "symbol VXUS")}
    assert "whole shares only" in failing[("ira", "symbol VTI")]["detail"]
    assert "fractional_symbols" in failing[("ira", "symbol VTI")]["fix"]
    assert "not tradable" in failing[("ira", "symbol BND")]["detail"]
    assert "does not know VXUS" in failing[("ira", "symbol VXUS")]["detail"]
    assert all("accounts.ira" in row["fix"] for row in failing.values())
    # The other account is unaffected.
    assert all(row["status"] != "fail" for (acct, _), row in rows.items() if acct == "brokerage")

    table = invoke("-c", str(config), code=1)
    assert "3 check(s) failed in: ira" in table

    # Read-only: no order reached either sim account.
    with_app = open_app(config)
    try:
        for name in ("ira", "brokerage"):
            broker = with_app.broker(name)
            assert isinstance(broker, SimBroker)
            assert broker.state()["recent_orders"] == []
    finally:
        with_app.close()


def test_an_unknown_account_is_a_usage_error(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    output = invoke("-c", str(config), "-a", "nope", code=2)
    assert "accounts.nope" in output


def test_trimtab_s_own_brakes_are_warnings_naming_the_way_out(
    tmp_path: Path, database_url: str
) -> None:
    config = write_config(tmp_path, database_url)
    app = open_app(config)
    try:
        with app.database.transaction() as session:
            at = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
            set_kill_switch(session, engaged=True, reason="drill", actor="test", at=at)
            set_trading_state(
                session,
                "brokerage",
                TradingState.HALTED,
                at=at,
                cycle_id=None,
                actor="reconciliation",
                reason="positions no recorded fill explains: VTI",
            )
    finally:
        app.close()
    output = invoke("-c", str(config), "-a", "brokerage", "--json", code=0)
    rows = rows_of(output)
    kill = rows[("brokerage", "kill switch")]
    assert kill["status"] == "warn"
    assert "drill" in kill["detail"]
    assert "trimtab resume" in kill["fix"]
    state = rows[("brokerage", "trading state")]
    assert state["status"] == "warn"
    assert state["detail"] == "halted (no new orders): positions no recorded fill explains: VTI"
    assert "trimtab resume -a brokerage" in state["fix"]
