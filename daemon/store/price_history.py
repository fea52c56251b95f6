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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.util import identity_key

from daemon.store.base import Base
from daemon.store.types import ExactDecimal, UtcDateTime

Upsert = postgresql.Insert | sqlite.Insert
"""An INSERT with `on_conflict_do_update`, in either dialect's spelling."""


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
        it adjusted differently) leaves no stale row behind. Rows are upserted: another
        writer (a cycle and `trimtab plan` at once) may have cached the same closes since
        this one read the cache, and the later answer wins.
        """
        self._session.execute(
            delete(PriceCloseRow).where(
                PriceCloseRow.source == source,
                PriceCloseRow.symbol == symbol,
                PriceCloseRow.day >= start,
            )
        )
        insert = self._insert()
        if closes:
            rows = insert(PriceCloseRow).values(
                [{"source": source, "symbol": symbol, "day": d, "close": c} for d, c in closes]
            )
            self._session.execute(
                rows.on_conflict_do_update(
                    index_elements=["source", "symbol", "day"],
                    set_={"close": rows.excluded.close},
                )
            )
        fetch = insert(PriceFetchRow).values(
            source=source,
            symbol=symbol,
            first_day=first_day,
            through=through,
            fetched_at=at,
            requests=1,
        )
        self._session.execute(
            fetch.on_conflict_do_update(
                index_elements=["source", "symbol"],
                set_={
                    "first_day": fetch.excluded.first_day,
                    "through": fetch.excluded.through,
                    "fetched_at": fetch.excluded.fetched_at,
                    "requests": PriceFetchRow.requests + 1,
                },
            )
        )
        # The statements bypass the session: a coverage row it loaded before is stale now.
        loaded = self._session.identity_map.get(identity_key(PriceFetchRow, (source, symbol)))
        if loaded is not None:
            self._session.expire(loaded)

    def _insert(self) -> Callable[[type[Base]], Upsert]:
        """The dialect's INSERT, which has ON CONFLICT (SQLite and PostgreSQL alike)."""
        if self._session.get_bind().dialect.name == "postgresql":
            return postgresql.insert
        return sqlite.insert
