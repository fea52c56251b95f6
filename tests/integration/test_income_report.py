"""The report's income section, read back from real audit records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from daemon.audit.events import IncomePlanned, IncomeRaised, IncomeRefused, IncomeTransfer
from daemon.config.settings import load_config
from daemon.report.income import gather_income, income_chart
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database

D = Decimal
CONFIG = """
[accounts.taxable]
strategy = "static"
[accounts.taxable.strategy_params]
targets = { VTI = "1" }
[accounts.ira]
type = "traditional_ira"
strategy = "static"
[accounts.ira.strategy_params]
targets = { BND = "1" }
[income]
account = "taxable"
{amount}
payout_day = 15
"""


def _plan(month: str, payout: date, amount: Decimal) -> IncomePlanned:
    return IncomePlanned(
        month=month,
        payout=payout,
        amount=amount,
        withdrawals={"taxable": amount - 100, "ira": D(100)},
        from_cash={"taxable": D(50)},
        sales=(),
        skipped=(),
        transfers=(IncomeTransfer("ira", "taxable", D(100), "a distribution"),),
    )


def test_months_paid_raising_refused_and_planned(tmp_path: Path, database: Database) -> None:
    path = tmp_path / "trimtab.toml"
    path.write_text(CONFIG.replace("{amount}", 'monthly_amount = "1000"'))
    settings = load_config(path)
    with database.transaction() as session:
        log = AuditLog(session)
        at = datetime(2026, 10, 12, 20, tzinfo=UTC)
        log.append(_plan("2026-10", date(2026, 10, 15), D(1000)), at=at, account="taxable")
        log.append(IncomeRaised("2026-10", D(900), D(1500)), at=at, account="taxable")
        log.append(IncomeRaised("2026-10", D(100), D(100)), at=at, account="ira")
        at = datetime(2026, 11, 10, 20, tzinfo=UTC)
        log.append(IncomeRefused("2026-11", D(1000), D(10), "too large", "lower it"), at=at)
        at = datetime(2026, 12, 10, 20, tzinfo=UTC)
        log.append(_plan("2026-12", date(2026, 12, 15), D(1000)), at=at, account="taxable")
        log.append(IncomeRaised("2026-12", D(900), D(1500)), at=at, account="taxable")
    with database.transaction() as session:
        section = gather_income(AuditLog(session), settings, date(2026, 12, 11), D(50_000))
    assert section is not None
    by = {m.month: m for m in section.months}
    assert by["2026-10"].status == "paid"
    assert by["2026-10"].raised == D(1000)
    assert by["2026-10"].transfers == ("$100.00 from ira to taxable",)
    assert by["2026-11"].status == "refused"
    assert by["2026-12"].status == "raising"  # the IRA's share is not raised yet
    assert by["2027-01"].status == "planned"
    assert by["2027-01"].planned == D(1000)
    assert "2026-09" not in by  # before the plan ran: nothing to say
    assert section.received == D(1000)
    svg = income_chart(section)
    assert svg.startswith("<svg")
    assert "refused" in svg


def test_a_share_of_the_household_and_no_plan(tmp_path: Path, database: Database) -> None:
    path = tmp_path / "trimtab.toml"
    path.write_text(CONFIG.replace("{amount}", "annual_pct = 0.06"))
    settings = load_config(path)
    with database.transaction() as session:
        section = gather_income(AuditLog(session), settings, date(2026, 12, 11), D(200_000))
        assert section is not None
        assert {m.planned for m in section.months} == {D(1000)}
        path.write_text(CONFIG.split("[income]", maxsplit=1)[0])
        assert gather_income(AuditLog(session), load_config(path), date(2026, 12, 11), None) is None
