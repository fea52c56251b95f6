"""`trimtab performance`, `trimtab flows` and `trimtab alerts` on the example configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
import typer
from typer.testing import CliRunner

from daemon.audit.events import Mismatch
from daemon.bootstrap import open_app
from daemon.cli import app as trimtab
from daemon.monitor.alerting import check_alerts
from daemon.store.audit_log import AuditLog
from tests.fakes.audit import reconciled

REPO = Path(__file__).resolve().parents[2]
# Monday 2026-03-02, 16:10 in New York: after the close.
DAY1 = datetime(2026, 3, 2, 21, 10, tzinfo=UTC)

cli = trimtab
TRIMTAB = Path(sys.executable).parent / "trimtab"


def run(app: typer.Typer, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def test_record_flows_and_show(example: Path) -> None:
    c = ("--config", str(example))
    with time_machine.travel(DAY1, tick=False):
        recorded = run(cli, "performance", "record", *c)
    assert "brokerage: $100,000.00" in recorded
    with time_machine.travel(DAY1 + timedelta(days=1), tick=False):
        run(trimtab, "sim", "deposit", "2500", "--account", "brokerage", *c)
        # A sim deposit is a flow at once, before any cycle reads the broker again.
        listed = json.loads(run(cli, "flows", "list", "-a", "brokerage", "--json", *c))
        assert [f["amount"] for f in listed] == ["100000", "2500"]
        run(cli, "performance", "record", "--account", "brokerage", *c)
        for _ in range(2):
            # Dated after the first valuation (2026-03-02 16:10 New York): one at that day's
            # close would change no return, and is refused.
            run(cli, "flows", "add", "-a", "ira", "--amount", "-100", "--date", "2026-03-03",
                "--ref", "w1", *c)  # fmt: skip
        flows = json.loads(run(cli, "flows", "list", "--json", *c))
        views = json.loads(run(cli, "performance", "show", "--json", *c))
        text = run(cli, "performance", "show", "-a", "brokerage", *c)
    assert [(f["account"], f["amount"], f["source"]) for f in flows] == [
        ("brokerage", "100000", "sim"),
        ("brokerage", "2500", "sim"),
        ("ira", "40000", "sim"),
        ("ira", "-100", "manual"),
    ]
    assert [v["account"] for v in views] == ["brokerage", "ira", None]
    brokerage, ira, household = views
    assert Decimal(brokerage["value"]) == Decimal("102500")
    assert Decimal(household["value"]) == Decimal(brokerage["value"]) + Decimal(ira["value"])
    # Cash only, and the deposit is a flow: no return at all.
    assert float(brokerage["summary"]["returns"]["since_start"]) == 0.0
    assert float(household["summary"]["returns"]["since_start"]) == 0.0
    assert brokerage["benchmark"] == "VTI"
    assert "return (TWR)" in text
    assert "VTI" in text
    assert run(cli, "alerts", *c).strip() == "no alerts firing"
    assert json.loads(run(cli, "alerts", "--all", "--json", *c)) == []


def test_bad_input_is_named_and_nothing_recorded(example: Path) -> None:
    c = ("--config", str(example))
    bad_amount = CliRunner().invoke(
        cli, ["flows", "add", "-a", "ira", "--amount", "ten", "--date", "2026-03-02", *c]
    )
    assert bad_amount.exit_code == 2
    assert "amount 'ten' is not a number" in bad_amount.output
    unknown = CliRunner().invoke(
        cli, ["flows", "add", "-a", "nope", "--amount", "5", "--date", "2026-03-02", *c]
    )
    assert unknown.exit_code == 2
    assert "no account nope" in unknown.output
    bad_day = CliRunner().invoke(
        cli, ["flows", "add", "-a", "ira", "--amount", "5", "--date", "March 2", *c]
    )
    assert bad_day.exit_code == 2
    assert json.loads(run(cli, "flows", "list", "--json", *c)) == []


@pytest.mark.slow
def test_the_installed_command_records_and_lists(example: Path) -> None:
    def trimtab_process(*args: str) -> str:
        result = subprocess.run(
            [str(TRIMTAB), *args, "--config", str(example)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "ira: $40,000.00" in trimtab_process("performance", "record")
    flows = json.loads(trimtab_process("flows", "list", "--json"))
    assert {(f["account"], f["amount"]) for f in flows} == {
        ("brokerage", "100000"),
        ("ira", "40000"),
    }
    assert json.loads(trimtab_process("alerts", "--json")) == []


def test_alerts_lists_what_fires(example: Path) -> None:
    app = open_app(example)
    try:
        with app.database.transaction() as session:
            AuditLog(session).append(
                reconciled({"VTI": Mismatch(expected=Decimal(10), broker=Decimal(12))}),
                at=app.clock(),
                account="ira",
            )
        check_alerts(database=app.database, settings=app.settings, account="ira", clock=app.clock)
    finally:
        app.close()
    c = ("--config", str(example))
    text = " ".join(run(cli, "alerts", *c).split())  # rich wraps long lines
    assert "ira reconciliation_mismatch [firing] since" in text
    assert "VTI: trimtab expected 10, the broker has 12" in text
    (listed,) = json.loads(run(cli, "alerts", "-a", "ira", "--json", *c))
    assert (listed["key"], listed["state"], listed["episodes"]) == (
        "reconciliation_mismatch",
        "firing",
        1,
    )
    assert json.loads(run(cli, "alerts", "-a", "brokerage", "--json", *c)) == []
