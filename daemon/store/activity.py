"""What an account has already sent, for the rate and turnover limits."""

from __future__ import annotations

__all__ = ["Activity", "recent_activity"]

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.core.calendar import exchange_timezone
from daemon.core.domain import OrderStatus
from daemon.store.models import OrderEventRow, OrderIntentRow


@dataclass(frozen=True, slots=True)
class Activity:
    sent_last_minute: int
    traded_today: Decimal
    """Value, at reference prices, of the orders sent since midnight at the exchange."""


def recent_activity(session: Session, account: str, now: datetime, exchange: str) -> Activity:
    """Count orders sent in the last 60 seconds and the value sent today."""
    tz = exchange_timezone(exchange)
    midnight = datetime.combine(now.astimezone(tz).date(), time(), tz)
    sent = session.execute(
        select(OrderEventRow.at, OrderIntentRow.qty, OrderIntentRow.reference_price)
        .join(OrderIntentRow, OrderIntentRow.client_order_id == OrderEventRow.client_order_id)
        .where(
            OrderIntentRow.account == account,
            OrderEventRow.to_status == str(OrderStatus.SUBMITTING),
            OrderEventRow.at >= min(midnight, now - timedelta(minutes=1)),
        )
    ).all()
    last_minute = sum(1 for at, _, _ in sent if at >= now - timedelta(minutes=1))
    today = sum(
        (qty * (price or Decimal(0)) for at, qty, price in sent if at >= midnight), Decimal(0)
    )
    return Activity(sent_last_minute=last_minute, traded_today=today)
