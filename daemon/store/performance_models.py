"""Tables of performance history and monitoring: valuations, cash flows, prices, alert episodes.

Valuations come from the broker's snapshot (at each cycle and at the end of the trading day);
cash flows are deposits and withdrawals the broker or the operator reported, so returns can
exclude them; benchmark marks are daily closing prices of the configured benchmark symbol;
alert rows remember each monitored condition so an alert is sent once per episode.
"""

from __future__ import annotations

__all__ = ["AlertRow", "BenchmarkPriceRow", "CashFlowRow", "ValuationRow"]

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daemon.store.base import Base
from daemon.store.types import ExactDecimal, UtcDateTime


class ValuationRow(Base):
    """The account's value as the broker reported it at one cycle or at the end of one day.

    `ref` is the cycle id for a cycle valuation and `eod` for the end-of-day one, so a cycle
    re-run or a second end-of-day pass replaces its own row instead of adding a second.
    `holdings` is JSON: symbol -> market value (decimal strings), for concentration.
    """

    __tablename__ = "valuations"
    __table_args__ = (
        UniqueConstraint("account", "trading_day", "source", "ref"),
        Index("ix_valuations_account_trading_day", "account", "trading_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    trading_day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(8))
    ref: Mapped[str] = mapped_column(String(128))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())
    equity: Mapped[Decimal] = mapped_column(ExactDecimal())
    cash: Mapped[Decimal] = mapped_column(ExactDecimal())
    positions_value: Mapped[Decimal] = mapped_column(ExactDecimal())
    holdings: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CashFlowRow(Base):
    """Money moved into (positive) or out of (negative) an account from outside it.

    `(account, source, external_id)` is unique so a flow the broker reports twice, or that a
    sync reads again, is recorded once.
    """

    __tablename__ = "cash_flows"
    __table_args__ = (
        UniqueConstraint("account", "source", "external_id"),
        Index("ix_cash_flows_account_trading_day", "account", "trading_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    trading_day: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BenchmarkPriceRow(Base):
    """One closing (or latest) price of a benchmark symbol on one trading day."""

    __tablename__ = "benchmark_prices"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    trading_day: Mapped[date] = mapped_column(Date, primary_key=True)
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(32))


class AlertRow(Base):
    """One monitored condition of one account (`""` for the daemon as a whole).

    `state` is `pending` (condition seen, not yet long enough to alert), `firing` (alert sent
    for this episode) or `cleared`; `since` is when the current episode's condition began.
    """

    __tablename__ = "alerts"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text)
    episodes: Mapped[int] = mapped_column(Integer)
