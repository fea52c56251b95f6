"""`trimtab kill --cancel-open` records each account whose open orders it could not cancel.

Before, a cancel that failed (no keys in the operator's shell, the broker unreachable, a
cancel the broker refused) was printed only: the audit log held the engagement and the
cancels that went through, so the daily log a user reviews read as if every order had been
cancelled. Now each such account is an `orders_not_cancelled` record naming the account, why
and the way out, with no configured secret in it (nor in the database).
"""

from __future__ import annotations

import json
import socket
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.logs import configure_logging
from tests.fakes.alpaca_server import KEY_ID, FakeAlpaca
from tests.fakes.alpaca_server.client import (
    ENV_PREFIX,
    account_toml,
    make_broker,
    on_the_real_clock,
)
from tests.fakes.alpaca_server.server import SECRET as FAKE_SECRET
from tests.fakes.alpaca_server.server import Fault

KEY_ENV = ENV_PREFIX + "API_KEY_ID"
SECRET_ENV = ENV_PREFIX + "API_SECRET_KEY"
SECRET = "s3cr3t-never-shown-anywhere"
KIND = "orders_not_cancelled"


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


def write_config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "trimtab.toml"
    account = account_toml(url, 'VTI = "1"')
    path.write_text(f'mode = "paper"\nstate_dir = "state"\n{account}')
    return str(path)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL")
    for name in (*names, KEY_ENV, SECRET_ENV):
        monkeypatch.delenv(name, raising=False)


def exported(config: str) -> str:
    code, output = invoke("audit", "export", "--since", "2020-01-01", "-c", config)
    assert code == 0, output
    return output


def not_cancelled(config: str) -> dict[str, object]:
    """Return the one `orders_not_cancelled` record, checking it names its account."""
    records = [json.loads(line) for line in exported(config).splitlines()]
    kinds = [r["kind"] for r in records]
    # The switch first, then what the cancel step could not do.
    assert kinds.index("kill_switch") < kinds.index(KIND), kinds
    (record,) = [r for r in records if r["kind"] == KIND]
    assert record["account"] == "main"
    payload: dict[str, object] = record["payload"]
    assert str(payload["actor"]).startswith("cli:")
    assert "cancel them at the broker" in str(payload["fix"])
    return payload


def stored(config: str) -> str:
    """Every audit payload as the database holds it."""
    database = Path(config).parent / "state" / "trimtab.db"
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT payload FROM audit_records").fetchall()
    return "\n".join(row[0] for row in rows)


def test_an_account_without_its_keys_is_recorded(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{closed_port()}")
    code, output = invoke("kill", "--reason", "incident", "--cancel-open", "-c", config)
    assert code == 1, output
    payload = not_cancelled(config)
    assert "Alpaca credentials missing" in str(payload["reason"])
    assert payload["refused"] == []
    # `trimtab audit` gives it a line of its own, as it does the kill switch.
    code, shown = invoke("audit", "-k", KIND, "-c", config)
    assert code == 0, shown
    assert "open orders NOT cancelled (by cli:" in " ".join(shown.split())


def test_an_unreachable_broker_is_recorded_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "PKPAPER0000001")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    config = write_config(tmp_path, f"http://127.0.0.1:{closed_port()}")
    code, output = invoke("kill", "--reason", "outage", "--cancel-open", "-c", config)
    assert code == 1, output
    payload = not_cancelled(config)
    assert "connection failed" in str(payload["reason"])
    assert SECRET not in exported(config)
    assert SECRET not in stored(config)


def test_a_cancel_the_broker_refuses_is_recorded_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeAlpaca(on_the_real_clock(monkeypatch)) as fake:
        broker = make_broker(fake, clock=lambda: datetime.now(UTC))
        broker.submit(
            OrderIntent(
                client_order_id="left-open-in-the-ui",
                cycle_id="-",
                account="main",
                seq=1,
                symbol="VTI",
                side=Side.BUY,
                qty=Decimal(1),
                order_type=OrderType.LIMIT,
                limit_price=Decimal("1.00"),
                reason="ui",
            )
        )
        broker.close()
        # A refusal quoting the request's credentials, as a misbehaving proxy might.
        fake.add_fault(
            Fault(
                "DELETE",
                "/v2/orders/",
                status=403,
                body=json.dumps({"message": f"forbidden for {KEY_ID}/{FAKE_SECRET}"}),
            )
        )
        config = write_config(tmp_path, fake.url)
        code, output = invoke("kill", "--reason", "drill", "--cancel-open", "-c", config)
    assert code == 1, output
    payload = not_cancelled(config)
    assert "1 cancel(s) failed" in str(payload["reason"])
    refusals = payload["refused"]
    assert isinstance(refusals, list)
    (refused,) = refusals
    assert isinstance(refused, str)
    assert "left-open-in-the-ui" in refused
    assert "cancel failed" in refused
    assert FAKE_SECRET not in exported(config)
    assert FAKE_SECRET not in stored(config)
