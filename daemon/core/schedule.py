"""Schedule expressions: when an account's cycle runs, in the exchange's time zone.

Pure: a parsed `ScheduleSpec` turns one trading `Session` into that day's slots, with no
clock and no calendar lookups. The forms, case-insensitive:

```
close - 15m                          every trading day, 15 minutes before that day's close
open + 1h30m                         relative to the open (early closes move "close" slots)
15:45                                a fixed time of day in the exchange's time zone
15:45 on first trading day of the month
first trading day of the month at close - 15m
last trading day of the week         at the default time, close - 15m
every 30 minutes while open          open + 30m, open + 60m, ... while before the close
```

Day filters: `trading days` (the default), `first|last trading day of the month|week`.
A slot is named by its wall-clock time at the exchange (`1545`), so the cycle id
`account:day:1545` stays the same when "close - 15m" is rewritten as "15:45" on a normal day.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_SCHEDULE",
    "Days",
    "ScheduleError",
    "ScheduleSpec",
    "Session",
    "Slot",
    "parse_schedule",
]

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_SCHEDULE = "close - 15m"
MAX_OFFSET = timedelta(hours=12)
MAX_EVERY = timedelta(hours=12)


class Days(StrEnum):
    """Which trading days carry slots."""

    TRADING = "trading days"
    FIRST_OF_MONTH = "first trading day of the month"
    LAST_OF_MONTH = "last trading day of the month"
    FIRST_OF_WEEK = "first trading day of the week"
    LAST_OF_WEEK = "last trading day of the week"


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session and its neighbours, as the exchange calendar gives them (UTC)."""

    day: date
    open: datetime
    close: datetime
    previous_day: date | None
    next_day: date | None
    regular: bool = True
    """A full session at the exchange's regular hours (no early close or late open)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One moment an account's cycle is due."""

    day: date
    at: datetime
    """UTC."""
    name: str
    """The exchange's wall-clock time, HHMM: the slot part of the cycle id."""
    in_session: bool
    """Whether the market is open at `at` (a fixed time can fall after an early close)."""


@dataclass(frozen=True, slots=True)
class _At:
    anchor: str
    """"open", "close" or "time"."""
    offset: timedelta = timedelta(0)
    clock: time | None = None


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A parsed schedule; `slots` gives one session's slots."""

    text: str
    days: Days
    at: _At | None
    every: timedelta | None

    def runs_on(self, session: Session) -> bool:
        """Tell whether the day filter selects `session`."""
        day, prev, nxt = session.day, session.previous_day, session.next_day
        if self.days is Days.TRADING:
            return True
        if self.days is Days.FIRST_OF_MONTH:
            return prev is None or (prev.year, prev.month) != (day.year, day.month)
        if self.days is Days.LAST_OF_MONTH:
            return nxt is None or (nxt.year, nxt.month) != (day.year, day.month)
        week = day.isocalendar()[:2]
        if self.days is Days.FIRST_OF_WEEK:
            return prev is None or prev.isocalendar()[:2] != week
        return nxt is None or nxt.isocalendar()[:2] != week

    def slots(self, session: Session, tz: ZoneInfo) -> list[Slot]:
        """Return the session's slots in time order (none when the day filter skips it)."""
        if not self.runs_on(session):
            return []
        if self.every is not None:
            times = []
            at = session.open + self.every
            while at < session.close:
                times.append(at)
                at += self.every
        else:
            assert self.at is not None
            times = [self._resolve(self.at, session, tz)]
        return [
            Slot(
                day=session.day,
                at=at,
                name=at.astimezone(tz).strftime("%H%M"),
                in_session=session.open <= at < session.close,
            )
            for at in times
        ]

    @staticmethod
    def _resolve(at: _At, session: Session, tz: ZoneInfo) -> datetime:
        if at.anchor == "open":
            return session.open + at.offset
        if at.anchor == "close":
            return session.close + at.offset
        assert at.clock is not None
        # zoneinfo resolves a wall time that DST skips or repeats with fold=0: one instant.
        local = datetime.combine(session.day, at.clock, tzinfo=tz)
        return local.astimezone(ZoneInfo("UTC"))


_DURATION = re.compile(r"^(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in(?:utes?)?)?)?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")
_ANCHORED = re.compile(r"^(?P<anchor>open|close)\s*(?:(?P<sign>[+-])\s*(?P<dur>.+))?$")
_EVERY = re.compile(
    r"^every\s+(?P<n>\d+)\s*(?:minutes?|mins?|m)\s+while\s+(?:the\s+market\s+is\s+)?open$"
)
_DAYS = {d.value: d for d in Days}


class ScheduleError(ValueError):
    """A schedule expression that cannot be parsed; the message says what is wrong."""


def parse_schedule(text: str) -> ScheduleSpec:
    """Parse a schedule expression, or raise `ScheduleError` naming the problem."""
    source = " ".join(text.strip().lower().split())
    if not source:
        raise ScheduleError("the schedule is empty")
    days = Days.TRADING
    when = source
    head, on, tail = source.partition(" on ")
    if on:
        when, days = head, _days(tail.removeprefix("the "))
    else:
        for phrase, value in _DAYS.items():
            if source.startswith(phrase):
                days = value
                rest = source[len(phrase) :].strip()
                when = rest.removeprefix("at ").strip() if rest else DEFAULT_SCHEDULE
                break
    every = _EVERY.match(when)
    if every:
        minutes = int(every["n"])
        step = timedelta(minutes=minutes)
        if not timedelta(minutes=1) <= step <= MAX_EVERY:
            raise ScheduleError("the interval must be 1 to 720 minutes")
        return ScheduleSpec(text=text, days=days, at=None, every=step)
    return ScheduleSpec(text=text, days=days, at=_when(when), every=None)


def _days(text: str) -> Days:
    try:
        return _DAYS[text]
    except KeyError:
        known = "; ".join(_DAYS)
        raise ScheduleError(f"unknown days {text!r}: use one of {known}") from None


def _when(text: str) -> _At:
    clock = _CLOCK.match(text)
    if clock:
        hour, minute = int(clock["h"]), int(clock["m"])
        if hour > 23 or minute > 59:
            raise ScheduleError(f"{text!r} is not a time of day (00:00 to 23:59)")
        return _At("time", clock=time(hour, minute))
    anchored = _ANCHORED.match(text)
    if anchored is None:
        raise ScheduleError(
            f"cannot read {text!r}: write e.g. 'close - 15m', 'open + 1h', '15:45' or "
            "'every 30 minutes while open'"
        )
    offset = timedelta(0)
    if anchored["dur"] is not None:
        offset = _duration(anchored["dur"])
        if anchored["sign"] == "-":
            offset = -offset
    if abs(offset) > MAX_OFFSET:
        raise ScheduleError("an offset from the open or close must be at most 12h")
    return _At(anchored["anchor"], offset=offset)


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None or (match["h"] is None and match["m"] is None):
        raise ScheduleError(f"cannot read the duration {text!r}: write e.g. 15m, 1h or 1h30m")
    return timedelta(hours=int(match["h"] or 0), minutes=int(match["m"] or 0))
