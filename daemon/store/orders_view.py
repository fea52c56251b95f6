"""Read-only views of trimtab's order intents, for `trimtab orders` and reports.

Writes go through `daemon.store.intents.IntentStore`; this module only reads.
"""

from __future__ import annotations

__all__ = ["OrderLine", "orders_between"]

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.store.models import OrderIntentRow


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order intent as it stands now: what was meant, and what became of it."""

    created_at: datetime
    updated_at: datetime
    account: str
    cycle_id: str
    seq: int
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    order_type: str
    limit_price: Decimal | None
    status: str
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    broker_order_id: str | None
    message: str
    notional: Decimal | None = None
    """The dollar amount of a notional buy (`qty` is then the estimate at planning)."""


def orders_between(
    session: Session, *, since: datetime, until: datetime, account: str | None = None
) -> list[OrderLine]:
    """Return the intents created in [since, until), oldest first, optionally of one account."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("orders_between needs timezone-aware times")
    query = select(OrderIntentRow).where(
        OrderIntentRow.created_at >= since, OrderIntentRow.created_at < until
    )
    if account is not None:
        query = query.where(OrderIntentRow.account == account)
    query = query.order_by(OrderIntentRow.created_at, OrderIntentRow.cycle_id, OrderIntentRow.seq)
    return [_line(row) for row in session.execute(query).scalars()]


def _line(row: OrderIntentRow) -> OrderLine:
    return OrderLine(
        created_at=row.created_at,
        updated_at=row.updated_at,
        account=row.account,
        cycle_id=row.cycle_id,
        seq=row.seq,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=row.side,
        qty=row.qty,
        order_type=row.order_type,
        limit_price=row.limit_price,
        status=row.status,
        filled_qty=row.filled_qty,
        avg_fill_price=row.avg_fill_price,
        broker_order_id=row.broker_order_id,
        message=row.message,
        notional=row.notional,
    )
