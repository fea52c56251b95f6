"""Alerts checked against a real database: inputs gathered, episodes stored, audited, sent once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from daemon.audit.events import AuditKind, Mismatch
from daemon.config.settings import Settings
from daemon.core.cycle_report import CycleReport
from daemon.core.planner import DriftRow, Plan
from daemon.monitor.alerting import check_alerts
from daemon.monitor.notify import Message
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.models import CycleRow
from daemon.store.valuations import Valuation, ValuationSource, record_valuation
from tests.fakes.audit import reconciled as reconciliation

D = Decimal
T0 = datetime(2026, 3, 2, 20, 45, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _settings(**alerts: object) -> Settings:
    return Settings.model_validate(
        {
            "accounts": {
                "paper": {
                    "broker": "sim",
                    "strategy": "static",
                    "strategy_params": {"targets": {"VTI": "1"}},
                }
            },
            "alerts": {"concentration": "0.9", **alerts},
        }
    )


def _value(database: Database, at: datetime, equity: str, vti: str = "0") -> None:
    with database.transaction() as session:
        record_valuation(
            session,
            Valuation(
                account="paper",
                as_of=at,
                trading_day=at.date(),
                source=ValuationSource.EOD,
                ref="eod",
                equity=D(equity),
                cash=D(equity) - D(vti),
                positions_value=D(vti),
                holdings={"VTI": D(vti)} if D(vti) else {},
            ),
            now=at,
        )


def _check(
    database: Database, settings: Settings, clock: Clock, report: CycleReport | None = None
) -> list[Message]:
    sent: list[Message] = []
    check_alerts(
        database=database,
        settings=settings,
        account="paper",
        clock=clock,
        notify=sent.append,
        report=report,
    )
    return sent


def _alert_records(database: Database) -> list[tuple[str, str]]:
    with database.transaction() as session:
        return [
            (r.payload["key"], r.payload["status"])
            for r in AuditLog(session).records(kinds=[AuditKind.ALERT])
        ]


def test_a_drawdown_alert_is_sent_once_and_cleared_once(database: Database) -> None:
    settings, clock = _settings(), Clock()
    _value(database, T0, "1000")
    assert _check(database, settings, clock) == []
    _value(database, T0 + timedelta(days=1), "849")
    clock.now = T0 + timedelta(days=1, minutes=5)
    sent = _check(database, settings, clock)
    assert [m.key for m in sent] == ["alert:paper:drawdown"]
    assert "15.10% below its highest point" in sent[0].body
    clock.now += timedelta(hours=1)
    assert _check(database, settings, clock) == []
    _value(database, T0 + timedelta(days=2), "1000")
    clock.now = T0 + timedelta(days=2, minutes=5)
    cleared = _check(database, settings, clock)
    assert [m.key for m in cleared] == ["alert:paper:drawdown:cleared"]
    assert _alert_records(database) == [("drawdown", "firing"), ("drawdown", "cleared")]


def test_a_drawdown_just_short_of_the_threshold_says_nothing(database: Database) -> None:
    settings, clock = _settings(), Clock()
    _value(database, T0, "1000")
    _value(database, T0 + timedelta(days=1), "850.01")
    clock.now = T0 + timedelta(days=1)
    assert _check(database, settings, clock) == []
    _value(database, T0 + timedelta(days=2), "850")
    clock.now = T0 + timedelta(days=2)
    assert [m.key for m in _check(database, settings, clock)] == ["alert:paper:drawdown"]


def test_concentration_from_the_latest_valuation(database: Database) -> None:
    settings, clock = _settings(), Clock()
    _value(database, T0, "1000", vti="899.99")
    assert _check(database, settings, clock) == []
    _value(database, T0 + timedelta(hours=1), "1000", vti="900")
    clock.now += timedelta(hours=1)
    assert [m.key for m in _check(database, settings, clock)] == ["alert:paper:concentration"]


def _cycle(database: Database, at: datetime, outcome: str, error: str | None = None) -> None:
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=f"paper:{at.date()}:{at:%H%M%S}",
                account="paper",
                trading_day=at.date(),
                slot=f"{at:%H%M}",
                mode="paper",
                started_at=at,
                finished_at=at,
                outcome=outcome,
                error=error,
            )
        )


def test_failed_skipped_and_unreachable(database: Database) -> None:
    settings, clock = _settings(), Clock()
    _cycle(database, T0, "failed", "DataError: stale quotes for VTI")
    assert [m.key for m in _check(database, settings, clock)] == ["alert:paper:cycle_failed"]
    broken = "TransientBrokerError: snapshot failed 3 times"
    for minutes in (10, 20, 39):
        _cycle(database, T0 + timedelta(minutes=minutes), "failed", broken)
    clock.now = T0 + timedelta(minutes=39)
    # The first broker failure was 29 minutes ago: not yet.
    assert [m.key for m in _check(database, settings, clock)] == [
        "alert:paper:cycle_failed:cleared"
    ]
    _cycle(database, T0 + timedelta(minutes=40), "failed", broken)
    clock.now = T0 + timedelta(minutes=40)
    assert [m.key for m in _check(database, settings, clock)] == ["alert:paper:broker_unreachable"]
    _cycle(database, T0 + timedelta(minutes=50), "skipped", "trimtab was not running")
    clock.now = T0 + timedelta(minutes=50)
    # A skipped slot neither ends nor extends the broker's failure streak.
    assert [m.key for m in _check(database, settings, clock)] == ["alert:paper:cycle_skipped"]
    _cycle(database, T0 + timedelta(minutes=60), "succeeded")
    clock.now = T0 + timedelta(minutes=60)
    assert sorted(m.key for m in _check(database, settings, clock)) == [
        "alert:paper:broker_unreachable:cleared",
        "alert:paper:cycle_skipped:cleared",
    ]


def test_a_reconciliation_mismatch_fires_once(database: Database) -> None:
    settings, clock = _settings(), Clock()

    def reconciled(mismatches: dict[str, Mismatch]) -> None:
        with database.transaction() as session:
            AuditLog(session).append(reconciliation(mismatches), at=clock(), account="paper")

    reconciled({"VTI": Mismatch(expected=D(10), broker=D(12))})
    sent = _check(database, settings, clock)
    assert [m.key for m in sent] == ["alert:paper:reconciliation_mismatch"]
    assert "VTI: trimtab expected 10, the broker has 12" in sent[0].body
    assert sent[0].severity == "failure"
    clock.now += timedelta(minutes=5)
    assert _check(database, settings, clock) == []
    reconciled({})
    clock.now += timedelta(minutes=5)
    assert [m.key for m in _check(database, settings, clock)] == [
        "alert:paper:reconciliation_mismatch:cleared"
    ]


def _report(bnd_weight: str) -> CycleReport:
    def row(symbol: str, weight: str, out: bool) -> DriftRow:
        return DriftRow(
            symbol, D(1), D(1), D(1), D(weight), D("0.4"), D("0.35"), D("0.45"), out, True,
            D(1), D(weight), "",
        )  # fmt: skip

    drift = (row("BND", bnd_weight, D(bnd_weight) > D("0.45")), row("VTI", "0.5", False))
    plan = Plan((), drift, D(1000), D(0), D(0), False, ())
    return CycleReport("paper:c", "paper", "succeeded", False, plan=plan)


def test_drift_outside_its_band_for_the_configured_days(database: Database) -> None:
    settings, clock = _settings(drift_days=3), Clock()
    for day in range(3):
        clock.now = T0 + timedelta(days=day)
        assert _check(database, settings, clock, _report("0.5")) == []
    # A check without a plan (a failed cycle, the day's end) keeps the wait going.
    clock.now = T0 + timedelta(days=3, minutes=-1)
    assert _check(database, settings, clock) == []
    clock.now = T0 + timedelta(days=3)
    sent = _check(database, settings, clock, _report("0.5"))
    assert [m.key for m in sent] == ["alert:paper:drift:BND"]
    assert "50.00% against a band of 35.00% to 45.00%" in sent[0].body
    clock.now = T0 + timedelta(days=4)
    assert _check(database, settings, clock, _report("0.5")) == []
    with database.transaction() as session:
        records = AuditLog(session).records(kinds=[AuditKind.ALERT])
    assert json.loads(json.dumps(records[0].payload))["held_for_seconds"] == str(3 * 86400.0)


def test_disabled_alerts_record_nothing(database: Database) -> None:
    settings, clock = _settings(enabled=False), Clock()
    _cycle(database, T0, "failed", "DataError: x")
    assert _check(database, settings, clock) == []
    assert _alert_records(database) == []
