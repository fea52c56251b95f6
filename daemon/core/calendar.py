"""The exchange's time zone and trading day, from exchange_calendars."""

from __future__ import annotations

__all__ = [
    "exchange_calendar",
    "exchange_problem",
    "exchange_timezone",
    "market_open",
    "quiet_pandas",
    "trading_day",
]

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from daemon.core.errors import ConfigError, ConfigProblem


@contextmanager
def quiet_pandas() -> Iterator[None]:
    """Silence the pandas 3.1 deprecations that exchange_calendars 4.13 triggers (`.values`
    on tz-aware data); they change nothing for the calendar's answers."""
    with warnings.catch_warnings():
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
    import exchange_calendars

    problem = exchange_problem(code)
    if problem is not None:
        raise ConfigError([problem])
    with quiet_pandas():
        return exchange_calendars.get_calendar(code)


def exchange_timezone(code: str) -> ZoneInfo:
    """Return the time zone of exchange `code` (e.g. XNYS -> America/New_York)."""
    return ZoneInfo(str(exchange_calendar(code).tz))


def market_open(now: datetime, code: str) -> bool:
    """Tell whether the exchange's regular session is open at `now` (holidays and early
    closes included, as far as the installed calendar knows them)."""
    import pandas as pd

    calendar = exchange_calendar(code)
    minute = pd.Timestamp(now).floor("min")
    with quiet_pandas():
        covered = calendar.first_minute <= minute <= calendar.last_minute
        if covered:
            return bool(calendar.is_open_on_minute(minute))
    raise ConfigError(
        [
            ConfigProblem(
                "exchange",
                f"the {code} calendar does not cover {now:%Y-%m-%d}",
                "upgrade exchange_calendars",
            )
        ]
    )


def trading_day(now: datetime, code: str) -> date:
    """Return the calendar date at the exchange at `now`."""
    return now.astimezone(exchange_timezone(code)).date()
