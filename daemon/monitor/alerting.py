"""Check one account's alerts after a cycle (or at day end): gather, evaluate, record, send.

The inputs come from what trimtab already records: the valuation history (drawdown,
concentration), the `cycles` rows (failed or skipped cycles, the broker's failure streak),
the latest reconciliation audit record (mismatches), the latest `ledger_mismatch` record
(tax lots that differ from the broker's positions) and, after a cycle, its plan's drift
table. Episode states live in the `alerts` table; an alert that starts firing, or a firing
one that ends, is an audit record (kind `alert`); one that starts firing is also sent.
"""

from __future__ import annotations

__all__ = [
    "SENT_BY_SLOT_RUNNER",
    "alert_states",
    "check_alerts",
    "gather_inputs",
    "listed_alerts",
]

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from daemon.audit.events import AlertChanged, AuditKind, LotsMismatched, Reconciled
from daemon.config.settings import Settings
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import CASH, OrderStatus
from daemon.core.performance import concentration, current_drawdown, daily_returns
from daemon.core.planner.verdict import pool_band
from daemon.core.tax.mismatch import LotMismatch
from daemon.logs import get_logger
from daemon.monitor.alerts import (
    CYCLE_FAILED,
    CYCLE_SKIPPED,
    STATES,
    Alert,
    AlertInputs,
    AlertState,
    CycleStatus,
    DriftObservation,
    OrderAtIssue,
    State,
    Transition,
    advance,
    checked_families,
    evaluate_alerts,
    family_of,
)
from daemon.monitor.health import BROKER_ERRORS, RAN
from daemon.monitor.notify import Message
from daemon.store.alerts import AlertStore, StoredAlert
from daemon.store.audit_log import AuditLog
from daemon.store.cycles import CycleRecord, CycleStore
from daemon.store.db import Database, Transaction
from daemon.store.intents import IntentStore
from daemon.store.valuations import daily_series, latest_valuation

FINISHED = ("succeeded", "failed", "skipped")
SENT_BY_SLOT_RUNNER = frozenset({CYCLE_FAILED, CYCLE_SKIPPED})
"""Families the slot runner already sends its own message for (`daemon.monitor.messages`)."""
STREAK_LOOKBACK = 500
NEVER_REACHED_WINDOW = timedelta(days=1)
"""How long an order found never to have reached the broker keeps its alert's condition."""


def check_alerts(
    *,
    database: Database,
    settings: Settings,
    account: str,
    clock: Callable[[], datetime],
    notify: Callable[[Message], None] | None = None,
    report: CycleReport | None = None,
    already_sent: frozenset[str] = frozenset(),
) -> Transition:
    """Evaluate the account's alerts now; record and audit the changes; send what fired.

    `already_sent` names alert families the caller has told the owner about itself (the slot
    runner sends its own message for a failed cycle or skipped slots): they are recorded and
    audited, not sent twice.
    """
    thresholds = settings.alerts
    if not thresholds.enabled:
        return Transition((), (), ())
    now = clock()
    with database.transaction() as session:
        inputs = gather_inputs(session, account, now, report=report)
        alerts = evaluate_alerts(inputs, thresholds)
        stored = AlertStore(session)
        previous = alert_states(stored, account)
        transition = advance(
            previous,
            alerts,
            checked_families(inputs, thresholds),
            account=account,
            now=now,
        )
        stored.save(_stored(state) for state in transition.states)
        audit = AuditLog(session)
        for alert in transition.fired:
            audit.append(_fired(alert), at=now, account=account)
        for state in transition.cleared:
            audit.append(_cleared(state), at=now, account=account)
    log = get_logger(account=account)
    for alert in transition.fired:
        log.warning("alert_fired", key=alert.key, severity=alert.severity)
        if notify is not None and family_of(alert.key) not in already_sent:
            notify(_message(alert))
    for state in transition.cleared:
        log.info("alert_cleared", key=state.key)
        if notify is not None and family_of(state.key) not in already_sent:
            notify(_cleared_message(state))
    return transition


def gather_inputs(
    session: Transaction, account: str, now: datetime, *, report: CycleReport | None = None
) -> AlertInputs:
    """Collect what the alerts look at from the database (and the cycle just run)."""
    series = daily_series(session, account)
    drawdown = current_drawdown(daily_returns(series)) if series else None
    latest = latest_valuation(session, account)
    largest: tuple[str, float] | None = None
    if latest is not None:
        weights = concentration(latest.holdings, latest.equity)
        if weights.largest_symbol is not None:
            largest = (weights.largest_symbol, weights.largest_weight)
    recent = CycleStore(session).recent(account, outcomes=(*RAN, "skipped"), limit=STREAK_LOOKBACK)
    finished = next((row for row in recent if row.outcome in FINISHED), None)
    streak = []
    for row in recent:
        if row.outcome == "skipped":
            continue
        if not _broker_failure(row):
            break
        streak.append(row)
    return AlertInputs(
        account=account,
        at=now,
        drawdown=drawdown,
        out_of_band=_out_of_band(report),
        largest_holding=largest,
        concentration_known=latest is not None,
        last_cycle=None
        if finished is None
        else CycleStatus(
            finished.cycle_id, finished.outcome, finished.error, _broker_failure(finished)
        ),
        broker_down_since=streak[-1].started_at if streak else None,
        broker_known=bool(recent),
        mismatches=_latest_mismatches(AuditLog(session), account),
        unresolved_orders=_unresolved_orders(session, account),
        never_reached=_never_reached(session, account, now),
        ledger_mismatches=_ledger_mismatches(AuditLog(session), account),
    )


def _unresolved_orders(session: Transaction, account: str) -> tuple[OrderAtIssue, ...]:
    return tuple(
        OrderAtIssue(
            client_order_id=s.intent.client_order_id,
            symbol=s.intent.symbol,
            side=str(s.intent.side),
            status=str(s.status),
            since=s.created_at,
            detail=s.message or "no answer yet",
        )
        for s in IntentStore(session).unresolved(account)
    )


def _never_reached(session: Transaction, account: str, now: datetime) -> tuple[OrderAtIssue, ...]:
    store = IntentStore(session)
    found = []
    for change in store.moved_to(account, OrderStatus.NEVER_REACHED, now - NEVER_REACHED_WINDOW):
        stored = store.get(change.client_order_id)
        found.append(
            OrderAtIssue(
                client_order_id=change.client_order_id,
                symbol=stored.intent.symbol,
                side=str(stored.intent.side),
                status=str(stored.status),
                since=change.at,
                detail=stored.message,
            )
        )
    return tuple(found)


def alert_states(alerts: AlertStore, account: str) -> dict[str, AlertState]:
    """Return the account's stored episode states by key."""
    return {stored.key: _alert_state(stored) for stored in alerts.listed(account=account)}


def listed_alerts(
    alerts: AlertStore, *, account: str | None = None, firing_only: bool = True
) -> list[AlertState]:
    """Return the alerts firing now (or every condition watched), by account and key."""
    return [
        _alert_state(stored) for stored in alerts.listed(account=account, firing_only=firing_only)
    ]


def _alert_state(stored: StoredAlert) -> AlertState:
    return AlertState(
        account=stored.account,
        key=stored.key,
        state=_state(stored.state),
        severity="failure" if stored.severity == "failure" else "warning",
        since=stored.since,
        last_seen_at=stored.last_seen_at,
        fired_at=stored.fired_at,
        cleared_at=stored.cleared_at,
        message=stored.message,
        episodes=stored.episodes,
    )


def _stored(state: AlertState) -> StoredAlert:
    return StoredAlert(
        account=state.account,
        key=state.key,
        state=state.state,
        severity=state.severity,
        since=state.since,
        last_seen_at=state.last_seen_at,
        fired_at=state.fired_at,
        cleared_at=state.cleared_at,
        message=state.message,
        episodes=state.episodes,
    )


def _state(text: str) -> State:
    for known in STATES:
        if text == known:
            return known
    raise ValueError(f"unknown alert state {text!r} in the alerts table")


def _broker_failure(row: CycleRecord) -> bool:
    return row.outcome == "failed" and (row.error or "").startswith(BROKER_ERRORS)


def _out_of_band(report: CycleReport | None) -> tuple[DriftObservation, ...] | None:
    """Return the holdings the plan found outside their band; a primary and the alternates
    standing in for it once ("BBB with BBX"), with the weight and band the planner tested:
    each leg's own row, its target plus the pool's half-width, may well hold its weight."""
    if report is None or report.plan is None:
        return None
    rows = [r for r in report.plan.drift if r.managed and r.symbol != CASH]
    found = []
    for row in rows:
        if not row.out_of_band or (row.pool and row.pool != row.symbol):
            continue
        if not row.pool:
            found.append(DriftObservation(row.symbol, row.weight, row.low, row.high))
            continue
        pool = pool_band(rows, row)
        seen = DriftObservation(pool.name, pool.weight, pool.low, pool.high, key=row.symbol)
        found.append(seen)
    return tuple(found)


def _latest_mismatches(audit: AuditLog, account: str) -> dict[str, tuple[Decimal, Decimal]] | None:
    record = audit.latest(AuditKind.RECONCILIATION, account)
    if record is None:
        return None
    reconciled = record.event
    if not isinstance(reconciled, Reconciled):
        return None  # a record no event type reads tells nothing about positions
    return {s: (m.expected, m.broker) for s, m in reconciled.mismatches.items()}


def _ledger_mismatches(audit: AuditLog, account: str) -> tuple[LotMismatch, ...] | None:
    record = audit.latest(AuditKind.LEDGER_MISMATCH, account)
    if record is None or not isinstance(record.event, LotsMismatched):
        return None  # never compared, or a record no event type reads
    return tuple(LotMismatch(m.symbol, m.ledger, m.broker, m.held) for m in record.event.mismatches)


def _fired(alert: Alert) -> AlertChanged:
    return AlertChanged(
        key=alert.key,
        status="firing",
        severity=alert.severity,
        title=alert.title,
        detail=alert.detail,
        value=alert.value,
        threshold=alert.threshold,
        held_for_seconds=alert.hold.total_seconds(),
    )


def _cleared(state: AlertState) -> AlertChanged:
    return AlertChanged(
        key=state.key,
        status="cleared",
        severity=state.severity,
        since=state.since,
        fired_at=state.fired_at,
        episode=state.episodes,
    )


def _message(alert: Alert) -> Message:
    return Message(
        kind="health",
        key=f"alert:{alert.account}:{alert.key}",
        title=f"trimtab alert: {alert.title}",
        body=f"{alert.detail}\n\nOpen alerts: trimtab alerts -a {alert.account}",
        severity=alert.severity,
    )


def _cleared_message(state: AlertState) -> Message:
    return Message(
        kind="health",
        key=f"alert:{state.account}:{state.key}:cleared",
        title=f"trimtab: {state.account} {state.key} is over",
        body=f"The condition that fired at {state.fired_at:%Y-%m-%d %H:%M} UTC no longer holds.",
        severity="info",
    )
