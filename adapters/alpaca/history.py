"""Alpaca's daily bars as trimtab's `PriceHistory`: final closes only, adjusted.

`AlpacaBroker.daily_closes(symbol, start, end)` asks `GET /v2/stocks/bars` (alpaca-py's
`StockHistoricalDataClient.get_stock_bars`, `TimeFrame.Day`, `Adjustment.ALL`: split- and
dividend-adjusted closes, on the account's `feed`), one request per call (paged by alpaca-py
when a window holds more than 10,000 bars). Alpaca serves today's bar while the session runs,
its `c` the latest trade, not a close: `final_closes` drops a day's bar until 16:00 New York
that day, so no caller mistakes a running price for a close (an early close's bar waits until
16:00 too: late, never wrong).
"""

from __future__ import annotations

__all__ = ["CLOSE", "final_closes"]

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal

from adapters.alpaca.parsing import EASTERN

CLOSE = time(16)
"""The regular session's close, New York time: a daily bar is final from then on."""


def final_closes(bars: Sequence[tuple[date, Decimal]], now: datetime) -> list[tuple[date, Decimal]]:
    """Return the bars whose session has closed at `now` (the others are still running)."""
    local = now.astimezone(EASTERN)
    last_final = (
        local.date() if local.time() >= CLOSE else date.fromordinal(local.date().toordinal() - 1)
    )
    return [(day, close) for day, close in bars if day <= last_final]
