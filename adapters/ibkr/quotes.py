"""A quote from what IB's market data snapshot sent, read purely.

ib_async's market price (`Ticker.marketPrice`) is the last trade when it lies within a real bid
and ask (both set, not IB's -1, sizes above 0: `Ticker.hasBidAsk`), the midpoint when it does
not, and the last trade alone when there is no bid and ask. Only the first two say the market
is there now; a last alone may be a trade of hours or days ago (pre-market, a halted or
illiquid symbol, a snapshot outside hours).

| IB sent | price | `as_of` | source | previous close |
|---|---|---|---|---|
| a bid and an ask (market price: the last within the spread, else the midpoint) | it | now | `ibkr:snapshot` (`ibkr:delayed` for types 3, 4) | the close tick |
| no bid and ask; a last with its trade time (LAST_TIMESTAMP, tick 45; 88 delayed) | the last | the trade time | `ibkr:last` (`ibkr:delayed-last`) | the close tick |
| no bid and ask; a last without its trade time | the last is not used: the rows below apply | | | |
| the close tick, and no bid and ask or timed last (halted, or no trade yet) | the close | the end of the NYSE session before today's New York date | `ibkr:close` | none |
| neither | no quote: the broker stops the cycle (`DataError`) | | | |

A last dated to its trade is as old as it is, so `risk.max_quote_age_hours` refuses a stale
one. A last without its time could be from this morning or from a halt a week ago: no date
given to it bounds its age (stamped now, or dated like the close to the previous session's
end, a week-old trade would pass the quote-age check), so it is never a price. IB sends the
trade time with the last in its snapshots, so this is rare. IB's close tick (9, delayed 75) is
"the last available closing price for the previous day": dated to that session's end, a stale
close is caught by `risk.max_quote_age_hours`, and it is never its own previous close (which
would switch the price-move check off for it). IB's portfolio mark is never a quote: it
carries no time and no previous close, so neither the quote-age nor the price-move check could
catch a stale one.
"""  # noqa: E501 (a table row per case reads better than wrapped cells)

from __future__ import annotations

__all__ = ["CLOSE_SOURCE", "LAST_SOURCE", "close_session_end", "quote_of"]

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from daemon.core.domain import Quote
from daemon.core.errors import DataError
from daemon.core.sessions import session_on

CLOSE_SOURCE = "ibkr:close"
LAST_SOURCE = "ibkr:last"
EXCHANGE = "XNYS"
NEW_YORK = ZoneInfo("America/New_York")
LOOK_BACK_DAYS = 14
"""No NYSE closure lasts longer; a calendar without a session in this span is broken."""


def close_session_end(now: datetime) -> datetime:
    """Return the end (UTC) of the last NYSE session before `now`'s New York date: the
    session IB's close tick belongs to (13:00 New York on an early close)."""
    day = now.astimezone(NEW_YORK).date()
    for back in range(1, LOOK_BACK_DAYS + 1):
        session = session_on(EXCHANGE, day - timedelta(days=back))
        if session is not None:
            return session.close.astimezone(UTC)
    raise DataError(f"no {EXCHANGE} session in the {LOOK_BACK_DAYS} days before {day}")


def quote_of(
    symbol: str,
    *,
    market: Decimal | None,
    bid_ask: bool,
    traded_at: datetime | None,
    close: Decimal | None,
    now: datetime,
    delayed: bool,
) -> Quote | None:
    """Return the quote of `symbol` from IB's market price and close tick (each None when IB
    sent none), or None when there is no positive price of a known time.

    `bid_ask`: IB sent a real bid and ask (ib_async's `hasBidAsk`), so the market price is
    within the spread or the midpoint; otherwise it is the last trade, whose time (timezone-
    aware) is `traded_at`, None when IB sent none.
    """
    close = close if close is not None and close > 0 else None
    if market is not None and market > 0:
        if bid_ask:
            source = "ibkr:delayed" if delayed else "ibkr:snapshot"
            return Quote(symbol, market, as_of=now, source=source, previous_close=close)
        if traded_at is not None:
            source = "ibkr:delayed-last" if delayed else LAST_SOURCE
            as_of = traded_at.astimezone(UTC)
            return Quote(symbol, market, as_of=as_of, source=source, previous_close=close)
    if close is not None:
        return Quote(symbol, close, as_of=close_session_end(now), source=CLOSE_SOURCE)
    return None
