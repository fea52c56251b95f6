"""`trimtab kill --cancel-open` engages the switch before anything that needs a broker.

The operator's shell usually lacks the Alpaca keys (docs/operations.md gives them to the
service alone). Before, `kill --cancel-open` there refused the configuration ("Alpaca
credentials missing", exit 2) and left the switch clear, never saying so: the emergency brake
did nothing. Now the switch is engaged and audited first; open orders that cannot be
cancelled (no keys, broker unreachable) are named with the fix, and the command exits 1.
Only a configuration or database trimtab cannot use stops the switch itself, and then the
message says it is NOT engaged.
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.logs import configure_logging

KEY_ENV = "TRIMTAB_ACCOUNTS__PAPER__BROKER_SETTINGS__API_KEY_ID"
SECRET_ENV = "TRIMTAB_ACCOUNTS__PAPER__BROKER_SETTINGS__API_SECRET_KEY"
SECRET = "s3cr3t-never-shown-anywhere"


def alpaca_account(port: int) -> str:
    return f"""
[accounts.paper]
broker = "alpaca"
strategy = "static"

[accounts.paper.broker_settings]
environment = "paper"
base_url = "http://127.0.0.1:{port}"
data_url = "http://127.0.0.1:{port}"

[accounts.paper.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
"""


def closed_port() -> int:
    """Return a loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def invoke(*args: str) -> tuple[int, str]:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Alpaca paper account without keys whose URLs lead nowhere (nothing is contacted)."""
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in (KEY_ENV, SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "trimtab.toml"
    path.write_text(f'mode = "paper"\nstate_dir = "state"\n{alpaca_account(closed_port())}')
    return str(path)


def engaged(config: str) -> bool:
    code, output = invoke("status", "--json", "-c", config)
    assert code == 0, output
    state: bool = json.loads(output)["kill_switch"]["engaged"]
    return state


def audited_engagements(config: str) -> list[dict[str, object]]:
    code, output = invoke("audit", "--json", "-c", config)
    assert code == 0, output
    records = [json.loads(line) for line in output.splitlines()]
    return [r for r in records if r["kind"] == "kill_switch"]


def assert_engaged_but_not_cancelled(output: str, cause: str) -> None:
    assert "kill switch ENGAGED" in output
    assert "open orders NOT cancelled" in output
    assert cause in output
    # The way out: at the broker itself, or again where the keys are.
    assert "cancel them at the broker" in output
    assert "service user" in output
    assert "kill switch is NOT engaged" not in output


def test_cancel_open_without_the_keys_still_engages_the_switch(config: str) -> None:
    code, output = invoke("kill", "--reason", "incident", "--cancel-open", "-c", config)
    assert code == 1, output
    assert_engaged_but_not_cancelled(output, "Alpaca credentials missing")
    assert "paper" in output  # the account whose orders may still be open
    assert engaged(config)
    (record,) = audited_engagements(config)
    assert record["payload"]["engaged"] is True  # type: ignore[index]
    assert record["payload"]["reason"] == "incident"  # type: ignore[index]


def test_cancel_open_with_the_broker_unreachable_engages_and_says_so(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "PKPAPER0000001")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    code, output = invoke("kill", "--reason", "outage", "--cancel-open", "-c", config)
    assert code == 1, output
    assert_engaged_but_not_cancelled(output, "connection failed")
    assert SECRET not in output
    assert engaged(config)


def test_accounts_that_can_be_reached_are_cancelled_the_others_named(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (KEY_ENV, SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    example.write_text(example.read_text() + alpaca_account(closed_port()))
    application = open_app(example, credentials=False)
    application.broker("ira").submit(
        OrderIntent(
            client_order_id="left-open-in-the-ui",
            cycle_id="-",
            account="ira",
            seq=1,
            symbol="VTI",
            side=Side.BUY,
            qty=Decimal(1),
            order_type=OrderType.LIMIT,
            limit_price=Decimal("1.00"),
            reason="ui",
        )
    )
    application.close()
    code, output = invoke("kill", "--cancel-open", "--reason", "drill", "-c", str(example))
    assert code == 1, output
    assert "ira: left-open-in-the-ui buy 1 VTI: cancelled" in output
    assert_engaged_but_not_cancelled(output, "Alpaca credentials missing")
    assert engaged(str(example))


def test_an_unusable_config_says_the_switch_is_not_engaged(config: str) -> None:
    path = Path(config)
    path.write_text(path.read_text() + "\nmode_typo = 1\n")
    code, output = invoke("kill", "--reason", "incident", "--cancel-open", "-c", config)
    assert code == 2, output
    assert "mode_typo" in output
    assert "kill switch is NOT engaged" in output
    assert "systemctl stop trimtab" in output
