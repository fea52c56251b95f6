"""`trimtab run --once` (a timer's cycle, no daemon) tells the owner what the daemon would: a
trip rule that halts the account is notified, makes the command exit 1 and fails `health`.

Before, the documented timer deployment halted in silence: exit 0, no notification, no alert,
`health --no-daemon` healthy, and the next cycle said "no orders to send".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging
from tests.fakes.receiver import Receiver, receiver


@pytest.fixture
def inbox() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


def invoke(*args: str) -> tuple[int, str]:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    return result.exit_code, result.output


def rejecting(example: Path) -> Path:
    """The example's IRA, with every symbol refused by the sim: three rejections trip it."""
    text = example.read_text().replace(
        "[accounts.ira.broker_settings]\n",
        '[accounts.ira.broker_settings]\nfaults = { reject_symbols = ["VTI", "VXUS", "BND"] }\n',
    )
    example.write_text(text)
    return example


def test_a_trip_is_notified_exits_1_and_fails_health(
    example: Path, inbox: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = str(rejecting(example))
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps([inbox.url()]))
    code, output = invoke("run", "--once", "-a", "ira", "--force", "-c", config)
    assert code == 1, output
    assert "ira: HALTED" in output
    assert "trimtab resume -a ira" in output
    titles = [m["title"] for m in inbox.wait_for(2)]
    assert "trimtab: ira is now HALTED" in titles
    assert any(t.startswith("trimtab: ira placed 3 order(s)") for t in titles), titles

    code, output = invoke("health", "--no-daemon", "-c", config)
    assert code == 1, output
    assert "HALTED" in output

    # The next cycle names the halt, not "no orders to send", and still exits 1.
    code, output = invoke("run", "--once", "-a", "ira", "--force", "-c", config)
    assert code == 1, output
    assert "account halted" in output
    assert "no orders to send" not in output


def test_a_withdrawal_not_raised_exits_1(example: Path) -> None:
    """A script that moves money out after `run --once --withdraw` must not go ahead when the
    slot had already run and nothing was raised (before: a skip, exit 0)."""
    config = str(example)
    code, output = invoke("run", "--once", "-a", "ira", "-c", config)
    assert code == 0, output
    code, output = invoke("run", "--once", "-a", "ira", "--withdraw", "500", "-c", config)
    assert code == 1, output
    assert "--withdraw not raised for ira" in output


def test_a_withdrawal_the_cycle_did_not_raise_exits_1(example: Path) -> None:
    """The kill switch kept the sales back: no cash was raised, and a script that moves the
    money out next must not go ahead (before: exit 0, only the plan's projection printed)."""
    config = str(example)
    assert invoke("run", "--once", "-a", "ira", "-c", config)[0] == 0
    assert invoke("kill", "--reason", "away", "-c", config)[0] == 0
    code, output = invoke(
        "run", "--once", "-a", "ira", "--force", "--withdraw", "5000", "-c", config
    )
    assert code == 1, output
    assert "--withdraw not raised for ira:" in output
    assert "of the $5,000.00 asked" in output
    assert "(why: `trimtab audit -a ira -k plan -k tax_decision`)" in " ".join(output.split())

    assert invoke("resume", "-c", config)[0] == 0
    code, output = invoke(
        "run", "--once", "-a", "ira", "--force", "--withdraw", "5000", "-c", config
    )
    assert code == 0, output
    assert "not raised" not in output
