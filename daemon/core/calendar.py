"""The exchange's time zone and trading day, from exchange_calendars."""

from __future__ import annotations

__all__ = [
    "exchange_calendar",
    "exchange_problem",
    "exchange_timezone",
    "market_open",
    "quiet_pandas",
    "trading_day",
    "year_calendar",
]

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from daemon.core.errors import ConfigError, ConfigProblem

_QUIET = threading.RLock()


@contextmanager
def quiet_pandas() -> Iterator[None]:
    """Silence the pandas 3.1 deprecations that exchange_calendars 4.13 triggers (`.values`
    on tz-aware data); they change nothing for the calendar's answers.

    One thread at a time: `catch_warnings` swaps the process's filters, so a thread leaving
    it while another is inside would put the warning back under the other's feet (the
    scheduler's thread reads sessions while the cycle's thread asks about market hours)."""
    with _QUIET, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\.values returning an ndarray")
        yield


COMMON_CALENDARS = frozenset({"XNYS", "XNAS", "24/7"})
"""Codes every exchange_calendars release knows: the configuration accepts them without
importing it (and pandas), so `trimtab config check` stays quick for them."""


def exchange_problem(code: str) -> ConfigProblem | None:
    """Return the problem with exchange calendar `code`, or None when exchange_calendars
    knows it (importing exchange_calendars only for a code outside `COMMON_CALENDARS`)."""
    if code in COMMON_CALENDARS:
        return None
    import difflib

    import exchange_calendars

    names = exchange_calendars.get_calendar_names(include_aliases=True)
    if code in names:
        return None
    close = difflib.get_close_matches(code.upper(), names, n=3)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return ConfigProblem(
        "exchange",
        f"unknown exchange calendar {code!r}{hint}",
        "use an exchange_calendars code, e.g. XNYS (New York) or XLON (London); "
        "python -c 'import exchange_calendars as x; print(x.get_calendar_names())' lists them",
    )


@cache
def exchange_calendar(code: str) -> Any:
    """Return exchange `code`'s calendar with exchange_calendars' default span.

    For the time zone and what stays true for ever. Its sessions end a year after
    exchange_calendars was first imported (`GLOBAL_DEFAULT_END`, fixed then), so a daemon up
    for a year would stop knowing today: sessions and market hours come from
    `year_calendar`.
    """
    import exchange_calendars

    problem = exchange_problem(code)
    if problem is not None:
        raise ConfigError([problem])
    with quiet_pandas():
        return exchange_calendars.get_calendar(code)


YEAR_MARGIN = timedelta(days=14)
"""What a year's calendar holds either side of the year, so its first and last sessions have
known neighbours."""


@lru_cache(maxsize=6)
def year_calendar(code: str, year: int) -> Any:
    """Return exchange `code`'s calendar for `year` (and `YEAR_MARGIN` either side).

    Built with an explicit span, it answers for any year asked for, however long the process
    has been running (unlike `exchange_calendar`'s sessions)."""
    import exchange_calendars

    problem = exchange_problem(code)
    if problem is not None:
        raise ConfigError([problem])
    start, end = date(year, 1, 1) - YEAR_MARGIN, date(year, 12, 31) + YEAR_MARGIN
    try:
        with quiet_pandas():
            return exchange_calendars.get_calendar(code, start=start, end=end)
    except (ValueError, exchange_calendars.errors.CalendarError) as exc:
        raise ConfigError(
            [ConfigProblem("exchange", f"no {code} sessions for {year}: {exc}", "check the date")]
        ) from None


def exchange_timezone(code: str) -> ZoneInfo:
    """Return the time zone of exchange `code` (e.g. XNYS -> America/New_York)."""
    return ZoneInfo(str(exchange_calendar(code).tz))


def market_open(now: datetime, code: str) -> bool:
    """Tell whether the exchange's regular session is open at `now`, an aware datetime
    (holidays, early closes and breaks included, as far as the installed calendar knows
    them), from the calendar of `now`'s year."""
    import pandas as pd

    minute = pd.Timestamp(now.astimezone(UTC)).floor("min")
    calendar = year_calendar(code, minute.year)
    with quiet_pandas():
        return bool(calendar.is_open_on_minute(minute))


def trading_day(now: datetime, code: str) -> date:
    """Return the calendar date at the exchange at `now`."""
    return now.astimezone(exchange_timezone(code)).date()
