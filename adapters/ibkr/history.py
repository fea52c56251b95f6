"""IB's daily bars as trimtab's `PriceHistory`: final closes only, adjusted for dividends and
splits.

`IbkrBroker.daily_closes(symbol, start, end)` sends one `reqHistoricalData` for the symbol's
qualified SMART/USD contract: "1 day" bars of `ADJUSTED_LAST` (IB's last trade price adjusted
for dividends and splits), regular hours, and no end date (IB refuses one with ADJUSTED_LAST:
such a request always ends now), over a `duration` reaching back to `start`. IB answers with
every bar in one message, or error 162: "HMDS query returned no data" is an empty history, a
pacing violation is transient (the history cache asks again next cycle).

IB serves today's bar while the session runs, its close the latest trade: `final_closes`
drops a day's bar until that day's NYSE session has closed (13:00 New York on an early close,
else 16:00), so no caller mistakes a running price for a close.
"""

from __future__ import annotations

__all__ = ["BAR_SIZE", "WHAT_TO_SHOW", "bar_closes", "duration", "error_of", "final_closes"]

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from daemon.core.errors import DataError, TransientBrokerError
from daemon.core.sessions import session_on

WHAT_TO_SHOW = "ADJUSTED_LAST"
BAR_SIZE = "1 day"
EXCHANGE = "XNYS"
NEW_YORK = ZoneInfo("America/New_York")
NO_DATA_CODE = 162
DAYS_IN_A_DURATION = 365
"""IB takes durations of more than a year in years ("2 Y"), not days."""


def duration(start: date, today: date) -> str:
    """IB's duration reaching from `today` back over `start` (days, or whole years beyond a
    year; IB counting "N D" in sessions only returns more days than needed, never fewer)."""
    days = max((today - start).days + 1, 1)
    if days <= DAYS_IN_A_DURATION:
        return f"{days} D"
    return f"{math.ceil(days / DAYS_IN_A_DURATION)} Y"


def bar_closes(symbol: str, bars: Sequence[Any]) -> list[tuple[date, Decimal]]:
    """(day, close) of ib_async's `BarData` for daily bars, oldest first; a bar without a
    usable day or close is a `DataError` naming the symbol."""
    closes = []
    for bar in bars:
        day = bar.date
        if isinstance(day, datetime) or not isinstance(day, date):
            raise DataError(f"IB daily bar of {symbol}: expected a day, got {day!r}")
        try:
            close = Decimal(str(bar.close))
        except InvalidOperation:
            close = Decimal("NaN")
        if not close.is_finite() or close <= 0:
            raise DataError(f"IB daily bar of {symbol} on {day}: close {bar.close!r} is no price")
        closes.append((day, close))
    return sorted(closes)


def final_closes(bars: Sequence[tuple[date, Decimal]], now: datetime) -> list[tuple[date, Decimal]]:
    """Return the bars whose session has closed at `now` (the others are still running)."""
    today = now.astimezone(NEW_YORK).date()
    session = session_on(EXCHANGE, today)
    last_final = today if session is None or now >= session.close else None
    return [
        (day, close)
        for day, close in bars
        if day < today or (last_final is not None and day <= last_final)
    ]


def error_of(account: str, symbol: str, errors: Sequence[tuple[int, str]]) -> Exception | None:
    """What IB's errors on a history request mean: `None` for no data (an empty history),
    else the exception to raise (`TransientBrokerError`: the next cycle asks again)."""
    for code, text in errors:
        if code == NO_DATA_CODE and "no data" in text.lower():
            return None
        if code == NO_DATA_CODE and "pacing" in text.lower():
            return TransientBrokerError(
                f"account {account}: IB refused the daily bars of {symbol} for pacing "
                f"(error {code}: {text}); trimtab asks again next cycle"
            )
        return TransientBrokerError(
            f"account {account}: IB refused the daily bars of {symbol} (error {code}: {text}); "
            "check the account's market data permissions for US stocks"
        )
    return None
