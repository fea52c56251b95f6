"""Order intents: written before they are sent, moved only along the transition table."""

from __future__ import annotations

__all__ = [
    "IntentStore",
    "StatusChange",
    "StoredIntent",
    "client_order_id",
    "database_identity",
    "renew_database_identity",
]

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.audit.events import DatabaseIdentityChanged
from daemon.core.domain import (
    BrokerOrder,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
    check_transition,
    merge_report,
)
from daemon.core.errors import StateError
from daemon.store.audit_log import AuditLog
from daemon.store.models import DatabaseIdentityRow, OrderEventRow, OrderIntentRow


def client_order_id(cycle_id: str, seq: int, database: str) -> str:
    """Derive the order's id from its cycle, its place in the plan and the database's identity.

    23 characters of [a-z0-9-]: inside Alpaca's 128, IB's orderRef and FIX ClOrdID limits.
    In one database the same cycle and position always give the same id, so a resend is
    recognisable. A broker keeps a client order id forever, and a start-over (`trimtab db init
    --force`) repeats the day's cycle ids: `database` (`database_identity`), new with every
    database, keeps the new orders' ids apart from every old one. A database restored from a
    backup repeats them too (it does not know the cycles that ran after the backup): `trimtab
    db restored` gives it a new identity (`renew_database_identity`).
    """
    digest = hashlib.sha256(f"{database}:{cycle_id}".encode()).hexdigest()[:16]
    return f"tt-{digest}-{seq:03d}"


def database_identity(session: Session) -> str:
    """Return the identity this database was given when its schema was created (0011)."""
    row = session.scalars(select(DatabaseIdentityRow)).one_or_none()
    if row is None:
        # Migration 0011 writes the row; only a hand-edited database lacks it, and ids made
        # without it could repeat ones the broker already holds.
        raise StateError(
            "the database has no identity row (table database_identity), so no client order "
            "id can be made that is sure to be new at the broker; restore the database from "
            "a backup (docs/operations.md)"
        )
    return row.identity


def renew_database_identity(
    session: Session, *, reason: str, actor: str, at: datetime
) -> tuple[str, str]:
    """Give the database a new random identity, audit the change; return the old and the new.

    Every client order id made from now on differs from every id made under any earlier
    identity, whatever cycles repeat. Intents already stored keep the ids they were stored
    (and maybe sent) under: an unresolved one is still looked up at the broker by its own id.
    """
    old = database_identity(session)  # StateError naming the row when it is missing
    row = session.scalars(select(DatabaseIdentityRow)).one()
    row.identity = secrets.token_hex(16)
    row.created_at = at
    session.flush()
    AuditLog(session).append(
        DatabaseIdentityChanged(old=old, new=row.identity, reason=reason, actor=actor), at=at
    )
    return old, row.identity


@dataclass(frozen=True, slots=True)
class StoredIntent:
    intent: OrderIntent
    status: OrderStatus
    broker_order_id: str | None
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    message: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move of an order intent to a new status."""

    client_order_id: str
    to_status: OrderStatus
    at: datetime


class IntentStore:
    """Order intents and their status history, inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, intent: OrderIntent, at: datetime) -> None:
        """Store a new intent as PLANNED."""
        self._session.add(
            OrderIntentRow(
                client_order_id=intent.client_order_id,
                cycle_id=intent.cycle_id,
                account=intent.account,
                seq=intent.seq,
                symbol=intent.symbol,
                side=str(intent.side),
                qty=intent.qty,
                order_type=str(intent.order_type),
                limit_price=intent.limit_price,
                reference_price=intent.reference_price,
                notional=intent.notional,
                reason=intent.reason,
                status=str(OrderStatus.PLANNED),
                broker_order_id=None,
                filled_qty=Decimal(0),
                avg_fill_price=None,
                message="",
                created_at=at,
                updated_at=at,
            )
        )
        # No ORM relationship orders these inserts, so the intent goes first explicitly.
        self._session.flush()
        self._session.add(
            OrderEventRow(
                client_order_id=intent.client_order_id,
                at=at,
                from_status=None,
                to_status=str(OrderStatus.PLANNED),
                detail=intent.reason,
            )
        )
        self._session.flush()

    def move(
        self,
        client_order_id: str,
        status: OrderStatus,
        at: datetime,
        *,
        detail: str = "",
    ) -> OrderStatus:
        """Move an intent to `status` (checked against the table) and record the event.

        For trimtab's own steps (submitting, a rejection it decided, ...); what the broker
        reports goes through `apply`.
        """
        row = self._row(client_order_id)
        previous = OrderStatus(row.status)
        check_transition(previous, status)
        if detail:
            row.message = detail
        self._set(row, previous, status, at, detail)
        return status

    def apply(
        self, client_order_id: str, order: BrokerOrder, at: datetime, *, detail: str = ""
    ) -> OrderStatus:
        """Fold the broker's report of the order in; stale or repeated reports change nothing.

        Return the status the intent has afterwards.
        """
        row = self._row(client_order_id)
        previous = OrderStatus(row.status)
        merged = merge_report(previous, row.filled_qty, order.status, order.filled_qty)
        if merged is None:
            return previous
        row.broker_order_id = order.broker_order_id
        row.filled_qty = merged[1]
        row.avg_fill_price = order.avg_fill_price
        row.message = detail or order.message
        self._set(row, previous, merged[0], at, detail or order.message)
        return merged[0]

    def settle(
        self,
        client_order_id: str,
        status: OrderStatus,
        at: datetime,
        *,
        detail: str,
        filled_qty: Decimal = Decimal(0),
        avg_fill_price: Decimal | None = None,
    ) -> OrderStatus:
        """Record an outcome no broker report gave: the operator's, after looking at the account.

        Checked against the table like `move`; the filled quantity and price are what the
        operator saw (fills themselves reach the book only from the broker's fill history).
        """
        row = self._row(client_order_id)
        previous = OrderStatus(row.status)
        check_transition(previous, status)
        row.filled_qty = filled_qty
        row.avg_fill_price = avg_fill_price
        row.message = detail
        self._set(row, previous, status, at, detail)
        return status

    def _set(
        self,
        row: OrderIntentRow,
        previous: OrderStatus,
        status: OrderStatus,
        at: datetime,
        detail: str,
    ) -> None:
        row.status = str(status)
        row.updated_at = at
        self._session.add(
            OrderEventRow(
                client_order_id=row.client_order_id,
                at=at,
                from_status=str(previous),
                to_status=str(status),
                detail=detail,
            )
        )
        self._session.flush()

    def get(self, client_order_id: str) -> StoredIntent:
        return _stored(self._row(client_order_id))

    def find(self, client_order_id: str) -> StoredIntent | None:
        """The intent with this id, or None when the order is not trimtab's."""
        row = self._session.get(OrderIntentRow, client_order_id)
        return _stored(row) if row is not None else None

    def unresolved(self, account: str) -> list[StoredIntent]:
        """Intents whose fate at the broker is not settled yet (sent or maybe sent, not final)."""
        open_states = [str(s) for s in OrderStatus if s.is_open]
        rows = self._session.execute(
            select(OrderIntentRow)
            .where(OrderIntentRow.account == account, OrderIntentRow.status.in_(open_states))
            .order_by(OrderIntentRow.created_at, OrderIntentRow.seq)
        ).scalars()
        return [_stored(row) for row in rows]

    def for_cycle(self, cycle_id: str) -> list[StoredIntent]:
        rows = self._session.execute(
            select(OrderIntentRow)
            .where(OrderIntentRow.cycle_id == cycle_id)
            .order_by(OrderIntentRow.seq)
        ).scalars()
        return [_stored(row) for row in rows]

    def for_cycles(self, account: str, cycle_ids: Collection[str]) -> list[StoredIntent]:
        """Return the account's intents of these cycles, in the order they were planned."""
        rows = self._session.scalars(
            select(OrderIntentRow)
            .where(OrderIntentRow.account == account, OrderIntentRow.cycle_id.in_(list(cycle_ids)))
            .order_by(OrderIntentRow.created_at, OrderIntentRow.seq)
        )
        return [_stored(row) for row in rows]

    def created_between(
        self, accounts: Collection[str], *, since: datetime, until: datetime
    ) -> list[StoredIntent]:
        """Return the accounts' intents created in [since, until), oldest first."""
        rows = self._session.scalars(
            select(OrderIntentRow)
            .where(
                OrderIntentRow.created_at >= since,
                OrderIntentRow.created_at < until,
                OrderIntentRow.account.in_(list(accounts)),
            )
            .order_by(OrderIntentRow.created_at, OrderIntentRow.cycle_id, OrderIntentRow.seq)
        )
        return [_stored(row) for row in rows]

    def ids(self, account: str) -> set[str]:
        """Return the client order ids of every intent of the account."""
        return set(
            self._session.scalars(
                select(OrderIntentRow.client_order_id).where(OrderIntentRow.account == account)
            )
        )

    def changes(
        self, client_order_ids: Collection[str], to: Collection[OrderStatus]
    ) -> list[StatusChange]:
        """Return the moves of these intents to any of the statuses `to`, in recorded order."""
        rows = self._session.scalars(
            select(OrderEventRow)
            .where(
                OrderEventRow.client_order_id.in_(list(client_order_ids)),
                OrderEventRow.to_status.in_([str(status) for status in to]),
            )
            .order_by(OrderEventRow.id)
        )
        return [
            StatusChange(row.client_order_id, OrderStatus(row.to_status), row.at) for row in rows
        ]

    def moved_to(self, account: str, status: OrderStatus, since: datetime) -> list[StatusChange]:
        """Return the account's moves to `status` at or after `since`, oldest first."""
        rows = self._session.scalars(
            select(OrderEventRow)
            .join(
                OrderIntentRow,
                OrderIntentRow.client_order_id == OrderEventRow.client_order_id,
            )
            .where(
                OrderIntentRow.account == account,
                OrderEventRow.to_status == str(status),
                OrderEventRow.at >= since,
            )
            .order_by(OrderEventRow.id)
        )
        return [
            StatusChange(row.client_order_id, OrderStatus(row.to_status), row.at) for row in rows
        ]

    def _row(self, client_order_id: str) -> OrderIntentRow:
        row = self._session.get(OrderIntentRow, client_order_id)
        if row is None:
            raise StateError(f"no order intent {client_order_id}")
        return row


def _stored(row: OrderIntentRow) -> StoredIntent:
    intent = OrderIntent(
        client_order_id=row.client_order_id,
        cycle_id=row.cycle_id,
        account=row.account,
        seq=row.seq,
        symbol=row.symbol,
        side=Side(row.side),
        qty=row.qty,
        order_type=OrderType(row.order_type),
        reason=row.reason,
        limit_price=row.limit_price,
        reference_price=row.reference_price,
        notional=row.notional,
    )
    return StoredIntent(
        intent=intent,
        status=OrderStatus(row.status),
        broker_order_id=row.broker_order_id,
        filled_qty=row.filled_qty,
        avg_fill_price=row.avg_fill_price,
        message=row.message,
        created_at=row.created_at,
    )
