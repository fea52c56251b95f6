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
before the ex-date all change), and the whole window is fetched again at once. A split the
source adjusts late leaves the overlap (on or after the ex-date) unchanged, so a symbol whose
cached window holds a one-day move beyond `SPLIT_LIKE` is asked for its whole window instead
of the day's extension (one request still), until the move leaves the window. So a daily
cycle names each symbol in at most one request (two on a day its adjusted history changed),
and in none when that day's history was fetched already. A symbol whose expected close is
missing is asked again by the next cycle (the close may have arrived since). Symbols needing
the same days share one request where the broker takes many (`BatchPriceHistory`: Alpaca),
so a day's extension of a whole universe is usually one query.
"""

from __future__ import annotations

__all__ = [
    "CycleHistory",
    "Fetched",
    "HistoryCache",
    "account_history",
    "cycle_history",
    "final_session",
    "previous_session",
]

import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.base import BatchPriceHistory, Broker, PriceHistory
from daemon.config.settings import Settings
from daemon.core.calendar import trading_day
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

SPLIT_LIKE = Decimal("0.3")
"""A one-day move beyond this (either way) in the cached window may be an unadjusted split."""

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
    """The cache in front of a broker's daily closes (see the module's rule).

    Symbols that need the same days are asked for together when the broker takes many
    symbols per request (`BatchPriceHistory`: Alpaca), else one `daily_closes` each.
    `database` None (or read-only) reads straight from the broker, caching nothing.
    """

    reader: PriceHistory
    source: str
    database: Database | None
    clock: Callable[[], datetime]
    fetched: Fetched = field(default_factory=Fetched)

    def closes(self, symbols: Collection[str], start: date, end: date) -> dict[str, Closes]:
        """Return each symbol's closes dated in `[start, end]`, oldest first."""
        wanted = sorted(set(symbols))
        database = self._database()
        if database is None:
            return self._fetch(wanted, start, end)
        with database.transaction() as session:
            store = PriceHistoryStore(session)
            fetches = store.coverages(self.source, wanted)
            lasts = store.last_closes(self.source, wanted)
            known = {s: (fetches.get(s), lasts.get(s)) for s in wanted}
            due = [s for s, (f, _) in known.items() if f is not None and end > f.through]
            cached = store.closes_of(self.source, due, start, end)
        whole: dict[date, list[str]] = {}  # first day -> symbols fetched from it anew
        extend: dict[date, list[str]] = {}  # last cached day -> symbols extended from it
        for symbol, (fetch, last) in known.items():
            if fetch is None or start < fetch.first_day:
                first = start if fetch is None else min(start, fetch.first_day)
                whole.setdefault(first, []).append(symbol)
            elif end > fetch.through and _split_like(cached[symbol]):
                # Perhaps a split the source adjusted after we cached the closes around it:
                # the overlap (on or after the ex-date) cannot show that, so ask for it all.
                whole.setdefault(min(start, fetch.first_day), []).append(symbol)
            elif end > fetch.through:
                since = last[0] if last is not None else fetch.first_day
                extend.setdefault(since, []).append(symbol)
        again: dict[date, list[str]] = {}
        saves: list[tuple[str, date, Closes, date]] = []
        for since, group in extend.items():
            answers = self._fetch(group, since, end)
            for symbol in group:
                fetch, last = known[symbol]
                assert fetch is not None
                overlap = dict(answers[symbol]).get(since)
                if last is not None and (overlap is None or _differs(overlap, last[1])):
                    # Re-adjusted (a split or dividend since the last fetch): all of it anew.
                    again.setdefault(min(start, fetch.first_day), []).append(symbol)
                else:
                    saves.append((symbol, since, answers[symbol], fetch.first_day))
        for batches in (whole, again):
            for first, group in batches.items():
                answers = self._fetch(group, first, end)
                saves.extend((symbol, first, answers[symbol], first) for symbol in group)
        with database.transaction() as session:
            store = PriceHistoryStore(session)
            store.coverages(self.source, [save[0] for save in saves])  # loaded in one query
            # By symbol: every writer takes the rows' locks in one order (PostgreSQL), so a
            # cycle and `trimtab plan` writing at once wait for each other, never deadlock.
            for symbol, since, answer, first in sorted(saves, key=lambda save: save[0]):
                self._save(store, symbol, since, answer, first, end)
            return store.closes_of(self.source, wanted, start, end)

    def _fetch(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        for symbol in symbols:
            self.fetched.count(symbol)
        if isinstance(self.reader, BatchPriceHistory):
            answers = self.reader.daily_closes_of(symbols, start, end)
        else:
            answers = {s: self.reader.daily_closes(s, start, end) for s in symbols}
        return {s: [(d, c) for d, c in answers.get(s, ()) if start <= d <= end] for s in symbols}

    def _save(
        self,
        store: PriceHistoryStore,
        symbol: str,
        since: date,
        answer: Closes,
        first: date,
        end: date,
    ) -> None:
        """Cache `answer` (closes from `since`); covered through its last close, never past
        `end`, so a close the source did not have yet is asked for again."""
        fetch = store.coverage(self.source, symbol)
        # An extension keeps what was covered before it; a whole-window fetch starts over.
        covered = [answer[-1][0]] if answer else []
        if fetch is not None and since > fetch.first_day:
            covered.append(fetch.through)
        through = max(covered) if covered else first - timedelta(days=1)
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


def _split_like(closes: Closes) -> bool:
    """Whether a close moved by more than `SPLIT_LIKE` from the one before it."""
    return any(
        prev > 0 and abs(close / prev - 1) > SPLIT_LIKE
        for (_, prev), (_, close) in itertools.pairwise(closes)
    )


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
        _check_current(
            history,
            needs.symbols,
            end,
            f"history_file {history_file}",
            fix=lambda symbol: f"add the missing closes of {symbol} to the file",
        )
        return CycleHistory(history, end, Fetched())
    if not isinstance(broker, PriceHistory):
        raise DataError(
            f"account {account}: the strategy reads daily price history and "
            f"{f'broker {broker_name}' if broker is not None else 'a plan without a broker'} "
            "gives none; set history_file (date,SYM1,SYM2,...) in the account's config"
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
    _check_current(
        history,
        needs.symbols,
        end,
        f"broker {broker_name}",
        fix=lambda symbol: (
            "the next cycle asks the broker again; if the cached closes are wrong, refresh "
            f"the history with `trimtab prices forget --account {account} --symbol {symbol}`"
        ),
    )
    return CycleHistory(history, end, cache.fetched)


def account_history(
    strategy: Strategy,
    *,
    settings: Settings,
    account: str,
    broker: Broker | None,
    database: Database | None,
    clock: Callable[[], datetime],
    on: date | None = None,
    log: Log | None = None,
) -> CycleHistory:
    """Return `cycle_history` for an account as configured, on day `on` (default today)."""
    configured = settings.account(account)
    today = trading_day(clock(), settings.exchange)
    return cycle_history(
        strategy,
        account=account,
        broker_name=configured.broker,
        broker=broker,
        history_file=configured.history_file,
        database=database,
        on=on or today,
        today=today,
        exchange=settings.exchange,
        clock=clock,
        log=log,
    )


def _check_current(
    history: CloseHistory,
    symbols: Collection[str],
    end: date,
    source: str,
    *,
    fix: Callable[[str], str],
) -> None:
    """Raise a `DataError` naming the first symbol whose closes stop before `end`, and
    `fix(symbol)`.

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
                f"price history of {symbol} from {source} {ends}; the close of {end} should "
                f"be known (the decision uses the closes through that session): {fix(symbol)}; "
                f"or check that {symbol} still trades"
            )
