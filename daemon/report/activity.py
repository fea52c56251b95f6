"""Read one account's day of audit records into cycles and refused orders, for the report."""

from __future__ import annotations

__all__ = ["cycles_of", "refusals_of"]

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from daemon.audit.log import AuditKind, AuditRecord
from daemon.report.model import CycleLine, Refusal

KILL_SWITCH_CHECK = "kill_switch"
TAX_HELD_BACK = ("blocked", "deferred", "budget", "redirected", "unknown_basis")
"""Tax step actions that stop or cut an order (the others let it through or add one)."""


def cycles_of(records: Sequence[AuditRecord]) -> tuple[CycleLine, ...]:
    """Return each cycle the records start or end, in the order they started."""
    started: dict[str, AuditRecord] = {}
    ended: dict[str, AuditRecord] = {}
    order: list[str] = []
    for record in records:
        if record.cycle_id is None:
            continue
        if record.kind == AuditKind.CYCLE_STARTED:
            started[record.cycle_id] = record
        elif record.kind in (AuditKind.CYCLE_FINISHED, AuditKind.CYCLE_FAILED):
            ended[record.cycle_id] = record
        else:
            continue
        if record.cycle_id not in order:
            order.append(record.cycle_id)
    return tuple(_cycle(cid, started.get(cid), ended.get(cid)) for cid in order)


def _cycle(cycle_id: str, start: AuditRecord | None, end: AuditRecord | None) -> CycleLine:
    first = start or end
    assert first is not None  # every listed id has one of the two
    mode = str(start.payload.get("mode", "")) if start else ""
    if end is None:
        return CycleLine(cycle_id, first.recorded_at, mode, "running", "no end recorded")
    p = end.payload
    if end.kind == AuditKind.CYCLE_FAILED:
        return CycleLine(
            cycle_id, first.recorded_at, mode, "failed", f"{p.get('error_type')}: {p.get('error')}"
        )
    outcome = str(p.get("outcome", ""))
    if outcome == "skipped":
        count = p.get("skipped_count", 1)
        detail = f"{count} slot(s) skipped: {p.get('why_not_submitted', '')}"
    else:
        sent = len(p.get("orders", []))
        why = p.get("why_not_submitted")
        detail = f"{p.get('planned_orders', 0)} planned, {sent} sent" + (f" ({why})" if why else "")
    return CycleLine(cycle_id, first.recorded_at, mode, outcome, detail)


def refusals_of(records: Sequence[AuditRecord]) -> tuple[Refusal, ...]:
    """Return the orders the pre-trade checks denied and those the tax step held back."""
    found: list[Refusal] = []
    for record in records:
        if record.kind == AuditKind.RISK_DECISION:
            found += [
                _risk(record, d) for d in record.payload.get("decisions", []) if not d["allowed"]
            ]
        elif record.kind == AuditKind.TAX_DECISION:
            found += [
                _tax(record, d)
                for d in record.payload.get("decisions", [])
                if d.get("action") in TAX_HELD_BACK
            ]
    return tuple(found)


def _risk(record: AuditRecord, decision: Mapping[str, Any]) -> Refusal:
    check = str(decision["check"])
    return Refusal(
        cycle_id=record.cycle_id or "",
        at=record.recorded_at,
        source="kill switch" if check == KILL_SWITCH_CHECK else "risk",
        side=str(decision["side"]),
        symbol=str(decision["symbol"]),
        qty=Decimal(str(decision["qty"])),
        check=check,
        reason=str(decision["reason"]),
    )


def _tax(record: AuditRecord, decision: Mapping[str, Any]) -> Refusal:
    before = Decimal(str(decision.get("qty_before", "0")))
    after = Decimal(str(decision.get("qty_after", "0")))
    return Refusal(
        cycle_id=record.cycle_id or "",
        at=record.recorded_at,
        source="tax",
        side="",  # a tax decision names the symbol and quantities, not the side
        symbol=str(decision.get("symbol", "")),
        qty=before - after,
        check=f"tax: {decision.get('action')}",
        reason=str(decision.get("reason", "")),
    )
