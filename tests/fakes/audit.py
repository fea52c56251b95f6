"""Audit events and records made by hand, for tests of what reads them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from daemon.audit.events import (
    AuditEvent,
    CycleFinished,
    CycleStarted,
    Mismatch,
    PlanMade,
    Reconciled,
    SentOrder,
    encode,
)
from daemon.audit.record import AuditRecord
from daemon.core.domain import Mode, OrderStatus, Side
from daemon.core.planner import Plan, PlannedOrder
from daemon.core.risk import CheckDecision


def reconciled(mismatches: Mapping[str, Mismatch]) -> Reconciled:
    """Return a reconciliation that found only `mismatches` (no fills, orders or cash)."""
    return Reconciled(
        baseline=False,
        cash=Decimal(0),
        positions={},
        new_fills=(),
        external_fills=(),
        external_open_orders=(),
        unresolved_symbols=(),
        mismatches=mismatches,
    )


def audit_record(
    event: AuditEvent,
    *,
    at: datetime,
    cycle_id: str | None,
    account: str = "a",
    seq: int = 0,
) -> AuditRecord:
    """Return `event` as a stored record would read back (without a chain)."""
    return AuditRecord(seq, at, str(event.KIND), account, cycle_id, encode(event), "", "")


def started(*, submit: bool, mode: Mode = Mode.PAPER) -> CycleStarted:
    return CycleStarted(mode=mode, submit=submit, slot="close", broker="sim", strategy="fixed")


def planned(orders: int) -> PlanMade:
    """Return a plan of `orders` buys of VTI (no drift table)."""
    order = PlannedOrder("VTI", Side.BUY, Decimal(1), Decimal(100), Decimal(100), "drifted")
    plan = Plan(
        orders=(order,) * orders,
        drift=(),
        nav=Decimal(1000),
        cash_before=Decimal(1000),
        cash_after=Decimal(1000) - 100 * orders,
        triggered=orders > 0,
        notes=(),
    )
    return PlanMade(plan=plan, prices_as_of={})


def finished(
    outcome: str = "succeeded",
    *,
    submitted: bool = True,
    planned_orders: int = 0,
    sent: int = 0,
    why_not_submitted: str = "",
    skipped_count: int | None = None,
) -> CycleFinished:
    """Return a cycle's end; `sent` orders of VTI, all filled."""
    order = SentOrder("VTI", Side.BUY, Decimal(1), OrderStatus.FILLED, "tt-1")
    return CycleFinished(
        outcome=outcome,
        submitted=submitted,
        why_not_submitted=why_not_submitted,
        planned_orders=planned_orders,
        orders=(order,) * sent,
        skipped_count=skipped_count,
    )


def decision(
    symbol: str, side: Side, qty: str, *, allowed: bool, check: str, reason: str
) -> CheckDecision:
    """Return one pre-trade check's decision on an order valued at $100 a share."""
    return CheckDecision(
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        notional=Decimal(qty) * 100,
        allowed=allowed,
        check=check,
        reason=reason,
        passed=(),
    )
