"""Tables of the simulated broker: its accounts, positions, orders, fills and cash movements.

They share trimtab's metadata, so the same migrations create them (revision 0002). `seq`
numbers orders and fills per account in the order they happened, because several can share
one clock reading. Rows turn themselves into domain objects (`to_order`, ...) and into
JSON-ready dicts with numbers as strings (`to_json`).
"""

from __future__ import annotations

__all__ = [
    "SimAccountRow",
    "SimCashMovementRow",
    "SimFillRow",
    "SimOrderRow",
    "SimPositionRow",
]

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daemon.core.domain import (
    BrokerOrder,
    Fill,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from daemon.core.money import cents
from daemon.store.base import Base
from daemon.store.types import ExactDecimal, UtcDateTime


class SimAccountRow(Base):
    """One paper account; its row is locked by every call so calls on it run one at a time."""

    __tablename__ = "sim_accounts"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    cash: Mapped[Decimal] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SimPositionRow(Base):
    """A holding; the row is deleted when its quantity returns to zero."""

    __tablename__ = "sim_positions"

    account: Mapped[str] = mapped_column(ForeignKey("sim_accounts.account"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    avg_cost: Mapped[Decimal] = mapped_column(ExactDecimal())

    def to_position(self) -> Position:
        return Position(symbol=self.symbol, qty=self.qty, avg_cost=self.avg_cost)

    def to_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "qty": str(self.qty), "avg_cost": str(self.avg_cost)}


class SimOrderRow(Base):
    """An order as the sim broker knows it, including rejected ones."""

    __tablename__ = "sim_orders"
    __table_args__ = (
        # Like Alpaca: a client order id is taken forever once used, even by a rejected order.
        UniqueConstraint(
            "account", "client_order_id", name="uq_sim_orders_account_client_order_id"
        ),
        UniqueConstraint("account", "seq", name="uq_sim_orders_account_seq"),
        Index("ix_sim_orders_account_status", "account", "status"),
    )

    broker_order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("sim_accounts.account"))
    seq: Mapped[int] = mapped_column(Integer)
    client_order_id: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    notional: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    status: Mapped[str] = mapped_column(String(24))
    filled_qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    avg_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text)

    @classmethod
    def from_intent(
        cls,
        intent: OrderIntent,
        *,
        account: str,
        broker_order_id: str,
        seq: int,
        status: OrderStatus,
        message: str,
        at: datetime,
    ) -> SimOrderRow:
        return cls(
            broker_order_id=broker_order_id,
            account=account,
            seq=seq,
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side.value,
            qty=intent.qty,
            order_type=intent.order_type.value,
            limit_price=intent.limit_price,
            notional=intent.notional,
            status=status.value,
            filled_qty=Decimal(0),
            avg_fill_price=None,
            submitted_at=at,
            updated_at=at,
            message=message,
        )

    def fill_row(
        self,
        fill_id: str,
        seq: int,
        qty: Decimal,
        price: Decimal,
        commission: Decimal,
        at: datetime,
    ) -> SimFillRow:
        return SimFillRow(
            fill_id=fill_id,
            account=self.account,
            seq=seq,
            broker_order_id=self.broker_order_id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            qty=qty,
            price=price,
            commission=commission,
            at=at,
        )

    def to_order(self) -> BrokerOrder:
        return BrokerOrder(
            client_order_id=self.client_order_id,
            broker_order_id=self.broker_order_id,
            symbol=self.symbol,
            side=Side(self.side),
            qty=self.qty,
            order_type=OrderType(self.order_type),
            status=OrderStatus(self.status),
            filled_qty=self.filled_qty,
            avg_fill_price=self.avg_fill_price,
            limit_price=self.limit_price,
            submitted_at=self.submitted_at,
            message=self.message,
            notional=self.notional,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "broker_order_id": self.broker_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "qty": str(self.qty),
            "order_type": self.order_type,
            "limit_price": _text(self.limit_price),
            "status": self.status,
            "filled_qty": str(self.filled_qty),
            "avg_fill_price": _text(self.avg_fill_price),
            "submitted_at": self.submitted_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "message": self.message,
        }


class SimFillRow(Base):
    """One execution; `fill_id` is unique, `seq` orders fills within the account."""

    __tablename__ = "sim_fills"
    __table_args__ = (UniqueConstraint("account", "seq", name="uq_sim_fills_account_seq"),)

    fill_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("sim_accounts.account"))
    seq: Mapped[int] = mapped_column(Integer)
    broker_order_id: Mapped[str] = mapped_column(ForeignKey("sim_orders.broker_order_id"))
    client_order_id: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    commission: Mapped[Decimal] = mapped_column(ExactDecimal())
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_fill(self) -> Fill:
        return Fill(
            fill_id=self.fill_id,
            client_order_id=self.client_order_id,
            broker_order_id=self.broker_order_id,
            symbol=self.symbol,
            side=Side(self.side),
            qty=self.qty,
            price=self.price,
            at=self.at,
            commission=self.commission,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fill_id": self.fill_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "qty": str(self.qty),
            "price": str(self.price),
            "commission": str(cents(self.commission)),
            "at": self.at.isoformat(),
        }


class SimCashMovementRow(Base):
    """A deposit (positive amount) or withdrawal (negative amount), starting cash included."""

    __tablename__ = "sim_cash_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(ForeignKey("sim_accounts.account"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    @classmethod
    def record(cls, account: str, amount: Decimal, kind: str, at: datetime) -> SimCashMovementRow:
        return cls(account=account, amount=amount, kind=kind, at=at)

    def to_json(self) -> dict[str, Any]:
        amount = str(cents(self.amount))
        return {"amount": amount, "kind": self.kind, "at": self.at.isoformat()}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
