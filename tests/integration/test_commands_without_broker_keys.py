"""Operator commands that never reach a broker work without its credentials.

docs/operations.md gives the Alpaca keys to the service alone (a root-owned secrets file that
systemd hands to `trimtab run`); the operator's shell runs `trimtab kill`, `status`, `health`,
`audit verify` as the trimtab user. Before, each of them refused the configuration ("Alpaca
credentials missing", exit 2), the emergency brake included. Commands that reach the broker
still refuse, naming the keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging

CONFIG = """\
mode = "paper"
state_dir = "state"

[accounts.paper]
broker = "alpaca"
strategy = "static"

[accounts.paper.broker_settings]
environment = "paper"
base_url = "http://127.0.0.1:9"
data_url = "http://127.0.0.1:9"

[accounts.paper.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
"""


def invoke(*args: str) -> tuple[int, str]:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "trimtab.toml"
    path.write_text(CONFIG)
    return str(path)


def test_the_brake_and_the_read_only_commands_need_no_keys(config: str) -> None:
    code, output = invoke("kill", "--reason", "incident", "-c", config)
    assert code == 0, output
    assert "kill switch engaged" in output
    code, output = invoke("status", "-c", config)
    assert code == 0, output
    assert "incident" in output
    assert invoke("audit", "verify", "-c", config)[0] == 0
    assert invoke("audit", "-c", config)[0] == 0
    assert invoke("orders", "-c", config)[0] == 0
    code, output = invoke("orders", "unresolved", "-c", config)
    assert code == 0, output
    assert "no unresolved orders" in output
    # No cycle ever ran: healthy apart from the missing daemon.
    assert invoke("health", "--no-daemon", "-c", config)[0] == 0
    code, output = invoke("resume", "-c", config)
    assert code == 0, output


@pytest.mark.parametrize(
    "args",
    [
        ("config", "check"),
        ("run", "--once"),
        ("plan",),
    ],
)
def test_commands_that_reach_the_broker_still_name_the_missing_keys(
    config: str, args: tuple[str, ...]
) -> None:
    code, output = invoke(*args, "-c", config)
    assert code == 2, output
    assert "Alpaca credentials missing: api_key_id, api_secret_key" in output
