"""What the daily report page says and how: code spans, times in the exchange's zone, plan
previews that are not cycles, days without a session, and the drift chart's axis."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.audit.events import AuditEvent, CycleStarted, RiskDecisions
from daemon.audit.record import AuditRecord
from daemon.core.domain import Mode, Side
from daemon.report.activity import cycles_of, plan_previews, refusals_of
from daemon.report.charts import drift_chart, drift_span
from daemon.report.data import session_on
from daemon.report.html import prose, zone_label
from daemon.report.model import DriftPoint
from tests.fakes.audit import audit_record, decision, finished, planned, started

NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
PREVIEW = "a:2026-11-24:plan-204500"


def record(event: AuditEvent, cycle_id: str, n: int) -> AuditRecord:
    return audit_record(event, at=T0 + timedelta(seconds=n), cycle_id=cycle_id, seq=n)


def preview_started() -> CycleStarted:
    # What `Engine.plan` records: no schedule slot, never submits.
    return CycleStarted(mode=Mode.PAPER, submit=False, slot=None, broker="sim", strategy="fixed")


def test_plan_previews_are_not_cycles_and_refuse_nothing() -> None:
    denied = RiskDecisions(
        (decision("BND", Side.SELL, "5", allowed=False, check="max_order_notional", reason="big"),)
    )
    records = [
        record(preview_started(), PREVIEW, 1),
        record(planned(1), PREVIEW, 2),
        record(denied, PREVIEW, 3),
        record(finished("planned", submitted=False, planned_orders=1, sent=0), PREVIEW, 4),
        record(started(submit=True), "a:2026-11-24:close", 5),
        record(denied, "a:2026-11-24:close", 6),
        record(finished("succeeded", planned_orders=1, sent=0), "a:2026-11-24:close", 7),
        # A preview that started before the period: only its end is here, its id tells.
        record(finished("planned", submitted=False), "a:2026-11-23:plan-235959", 8),
    ]
    assert [c.cycle_id for c in cycles_of(records)] == ["a:2026-11-24:close"]
    assert plan_previews(records) == {PREVIEW, "a:2026-11-23:plan-235959"}
    assert [r.cycle_id for r in refusals_of(records)] == ["a:2026-11-24:close"]


def test_a_slot_cycle_is_never_taken_for_a_preview() -> None:
    # A schedule slot may be called anything, even "plan-..."; its start record says it ran.
    cycle = "a:2026-11-24:plan-rebalance"
    records = [
        record(started(submit=True), cycle, 1),
        record(finished("succeeded", planned_orders=0, sent=0), cycle, 2),
    ]
    assert plan_previews(records) == frozenset()
    assert [c.cycle_id for c in cycles_of(records)] == [cycle]


def test_code_spans_become_code_and_everything_else_is_escaped() -> None:
    text = prose("run `trimtab run --once` <now> & `a<b`", NEW_YORK)
    assert str(text) == (
        "run <code>trimtab run --once</code> &lt;now&gt; &amp; <code>a&lt;b</code>"
    )
    assert prose("an unpaired ` stays as it is", NEW_YORK) == "an unpaired ` stays as it is"


def test_utc_stamps_are_shown_in_the_exchanges_zone_and_say_so() -> None:
    winter = prose("`trimtab run` stopped at 2026-12-04 21:05:09 UTC", NEW_YORK)
    assert winter == "<code>trimtab run</code> stopped at 2026-12-04 16:05:09 EST"
    summer = prose("unreachable since 2026-07-01 13:30 UTC (12 min)", NEW_YORK)
    assert summer == "unreachable since 2026-07-01 09:30 EDT (12 min)"
    assert "UTC" not in prose("started 2026-11-24 14:31 UTC and never finished", NEW_YORK)


def test_the_zone_is_named_for_a_person() -> None:
    assert zone_label("America/New_York", date(2026, 12, 5)) == "New York time (EST)"
    assert zone_label("America/New_York", date(2026, 7, 5)) == "New York time (EDT)"
    assert zone_label("UTC", date(2026, 7, 5)) == "UTC"


def test_a_weekend_or_a_holiday_is_not_a_session() -> None:
    assert session_on("XNYS", date(2026, 12, 4)) == (True, None)
    assert session_on("XNYS", date(2026, 12, 5)) == (False, date(2026, 12, 4))
    assert session_on("XNYS", date(2026, 12, 6)) == (False, date(2026, 12, 4))
    assert session_on("XNYS", date(2026, 11, 26)) == (False, date(2026, 11, 25))  # Thanksgiving
    assert session_on("24/7", date(2026, 12, 5)) == (True, None)


def _points(days: list[date]) -> list[DriftPoint]:
    return [DriftPoint(d, "VTI", 0.61, 0.6, 0.57, 0.63) for d in days]


def test_the_drift_chart_is_labelled_with_the_span_it_shows_and_has_no_offset_text() -> None:
    two_days = _points([date(2026, 12, 3), date(2026, 12, 4)])
    assert drift_span(two_days) == (date(2026, 11, 20), date(2026, 12, 4))
    svg = drift_chart(two_days)
    assert 'aria-label="Drift from target, 20 Nov 2026 to 4 Dec 2026"' in svg
    labels = [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>([^<]*)<", svg)]
    assert not [t for t in labels if re.fullmatch(r"\d{4}-\w{3}(-\d{2})?", t)], labels
    # Every date tick names its month with its day (no bare "03" a reader must place).
    ticks = [t for t in labels if re.fullmatch(r"\d{1,2} \w{3}|\w{3} \d{4}", t)]
    assert len(ticks) >= 3, labels
    long = _points([date(2026, 9, 7) + timedelta(days=7 * n) for n in range(13)])
    assert drift_span(long) == (date(2026, 9, 7), date(2026, 11, 30))
