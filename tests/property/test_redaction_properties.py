"""A secret is never in what the audit log and the report send out: not as written, not as
HTML escapes it, not as JSON escapes it, whatever characters it holds."""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from daemon.audit.export import export_line, scrubbed
from daemon.audit.record import AuditRecord
from daemon.audit.view import summarize
from daemon.core.redaction import REDACTED, redact_data
from daemon.report.model import (
    AccountReport,
    CycleLine,
    DailyReport,
    FlowTotals,
    HealthSection,
    Refusal,
    TaxSection,
    ValueSection,
)
from daemon.report.writer import render_page
from tests.hypothesis_profiles import scaled

AT = datetime(2026, 11, 24, 21, 5, tzinfo=UTC)
PLACEHOLDER = "PLACEHOLDER"
SECRETS = st.text(alphabet="&<>\"'\\XYZ019", min_size=4, max_size=12)


def forms(secret: str) -> set[str]:
    return {
        secret,
        str(escape(secret)),
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def record(secret: str) -> AuditRecord:
    said = f"webhook refused: json://alice:{secret}@host/x"
    return AuditRecord(
        seq=7,
        recorded_at=AT,
        kind="cycle_failed",
        account="ira",
        cycle_id="ira-2026-11-24-close",
        payload={"error_type": "OSError", "error": said, "detail": [said, {said: said}]},
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def report(secret: str) -> DailyReport:
    said = f"webhook refused: {secret}"
    value = ValueSection(
        value=Decimal(1000),
        cash=Decimal(10),
        previous_value=None,
        day_flow=Decimal(0),
        flows=FlowTotals(),
        valued_at=AT,
    )
    account = AccountReport(
        name="ira",
        type="traditional_ira",
        value=value,
        allocation=(),
        drift=(),
        cycles=(CycleLine("c1", AT, "paper", "failed", said),),
        orders=(),
        refusals=(Refusal("c1", AT, "kill switch", "buy", "VTI", Decimal(1), "kill", said),),
        performance=None,
        concentration=None,
        notes=(said,),
    )
    return DailyReport(
        day=date(2026, 11, 24),
        generated_at=AT,
        timezone="America/New_York",
        mode="paper",
        benchmark=None,
        accounts=(account,),
        household=value,
        household_performance=None,
        household_concentration=None,
        household_series=(),
        benchmark_series=(),
        tax=TaxSection(available=False, note=said, year=2026),
        health=HealthSection(
            checked_at=AT,
            heartbeat=said,
            heartbeat_ok=False,
            kill_switch_engaged=True,
            kill_switch_detail=f"engaged: {said}",
            trading_states={"ira": ("halted", said)},
            broker={"ira": (False, said)},
            warnings=(f"ira: {said}",),
        ),
        audit_head=(7, "1" * 64),
    )


@given(SECRETS)
@example("Pa55&word\"<1'\\")
@example("&amp")
@settings(max_examples=scaled(200))
def test_exports_and_listings_hold_no_form_of_the_secret(secret: str) -> None:
    # A form the record's own structure holds anyway (JSON's `", "`) says nothing.
    baseline = export_line(record(PLACEHOLDER), {secret})
    wanted = {f for f in forms(secret) if f not in baseline and f not in REDACTED}
    line = export_line(record(secret), {secret})
    assert json.loads(line)["redacted"] is True
    table = summarize(scrubbed(record(secret), {secret}))
    for form in wanted:
        assert form not in line
    assert secret not in table


@given(SECRETS)
@example("Pa55&word\"<1'\\")
@settings(max_examples=scaled(20))
def test_the_page_holds_no_form_of_the_secret(secret: str) -> None:
    baseline = render_page(report(PLACEHOLDER), {secret})
    wanted = {f for f in forms(secret) if f not in baseline}
    assume(wanted)
    page = render_page(report(secret), {secret})
    assert "webhook refused: [redacted]" in page
    for form in wanted:
        assert form not in page


def test_scrubbing_leaves_what_holds_no_secret_as_it_is() -> None:
    clean = report("nothing")
    assert redact_data(clean, {"Pa55&word"}) is clean
    dirty = redact_data(report("Pa55&word"), {"Pa55&word"})
    assert dirty.health.trading_states == {"ira": ("halted", "webhook refused: [redacted]")}
    assert dirty.accounts[0].notes == ("webhook refused: [redacted]",)
