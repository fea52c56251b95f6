"""`trimtab income` on a copy of the demo with an [income] table, in-process."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.audit.events import IncomeRefused
from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.store.audit_log import AuditLog
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)

REPO = Path(__file__).resolve().parents[2]
INCOME = """
[income]
account = "brokerage"
monthly_amount = "{amount}"
payout_day = 15
yields = {{ BND = 0.035, VTI = 0.014, VXUS = 0.03 }}
"""

pytestmark = pytest.mark.usefixtures("fresh_logging")


def _invoke(*args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout, result.stderr


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    _invoke("run", "--once", "-c", str(config))
    return config


def test_the_next_12_months_and_the_next_payout(demo: Path) -> None:
    demo.write_text(demo.read_text() + INCOME.format(amount="2500"))
    out, _ = _invoke("income", "--json", "-c", str(demo))
    seen = json.loads(out)
    months = seen["months"]
    assert len(months) == 12
    assert len({m["month"] for m in months}) == 12
    for m in months:
        withdrawal, dividends = Decimal(m["withdrawal"]), Decimal(m["dividends"])
        assert withdrawal == Decimal(2500)
        assert dividends > 0  # from the configured yields: the sim has no dividend history
        assert Decimal(m["gap"]) == max(withdrawal - dividends, Decimal(0))
    nxt = seen["next"]
    assert nxt["payout"] == months[0]["payout"]
    assert sum(Decimal(v) for v in nxt["withdrawals"].values()) >= Decimal(2500)
    assert Decimal(seen["shortfall"]) == 0
    # The demo's IRA runs on the first trading day of the month only: never between the 10th
    # and the 15th, so its share would not be raised, and the command says so.
    assert "ira" in nxt["withdrawals"]
    assert seen["unscheduled"] == ["ira"]
    table, _ = _invoke("income", "-c", str(demo))
    assert "Expected dividends" in table
    assert "next payout, raised today" in table
    assert "ira's schedule has no slot" in table


def test_a_plan_too_large_is_an_error_naming_the_fix_and_audited(demo: Path) -> None:
    demo.write_text(demo.read_text() + INCOME.format(amount="900000"))
    _, err = _invoke("income", "-c", str(demo), code=2)
    assert "the income plan needs $900,000" in err
    assert "lower income.monthly_amount" in err
    application = open_app(demo)
    try:
        with application.database.transaction() as session:
            refused = [
                r.event
                for r in AuditLog(session).records(kinds=["income_refused"])
                if isinstance(r.event, IncomeRefused)
            ]
    finally:
        application.close()
    assert [r.amount for r in refused] == [Decimal(900000)]
