"""The report's pure parts: reading a day of audit records, what needs a look, number formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.audit.events import AuditEvent, CycleFailed, RiskDecisions, TaxDecisions
from daemon.audit.record import AuditRecord
from daemon.core.domain import Mode, Side
from daemon.core.tax.plan_types import TaxAction, TaxDecision, TaxPreview
from daemon.core.tax.types import LotMethod
from daemon.report import fmt
from daemon.report.activity import cycles_of, refusals_of
from tests.fakes.audit import audit_record, decision, finished, planned, started

T0 = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)


def record(
    event: AuditEvent, cycle_id: str | None = "a:2026-11-24:close", n: int = 0
) -> AuditRecord:
    return audit_record(event, at=T0 + timedelta(seconds=n), cycle_id=cycle_id, seq=n)


def test_cycles_are_read_with_their_outcomes() -> None:
    records = [
        record(started(submit=True, mode=Mode.PAPER), "a:1", 1),
        record(planned(2), "a:1", 2),
        record(finished("succeeded", planned_orders=2, sent=1), "a:1", 3),
        record(started(submit=True, mode=Mode.PAPER), "a:2", 4),
        record(CycleFailed(error_type="DataError", error="no price for BND"), "a:2", 5),
        record(started(submit=True, mode=Mode.LIVE), "a:3", 6),
        record(
            finished(
                "skipped", submitted=False, skipped_count=2, why_not_submitted="trimtab was down"
            ),
            "a:4",
            7,
        ),
    ]
    lines = cycles_of(records)
    assert [(c.cycle_id, c.outcome) for c in lines] == [
        ("a:1", "succeeded"),
        ("a:2", "failed"),
        ("a:3", "running"),
        ("a:4", "skipped"),
    ]
    assert lines[0].detail == "2 planned, 1 sent"
    assert lines[1].detail == "DataError: no price for BND"
    assert lines[3].detail == "2 slot(s) skipped: trimtab was down"
    assert lines[2].mode == "live"


def test_refusals_name_the_check_and_skip_what_was_allowed() -> None:
    decisions = (
        decision("VTI", Side.BUY, "3", allowed=True, check="all", reason=""),
        decision(
            "BND", Side.SELL, "5", allowed=False, check="max_order_notional", reason="too big"
        ),
        decision("VTI", Side.BUY, "2", allowed=False, check="kill_switch", reason="vacation"),
    )
    tax = (
        TaxDecision(
            TaxAction.BLOCKED, "VXUS", "loss sale window until 2026-12-20", Decimal(10), Decimal(0)
        ),
        TaxDecision(TaxAction.ALLOWED, "VTI", "small", Decimal(1), Decimal(1)),
        TaxDecision(TaxAction.BUDGET, "VTI", "gains budget", Decimal(8), Decimal(5)),
    )
    taxed = TaxDecisions(
        decisions=tax,
        preview=TaxPreview(),
        lots={},
        harvest=(),
        lot_method=LotMethod.FIFO,
        stand_ins=(),
    )
    refusals = refusals_of([record(RiskDecisions(decisions), n=1), record(taxed, n=2)])
    assert [(r.source, r.symbol, r.check, r.qty) for r in refusals] == [
        ("risk", "BND", "max_order_notional", Decimal(5)),
        ("kill switch", "VTI", "kill_switch", Decimal(2)),
        ("tax", "VXUS", "tax: buy blocked", Decimal(10)),
        ("tax", "VTI", "tax: sale cut by the gains budget", Decimal(3)),
    ]
    assert refusals[0].reason == "too big"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("-0.004"), "$0.00"),
        (Decimal("-12.345"), "−$12.35"),
        (None, "—"),
    ],
)
def test_money(value: Decimal | None, text: str) -> None:
    assert fmt.money(value) == text


def test_signs_and_percentages() -> None:
    assert fmt.signed_money(Decimal("3")) == "+$3.00"
    assert fmt.signed_money(Decimal("-3")) == "−$3.00"
    assert fmt.signed_pct(0.01234) == "+1.23%"
    assert fmt.signed_pct(-0.01234) == "−1.23%"
    assert fmt.neg_pct(0.125) == "−12.5%"
    assert fmt.neg_pct(0.0) == "0.0%"
    assert fmt.pp(-0.007) == "−0.7 pp"
    assert fmt.qty(Decimal("1234.500")) == "1,234.5"
    assert fmt.qty(Decimal("7")) == "7"
    assert fmt.price(Decimal("70.0")) == "$70.00"
    assert fmt.price(Decimal("70.1234")) == "$70.1234"
    assert fmt.tone(Decimal(0)) == ""
    assert fmt.tone(-1.0) == "down"
