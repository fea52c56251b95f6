"""IB quotes read from a market data snapshot (`adapters.ibkr.quotes`): a close-only price is
dated to the session it closed, never stamped now, and never its own previous close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from adapters.ibkr.quotes import CLOSE_SOURCE, close_session_end, quote_of
from daemon.core.sessions import session_on

NEW_YORK = ZoneInfo("America/New_York")
CLOSE = Decimal("61.20")


@given(
    now=st.datetimes(
        min_value=datetime(2024, 1, 8), max_value=datetime(2027, 12, 20), timezones=st.just(UTC)
    )
)
# The Monday after Thanksgiving: Friday's session closed early, at 13:00 New York.
@example(now=datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
# Sunday evening in New York, already Monday in UTC: the close is Friday's.
@example(now=datetime(2026, 12, 7, 2, 17, tzinfo=UTC))
def test_a_close_only_price_is_dated_to_the_last_session_before_today(now: datetime) -> None:
    quote = quote_of(
        "VXUS", market=None, bid_ask=False, traded_at=None, close=CLOSE, now=now, delayed=False
    )
    assert quote is not None
    assert (quote.price, quote.source, quote.previous_close) == (CLOSE, CLOSE_SOURCE, None)
    today = now.astimezone(NEW_YORK).date()
    closed = quote.as_of.astimezone(NEW_YORK).date()
    assert closed < today
    session = session_on("XNYS", closed)
    assert session is not None
    assert quote.as_of == session.close
    # No session between that one and today: it is the latest close there is.
    assert all(
        session_on("XNYS", closed + timedelta(days=d)) is None
        for d in range(1, (today - closed).days)
    )
    assert now - quote.as_of >= timedelta(hours=8)  # at the least, 16:00 to midnight


def test_the_early_close_after_thanksgiving() -> None:
    assert close_session_end(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == datetime(
        2026, 11, 27, 18, 0, tzinfo=UTC
    )


def test_a_market_price_within_a_bid_and_ask_is_now_with_the_close_as_previous_close() -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    quote = quote_of(
        "VTI",
        market=Decimal(250),
        bid_ask=True,
        traded_at=None,
        close=Decimal(248),
        now=now,
        delayed=True,
    )
    assert quote is not None
    assert (quote.price, quote.as_of, quote.source, quote.previous_close) == (
        Decimal(250),
        now,
        "ibkr:delayed",
        Decimal(248),
    )


def test_without_market_price_or_close_there_is_no_quote() -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    for market, close in ((None, Decimal(-1)), (Decimal(-1), None)):
        for bid_ask in (True, False):
            quote = quote_of(
                "VTI",
                market=market,
                bid_ask=bid_ask,
                traded_at=now,
                close=close,
                now=now,
                delayed=False,
            )
            assert quote is None
