"""A price IB gives only as a last trade (no bid or ask: pre-market, halted, illiquid, a
snapshot outside hours): the real ib_async client against the fake TWS, through the adapter
and through the engine.

ib_async's `marketPrice()` is the last when there is no bid and ask, and the snapshot stamped
it now, so a trade hours or days old passed `risk.max_quote_age_hours`. IB sends the trade's
time as the LAST_TIMESTAMP tick (45; 88 delayed: Unix seconds in a tickString): the quote is
dated to it. A last without its time is no live price: the close tick prices the symbol (dated
to its session), else there is no quote and the cycle stops. A price within a real spread, or
the midpoint, is still dated now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ib_async import Stock
from ib_async.decoder import Decoder

from adapters.base import BrokerEnvironment
from adapters.ibkr.broker import IbkrBroker
from daemon.bootstrap import open_app
from daemon.core.errors import DataError
from tests.contract.ibkr_harness import ib_settings
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, Quote, TwsState, two_accounts
from tests.fakes.tws import outgoing as out
from tests.fakes.tws.client import close_client_loop, connect
from tests.fakes.tws.states import VTI, VXUS
from tests.fakes.tws.wire import frame, split_frames

MONDAY_MORNING = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York
FRIDAY_CLOSE = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # 16:00 in New York
LAST = Decimal("61.25")
CLOSE = Decimal("61.20")


def last_only(
    traded_at: datetime | None, close: Decimal | None = CLOSE, *, state: TwsState | None = None
) -> TwsState:
    """VXUS with no bid or ask (IB's -1), a last trade at `traded_at` and the close tick."""
    state = state or two_accounts()
    state.quotes[VXUS.con_id] = Quote(
        bid=Decimal(-1), ask=Decimal(-1), last=LAST, close=close, last_time=traded_at
    )
    return state


def snapshot_at(tws: FakeTws, now: datetime, **settings: object) -> dict[str, Any]:
    env = BrokerEnvironment(account="main", state_dir=Path("."), clock=lambda: now)
    broker = IbkrBroker(ib_settings(tws.port, **settings), env)
    try:
        return dict(broker.snapshot(["VTI", "VXUS"]).quotes)
    finally:
        broker.close()


# -- the fake sends IB's LAST_TIMESTAMP as IB documents it ------------------------------------


class Capture:
    """Stands in for ib_async's Wrapper: records the calls its decoder makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args))


def test_the_tick_string_layout_is_read_by_ib_async_s_decoder() -> None:
    (message,) = split_frames(bytearray(frame(out.tick_string(3, 45, "1765119600"))))
    capture = Capture()
    decoder = Decoder(capture, 176)  # type: ignore[arg-type]  # a recording stand-in
    decoder.handlers[int(message[0])](message)
    assert capture.calls == [("tickString", (3, 45, "1765119600"))]


@pytest.mark.parametrize(
    ("delayed", "field"), [(False, "lastTimestamp"), (True, "delayedLastTimestamp")]
)
def test_ib_async_keeps_the_trade_time_of_a_snapshot(delayed: bool, field: str) -> None:
    traded_at = datetime(2026, 12, 4, 20, 59, 58, tzinfo=UTC)
    state = last_only(traded_at)
    state.market_data_subscribed = not delayed
    with FakeTws(state) as tws:
        ib = connect(tws)
        try:
            if delayed:
                ib.reqMarketDataType(3)
            (contract,) = ib.qualifyContracts(Stock("VXUS", "SMART", "USD"))
            (ticker,) = ib.reqTickers(contract)
        finally:
            ib.disconnect()
            close_client_loop()
        assert tws.protocol_errors == []
        assert tws.unhandled == []
    assert not ticker.hasBidAsk()
    assert ticker.marketPrice() == float(LAST)
    assert getattr(ticker, field) == traded_at


# -- through the adapter --------------------------------------------------------------------


def test_a_fresh_last_only_price_is_dated_to_its_trade() -> None:
    traded_at = MONDAY_MORNING - timedelta(minutes=7)
    with FakeTws(last_only(traded_at)) as tws:
        quotes = snapshot_at(tws, MONDAY_MORNING)
    vxus = quotes["VXUS"]
    assert (vxus.price, vxus.as_of, vxus.source, vxus.previous_close) == (
        LAST,
        traded_at,
        "ibkr:last",
        CLOSE,
    )


def test_a_delayed_last_only_price_is_dated_to_its_delayed_trade_time() -> None:
    traded_at = MONDAY_MORNING - timedelta(minutes=20)
    state = last_only(traded_at)
    state.market_data_subscribed = False  # type 3 answered with delayed ticks (68, 88)
    with FakeTws(state) as tws:
        quotes = snapshot_at(tws, MONDAY_MORNING, market_data_type=3)
    vxus = quotes["VXUS"]
    assert (vxus.price, vxus.as_of, vxus.source) == (LAST, traded_at, "ibkr:delayed-last")


def test_a_price_within_the_spread_is_still_dated_now() -> None:
    """VTI has a bid and an ask, and a last trade three days old within them: now."""
    state = two_accounts()
    state.set_price(VTI.con_id, "250.00", last_time=MONDAY_MORNING - timedelta(days=3))
    with FakeTws(last_only(MONDAY_MORNING, state=state)) as tws:
        quotes = snapshot_at(tws, MONDAY_MORNING)
    vti = quotes["VTI"]
    assert (vti.price, vti.as_of, vti.source, vti.previous_close) == (
        Decimal("250.00"),
        MONDAY_MORNING,
        "ibkr:snapshot",
        Decimal("250.00"),
    )


def test_a_last_without_its_time_is_not_a_live_price_the_close_prices_it() -> None:
    with FakeTws(last_only(None)) as tws:
        quotes = snapshot_at(tws, MONDAY_MORNING)
    vxus = quotes["VXUS"]
    assert (vxus.price, vxus.as_of, vxus.source, vxus.previous_close) == (
        CLOSE,
        FRIDAY_CLOSE,
        "ibkr:close",
        None,
    )


def test_a_last_without_its_time_or_a_close_is_no_price() -> None:
    with FakeTws(last_only(None, close=None)) as tws:
        env = BrokerEnvironment(account="main", state_dir=Path("."), clock=lambda: MONDAY_MORNING)
        broker = IbkrBroker(ib_settings(tws.port), env)
        try:
            with pytest.raises(DataError) as caught:
                broker.snapshot(["VTI", "VXUS"])
        finally:
            broker.close()
        assert tws.count("placeOrder") == 0
    assert "IB sent no price for VXUS" in str(caught.value)


# -- through the engine ---------------------------------------------------------------------


def test_the_quote_age_limit_refuses_a_last_trade_three_days_old(
    tmp_path: Path, database_url: str
) -> None:
    """The audited case: a last-only snapshot whose trade is three days old, with
    max_quote_age_hours = 24: the cycle stops on it, nothing is planned or sent."""
    traded_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    with FakeTws(last_only(traded_at)) as tws:
        config = tmp_path / "trimtab.toml"
        config.write_text(
            ib_config(
                database_url, tws.port, 'VTI = "0.3", BND = "0.2", VXUS = "0.5"', quote_age_hours=24
            )
        )
        app = open_app(config)
        try:
            report = app.engine(fill_timeout=2).run_once("main")
        finally:
            app.close()
        assert tws.count("placeOrder") == 0
    assert report.error is not None
    assert "quote for VXUS is 72." in report.error
    assert "hours old" in report.error
    assert not report.outcomes


def test_a_saved_state_keeps_the_last_trade_time(tmp_path: Path) -> None:
    traded_at = datetime(2026, 12, 4, 20, 59, 58, tzinfo=UTC)
    path = tmp_path / "tws.json"
    last_only(traded_at).save(path)
    assert TwsState.load(path).quotes[VXUS.con_id].last_time == traded_at
