"""One-paragraph, human-readable summaries of audit records, for `trimtab audit` and reports."""

from __future__ import annotations

__all__ = ["summarize"]

from collections.abc import Mapping
from decimal import Decimal

from daemon.audit.events import (
    AuditEvent,
    CashMovement,
    CycleFailed,
    CycleFinished,
    CycleStarted,
    KillSwitchChanged,
    OrderIntentSent,
    OrderResult,
    PlanMade,
    RawEvent,
    RiskDecisions,
    SnapshotTaken,
    TargetsChosen,
)
from daemon.audit.record import AuditRecord
from daemon.core.money import usd


def _money(value: Decimal | None) -> str:
    return str(value) if value is None else usd(value)


def _pct(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def _cycle_started(e: CycleStarted) -> str:
    what = "submit" if e.submit else "plan only"
    extra = f", withdrawal {_money(e.withdrawal)}" if e.withdrawal else ""
    return f"mode {e.mode}, {what}; broker {e.broker}, strategy {e.strategy}{extra}"


def _snapshot(e: SnapshotTaken) -> str:
    snap = e.snapshot
    synthetic = any(q.synthetic for q in snap.quotes.values())
    positions = ", ".join(f"{pos.qty} {pos.symbol}" for pos in snap.positions)
    prices = ", ".join(f"{s} {_money(q.price)}" for s, q in sorted(snap.quotes.items()))
    label = " (SYNTHETIC prices)" if synthetic else ""
    return (
        f"cash {_money(snap.cash)}; positions: {positions or 'none'}; "
        f"prices{label}: {prices or 'none'}"
    )


def _targets(e: TargetsChosen) -> str:
    return ", ".join(f"{s} {_pct(w)}" for s, w in e.targets.items())


def _plan(e: PlanMade) -> str:
    plan = e.plan
    lines = [
        f"{len(plan.orders)} order(s); rebalance "
        f"{'triggered' if plan.triggered else 'not needed'}; value {_money(plan.nav)}; "
        f"cash {_money(plan.cash_before)} -> {_money(plan.cash_after)}"
    ]
    lines += [f"  {order.reason}" for order in plan.orders]
    lines += [f"  drift {row.symbol}: {row.note}" for row in plan.drift if row.note]
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines)


def _decisions(e: RiskDecisions) -> str:
    allowed = sum(1 for d in e.decisions if d.allowed)
    lines = [f"{allowed} allowed, {len(e.decisions) - allowed} refused"]
    lines += [
        f"  refused {d.side} {d.qty} {d.symbol} by {d.check}: {d.reason}"
        for d in e.decisions
        if not d.allowed
    ]
    return "\n".join(lines)


def _intent(e: OrderIntentSent) -> str:
    i = e.intent
    return f"sending {i.client_order_id}: {i.side} {i.qty} {i.symbol} ({i.order_type})"


def _result(e: OrderResult) -> str:
    order = e.broker_order
    fill = ""
    if order is not None and order.avg_fill_price is not None:
        fill = f", filled {order.filled_qty} @ {_money(order.avg_fill_price)}"
    detail = f" ({e.detail})" if e.detail else ""
    ident = e.client_order_id or ""
    qty = "" if e.qty is None else e.qty
    return f"{ident} {e.side} {qty} {e.symbol}: {e.status}{fill}{detail}"


def _finished(e: CycleFinished) -> str:
    why = f" ({e.why_not_submitted})" if e.why_not_submitted else ""
    return f"{e.outcome}: {e.planned_orders} planned, {len(e.orders)} sent{why}"


def _kill(e: KillSwitchChanged) -> str:
    state = "ENGAGED" if e.engaged else "cleared"
    return f"kill switch {state} by {e.actor}: {e.reason}"


def _cash(e: CashMovement) -> str:
    return f"{e.kind} {_money(e.amount)}; cash now {_money(e.cash_after)}"


def _summary(event: AuditEvent | RawEvent) -> str | None:
    match event:
        case CycleStarted():
            return _cycle_started(event)
        case SnapshotTaken():
            return _snapshot(event)
        case TargetsChosen():
            return _targets(event)
        case PlanMade():
            return _plan(event)
        case RiskDecisions():
            return _decisions(event)
        case OrderIntentSent():
            return _intent(event)
        case OrderResult():
            return _result(event)
        case CycleFinished():
            return _finished(event)
        case CycleFailed():
            return f"{event.error_type}: {event.error}"
        case KillSwitchChanged():
            return _kill(event)
        case CashMovement():
            return _cash(event)
    return None


def summarize(record: AuditRecord) -> str:
    """Return a short text a person can read for `record`: its JSON for a kind without a
    summary, or for a payload its kind's event type cannot read."""
    try:
        summary = _summary(record.event)
    except ArithmeticError:  # a number too large to print as money: show it as stored
        summary = None
    if summary is not None:
        return summary
    # A payload edited into something other than an object is still shown, as it is.
    payload = record.payload
    return str(dict(payload)) if isinstance(payload, Mapping) else str(payload)
