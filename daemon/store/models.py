"""Tables of trimtab's own state: audit records, cycles, order intents, the kill switch.

The simulated broker's tables live with it in `adapters/sim/store.py`, on its own metadata.
Schema changes go through Alembic revisions in `daemon/store/migrations/versions/`.
"""

from __future__ import annotations

__all__ = [
    "AccountStateRow",
    "AuditRecordRow",
    "BookPositionRow",
    "CycleRow",
    "DatabaseIdentityRow",
    "FillRow",
    "KillSwitchEventRow",
    "OrderEventRow",
    "OrderIntentRow",
]

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daemon.store.base import Base
from daemon.store.types import ExactDecimal, UtcDateTime


class AuditRecordRow(Base):
    """One append-only audit record, chained to its predecessor by hash."""

    __tablename__ = "audit_records"
    __table_args__ = (
        # A second writer that raced for the same predecessor fails here instead of forking
        # the chain.
        UniqueConstraint("prev_hash"),
        Index("ix_audit_records_recorded_at", "recorded_at"),
        Index("ix_audit_records_cycle_id", "cycle_id"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(64))
    account: Mapped[str | None] = mapped_column(String(64))
    cycle_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DatabaseIdentityRow(Base):
    """The database's identity: one row, random, written when the schema is created.

    Mixed into every client order id (`daemon.store.intents.client_order_id`): a start-over
    (`trimtab db init --force`) makes a new database, so its ids differ from every id the
    broker already holds, although cycle ids repeat. `trimtab db restored` writes a new one
    into a database restored from a backup, for the same reason.
    """

    __tablename__ = "database_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    identity: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CycleRow(Base):
    """One run of one account's cycle; the id is deterministic (account, trading day, slot)."""

    __tablename__ = "cycles"

    cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    trading_day: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class OrderIntentRow(Base):
    """An order trimtab meant to send, written before it is sent, and its latest status."""

    __tablename__ = "order_intents"
    __table_args__ = (Index("ix_order_intents_account_status", "account", "status"),)

    client_order_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"))
    account: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    reference_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    notional: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    filled_qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    avg_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OrderEventRow(Base):
    """Every status change of an order intent, with its time."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(
        ForeignKey("order_intents.client_order_id"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text, default="")


class KillSwitchEventRow(Base):
    """Engage/clear events of the durable kill switch; the latest row is the current state."""

    __tablename__ = "kill_switch_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    engaged: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))


class AccountStateRow(Base):
    """Per account: trading state (durable), and how far reconciliation has read fills."""

    __tablename__ = "account_states"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    trading_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fills_read_through: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reconciled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BookPositionRow(Base):
    """The position trimtab last agreed with the broker, by account and symbol."""

    __tablename__ = "book_positions"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())


class FillRow(Base):
    """Every execution the broker reported, once (deduplicated by the broker's fill id)."""

    __tablename__ = "fills"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    fill_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(128), index=True)
    broker_order_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    commission: Mapped[Decimal] = mapped_column(ExactDecimal())
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    external: Mapped[bool] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
