"""One-paragraph, human-readable summaries of audit records, for `trimtab audit` and reports."""

from __future__ import annotations

__all__ = ["summarize"]

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from daemon.audit.log import AuditKind, AuditRecord
from daemon.core.money import usd


def _money(text: Any) -> str:
    try:
        return usd(Decimal(str(text)))
    except ArithmeticError:
        return str(text)


def _pct(text: Any) -> str:
    return f"{Decimal(str(text)) * 100:.1f}%"


def _cycle_started(p: Mapping[str, Any]) -> str:
    what = "submit" if p.get("submit") else "plan only"
    extra = (
        f", withdrawal {_money(p['withdrawal'])}" if p.get("withdrawal") not in (None, "0") else ""
    )
    return (
        f"mode {p.get('mode')}, {what}; broker {p.get('broker')}, "
        f"strategy {p.get('strategy')}{extra}"
    )


def _snapshot(p: Mapping[str, Any]) -> str:
    snap = p["snapshot"]
    quotes = snap.get("quotes", {})
    synthetic = any(q.get("synthetic") for q in quotes.values())
    positions = ", ".join(f"{pos['qty']} {pos['symbol']}" for pos in snap.get("positions", []))
    prices = ", ".join(f"{s} {_money(q['price'])}" for s, q in sorted(quotes.items()))
    label = " (SYNTHETIC prices)" if synthetic else ""
    return (
        f"cash {_money(snap['cash'])}; positions: {positions or 'none'}; "
        f"prices{label}: {prices or 'none'}"
    )


def _targets(p: Mapping[str, Any]) -> str:
    return ", ".join(f"{s} {_pct(w)}" for s, w in p["targets"].items())


def _plan(p: Mapping[str, Any]) -> str:
    plan = p["plan"]
    lines = [
        f"{len(plan['orders'])} order(s); rebalance "
        f"{'triggered' if plan['triggered'] else 'not needed'}; value {_money(plan['nav'])}; "
        f"cash {_money(plan['cash_before'])} -> {_money(plan['cash_after'])}"
    ]
    lines += [f"  {order['reason']}" for order in plan["orders"]]
    lines += [f"  drift {row['symbol']}: {row['note']}" for row in plan["drift"] if row["note"]]
    lines += [f"  note: {note}" for note in plan["notes"]]
    return "\n".join(lines)


def _decisions(p: Mapping[str, Any]) -> str:
    decisions = p["decisions"]
    allowed = sum(1 for d in decisions if d["allowed"])
    lines = [f"{allowed} allowed, {len(decisions) - allowed} refused"]
    lines += [
        f"  refused {d['side']} {d['qty']} {d['symbol']} by {d['check']}: {d['reason']}"
        for d in decisions
        if not d["allowed"]
    ]
    return "\n".join(lines)


def _intent(p: Mapping[str, Any]) -> str:
    i = p["intent"]
    return (
        f"sending {i['client_order_id']}: {i['side']} {i['qty']} {i['symbol']} ({i['order_type']})"
    )


def _result(p: Mapping[str, Any]) -> str:
    order = p.get("broker_order") or {}
    fill = ""
    if order.get("avg_fill_price") is not None:
        fill = f", filled {order['filled_qty']} @ {_money(order['avg_fill_price'])}"
    detail = f" ({p['detail']})" if p.get("detail") else ""
    ident = p.get("client_order_id", "")
    return f"{ident} {p.get('side')} {p.get('qty', '')} {p['symbol']}: {p['status']}{fill}{detail}"


def _finished(p: Mapping[str, Any]) -> str:
    why = f" ({p['why_not_submitted']})" if p.get("why_not_submitted") else ""
    sent = len(p.get("orders", []))
    return f"{p['outcome']}: {p['planned_orders']} planned, {sent} sent{why}"


def _failed(p: Mapping[str, Any]) -> str:
    return f"{p['error_type']}: {p['error']}"


def _kill(p: Mapping[str, Any]) -> str:
    state = "ENGAGED" if p["engaged"] else "cleared"
    return f"kill switch {state} by {p['actor']}: {p['reason']}"


def _cash(p: Mapping[str, Any]) -> str:
    return f"{p.get('kind')} {_money(p.get('amount'))}; cash now {_money(p.get('cash_after'))}"


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    AuditKind.CYCLE_STARTED: _cycle_started,
    AuditKind.SNAPSHOT: _snapshot,
    AuditKind.TARGETS: _targets,
    AuditKind.PLAN: _plan,
    AuditKind.RISK_DECISION: _decisions,
    AuditKind.ORDER_INTENT: _intent,
    AuditKind.ORDER_RESULT: _result,
    AuditKind.CYCLE_FINISHED: _finished,
    AuditKind.CYCLE_FAILED: _failed,
    AuditKind.KILL_SWITCH: _kill,
    AuditKind.CASH_MOVEMENT: _cash,
}


def summarize(record: AuditRecord) -> str:
    """Return a short text a person can read for `record` (raw JSON for unknown kinds)."""
    summary = _SUMMARIES.get(record.kind)
    if summary is None:
        return str(dict(record.payload))
    try:
        return summary(record.payload)
    except (KeyError, TypeError, AttributeError, ArithmeticError):
        return str(dict(record.payload))
