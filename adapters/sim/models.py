"""Tables of the simulated broker: its accounts, positions, orders, fills and cash movements.

They share trimtab's metadata, so the same migrations create them (revision 0002). `seq`
numbers orders and fills per account in the order they happened, because several can share
one clock reading.
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

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daemon.persistence.base import Base
from daemon.persistence.types import ExactDecimal, UtcDateTime


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
    status: Mapped[str] = mapped_column(String(24))
    filled_qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    avg_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text)


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


class SimCashMovementRow(Base):
    """A deposit (positive amount) or withdrawal (negative amount), starting cash included."""

    __tablename__ = "sim_cash_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(ForeignKey("sim_accounts.account"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
