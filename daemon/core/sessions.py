"""Trading sessions (open, close, neighbours) from exchange_calendars, a year at a time.

exchange_calendars' default calendar ends a year after its first import; schedules need any
year asked for (a time-machine test of 2028, a daemon running past that year), so sessions
are read from calendars built per year (`daemon.core.calendar.year_calendar`).
"""

from __future__ import annotations

__all__ = ["next_slot", "session_on", "sessions_between", "slots_between"]

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache

from daemon.core.calendar import exchange_timezone, quiet_pandas, year_calendar
from daemon.core.errors import ConfigError, ConfigProblem
from daemon.core.schedule import ScheduleSpec, Session, Slot


@lru_cache(maxsize=6)
def _year(code: str, year: int) -> tuple[Session, ...]:
    calendar = year_calendar(code, year)  # raises ConfigError naming an unknown calendar
    with quiet_pandas():
        schedule = calendar.schedule
    days = [ts.date() for ts in schedule.index]
    opens = [ts.to_pydatetime() for ts in schedule["open"]]
    closes = [ts.to_pydatetime() for ts in schedule["close"]]
    sessions = []
    for i, day in enumerate(days):
        if day.year != year:
            continue
        sessions.append(
            Session(
                day=day,
                open=opens[i],
                close=closes[i],
                previous_day=days[i - 1] if i > 0 else None,
                next_day=days[i + 1] if i + 1 < len(days) else None,
            )
        )
    return tuple(sessions)


def sessions_between(code: str, first: date, last: date) -> Iterator[Session]:
    """Yield the exchange's sessions from `first` to `last`, both included."""
    for year in range(first.year, last.year + 1):
        for session in _year(code, year):
            if first <= session.day <= last:
                yield session


def session_on(code: str, day: date) -> Session | None:
    """Return the session on `day`, or None on a weekend or holiday."""
    return next(sessions_between(code, day, day), None)


def slots_between(spec: ScheduleSpec, code: str, after: datetime, until: datetime) -> list[Slot]:
    """Return the schedule's slots with `after` < time <= `until`, in time order."""
    tz = exchange_timezone(code)
    # A session's slots can sit up to 12 hours either side of its open or close.
    first = after.astimezone(tz).date() - timedelta(days=1)
    last = until.astimezone(tz).date() + timedelta(days=1)
    found = [
        slot
        for session in sessions_between(code, first, last)
        for slot in spec.slots(session, tz)
        if after < slot.at <= until
    ]
    return sorted(found, key=lambda slot: slot.at)


def next_slot(spec: ScheduleSpec, code: str, after: datetime) -> Slot:
    """Return the first slot strictly after `after`; raise `ConfigError` if none in a year."""
    for days in (7, 62, 400):
        found = slots_between(spec, code, after, after + timedelta(days=days))
        if found:
            return found[0]
    raise ConfigError(
        [
            ConfigProblem(
                "schedule",
                f"{spec.text!r} has no slot in the year after {after:%Y-%m-%d}",
                "choose a schedule that runs on trading days",
            )
        ]
    )
