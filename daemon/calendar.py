"""The exchange's time zone and trading day, from exchange_calendars."""

from __future__ import annotations

__all__ = ["exchange_timezone", "trading_day"]

import warnings
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from daemon.errors import ConfigError, ConfigProblem


@cache
def exchange_timezone(code: str) -> ZoneInfo:
    """Return the time zone of exchange `code` (e.g. XNYS -> America/New_York)."""
    import exchange_calendars

    try:
        with warnings.catch_warnings():
            # exchange_calendars 4.13 reads a pandas 3.1 deprecated attribute; harmless here.
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            calendar = exchange_calendars.get_calendar(code)
    except exchange_calendars.errors.InvalidCalendarName:
        raise ConfigError(
            [ConfigProblem("exchange", f"unknown exchange calendar {code!r}", "use e.g. XNYS")]
        ) from None
    return ZoneInfo(str(calendar.tz))


def trading_day(now: datetime, code: str) -> date:
    """Return the calendar date at the exchange at `now`."""
    return now.astimezone(exchange_timezone(code)).date()
