"""Order intents whose fate at the broker is not settled: resolved by asking, never by resending.

An intent is unresolved while it is SUBMITTING (trimtab stopped between writing it and
hearing back) or UNKNOWN (the broker's answer was lost: a 504, a dropped connection), or
still open at the broker. Each cycle starts by looking every one up by its client order id:

- found: the broker's report is adopted (`IntentStore.apply`);
- not found: final only under the broker's own `AbsenceRule` (the `OrderAbsence`
  capability): its grace since the submission is over, and, where the rule asks, the
  broker's order listing covering the submission misses the id too. The intent is then
  NEVER_REACHED (audited `order_result` + `order_settled`, alerted), and its symbol may be
  planned again. An order the listing does hold is adopted from it.
- otherwise it stays unresolved and its symbol blocked; a broker without the capability
  never makes "not found" final, so the operator settles it (`settle`, through
  `trimtab orders settle`) after looking at the account.

An order found still working is cancelled here, as the executor would have at the end of its
fill wait (`Executor._await_all`), when no executor asked to cancel it:

- its cycle did not finish (its `cycles` row still `running`: the process was killed while
  it waited for fills; or `failed`);
- trimtab did not know it was working (SUBMITTING or UNKNOWN until this lookup): its answer
  was lost and the broker showed it only after the executor's fill wait had ended. This
  holds for an order of the cycle now running too: its intents exist only once its
  executor has run (each attempt has its own id), so its own reconciliation after trading
  is the first to see it.

Left working, it would compete with the next plan at a stale price and block its symbol
until the operator cancelled it. Its filled part is kept and recorded like any fill. Any
other order of the cycle now running, or of a cycle that finished, is not cancelled here
(its executor already asked), nor any order of a broker whose orders trimtab's cancel cannot
reach (`UncancellableOrders`: a manual account's ticket, UNKNOWN until a person confirms it,
stays open until confirmed, whether its cycle finished or not).
"""

from __future__ import annotations

__all__ = [
    "LISTING_SLACK",
    "SETTLE_AS",
    "AwaitingBroker",
    "Settled",
    "awaiting_broker",
    "resolve_unresolved",
    "settle",
]

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from adapters.base import AbsenceRule, Broker, OrderAbsence, UncancellableOrders
from daemon.audit.events import OrderResult, OrderSettled
from daemon.core.domain import BrokerOrder, OrderStatus
from daemon.core.errors import BrokerError, StateError
from daemon.logs import Log
from daemon.store.audit_log import AuditLog
from daemon.store.cycles import CycleStore
from daemon.store.db import Database
from daemon.store.intents import IntentStore, StoredIntent

LISTING_SLACK = timedelta(minutes=10)
"""How far the listing reaches around the submission: trimtab's and the broker's clocks
may disagree, and a listing that starts late would miss the order and prove nothing."""

AWAITING = (OrderStatus.SUBMITTING, OrderStatus.UNKNOWN)
"""Statuses that mean "trimtab does not know whether the broker has it"."""

WORKING = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
"""Statuses of an order the broker may still fill."""

UNFINISHED = ("running", "failed")
"""Outcomes of a cycle whose executor may not have cancelled what it left working: killed
while it waited for fills (the row stays `running`), or failed after sending."""

SETTLE_AS: dict[str, OrderStatus] = {
    "never-reached": OrderStatus.NEVER_REACHED,
    "cancelled": OrderStatus.CANCELLED,
    "filled": OrderStatus.FILLED,
}
"""What the operator may settle an order as (`trimtab orders settle --as`)."""


def resolve_unresolved(
    *,
    database: Database,
    broker: Broker,
    account: str,
    clock: Callable[[], datetime],
    log: Log,
    cycle_id: str | None = None,
) -> list[str]:
    """Ask the broker about every intent of `account` whose fate is not settled.

    An order still working from an earlier cycle that did not finish is cancelled (its
    filled part kept); `cycle_id` is the cycle now running, whose orders never are (None:
    no cycle is running, nothing is cancelled). Return the symbols still unresolved
    afterwards: no new order may be sent for them.
    """
    with database.transaction() as session:
        pending = IntentStore(session).unresolved(account)
    still_open: list[str] = []
    missing: list[StoredIntent] = []
    for stored in pending:
        order = broker.get_order(stored.intent.client_order_id)
        if order is None:
            if stored.status in AWAITING:
                missing.append(stored)
            else:  # the broker acknowledged it once: "not found" now is the broker's fault
                still_open.append(stored.intent.symbol)
            continue
        # The broker's own account of how it ended (expired at the close, rejected) is kept.
        detail = f"resolved by lookup: {order.message}" if order.message else "resolved by lookup"
        status = _adopt(database, stored, order, clock, log, detail)
        if _still_open(database, broker, stored, status, cycle_id, clock, log):
            still_open.append(stored.intent.symbol)
    if not missing:
        return sorted(set(still_open))
    rule = broker.absence_rule() if isinstance(broker, OrderAbsence) else None
    now = clock()
    due = [s for s in missing if rule is not None and now - s.created_at >= rule.grace]
    listed = _listed(broker, rule, due, now)
    for stored in missing:
        coid = stored.intent.client_order_id
        if stored not in due or rule is None:
            still_open.append(stored.intent.symbol)
            log.warning(
                "order_still_unknown",
                client_order_id=coid,
                symbol=stored.intent.symbol,
                final_after=None if rule is None else str(stored.created_at + rule.grace),
                why="the broker has no order with this id yet"
                + ("" if rule is not None else "; it cannot say when that is final"),
            )
        elif coid in listed:
            found = listed[coid]
            detail = "resolved from the broker's order listing (its lookup by id missed it)"
            status = _adopt(database, stored, found, clock, log, detail)
            if _still_open(database, broker, stored, status, cycle_id, clock, log):
                still_open.append(stored.intent.symbol)
        else:
            _never_reached(database, stored, rule, clock, log)
    return sorted(set(still_open))


def _still_open(
    database: Database,
    broker: Broker,
    stored: StoredIntent,
    status: OrderStatus,
    cycle_id: str | None,
    clock: Callable[[], datetime],
    log: Log,
) -> bool:
    """Whether the adopted order stays open: one no executor asked to cancel is cancelled
    first (`_abandoned_by`, `_unseen`), unless the broker's orders are beyond trimtab's
    cancel (`UncancellableOrders`: a ticket stays open until a person confirms it)."""
    if status in WORKING and not isinstance(broker, UncancellableOrders):
        why = _abandoned_by(database, stored, cycle_id) or _unseen(stored, cycle_id)
        if why is not None:
            status = _cancel_abandoned(database, broker, stored, status, why, clock, log)
    return status.is_open


def _abandoned_by(database: Database, stored: StoredIntent, cycle_id: str | None) -> str | None:
    """Say how the order's cycle ended without cancelling it, or None if it did not: the
    cycle is the one running now, or it finished (its executor's fill wait ended)."""
    own = stored.intent.cycle_id
    if cycle_id is None or own == cycle_id:
        return None
    with database.transaction() as session:
        rows = [r for r in CycleStore(session).attempts(own) if r.cycle_id == own]
    if not rows:
        return f"cycle {own} has no record of how it ended"
    if rows[0].outcome not in UNFINISHED:
        return None
    if rows[0].outcome == "running":
        return f"cycle {own} stopped while it waited for fills (its record says running)"
    return f"cycle {own} failed before its fill wait ended"


def _unseen(stored: StoredIntent, cycle_id: str | None) -> str | None:
    """Say why trimtab never saw the order working, or None if it did: it was SUBMITTING or
    UNKNOWN until this lookup, so no executor's fill wait cancelled it. None too when no
    cycle is running (nothing is cancelled then)."""
    if cycle_id is None or stored.status not in AWAITING:
        return None
    return (
        f"trimtab never saw it working (it was {stored.status} when the fill wait of cycle "
        f"{stored.intent.cycle_id} ended: the submission's answer was lost and the broker "
        "showed the order only later)"
    )


def _cancel_abandoned(
    database: Database,
    broker: Broker,
    stored: StoredIntent,
    status: OrderStatus,
    why: str,
    clock: Callable[[], datetime],
    log: Log,
) -> OrderStatus:
    """Cancel the rest of an order its cycle left working, as the executor does at the end
    of its fill wait; record and audit the broker's answer with the reason."""
    coid = stored.intent.client_order_id
    try:
        order = broker.cancel(coid)
    except BrokerError as exc:
        # Still working: it stays unresolved, its symbol blocked; the next cycle tries again.
        log.warning("recovery_cancel_failed", client_order_id=coid, error=str(exc))
        return status
    if order.status is OrderStatus.CANCELLED:
        outcome = f"cancelled the rest (filled {order.filled_qty} kept)"
    elif order.status in WORKING:
        outcome = f"cancel requested, pending at the broker (filled {order.filled_qty} so far)"
    else:
        outcome = f"cancel requested; the broker reports {order.status}"
    said = f" ({order.message})" if order.message else ""
    detail = (
        f"still working at recovery: {why}; a working order would compete with this "
        f"cycle's plan: {outcome}{said}"
    )
    log.warning("order_cancelled_at_recovery", client_order_id=coid, status=str(order.status))
    return _adopt(database, stored, order, clock, log, detail)


def _listed(
    broker: Broker, rule: AbsenceRule | None, due: Sequence[StoredIntent], now: datetime
) -> dict[str, BrokerOrder]:
    """Return the broker's listed orders covering the submissions of `due`, by client id."""
    if rule is None or not rule.listing or not due or not isinstance(broker, OrderAbsence):
        return {}
    start = min(s.created_at for s in due) - LISTING_SLACK
    return {o.client_order_id: o for o in broker.orders_submitted(start, now + LISTING_SLACK)}


def _adopt(
    database: Database,
    stored: StoredIntent,
    order: BrokerOrder,
    clock: Callable[[], datetime],
    log: Log,
    detail: str,
) -> OrderStatus:
    coid = stored.intent.client_order_id
    with database.transaction() as session:
        now = clock()
        status = IntentStore(session).apply(coid, order, now, detail=detail)
        AuditLog(session).append(
            OrderResult.of(stored.intent, status, order, detail),
            at=now,
            account=stored.intent.account,
            cycle_id=stored.intent.cycle_id,
        )
    log.info("order_resolved", client_order_id=coid, status=str(status))
    return status


def _never_reached(
    database: Database,
    stored: StoredIntent,
    rule: AbsenceRule,
    clock: Callable[[], datetime],
    log: Log,
) -> None:
    intent = stored.intent
    detail = (
        f"never reached the broker: {rule.why}; not resent, the next cycle plans "
        f"{intent.symbol} anew"
    )
    with database.transaction() as session:
        now = clock()
        IntentStore(session).move(
            intent.client_order_id, OrderStatus.NEVER_REACHED, now, detail=detail
        )
        audit = AuditLog(session)
        audit.append(
            OrderResult.of(stored.intent, OrderStatus.NEVER_REACHED, None, detail),
            at=now,
            account=intent.account,
            cycle_id=intent.cycle_id,
        )
        audit.append(
            OrderSettled(
                client_order_id=intent.client_order_id,
                symbol=intent.symbol,
                side=intent.side,
                qty=intent.qty,
                notional=intent.notional,
                before=stored.status,
                after=OrderStatus.NEVER_REACHED,
                actor="reconciliation",
                reason=detail,
                sent_at=stored.created_at,
                rule=rule.why,
            ),
            at=now,
            account=intent.account,
            cycle_id=intent.cycle_id,
        )
    log.warning(
        "order_never_reached",
        client_order_id=intent.client_order_id,
        symbol=intent.symbol,
        was=str(stored.status),
    )


# -- the operator's side: list and settle -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AwaitingBroker:
    """One unresolved intent, as `trimtab orders unresolved` lists it."""

    stored: StoredIntent
    final_after: datetime | None
    """When the broker's absence rule makes "not found" final; None: it never does."""


def awaiting_broker(
    database: Database, account: str, rule: AbsenceRule | None
) -> list[AwaitingBroker]:
    """Return the account's unresolved intents (oldest first) with when each may resolve."""
    with database.transaction() as session:
        pending = IntentStore(session).unresolved(account)
    return [AwaitingBroker(s, None if rule is None else s.created_at + rule.grace) for s in pending]


@dataclass(frozen=True, slots=True)
class Settled:
    """What `settle` did: settled by hand, or found at the broker and adopted instead."""

    client_order_id: str
    status: OrderStatus
    by_hand: bool
    """False when the broker knew the order: its report was adopted, nothing settled by hand."""
    detail: str


def settle(
    *,
    database: Database,
    broker: Broker | None,
    client_order_id: str,
    outcome: Literal["never-reached", "cancelled", "filled"],
    reason: str,
    clock: Callable[[], datetime],
    log: Log,
    qty: Decimal | None = None,
    price: Decimal | None = None,
) -> Settled:
    """Settle one unresolved intent as the operator found it at the broker; audited.

    `broker` None (`--no-lookup`) skips asking the broker; otherwise it is asked first and,
    if it knows the order, its report is adopted instead (the broker is the truth). Settled
    as filled, only the intent records `qty` at `price`: the fill itself reaches the book and
    the tax ledger from the broker's fill history at the next reconciliation, once, by its
    fill id. Raise `StateError` (nothing changed) when the intent is not unresolved, the
    outcome does not fit it, or the broker cannot be asked.
    """
    if not reason.strip():
        raise StateError("a settlement needs --reason: what you saw at the broker")
    with database.transaction() as session:
        stored = IntentStore(session).find(client_order_id)
    if stored is None:
        raise StateError(f"no order intent {client_order_id} (see `trimtab orders unresolved`)")
    if not stored.status.is_open:
        raise StateError(
            f"{client_order_id} is already {stored.status}: only unresolved orders are settled"
        )
    status, filled, avg = _settled_as(stored, outcome, qty, price)
    if broker is not None:
        try:
            found = broker.get_order(client_order_id)
        except BrokerError as exc:
            raise StateError(
                f"could not ask the broker about {client_order_id}: {exc}; try again, or "
                "pass --no-lookup once you have checked the account yourself"
            ) from exc
        if found is not None:
            detail = "the broker knows this order: its report was adopted (trimtab orders settle)"
            adopted = _adopt(database, stored, found, clock, log, detail)
            return Settled(client_order_id, adopted, by_hand=False, detail=detail)
    intent = stored.intent
    seen: str = outcome
    if outcome == "filled":
        rest = ", the rest cancelled" if status is OrderStatus.CANCELLED else ""
        seen = f"filled {filled} at {avg}{rest}"
    detail = f"settled by the operator as {seen}: {reason.strip()}"
    with database.transaction() as session:
        now = clock()
        IntentStore(session).settle(
            client_order_id, status, now, detail=detail, filled_qty=filled, avg_fill_price=avg
        )
        audit = AuditLog(session)
        audit.append(
            OrderResult.of(stored.intent, status, None, detail),
            at=now,
            account=intent.account,
            cycle_id=intent.cycle_id,
        )
        audit.append(
            OrderSettled(
                client_order_id=client_order_id,
                symbol=intent.symbol,
                side=intent.side,
                qty=intent.qty,
                notional=intent.notional,
                before=stored.status,
                after=status,
                actor="operator",
                reason=reason.strip(),
                sent_at=stored.created_at,
                looked_up=broker is not None,
                filled_qty=filled if filled else None,
                avg_fill_price=avg,
            ),
            at=now,
            account=intent.account,
            cycle_id=intent.cycle_id,
        )
    log.warning("order_settled_by_operator", client_order_id=client_order_id, status=str(status))
    return Settled(client_order_id, status, by_hand=True, detail=detail)


def _settled_as(
    stored: StoredIntent,
    outcome: Literal["never-reached", "cancelled", "filled"],
    qty: Decimal | None,
    price: Decimal | None,
) -> tuple[OrderStatus, Decimal, Decimal | None]:
    """Return (status, filled quantity, average price) for the outcome, or raise StateError."""
    status = SETTLE_AS[outcome]
    coid = stored.intent.client_order_id
    if outcome != "filled":
        if qty is not None or price is not None:
            raise StateError("--qty and --price go only with --as filled")
        if status is OrderStatus.NEVER_REACHED and stored.status not in AWAITING:
            raise StateError(
                f"{coid} is {stored.status}: the broker acknowledged it, so it reached the "
                "broker; settle it as cancelled or filled"
            )
        return status, Decimal(0), None
    if qty is None or price is None:
        raise StateError("--as filled needs --qty and --price, as the broker shows the fill")
    if not qty.is_finite() or qty <= 0 or not price.is_finite() or price <= 0:
        raise StateError("--qty and --price must be positive numbers")
    planned = stored.intent.qty
    if stored.intent.notional is None and qty > planned:
        raise StateError(f"--qty {qty} is more than the order's {planned}")
    # A partial fill whose rest the broker ended is a cancelled order with its filled part.
    whole = stored.intent.notional is not None or qty == planned
    return (OrderStatus.FILLED if whole else OrderStatus.CANCELLED), qty, price
