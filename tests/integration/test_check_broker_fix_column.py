"""`trimtab check`: a broker that could not be reached puts the adapter's own fix in the Fix
column. IB's client id in use (326) and nothing listening used to say "check the network and
the broker's status page" there, with the real fix buried in Detail. The fake TWS through the
real ib_async."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.ibkr.sdk import IB
from daemon.cli import app
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)
from tests.fakes.tws import FakeTws, two_accounts

pytestmark = pytest.mark.usefixtures("fresh_logging")


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    fake = FakeTws(two_accounts()).start()
    yield fake
    fake.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_row(tmp_path: Path, database_url: str, port: int) -> tuple[int, dict[str, str], str]:
    """Run `trimtab check` (JSON and table) for one IB account; its broker row and the table."""
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""
mode = "paper"
database_url = "{database_url}"
[accounts.ira]
broker = "ibkr"
[accounts.ira.broker_settings]
environment = "paper"
account_id = "DU1234567"
port = {port}
client_id = 17
connect_timeout_seconds = 2
request_timeout_seconds = 2
[accounts.ira.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
"""
    )
    result = CliRunner().invoke(app, ["check", "-c", str(config), "--json"])
    table = CliRunner().invoke(app, ["check", "-c", str(config)])
    rows = {row["check"]: row for row in json.loads(result.stdout)["rows"]}
    return result.exit_code, rows["broker"], " ".join(table.output.split())


def test_nothing_listening_puts_the_port_fix_in_the_fix_column(
    tmp_path: Path, database_url: str
) -> None:
    code, row, table = broker_row(tmp_path, database_url, free_port())
    assert code == 1
    assert row["status"] == "fail"
    assert "nothing is listening at 127.0.0.1:" in row["detail"]
    assert row["fix"].startswith("start IB Gateway or TWS, enable its API")
    assert "Gateway 4002 paper / 4001 live" in row["fix"]
    assert "(fix:" not in row["detail"]  # said once, in its column
    assert "check the network" not in table


def test_a_client_id_in_use_puts_the_client_id_fix_in_the_fix_column(
    tws: FakeTws, tmp_path: Path, database_url: str
) -> None:
    other = IB()  # another program already holds client id 17: IB answers 326
    other.connect("127.0.0.1", tws.port, clientId=17, timeout=5, account="DU1234567")
    try:
        code, row, table = broker_row(tmp_path, database_url, tws.port)
    finally:
        other.disconnect()
    assert code == 1
    assert row["status"] == "fail"
    assert "refused client id 17" in row["detail"]
    assert "(error 326)" in row["detail"]
    assert row["fix"].startswith("set broker_settings.client_id to a number no other API client")
    assert "(fix:" not in row["detail"]
    assert "check the network" not in table
    assert tws.count("placeOrder") == 0
