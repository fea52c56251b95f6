"""The history cache's rule (`daemon.cycle.history.HistoryCache`) on real databases, with a
price source that answers from a table and counts what it is asked."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from daemon.cycle.history import HistoryCache
from daemon.store.db import Database

D = Decimal
AT = datetime(2026, 12, 1, 17, tzinfo=UTC)
FRIDAY = date(2026, 11, 27)


class TableSource:
    """A `PriceHistory` from a dict of closes; `asked` records every (symbol, start, end)."""

    def __init__(self, closes: dict[str, dict[date, Decimal]]) -> None:
        self.closes = closes
        self.asked: list[tuple[str, date, date]] = []

    def daily_closes(self, symbol: str, start: date, end: date) -> Sequence[tuple[date, Decimal]]:
        self.asked.append((symbol, start, end))
        series = self.closes.get(symbol, {})
        return [(d, series[d]) for d in sorted(series) if start <= d <= end]


def weekdays(first: date, last: date) -> list[date]:
    span = (last - first).days + 1
    return [first + timedelta(days=i) for i in range(span) if (first + timedelta(i)).weekday() < 5]


def table(last: date) -> dict[str, dict[date, Decimal]]:
    days = weekdays(date(2026, 9, 1), last)
    return {"VTI": {d: D(100) + i for i, d in enumerate(days)}}


def cache(source: TableSource, database: Database | None) -> HistoryCache:
    return HistoryCache(source, "test:main", database, lambda: AT)


def test_a_close_that_has_not_come_is_asked_for_again_until_it_has(database: Database) -> None:
    source = TableSource(table(FRIDAY - timedelta(days=1)))  # Friday's close is late
    start, end = date(2026, 10, 1), FRIDAY
    got = cache(source, database).closes(["VTI"], start, end)
    assert got["VTI"][-1][0] == FRIDAY - timedelta(days=1)
    cache(source, database).closes(["VTI"], start, end)
    assert len(source.asked) == 2  # asked again: Friday's close may have come
    source.closes = table(FRIDAY)
    assert cache(source, database).closes(["VTI"], start, end)["VTI"][-1][0] == FRIDAY
    cache(source, database).closes(["VTI"], start, end)
    assert len(source.asked) == 3  # now covered: not asked again
    assert source.asked[-1] == ("VTI", FRIDAY - timedelta(days=1), FRIDAY)  # the overlap day


def test_a_longer_window_fetches_from_its_new_start(database: Database) -> None:
    source = TableSource(table(FRIDAY))
    cache(source, database).closes(["VTI"], date(2026, 11, 1), FRIDAY)
    got = cache(source, database).closes(["VTI"], date(2026, 10, 1), FRIDAY)
    assert source.asked == [
        ("VTI", date(2026, 11, 1), FRIDAY),
        ("VTI", date(2026, 10, 1), FRIDAY),
    ]
    assert got["VTI"][0][0] == date(2026, 10, 1)
    assert got["VTI"] == [(d, c) for d, c in sorted(source.closes["VTI"].items())
                          if date(2026, 10, 1) <= d <= FRIDAY]  # fmt: skip


def test_a_changed_overlap_replaces_the_window_and_an_unknown_symbol_stays_empty(
    database: Database,
) -> None:
    source = TableSource(table(FRIDAY))
    start = date(2026, 10, 1)
    cache(source, database).closes(["VTI", "NOPE"], start, FRIDAY)
    # A dividend went ex on Monday: every earlier adjusted close moved down by 1%.
    source.closes = {"VTI": {d: (c * D("0.99") if d < date(2026, 11, 30) else c)
                             for d, c in table(date(2026, 11, 30))["VTI"].items()}}  # fmt: skip
    got = cache(source, database).closes(["VTI", "NOPE"], start, date(2026, 11, 30))
    assert got["NOPE"] == []
    assert got["VTI"] == [(d, c) for d, c in sorted(source.closes["VTI"].items()) if d >= start]
    assert [a[1] for a in source.asked if a[0] == "VTI"] == [start, FRIDAY, start]


def test_without_a_database_every_read_asks_the_source() -> None:
    source = TableSource(table(FRIDAY))
    for _ in range(2):
        cache(source, None).closes(["VTI"], date(2026, 11, 1), FRIDAY)
    assert len(source.asked) == 2


def test_forgetting_old_closes_keeps_what_the_coverage_claims(database: Database) -> None:
    from daemon.store.price_history import PriceHistoryStore

    source = TableSource(table(FRIDAY))
    source.closes["OLD"] = {d: D(50) for d in weekdays(date(2026, 9, 1), date(2026, 9, 30))}
    cache(source, database).closes(["VTI"], date(2026, 9, 1), FRIDAY)
    cache(source, database).closes(["OLD"], date(2026, 9, 1), date(2026, 9, 30))
    cutoff = date(2026, 11, 2)
    with database.transaction() as session:
        forgotten = PriceHistoryStore(session).forget_before(cutoff)
    assert forgotten == len(weekdays(date(2026, 9, 1), date(2026, 11, 1))) + 22
    with database.transaction() as session:
        store = PriceHistoryStore(session)
        vti = store.coverage("test:main", "VTI")
        assert vti is not None
        assert (vti.first_day, vti.through) == (cutoff, FRIDAY)
        assert store.coverage("test:main", "OLD") is None  # ended before: forgotten whole
    asked = len(source.asked)
    # A window from the cutoff on is still served from the cache; one from before it is not.
    got = cache(source, database).closes(["VTI"], cutoff, FRIDAY)
    assert got["VTI"][0] == (cutoff, source.closes["VTI"][cutoff])
    assert len(source.asked) == asked
    older = cache(source, database).closes(["VTI"], date(2026, 10, 1), FRIDAY)
    assert older["VTI"][0][0] == date(2026, 10, 1)
    assert source.asked[asked:] == [("VTI", date(2026, 10, 1), FRIDAY)]


def test_a_split_like_move_in_the_window_fetches_it_whole_once_a_day(database: Database) -> None:
    """A cached one-day move beyond 30% may be a split the source adjusted after the closes
    around it were cached: the day's extension asks for the whole window instead (one
    request still), and a real crash costs no more than that."""
    source = TableSource(table(FRIDAY + timedelta(days=7)))
    vti = source.closes["VTI"]
    for day in [d for d in vti if d >= date(2026, 11, 20)]:
        vti[day] = vti[day] * D("0.6")  # a 40% fall on the 20th that stays
    start = date(2026, 10, 1)
    cache(source, database).closes(["VTI"], start, FRIDAY)
    for end in (date(2026, 11, 30), date(2026, 12, 1)):
        for _ in range(2):  # a second read the same day asks nothing
            got = cache(source, database).closes(["VTI"], start, end)
        assert got["VTI"] == [(d, c) for d, c in sorted(vti.items()) if start <= d <= end]
    assert source.asked == [("VTI", start, FRIDAY), ("VTI", start, date(2026, 11, 30)),
                            ("VTI", start, date(2026, 12, 1))]  # fmt: skip
    # A move of 30% or less is not split-like: the next day is an extension again.
    source.closes["BND"] = {d: D(70) if d >= date(2026, 11, 20) else D(100) for d in vti}
    cache(source, database).closes(["BND"], start, date(2026, 11, 30))
    cache(source, database).closes(["BND"], start, date(2026, 12, 1))
    assert source.asked[-1] == ("BND", date(2026, 11, 30), date(2026, 12, 1))


def test_two_writers_filling_the_same_symbols_at_once_both_succeed(
    database_url: str, tmp_path: Path
) -> None:
    """The audit's race: a daemon cycle and `trimtab plan` both find nothing cached, both ask
    the broker, then both write the same closes (PostgreSQL raised IntegrityError)."""
    from daemon.bootstrap import broker_migrations
    from daemon.store.db import open_database

    open_database(database_url, tmp_path / "state", branches=broker_migrations()).close()
    barrier = threading.Barrier(2)

    class Together(TableSource):
        def daily_closes(self, symbol: str, start: date, end: date) -> Sequence[tuple[date, D]]:
            barrier.wait(timeout=20)  # both found nothing cached before either writes
            return super().daily_closes(symbol, start, end)

    start = date(2026, 10, 1)
    results: dict[str, object] = {}

    def read(name: str) -> None:
        db = open_database(database_url, tmp_path / "state", branches=broker_migrations())
        try:
            # Named in either order: each writer stores them in one order all the same.
            symbols = ["VTI", "BND"] if name == "cycle" else ["BND", "VTI"]
            results[name] = cache(Together(two), db).closes(symbols, start, FRIDAY)
        except Exception as exc:  # the thread's failure is what the test reports
            results[name] = exc
        finally:
            db.close()

    two = table(FRIDAY)
    two["BND"] = {d: c / 2 for d, c in two["VTI"].items()}
    threads = [threading.Thread(target=read, args=(n,)) for n in ("cycle", "plan")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    expected = {s: [(d, c) for d, c in sorted(two[s].items()) if start <= d <= FRIDAY]
                for s in ("BND", "VTI")}  # fmt: skip
    assert results == {"cycle": expected, "plan": expected}
    db = open_database(database_url, tmp_path / "state", branches=broker_migrations())
    try:
        assert cache(TableSource({}), db).closes(["BND", "VTI"], start, FRIDAY) == expected
    finally:
        db.close()
