"""Tables of the household tax-lot ledger: acquisitions, sales, and which lots each sale relieved.

Lots and sales are facts as acquired and sold (quantity, total cost or proceeds, date); wash-sale
adjustments are never stored: the tax engine derives them from these rows, so they can never
drift from the facts. Declared outside trades (a spouse's account, another broker, an employer
plan) are rows like any other, with `source = "declared"`. A stock split is a row of its own
(`tax_splits`): the engine scales the account's lots of the symbol held on its day.
"""

from __future__ import annotations

__all__ = ["TaxLotChoiceRow", "TaxLotRow", "TaxReliefRow", "TaxSaleRow", "TaxSplitRow"]

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daemon.store.base import Base
from daemon.store.types import ExactDecimal, UtcDateTime


class TaxLotRow(Base):
    """One acquisition: shares bought, reinvested, imported or declared, with total cost."""

    __tablename__ = "tax_lots"
    __table_args__ = (
        # The same fill, import row or declaration is recorded once, however often it is read.
        UniqueConstraint("account", "source_id", name="uq_tax_lots_account_source_id"),
        Index("ix_tax_lots_account_symbol", "account", "symbol"),
        Index("ix_tax_lots_acquired", "acquired"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    acquired: Mapped[date] = mapped_column(Date)
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    cost: Mapped[Decimal] = mapped_column(ExactDecimal())
    """Total cost basis of `qty` as acquired, fees included (before any wash adjustment)."""
    source: Mapped[str] = mapped_column(String(16))
    """fill, reinvestment, import or declared."""
    source_id: Mapped[str] = mapped_column(String(160))
    order_ref: Mapped[str] = mapped_column(String(160))
    """The purchase order: fills of one order are one purchase (Rev. Rul. 56-602)."""
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TaxSaleRow(Base):
    """One disposal: shares sold, with total proceeds net of fees."""

    __tablename__ = "tax_sales"
    __table_args__ = (
        UniqueConstraint("account", "source_id", name="uq_tax_sales_account_source_id"),
        Index("ix_tax_sales_account_symbol", "account", "symbol"),
        Index("ix_tax_sales_sold", "sold"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    sold: Mapped[date] = mapped_column(Date)
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    proceeds: Mapped[Decimal] = mapped_column(ExactDecimal())
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(160))
    harvest: Mapped[bool] = mapped_column(Boolean, default=False)
    """The sale was a tax-loss harvest planned by trimtab."""
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TaxReliefRow(Base):
    """How many shares of which lot one sale relieved, fixed when the sale is recorded."""

    __tablename__ = "tax_reliefs"
    __table_args__ = (Index("ix_tax_reliefs_lot_id", "lot_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("tax_sales.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("tax_lots.id"))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())


class TaxLotChoiceRow(Base):
    """The lots a planned sell is meant to relieve, written before the order is sent.

    When the sell's fills are recorded, these lots are relieved first (specific
    identification); what the choice does not cover follows the account's lot method.
    """

    __tablename__ = "tax_lot_choices"

    cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("tax_lots.id"), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(ExactDecimal())
    harvest: Mapped[bool] = mapped_column(Boolean, default=False)


class TaxSplitRow(Base):
    """A stock split of one symbol in one account: `new` shares for every `old`, from `effective`.

    One per account, symbol and day; the ratio is stored in lowest terms.
    """

    __tablename__ = "tax_splits"
    __table_args__ = (
        UniqueConstraint("account", "symbol", "effective", name="uq_tax_splits_account_symbol_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    effective: Mapped[date] = mapped_column(Date)
    new: Mapped[int] = mapped_column(Integer)
    old: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
