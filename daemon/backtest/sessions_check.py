"""Refuse a price file that misses sessions of the account's exchange in the backtest's range.

Each row of a price file is a trading day (docs/backtest.md, "The price file"): a session of
the exchange calendar (`settings.exchange`) with no row is a day the run would not see, no
cycle on it and the move across the gap counted as one day's return. Rows on days the exchange
was closed (synthetic files of every weekday) are not refused: only missing sessions are.

No check where the calendar cannot say what a session is: the `24/7` calendar (every calendar
day a session, which no file of trading days has), a code exchange_calendars does not know, or
years it cannot build (outside 1678 to 2261).
"""

from __future__ import annotations

__all__ = ["ALWAYS_OPEN", "Gap", "missing_sessions", "missing_sessions_error"]

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.prices import PriceTable

ALWAYS_OPEN = "24/7"
"""The calendar whose every day is a session: not checked."""
_A_WEEK = (date(2024, 1, 1), date(2024, 1, 7))
"""Any Monday to Sunday: the days of the regular week `typical_sessions` trades."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Consecutive sessions of the exchange with no row, and the file's row after them."""

    first: date
    last: date
    sessions: int
    row: int
    """The file's line number of the row after the gap."""
    day: date
    """That row's date."""


def missing_sessions(
    prices: PriceTable, exchange: str, start: date | None, end: date | None
) -> tuple[Gap, ...]:
    """Return the gaps of `prices` in the backtest's range: the exchange's sessions from
    `start` (default: the first row) to `end` (default: the last row) that have no row.

    Raise `BacktestInputError` for a range outside the file (`PriceTable.span`). Empty where
    the calendar cannot tell (`ALWAYS_OPEN`, an unknown code, years it cannot build)."""
    lo, hi = prices.span(start, end)
    if exchange == ALWAYS_OPEN:
        return ()
    first = prices.days[0] if start is None else start
    last = prices.days[-1] if end is None else end
    rows = prices.days[lo:hi]
    if _every_weekday_has_a_row(exchange, rows, first, last):
        return ()  # no session can be missing: no calendar (and no pandas) needed
    sessions = _calendar_sessions(exchange, first.year, last.year)
    if sessions is None:
        return ()
    held = set(rows)
    gaps: list[Gap] = []
    for session in sessions[bisect_left(sessions, first) : bisect_right(sessions, last)]:
        if session in held:
            continue
        k = bisect_left(prices.days, session)  # the row after it: `last` is on or before one
        if gaps and gaps[-1].day == prices.days[k]:
            gap = gaps[-1]
            gaps[-1] = Gap(gap.first, session, gap.sessions + 1, gap.row, gap.day)
        else:
            gaps.append(Gap(session, session, 1, prices.rows[k], prices.days[k]))
    return tuple(gaps)


def missing_sessions_error(
    prices: PriceTable,
    exchange: str,
    start: date | None,
    end: date | None,
    gaps: Sequence[Gap],
) -> BacktestInputError:
    """Return the refusal of a price file with `gaps` (`missing_sessions`): the file, the
    first gap's sessions and the row after it, how many sessions are missing, and the fix."""
    first = prices.days[0] if start is None else start
    last = prices.days[-1] if end is None else end
    total = sum(gap.sessions for gap in gaps)
    gap = gaps[0]
    where = f"{gap.first}" if gap.sessions == 1 else f"{gap.first} to {gap.last} ({gap.sessions})"
    more = (
        f"; {len(gaps)} gaps in all, the last before row {gaps[-1].row} ({gaps[-1].day})"
        if len(gaps) > 1
        else ""
    )
    return BacktestInputError(
        f"{prices.path} has no row for {total} session{_s(total)} of the exchange "
        f"calendar {exchange} from {first} to {last}: the first gap is {where}, before row "
        f"{gap.row} ({gap.day}){more}. Each row is a trading day: the run would not see those "
        "sessions (no cycle on them, and the move across a gap counted as one day's return). "
        "Add their rows (`trimtab prices export` and `trimtab prices merge` write every day "
        "the source has), or pass --allow-missing-days to run anyway: each missing session's "
        'cycle then runs on the next row (docs/backtest.md, "The price file")'
    )


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _every_weekday_has_a_row(exchange: str, rows: Sequence[date], first: date, last: date) -> bool:
    """Tell, without exchange_calendars (and pandas), whether every day of the exchange's
    regular week from `first` to `last` has a row: then no session of it can be missing.
    False when some have none (holidays, or missing sessions) or the exchange is not one of
    the common calendars (`daemon.core.sessions.typical_sessions`)."""
    from daemon.core.sessions import typical_sessions

    week = typical_sessions(exchange, *_A_WEEK)
    if week is None:
        return False
    weekdays = frozenset(session.day.weekday() for session in week[1])
    full, rest = divmod((last - first).days + 1, 7)
    wanted = full * len(weekdays) + sum(
        1 for k in range(rest) if (first.weekday() + k) % 7 in weekdays
    )
    # The rows are distinct days from `first` to `last`: as many on those weekdays is all.
    return sum(1 for day in rows if day.weekday() in weekdays) == wanted


@lru_cache(maxsize=4)
def _calendar_sessions(exchange: str, first_year: int, last_year: int) -> tuple[date, ...] | None:
    """Return the exchange's sessions from `first_year` to `last_year`, from one calendar
    for the whole span; None when exchange_calendars does not know the code or cannot build
    those years."""
    import exchange_calendars

    from daemon.core.calendar import exchange_problem, quiet_pandas

    if exchange_problem(exchange) is not None:
        return None
    try:
        with quiet_pandas():
            calendar = exchange_calendars.get_calendar(
                exchange, start=date(first_year, 1, 1), end=date(last_year, 12, 31)
            )
            return tuple(ts.date() for ts in calendar.sessions)
    except (ValueError, OverflowError, exchange_calendars.errors.CalendarError):
        return None
