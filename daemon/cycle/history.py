"""Daily close history for a strategy that looks back: from a file, or the broker via a cache.

Where the closes come from, in order:

1. the account's `history_file` (the simulated broker's CSV format), read as is;
2. else the broker's `PriceHistory` capability (the simulated broker's price source, Alpaca's
   daily bars adjusted for splits and dividends), through the cache in the state database
   (`daemon.store.price_history`);
3. else no history: a strategy that needs it stops the cycle with a `DataError`.

Which closes: those of the sessions before the cycle's trading day, through the previous
session (`previous_session`), whatever the hour. A cycle during the session cannot know
today's close, and one after the close decides the same as one before it, so the strategy's
answer does not depend on when in the day the cycle ran. `history_expected_through` is that
previous session: history ending earlier is stale.

The cache rule, per (source, symbol), for a window `[start, end]`:

| cached | request |
|---|---|
| nothing, or the window starts before the first day asked for | the whole window |
| through `end` already | none |
| up to an earlier day `L` | `[L, end]`: the new days, with `L` again as an overlap |

When the overlap's close differs from the cached one (by more than one part in a million),
or is missing, the source has re-adjusted its history (a split or a dividend: adjusted closes
before the ex-date all change), and the whole window is fetched again at once. So a daily
cycle makes at most one request per symbol (two on a day its adjusted history changed), and
none when that day's history was fetched already. A symbol whose expected close is missing
is asked again by the next cycle (the close may have arrived since).
"""

from __future__ import annotations

__all__ = [
    "CycleHistory",
    "Fetched",
    "HistoryCache",
    "cycle_history",
    "final_session",
    "previous_session",
]

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.base import Broker, PriceHistory
from daemon.core.errors import DataError
from daemon.core.sessions import sessions_between
from daemon.store.db import Database
from daemon.store.price_history import PriceHistoryStore
from strategies.base import ReadsHistory, Strategy

if TYPE_CHECKING:
    from daemon.logs import Log
    from strategies.history import CloseHistory

CHANGED = Decimal("0.000001")
"""Relative difference of an overlapping close that means the source re-adjusted its history."""

Closes = list[tuple[date, Decimal]]


def previous_session(day: date, exchange: str) -> date:
    """Return the last session of `exchange` strictly before `day`."""
    sessions = list(sessions_between(exchange, day - timedelta(days=14), day - timedelta(days=1)))
    if not sessions:
        raise DataError(f"no {exchange} session in the two weeks before {day}; check the calendar")
    return sessions[-1].day


def final_session(on: date, today: date, exchange: str) -> date:
    """Return the last session whose close is final for a question about day `on`.

    `on` before today: the last session up to and including `on`; otherwise the session
    before today (today's close is not used, whatever the hour).
    """
    return previous_session(min(on + timedelta(days=1), today), exchange)


@dataclass
class Fetched:
    """What one history read cost: requests made, by symbol."""

    requests: dict[str, int] = field(default_factory=dict)

    def count(self, symbol: str) -> None:
        self.requests[symbol] = self.requests.get(symbol, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass
class HistoryCache:
    """The cache in front of a broker's `daily_closes` (see the module's rule).

    `database` None (or read-only) reads straight from the broker, caching nothing.
    """

    reader: PriceHistory
    source: str
    database: Database | None
    clock: Callable[[], datetime]
    fetched: Fetched = field(default_factory=Fetched)

    def closes(self, symbols: Collection[str], start: date, end: date) -> dict[str, Closes]:
        """Return each symbol's closes dated in `[start, end]`, oldest first."""
        return {s: self._symbol(s, start, end) for s in sorted(symbols)}

    def _fetch(self, symbol: str, start: date, end: date) -> Closes:
        self.fetched.count(symbol)
        return [
            (d, c) for d, c in self.reader.daily_closes(symbol, start, end) if start <= d <= end
        ]

    def _symbol(self, symbol: str, start: date, end: date) -> Closes:
        database = self._database()
        if database is None:
            return self._fetch(symbol, start, end)
        with database.transaction() as session:
            store = PriceHistoryStore(session)
            fetch = store.coverage(self.source, symbol)
            cached = None if fetch is None else (fetch.first_day, fetch.through)
            last = store.last_close(self.source, symbol)
        if cached is None or start < cached[0]:
            first = start if cached is None else min(start, cached[0])
            self._save(symbol, first, self._fetch(symbol, first, end), first, end)
        elif end > cached[1]:
            since = last[0] if last is not None else cached[0]
            answer = self._fetch(symbol, since, end)
            overlap = dict(answer).get(since)
            if last is not None and (overlap is None or _differs(overlap, last[1])):
                # Re-adjusted (a split or dividend since the last fetch): the whole window anew.
                first = min(start, cached[0])
                self._save(symbol, first, self._fetch(symbol, first, end), first, end)
            else:
                self._save(symbol, since, answer, cached[0], end)
        with database.transaction() as session:
            series = PriceHistoryStore(session).series(self.source, symbol, start, end)
        return list(series.closes) if series is not None else []

    def _save(self, symbol: str, since: date, answer: Closes, first: date, end: date) -> None:
        """Cache `answer` (closes from `since`); covered through its last close, never past
        `end`, so a close the source did not have yet is asked for again."""
        database = self._database()
        assert database is not None
        with database.transaction() as session:
            store = PriceHistoryStore(session)
            fetch = store.coverage(self.source, symbol)
            # An extension keeps what was covered before it; a whole-window fetch starts over.
            known = [answer[-1][0]] if answer else []
            if fetch is not None and since > fetch.first_day:
                known.append(fetch.through)
            through = max(known) if known else first - timedelta(days=1)
            store.store(
                self.source,
                symbol,
                start=since,
                closes=answer,
                first_day=first,
                through=min(through, end),
                at=self.clock(),
            )

    def _database(self) -> Database | None:
        if self.database is None or self.database.read_only:
            return None
        return self.database


def _differs(new: Decimal, old: Decimal) -> bool:
    return abs(new - old) > CHANGED * abs(old)


@dataclass(frozen=True, slots=True)
class CycleHistory:
    """The history a strategy gets, and the last session whose close it must include."""

    history: CloseHistory
    expected_through: date | None
    fetched: Fetched


def cycle_history(
    strategy: Strategy,
    *,
    account: str,
    broker_name: str,
    broker: Broker | None,
    history_file: Path | None,
    database: Database | None,
    on: date,
    today: date,
    exchange: str,
    clock: Callable[[], datetime],
    log: Log | None = None,
) -> CycleHistory:
    """Return the closes `strategy` reads for a decision on day `on` (see the module)."""
    from strategies.history import empty_history, from_series, read_prices_csv

    if not isinstance(strategy, ReadsHistory):
        return CycleHistory(empty_history(), None, Fetched())
    needs = strategy.history_needs()
    if not needs.symbols:
        return CycleHistory(empty_history(), None, Fetched())
    end = final_session(on, today, exchange)
    if history_file is not None:
        history = read_prices_csv(history_file).until(end)
        _check_current(history, needs.symbols, end, f"history_file {history_file}")
        return CycleHistory(history, end, Fetched())
    if not isinstance(broker, PriceHistory):
        raise DataError(
            f"account {account}: the strategy reads daily price history and {broker_name} "
            "has none; set history_file (date,SYM1,SYM2,...) in the account's config"
        )
    cache = HistoryCache(broker, f"{broker_name}:{account}", database, clock)
    start = end - timedelta(days=needs.calendar_days())
    series: Mapping[str, Sequence[tuple[date, Decimal]]] = cache.closes(needs.symbols, start, end)
    if log is not None:
        log.info(
            "price_history",
            symbols=len(needs.symbols),
            through=end.isoformat(),
            requests=cache.fetched.total,
        )
    history = from_series(series)
    _check_current(history, needs.symbols, end, f"broker {broker_name}")
    return CycleHistory(history, end, cache.fetched)


def _check_current(history: CloseHistory, symbols: Collection[str], end: date, source: str) -> None:
    """Raise a `DataError` naming the first symbol whose closes stop before `end`.

    The strategy's own check (`CloseHistory.window`) names the day but not the symbol when
    the whole history is stale; this one names both.
    """
    import numpy as np

    for symbol in sorted(symbols):
        if symbol not in history.symbols:
            continue  # the strategy's check names a missing column, with its fix
        known = np.flatnonzero(np.isfinite(history.column(symbol)) & (history.column(symbol) > 0))
        last = history.days[int(known[-1])] if known.size else None
        if last is None or last < end:
            ends = f"ends {last}" if last is not None else "has no close"
            raise DataError(
                f"price history of {symbol} from {source} {ends}; the close of {end} (the "
                f"previous session) should be known: refresh the history, or check {symbol} "
                "is still listed"
            )
