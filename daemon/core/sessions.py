"""Trading sessions (open, close, neighbours) from exchange_calendars, a year at a time.

exchange_calendars' default calendar ends a year after its first import; schedules need any
year asked for (a time-machine test of 2028, a daemon running past that year), so sessions
are read from calendars built per year (`daemon.core.calendar.year_calendar`).
"""

from __future__ import annotations

__all__ = [
    "ScheduleUse",
    "next_slot",
    "schedule_problems",
    "session_on",
    "sessions_between",
    "slots_between",
    "typical_sessions",
]

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from daemon.core.calendar import exchange_timezone, quiet_pandas, year_calendar
from daemon.core.errors import ConfigError, ConfigProblem
from daemon.core.schedule import ScheduleSpec, Session, Slot, parse_schedule


@lru_cache(maxsize=6)
def _year(code: str, year: int) -> tuple[Session, ...]:
    calendar = year_calendar(code, year)  # raises ConfigError naming an unknown calendar
    with quiet_pandas():
        schedule = calendar.schedule
        shortened = {ts.date() for ts in calendar.early_closes} | {
            ts.date() for ts in calendar.late_opens
        }
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
                regular=day not in shortened,
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


_TYPICAL = {
    "XNYS": ("America/New_York", time(9, 30), time(16, 0), 5),
    "XNAS": ("America/New_York", time(9, 30), time(16, 0), 5),
    "24/7": ("UTC", time(0, 0), time(0, 0), 7),
}
"""The regular week of the common calendars (`daemon.core.calendar.COMMON_CALENDARS`): time
zone, open, close (midnight: the next day's), trading days a week. A test holds them to
exchange_calendars' sessions."""


def typical_sessions(code: str, first: date, last: date) -> tuple[ZoneInfo, list[Session]] | None:
    """Return the exchange's time zone and regular full sessions from `first` to `last`,
    holidays ignored, for a common calendar without importing exchange_calendars (and
    pandas); None for any other code."""
    if code not in _TYPICAL:
        return None
    zone, opens, closes, weekdays = _TYPICAL[code]
    tz = ZoneInfo(zone)
    days = []
    day = first - timedelta(days=7)
    while day <= last + timedelta(days=7):
        if day.weekday() < weekdays:
            days.append(day)
        day += timedelta(days=1)
    sessions = []
    for i, day in enumerate(days):
        if first <= day <= last:
            close_day = day if closes > opens else day + timedelta(days=1)
            sessions.append(
                Session(
                    day=day,
                    open=datetime.combine(day, opens, tz).astimezone(UTC),
                    close=datetime.combine(close_day, closes, tz).astimezone(UTC),
                    previous_day=days[i - 1],
                    next_day=days[i + 1],
                )
            )
    return tz, sessions


@dataclass(frozen=True, slots=True)
class ScheduleUse:
    """One schedule in the configuration, and what its slots must respect."""

    path: str
    text: str
    account: bool
    """A cycle's schedule (its slots name the cycle's trading day), not the digest's."""
    outside_hours: bool = False
    """The account trades outside the regular session (`policy.outside_hours`)."""


def schedule_problems(
    uses: Sequence[ScheduleUse], code: str, sessions: Sequence[Session], tz: ZoneInfo
) -> list[ConfigProblem]:
    """Return what is wrong with each schedule over `sessions` (the coming weeks' sessions):
    no slot at all; an account's slot on another date than its trading day (the cycle id
    would name the wrong day); an account's slot outside a regular full session, which would
    be skipped every day unless the account trades outside the regular session."""
    problems = []
    for use in uses:
        spec = parse_schedule(use.text)
        slots = [(session, slot) for session in sessions for slot in spec.slots(session, tz)]
        if not slots:
            problems.append(
                ConfigProblem(
                    use.path,
                    f"{use.text!r} has no slot in the next 40 days at {code}",
                    "check the exchange and the day filter",
                )
            )
        if not use.account:
            continue
        elsewhere = [slot for _, slot in slots if slot.at.astimezone(tz).date() != slot.day]
        if elsewhere:
            first = elsewhere[0]
            problems.append(
                ConfigProblem(
                    use.path,
                    f"{use.text!r} puts the {first.day} slot on "
                    f"{first.at.astimezone(tz):%Y-%m-%d %H:%M} at {code}, another day",
                    "choose a time on the trading day itself, e.g. 'close - 15m'",
                )
            )
            continue
        closed = [
            (session, slot)
            for session, slot in slots
            if session.regular and not slot.in_session and not use.outside_hours
        ]
        if closed:
            session, slot = closed[0]
            hours = f"{session.open.astimezone(tz):%H:%M}-{session.close.astimezone(tz):%H:%M}"
            problems.append(
                ConfigProblem(
                    use.path,
                    f"{use.text!r} puts its slot at {slot.at.astimezone(tz):%H:%M} on "
                    f"{slot.day}, outside {code}'s regular session ({hours}, the close "
                    "excluded): it would be skipped every such day",
                    "run while the market is open: use close - 1m or earlier, open + 0m or "
                    "later; or set policy.outside_hours to trade outside the session",
                )
            )
    return problems
