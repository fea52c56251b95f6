"""IB holdings are read by listing (conId), not by symbol: the real ib_async client against the
fake TWS, through the adapter and through the engine.

An account may hold a stock on a foreign exchange (Bank of Montreal on the TSE, in CAD) whose
symbol also has the US listing trimtab trades (BMO on NYSE, in USD). Matched by symbol, that
holding was priced at the NYSE quote and a plan sold it as NYSE shares: IB would have sold the
NYSE listing short and kept the TSE shares. Such a holding, or one with no US listing at all,
is refused before planning, naming the listing and the fix; nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment
from adapters.ibkr.broker import IbkrBroker
from daemon.bootstrap import open_app
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.core.errors import DataError, OrderRejected
from tests.contract.ibkr_harness import ib_settings
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, Instrument, TwsState, two_accounts
from tests.fakes.tws.states import FIRST

ACCOUNT = "main"
BMO_TSE = Instrument(55500001, "BMO", "TSE", currency="CAD", long_name="BANK OF MONTREAL")
BMO_NYSE = Instrument(55500002, "BMO", "NYSE", long_name="BANK OF MONTREAL")
# A Canadian stock with no US listing: Stock("TSXO", "SMART", "USD") does not qualify.
TSX_ONLY = Instrument(55500003, "TSXO", "TSE", currency="CAD", long_name="TSX ONLY CORP")


def with_bmo_on_the_tse() -> TwsState:
    state = two_accounts()
    state.add_instrument(BMO_TSE)
    state.set_price(BMO_TSE.con_id, "130.00")  # CAD
    state.add_instrument(BMO_NYSE)
    state.set_price(BMO_NYSE.con_id, "95.00")  # USD
    state.set_position(FIRST, BMO_TSE.con_id, 100, "120.00")
    return state


def make_broker(port: int) -> IbkrBroker:
    env = BrokerEnvironment(account=ACCOUNT, state_dir=Path("."), clock=lambda: datetime.now(UTC))
    return IbkrBroker(ib_settings(port), env)


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(with_bmo_on_the_tse()) as fake:
        yield fake


def sell(symbol: str, qty: str) -> OrderIntent:
    return OrderIntent(
        client_order_id=f"{ACCOUNT}:2026-12-04:1545:1",
        cycle_id=f"{ACCOUNT}:2026-12-04:1545",
        account=ACCOUNT,
        seq=1,
        symbol=symbol,
        side=Side.SELL,
        qty=Decimal(qty),
        order_type=OrderType.MARKET,
        reason="test",
    )


def test_a_holding_on_a_foreign_listing_is_refused_naming_the_listing_and_the_fix(
    tws: FakeTws,
) -> None:
    broker = make_broker(tws.port)
    try:
        with pytest.raises(DataError) as caught:
            broker.snapshot(["VTI", "BND"])
    finally:
        broker.close()
    message = str(caught.value)
    assert f"account {ACCOUNT}:" in message
    assert "100 BMO" in message
    assert "conId 55500001" in message
    assert "TSE" in message
    assert "CAD" in message
    # The listing trimtab would have traded instead, so the operator sees the mix-up.
    assert "conId 55500002" in message
    assert "NYSE" in message
    assert "fix:" in message
    assert "by hand" in message
    assert tws.count("placeOrder") == 0


def test_a_sell_counts_only_the_shares_held_in_the_listing_it_trades(tws: FakeTws) -> None:
    """The pre-send check counts held shares by conId: the TSE shares are not NYSE shares, so
    selling NYSE BMO would be a short sale, refused before anything is sent."""
    broker = make_broker(tws.port)
    try:
        with pytest.raises(OrderRejected) as caught:
            broker.submit(sell("BMO", "100"))
    finally:
        broker.close()
    assert "exceeds the 0 held" in str(caught.value)
    assert tws.count("placeOrder") == 0


def test_a_holding_with_no_us_listing_is_refused_as_a_holding_not_as_an_unknown_symbol() -> None:
    state = two_accounts()
    state.add_instrument(TSX_ONLY)
    state.set_price(TSX_ONLY.con_id, "40.00")
    state.set_position(FIRST, TSX_ONLY.con_id, 30, "35.00")
    with FakeTws(state) as tws:
        broker = make_broker(tws.port)
        try:
            with pytest.raises(DataError) as caught:
                broker.snapshot(["VTI"])
        finally:
            broker.close()
    message = str(caught.value)
    assert "30 TSXO" in message
    assert "conId 55500003" in message
    assert "TSE" in message
    assert "CAD" in message
    assert "delisted" not in message
    assert "fix:" in message


def test_usd_holdings_of_the_traded_listing_are_read_as_before(tws: FakeTws) -> None:
    tws.state.set_position(FIRST, BMO_TSE.con_id, 0, "0")
    tws.state.set_position(FIRST, BMO_NYSE.con_id, 10, "90.00")
    broker = make_broker(tws.port)
    try:
        snapshot = broker.snapshot(["VTI"])
    finally:
        broker.close()
    assert {p.symbol: p.qty for p in snapshot.positions} == {"VTI": 20, "BND": 50, "BMO": 10}
    assert snapshot.quotes["BMO"].price == Decimal("95.00")


def test_the_engine_plans_nothing_and_sends_nothing_for_an_account_with_a_foreign_listing(
    tmp_path: Path, database_url: str, tws: FakeTws
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(ib_config(database_url, tws.port, 'VTI = "0.6", BND = "0.4"'))
    app = open_app(config)
    try:
        report = app.engine().run_once("main", force=True)
    finally:
        app.close()
    assert report.plan is None or not report.plan.orders
    assert not report.outcomes
    assert report.error is not None
    assert "conId 55500001" in report.error
    assert tws.count("placeOrder") == 0
