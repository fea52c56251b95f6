"""The simulated broker's own store: its tables, their column types, and every query it makes.

The only module of the adapters that speaks SQL. The tables sit on their own metadata and are
created by the sim's own Alembic branch (`adapters/sim/migrations`, label `sim`); trimtab's
composition root hands over the process's engine, so the sim shares trimtab's database file
and its write lock (SQLite: `BEGIN IMMEDIATE` on every transaction) without knowing trimtab's
store. `seq` numbers orders and fills per account in the order they happened, because several
can share one clock reading. Rows turn themselves into domain objects (`to_order`, ...) and
into JSON-ready dicts with numbers as strings (`to_json`).
"""

from __future__ import annotations

__all__ = [
    "ExactDecimal",
    "SimAccountRow",
    "SimBase",
    "SimBook",
    "SimCashMovementRow",
    "SimFillRow",
    "SimOrderRow",
    "SimPositionRow",
    "SimStore",
    "UtcDateTime",
]

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from daemon.core.domain import (
    BrokerOrder,
    Fill,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from daemon.core.errors import StateError
from daemon.core.money import cents

# trimtab's exact column types, shared on purpose (the one exception to adapters importing only
# the kernel, declared in the import contract): money is stored the same way in every table.
from daemon.store.types import ExactDecimal, UtcDateTime

OPEN_STATUSES = (OrderStatus.ACCEPTED.value, OrderStatus.PARTIALLY_FILLED.value)


class SimBase(DeclarativeBase):
    # The same constraint names trimtab's tables get, so the migrations' names match.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class SimAccountRow(SimBase):
    """One paper account; its row is locked by every call so calls on it run one at a time."""

    __tablename__ = "sim_accounts"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    cash: Mapped[Decimal] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SimPositionRow(SimBase):
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


class SimOrderRow(SimBase):
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


class SimFillRow(SimBase):
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


class SimCashMovementRow(SimBase):
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


class SimBook:
    """One account's rows within one transaction: every query the sim broker makes."""

    def __init__(self, session: Session, account: SimAccountRow) -> None:
        self._session = session
        self.account = account
        self._name = account.account

    def positions(self) -> Sequence[SimPositionRow]:
        query = select(SimPositionRow).where(SimPositionRow.account == self._name)
        return self._session.scalars(query.order_by(SimPositionRow.symbol)).all()

    def position(self, symbol: str) -> SimPositionRow | None:
        return self._session.get(SimPositionRow, (self._name, symbol))

    def open_orders(self) -> Sequence[SimOrderRow]:
        query = select(SimOrderRow).where(
            SimOrderRow.account == self._name, SimOrderRow.status.in_(OPEN_STATUSES)
        )
        return self._session.scalars(query.order_by(SimOrderRow.seq)).all()

    def order(self, client_order_id: str) -> SimOrderRow | None:
        return self._session.scalars(
            select(SimOrderRow).where(
                SimOrderRow.account == self._name,
                SimOrderRow.client_order_id == client_order_id,
            )
        ).one_or_none()

    def orders(self, client_order_ids: Collection[str]) -> Sequence[SimOrderRow]:
        return self._session.scalars(
            select(SimOrderRow).where(
                SimOrderRow.account == self._name,
                SimOrderRow.client_order_id.in_(set(client_order_ids)),
            )
        ).all()

    def submitted_between(self, start: datetime, end: datetime) -> Sequence[SimOrderRow]:
        query = select(SimOrderRow).where(
            SimOrderRow.account == self._name,
            SimOrderRow.submitted_at >= start,
            SimOrderRow.submitted_at <= end,
        )
        return self._session.scalars(query.order_by(SimOrderRow.seq)).all()

    def fills_since(self, since: datetime) -> Sequence[SimFillRow]:
        query = select(SimFillRow).where(SimFillRow.account == self._name, SimFillRow.at >= since)
        return self._session.scalars(query.order_by(SimFillRow.seq)).all()

    def movements_since(self, since: datetime) -> Sequence[SimCashMovementRow]:
        query = select(SimCashMovementRow).where(
            SimCashMovementRow.account == self._name, SimCashMovementRow.at >= since
        )
        return self._session.scalars(query.order_by(SimCashMovementRow.id)).all()

    def newest_orders(self, limit: int) -> Sequence[SimOrderRow]:
        query = select(SimOrderRow).where(SimOrderRow.account == self._name)
        return self._session.scalars(query.order_by(SimOrderRow.seq.desc()).limit(limit)).all()

    def newest_fills(self, limit: int) -> Sequence[SimFillRow]:
        query = select(SimFillRow).where(SimFillRow.account == self._name)
        return self._session.scalars(query.order_by(SimFillRow.seq.desc()).limit(limit)).all()

    def newest_movements(self, limit: int) -> Sequence[SimCashMovementRow]:
        query = select(SimCashMovementRow).where(SimCashMovementRow.account == self._name)
        newest = query.order_by(SimCashMovementRow.id.desc()).limit(limit)
        return self._session.scalars(newest).all()

    def next_seq(self, table: type[SimOrderRow] | type[SimFillRow]) -> int:
        # Safe without a sequence: the account row is locked, so no one else numbers now.
        query = select(func.max(table.seq)).where(table.account == self._name)
        return (self._session.scalar(query) or 0) + 1

    def add(self, row: SimPositionRow | SimOrderRow | SimFillRow | SimCashMovementRow) -> None:
        """Store a new row now (flushed, so a broken constraint raises here)."""
        self._session.add(row)
        self._session.flush()

    def delete(self, row: SimPositionRow) -> None:
        self._session.delete(row)


class SimStore:
    """The sim's tables in the database behind `engine` (trimtab's, shared with it)."""

    def __init__(self, engine: object) -> None:
        if not isinstance(engine, Engine):
            raise TypeError(
                "the sim keeps its accounts in trimtab's database: build it with "
                f"BrokerEnvironment(sql_engine=<the SQLAlchemy Engine>), not {engine!r}"
            )
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def open_account(self, account: str, cash: Decimal, now: datetime) -> None:
        """Create the paper account with `cash` deposited, unless it exists."""
        try:
            with self._transaction() as session:
                if session.get(SimAccountRow, account) is not None:
                    return
                session.add(SimAccountRow(account=account, cash=cash, created_at=now))
                session.flush()
                if cash > 0:
                    session.add(SimCashMovementRow.record(account, cash, "deposit", now))
        except IntegrityError:
            # Another process created the account between our look and our insert: use it.
            with self._transaction() as session:
                if session.get(SimAccountRow, account) is None:
                    raise

    @contextmanager
    def locked(self, account: str) -> Iterator[SimBook]:
        """Yield the account's book in one transaction that holds the account's row locked."""
        with self._transaction() as session:
            row = session.get(SimAccountRow, account, with_for_update=True)
            if row is None:
                raise StateError(
                    f"sim account {account} has vanished from the database; restore "
                    "the database from a backup"
                )
            yield SimBook(session, row)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session
