"""Read one account's day of audit records into cycles and refused orders, for the report."""

from __future__ import annotations

__all__ = ["cycles_of", "plan_previews", "refusals_of"]

from collections.abc import Sequence

from daemon.audit.events import (
    AuditKind,
    CycleFailed,
    CycleFinished,
    CycleStarted,
    RiskDecisions,
    TaxDecisions,
)
from daemon.audit.record import AuditRecord
from daemon.core.risk import CheckDecision
from daemon.core.tax.plan_types import TaxDecision
from daemon.report.model import CycleLine, Refusal

KILL_SWITCH_CHECK = "kill_switch"
TAX_HELD_BACK = ("blocked", "deferred", "budget", "redirected", "unknown_basis")
"""Tax step actions that stop or cut an order (the others let it through or add one)."""


PREVIEW_MARK = ":plan-"
"""In the cycle id of a `trimtab plan` run (`account:day:plan-HHMMSS`), see `Engine.plan`."""


def plan_previews(records: Sequence[AuditRecord]) -> frozenset[str]:
    """Return the ids of `trimtab plan` runs among the records: plans shown to a person,
    never sent, and not cycles (a cycle runs a schedule slot, or `run --once`'s)."""
    slots = {
        r.cycle_id: r.event.slot
        for r in records
        if r.cycle_id is not None and isinstance(r.event, CycleStarted)
    }
    found = {cid for cid, slot in slots.items() if slot is None}
    # A run whose start record is not among these: its id tells.
    found.update(
        r.cycle_id
        for r in records
        if r.cycle_id is not None and r.cycle_id not in slots and PREVIEW_MARK in r.cycle_id
    )
    return frozenset(found)


def cycles_of(records: Sequence[AuditRecord]) -> tuple[CycleLine, ...]:
    """Return each cycle the records start or end, in the order they started; `trimtab plan`
    runs are not cycles and are left out (`plan_previews` counts them)."""
    previews = plan_previews(records)
    started: dict[str, AuditRecord] = {}
    ended: dict[str, AuditRecord] = {}
    order: list[str] = []
    for record in records:
        if record.cycle_id is None or record.cycle_id in previews:
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
    started = start.event if start else None
    mode = str(started.mode) if isinstance(started, CycleStarted) else ""
    if end is None:
        return CycleLine(cycle_id, first.recorded_at, mode, "running", "no end recorded")
    ended = end.event
    if isinstance(ended, CycleFailed):
        detail = f"{ended.error_type}: {ended.error}"
        return CycleLine(cycle_id, first.recorded_at, mode, "failed", detail)
    if not isinstance(ended, CycleFinished):
        return CycleLine(cycle_id, first.recorded_at, mode, "", f"unreadable record {end.seq}")
    if ended.outcome == "skipped":
        count = ended.skipped_count or 1
        detail = f"{count} slot(s) skipped: {ended.why_not_submitted}"
    else:
        why = ended.why_not_submitted
        detail = f"{ended.planned_orders} planned, {len(ended.orders)} sent" + (
            f" ({why})" if why else ""
        )
    return CycleLine(cycle_id, first.recorded_at, mode, ended.outcome, detail)


def refusals_of(records: Sequence[AuditRecord]) -> tuple[Refusal, ...]:
    """Return the orders the pre-trade checks denied and those the tax step held back, in
    cycles (a `trimtab plan` preview refuses nothing that was going to be sent)."""
    previews = plan_previews(records)
    found: list[Refusal] = []
    for record in records:
        if record.cycle_id in previews:
            continue
        event = record.event
        if isinstance(event, RiskDecisions):
            found += [_risk(record, d) for d in event.decisions if not d.allowed]
        elif isinstance(event, TaxDecisions):
            found += [_tax(record, d) for d in event.decisions if d.action in TAX_HELD_BACK]
    return tuple(found)


def _risk(record: AuditRecord, decision: CheckDecision) -> Refusal:
    return Refusal(
        cycle_id=record.cycle_id or "",
        at=record.recorded_at,
        source="kill switch" if decision.check == KILL_SWITCH_CHECK else "risk",
        side=str(decision.side),
        symbol=decision.symbol,
        qty=decision.qty,
        check=decision.check,
        reason=decision.reason,
    )


def _tax(record: AuditRecord, decision: TaxDecision) -> Refusal:
    return Refusal(
        cycle_id=record.cycle_id or "",
        at=record.recorded_at,
        source="tax",
        side="",  # a tax decision names the symbol and quantities, not the side
        symbol=decision.symbol,
        qty=decision.qty_before - decision.qty_after,
        check=f"tax: {decision.action.label}",
        reason=decision.reason,
    )
