"""The exchange's time zone and trading day, from exchange_calendars."""

from __future__ import annotations

__all__ = ["exchange_calendar", "exchange_timezone", "market_open", "quiet_pandas", "trading_day"]

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


@cache
def exchange_calendar(code: str) -> Any:
    import exchange_calendars

    try:
        with quiet_pandas():
            return exchange_calendars.get_calendar(code)
    except exchange_calendars.errors.InvalidCalendarName:
        raise ConfigError(
            [ConfigProblem("exchange", f"unknown exchange calendar {code!r}", "use e.g. XNYS")]
        ) from None


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
