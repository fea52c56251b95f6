"""How old an IB quote says it is (`adapters.ibkr.quotes.quote_of`): never younger than what IB
sent shows. A price within a real bid and ask is now; a last trade alone is as old as its
trade; a last without its time is never a price (the close, dated to its session, or nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from adapters.ibkr.quotes import CLOSE_SOURCE, LAST_SOURCE, close_session_end, quote_of

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday, 10:00 in New York

nows = st.datetimes(
    min_value=datetime(2024, 1, 8), max_value=datetime(2027, 12, 20), timezones=st.just(UTC)
)
prices = st.one_of(
    st.none(),
    st.just(Decimal(-1)),  # IB's "no data"
    st.just(Decimal(0)),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2),
)
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))


@given(market=prices, close=prices, now=nows, age=st.one_of(st.none(), ages), delayed=st.booleans())
# The audited case: a last alone, three days old.
@example(
    market=Decimal("61.25"), close=Decimal("61.20"), now=NOW, age=timedelta(days=3), delayed=False
)
# A last alone, without its time, and no close.
@example(market=Decimal("61.25"), close=None, now=NOW, age=None, delayed=False)
def test_a_last_alone_is_never_younger_than_its_trade(
    market: Decimal | None,
    close: Decimal | None,
    now: datetime,
    age: timedelta | None,
    delayed: bool,
) -> None:
    traded_at = None if age is None else now - age
    quote = quote_of(
        "VXUS",
        market=market,
        bid_ask=False,
        traded_at=traded_at,
        close=close,
        now=now,
        delayed=delayed,
    )
    live = market is not None and market > 0
    has_close = close is not None and close > 0
    if live and traded_at is not None:
        assert quote is not None
        assert (quote.price, quote.as_of) == (market, traded_at)
        assert quote.source == ("ibkr:delayed-last" if delayed else LAST_SOURCE)
        assert quote.previous_close == (close if has_close else None)
    elif has_close:
        # The last without its time is not used: the close prices it, dated to its session.
        assert quote is not None
        assert (quote.price, quote.source, quote.previous_close) == (close, CLOSE_SOURCE, None)
        assert quote.as_of == close_session_end(now) < now
    else:
        assert quote is None


@given(
    market=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2),
    close=prices,
    now=nows,
    age=st.one_of(st.none(), ages),
    delayed=st.booleans(),
)
def test_a_price_within_a_real_bid_and_ask_is_now(
    market: Decimal,
    close: Decimal | None,
    now: datetime,
    age: timedelta | None,
    delayed: bool,
) -> None:
    """The last within the spread, or the midpoint: the market is there now, whatever the
    last trade's time."""
    quote = quote_of(
        "VTI",
        market=market,
        bid_ask=True,
        traded_at=None if age is None else now - age,
        close=close,
        now=now,
        delayed=delayed,
    )
    assert quote is not None
    assert (quote.price, quote.as_of) == (market, now)
    assert quote.source == ("ibkr:delayed" if delayed else "ibkr:snapshot")
    assert quote.previous_close == (close if close is not None and close > 0 else None)


@given(
    market=prices,
    bid_ask=st.booleans(),
    close=prices,
    now=nows,
    age=st.one_of(st.none(), ages),
    delayed=st.booleans(),
)
def test_no_quote_is_stamped_now_unless_a_bid_and_ask_came(
    market: Decimal | None,
    bid_ask: bool,
    close: Decimal | None,
    now: datetime,
    age: timedelta | None,
    delayed: bool,
) -> None:
    traded_at = None if age is None else now - age
    quote = quote_of(
        "VXUS",
        market=market,
        bid_ask=bid_ask,
        traded_at=traded_at,
        close=close,
        now=now,
        delayed=delayed,
    )
    if quote is None:
        return
    assert quote.price > 0
    assert quote.as_of.tzinfo is not None
    assert quote.as_of <= now
    if quote.as_of == now:
        assert bid_ask or traded_at == now
