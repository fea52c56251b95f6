"""The cache of daily closes fetched from a broker: closes per (source, symbol, day).

`PriceHistoryStore` reads and writes, inside one unit of work, two tables:

| table | one row per | holds |
|---|---|---|
| `price_closes` | source, symbol, day | the close as the source gave it (adjusted, for Alpaca) |
| `price_fetches` | source, symbol | the days asked for so far (`first_day`..`through`) and when |

`source` names where the closes came from (`alpaca:<account>`, `sim:<account>`): the same
symbol's adjusted closes differ between feeds, and two simulated accounts may read different
price files. The rule that decides what to fetch lives in `daemon.cycle.history`; this module
only stores.
"""

from __future__ import annotations

__all__ = ["CachedSeries", "PriceCloseRow", "PriceFetchRow", "PriceHistoryStore"]

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from daemon.store.base import Base
from daemon.store.types import ExactDecimal, UtcDateTime


class PriceCloseRow(Base):
    """One close of one symbol on one day, from one source."""

    __tablename__ = "price_closes"

    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date(), primary_key=True)
    close: Mapped[Decimal] = mapped_column(ExactDecimal())


class PriceFetchRow(Base):
    """What has been asked of a source for a symbol: the days covered and the last request."""

    __tablename__ = "price_fetches"

    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date())
    """The earliest day asked for: the cache knows every close the source had from here on."""
    through: Mapped[date] = mapped_column(Date())
    """The last day whose close the cache holds as final (the source's answer ended there)."""
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    requests: Mapped[int] = mapped_column()
    """Requests made for this symbol so far (for `trimtab` operators and the benchmark)."""


@dataclass(frozen=True, slots=True)
class CachedSeries:
    """A symbol's cached closes and what they cover."""

    first_day: date
    through: date
    closes: tuple[tuple[date, Decimal], ...]

    @property
    def last(self) -> tuple[date, Decimal] | None:
        return self.closes[-1] if self.closes else None


class PriceHistoryStore:
    """The price cache inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def coverage(self, source: str, symbol: str) -> PriceFetchRow | None:
        return self._session.get(PriceFetchRow, (source, symbol))

    def series(self, source: str, symbol: str, start: date, end: date) -> CachedSeries | None:
        """Return the cached closes of `symbol` dated in `[start, end]`, or None if none fetched."""
        fetch = self.coverage(source, symbol)
        if fetch is None:
            return None
        rows = self._session.execute(
            select(PriceCloseRow.day, PriceCloseRow.close)
            .where(
                PriceCloseRow.source == source,
                PriceCloseRow.symbol == symbol,
                PriceCloseRow.day >= start,
                PriceCloseRow.day <= end,
            )
            .order_by(PriceCloseRow.day)
        ).all()
        return CachedSeries(fetch.first_day, fetch.through, tuple((d, c) for d, c in rows))

    def last_close(self, source: str, symbol: str) -> tuple[date, Decimal] | None:
        row = self._session.execute(
            select(PriceCloseRow.day, PriceCloseRow.close)
            .where(PriceCloseRow.source == source, PriceCloseRow.symbol == symbol)
            .order_by(PriceCloseRow.day.desc())
            .limit(1)
        ).first()
        return None if row is None else (row[0], row[1])

    def coverages(self, source: str, symbols: Sequence[str]) -> dict[str, PriceFetchRow]:
        """Return the fetch rows of `symbols` that have one, in one query."""
        rows = self._session.scalars(
            select(PriceFetchRow).where(
                PriceFetchRow.source == source, PriceFetchRow.symbol.in_(symbols)
            )
        )
        return {row.symbol: row for row in rows}

    def last_closes(self, source: str, symbols: Sequence[str]) -> dict[str, tuple[date, Decimal]]:
        """Return each symbol's newest cached (day, close), for those with any, in one query."""
        newest = (
            select(PriceCloseRow.symbol, func.max(PriceCloseRow.day).label("day"))
            .where(PriceCloseRow.source == source, PriceCloseRow.symbol.in_(symbols))
            .group_by(PriceCloseRow.symbol)
            .subquery()
        )
        rows = self._session.execute(
            select(PriceCloseRow.symbol, PriceCloseRow.day, PriceCloseRow.close)
            .join(
                newest,
                (PriceCloseRow.symbol == newest.c.symbol) & (PriceCloseRow.day == newest.c.day),
            )
            .where(PriceCloseRow.source == source)
        )
        return {symbol: (day, close) for symbol, day, close in rows}

    def closes_of(
        self, source: str, symbols: Sequence[str], start: date, end: date
    ) -> dict[str, list[tuple[date, Decimal]]]:
        """Return the cached closes of `symbols` dated in `[start, end]`, oldest first."""
        found: dict[str, list[tuple[date, Decimal]]] = {s: [] for s in symbols}
        rows = self._session.execute(
            select(PriceCloseRow.symbol, PriceCloseRow.day, PriceCloseRow.close)
            .where(
                PriceCloseRow.source == source,
                PriceCloseRow.symbol.in_(symbols),
                PriceCloseRow.day >= start,
                PriceCloseRow.day <= end,
            )
            .order_by(PriceCloseRow.symbol, PriceCloseRow.day)
        )
        for symbol, day, close in rows:
            found[symbol].append((day, close))
        return found

    def forget_before(self, day: date) -> int:
        """Forget every cached close dated before `day`, of every source; return how many.

        What each coverage claims stays true: one that began earlier now begins at `day` (the
        cache still holds every close from there), one that ended before it is forgotten
        (its symbol is fetched anew when asked for)."""
        removed = self._session.execute(delete(PriceCloseRow).where(PriceCloseRow.day < day))
        self._session.execute(delete(PriceFetchRow).where(PriceFetchRow.through < day))
        self._session.execute(
            update(PriceFetchRow).where(PriceFetchRow.first_day < day).values(first_day=day)
        )
        return int(removed.rowcount)  # type: ignore[attr-defined]

    def forget(self, source: str | None, symbols: Sequence[str] | None = None) -> int:
        """Forget the cached closes and coverage of `source` (None: every source), of
        `symbols` only when given; return how many closes. What is asked for next is fetched
        whole from the broker."""
        closes, fetches = delete(PriceCloseRow), delete(PriceFetchRow)
        if source is not None:
            closes = closes.where(PriceCloseRow.source == source)
            fetches = fetches.where(PriceFetchRow.source == source)
        if symbols is not None:
            closes = closes.where(PriceCloseRow.symbol.in_(symbols))
            fetches = fetches.where(PriceFetchRow.symbol.in_(symbols))
        removed = self._session.execute(closes)
        self._session.execute(fetches)
        return int(removed.rowcount)  # type: ignore[attr-defined]

    def store(
        self,
        source: str,
        symbol: str,
        *,
        start: date,
        closes: Sequence[tuple[date, Decimal]],
        first_day: date,
        through: date,
        at: datetime,
    ) -> None:
        """Replace the cached closes dated from `start` on with `closes`; record the coverage.

        Everything from `start` is replaced, so an answer that no longer has a day (or has
        it adjusted differently) leaves no stale row behind.
        """
        self._session.execute(
            delete(PriceCloseRow).where(
                PriceCloseRow.source == source,
                PriceCloseRow.symbol == symbol,
                PriceCloseRow.day >= start,
            )
        )
        self._session.add_all(
            PriceCloseRow(source=source, symbol=symbol, day=day, close=close)
            for day, close in closes
        )
        fetch = self.coverage(source, symbol)
        if fetch is None:
            self._session.add(
                PriceFetchRow(
                    source=source,
                    symbol=symbol,
                    first_day=first_day,
                    through=through,
                    fetched_at=at,
                    requests=1,
                )
            )
        else:
            fetch.first_day, fetch.through, fetch.fetched_at = first_day, through, at
            fetch.requests += 1
        self._session.flush()
