"""The fake TWS against the real ib_async client (`ib_async.IB`) on loopback.

Each test drives ib_async's public API only; what the fake received is read from its log.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from ib_async import (
    IB,
    ExecutionFilter,
    LimitOrder,
    MarketOrder,
    Order,
    PriceCondition,
    Stock,
    TagValue,
    Trade,
)

from tests.fakes.tws import (
    DelayedFill,
    DropAfterAccept,
    FakeTws,
    Hold,
    PartialFill,
    Reject,
    SilentAfterAccept,
    TwsState,
    two_accounts,
)
from tests.fakes.tws.states import FIRST, SECOND

CLIENT = 7


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake
        assert fake.protocol_errors == []
        assert fake.unhandled == []


def connect(tws: FakeTws, client_id: int = CLIENT, account: str = FIRST, **kw: object) -> IB:
    ib = IB()
    ib.RequestTimeout = 3
    ib.connect(
        tws.host,
        tws.port,
        clientId=client_id,
        timeout=3,
        account=account,
        raiseSyncErrors=True,
        **kw,  # type: ignore[arg-type]
    )
    return ib


@pytest.fixture
def ib(tws: FakeTws) -> Iterator[IB]:
    client = connect(tws)
    yield client
    client.disconnect()


def wait(ib: IB, condition: object, timeout: float = 3.0) -> None:
    """Let ib_async's loop run until `condition()` holds (a deadline, not a fixed sleep)."""
    assert callable(condition)
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        # ib_async raises "Socket disconnect" out of whatever runs its loop when the
        # socket closes; the tests that drop it check the outcome through `condition`.
        with contextlib.suppress(ConnectionError):
            ib.sleep(0.01)
    raise AssertionError("condition not reached")


def vti(ib: IB) -> Stock:
    contract = Stock("VTI", "SMART", "USD")
    ib.qualifyContracts(contract)
    return contract


def value(ib: IB, tag: str, account: str = FIRST) -> str:
    return next(v.value for v in ib.accountValues(account) if v.tag == tag and v.currency == "USD")


# -- connecting ---------------------------------------------------------------------------------


def test_connect_completes_ib_async_startup_sync(tws: FakeTws) -> None:
    ib = connect(tws, account="")
    try:
        assert ib.isConnected()
        assert ib.managedAccounts() == [FIRST, SECOND]
        # What IB.connect asks for, each answered to its end (raiseSyncErrors would raise).
        assert [r.name for r in tws.requests()] == [
            "startApi",
            "reqPositions",
            "reqOpenOrders",
            "reqCompletedOrders",
            "reqAccountUpdatesMulti",
            "reqAccountUpdatesMulti",
            "reqExecutions",
        ]
        held = {(p.account, p.contract.symbol, p.position) for p in ib.positions()}
        assert held == {(FIRST, "VTI", 20.0), (FIRST, "BND", 50.0), (SECOND, "AAPL", 7.0)}
        # With several accounts and none named, ib_async subscribes to no portfolio.
        assert ib.portfolio() == []
        assert tws.connected_client_ids() == [CLIENT]
    finally:
        ib.disconnect()


def test_farm_messages_arrive_after_connect_as_information(tws: FakeTws) -> None:
    ib = IB()
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    ib.connect(tws.host, tws.port, clientId=CLIENT, timeout=3, account=FIRST)
    try:
        assert codes[:3] == [2104, 2106, 2158]
        tws.connectivity_lost()
        tws.connectivity_restored()
        tws.connectivity_restored(data_lost=True)
        wait(ib, lambda: len(codes) == 6)
        assert codes[3:] == [1100, 1102, 1101]
        assert ib.isConnected()
    finally:
        ib.disconnect()


def test_a_client_id_in_use_gets_326_and_the_socket_closed(tws: FakeTws, ib: IB) -> None:
    second = IB()
    codes: list[int] = []
    second.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    with pytest.raises((ConnectionError, TimeoutError)):
        # ib_async only notices when its wait for the API to start runs out.
        second.connect(tws.host, tws.port, clientId=CLIENT, timeout=0.5)
    assert codes == [326]
    assert not second.isConnected()
    assert ib.isConnected()
    assert tws.connected_client_ids() == [CLIENT]


def test_a_server_side_drop_fires_disconnected_event(tws: FakeTws, ib: IB) -> None:
    dropped: list[bool] = []
    ib.disconnectedEvent += lambda: dropped.append(True)
    tws.drop_connections()
    wait(ib, lambda: dropped == [True])
    assert not ib.isConnected()


# -- accounts ----------------------------------------------------------------------------------


def test_account_values_and_portfolio_of_the_named_account_only(tws: FakeTws, ib: IB) -> None:
    # 10,000 cash + 20 VTI at 250 + 50 BND at 72.50
    assert value(ib, "NetLiquidation") == "18625.00"
    assert value(ib, "TotalCashValue") == "10000.00"
    assert value(ib, "NetLiquidation", SECOND) == "6330.00"  # from reqAccountUpdatesMulti
    portfolio = {(p.account, p.contract.symbol): p for p in ib.portfolio()}
    assert set(portfolio) == {(FIRST, "VTI"), (FIRST, "BND")}
    item = portfolio[(FIRST, "VTI")]
    assert (item.position, item.marketPrice, item.averageCost) == (20.0, 250.0, 240.0)
    assert item.unrealizedPNL == pytest.approx(200.0)
    assert [r.fields[3] for r in tws.requests("reqAccountUpdates")] == [FIRST]


def test_account_summary_per_account(tws: FakeTws, ib: IB) -> None:
    summary = {(v.account, v.tag, v.currency): v.value for v in ib.accountSummary()}
    assert summary[(FIRST, "NetLiquidation", "USD")] == "18625.00"
    assert summary[(SECOND, "NetLiquidation", "USD")] == "6330.00"
    assert summary[(SECOND, "AccountType", "")] == "INDIVIDUAL"
    assert summary[(FIRST, "CashBalance", "BASE")] == "10000.00"  # $LEDGER:ALL


# -- contracts and market data -----------------------------------------------------------------


def test_qualify_a_known_an_unknown_and_an_ambiguous_symbol(tws: FakeTws, ib: IB) -> None:
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code))
    good, unknown, ambiguous = (
        Stock("VTI", "SMART", "USD"),
        Stock("NOPE", "SMART", "USD"),
        Stock("DUAL", "SMART", "USD"),
    )
    result = ib.qualifyContracts(good, unknown, ambiguous)
    assert result == [good, None, None]  # ib_async 2.1 keeps a None slot per failure
    assert (good.conId, good.primaryExchange, good.exchange) == (12345001, "ARCA", "SMART")
    assert [code for _, code in errors] == [200]
    (candidates,) = ib.run(ib.qualifyContractsAsync(Stock("DUAL", "SMART", "USD"), returnAll=True))
    assert isinstance(candidates, list)
    assert sorted(c.primaryExchange for c in candidates if c) == ["NASDAQ", "NYSE"]
    # The primary exchange settles it.
    exact = Stock("DUAL", "SMART", "USD", primaryExchange="NYSE")
    assert ib.qualifyContracts(exact) == [exact]
    assert exact.conId == 12345010


def test_contract_without_exchange_is_ambiguous_as_at_ib(tws: FakeTws, ib: IB) -> None:
    assert ib.qualifyContracts(Stock("VTI")) == [None]
    assert len(ib.reqContractDetails(Stock("VTI"))) == 2  # SMART and ARCA


def test_market_data_snapshot_live(tws: FakeTws, ib: IB) -> None:
    (ticker,) = ib.reqTickers(vti(ib))
    assert (ticker.bid, ticker.ask, ticker.last, ticker.close) == (249.99, 250.01, 250.0, 250.0)
    assert ticker.marketDataType == 1
    assert tws.requests("reqMktData")[0].fields[-3] == "1"  # snapshot


def test_delayed_market_data_without_a_subscription(tws: FakeTws, ib: IB) -> None:
    tws.state.market_data_subscribed = False
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    contract = vti(ib)
    (ticker,) = ib.reqTickers(contract)
    assert errors == [354]
    assert math.isnan(ticker.last)
    ib.reqMarketDataType(3)
    (ticker,) = ib.reqTickers(contract)
    assert errors == [354, 10167]
    assert ticker.marketDataType == 3
    assert (ticker.bid, ticker.ask, ticker.last) == (249.99, 250.01, 250.0)


def test_streaming_market_data_follows_price_moves(tws: FakeTws, ib: IB) -> None:
    contract = vti(ib)
    ticker = ib.reqMktData(contract, "", snapshot=False)
    wait(ib, lambda: ticker.last == 250.0)
    tws.set_price("VTI", "251.50")
    wait(ib, lambda: ticker.last == 251.5)
    ib.cancelMktData(contract)


# -- orders ------------------------------------------------------------------------------------


def place(ib: IB, order: MarketOrder | LimitOrder, contract: Stock | None = None) -> Trade:
    order.account = FIRST
    trade = ib.placeOrder(contract or vti(ib), order)
    wait(ib, lambda: trade.orderStatus.status not in ("PendingSubmit",))
    return trade


def test_market_order_fills_with_commission_and_order_ref(tws: FakeTws, ib: IB) -> None:
    commissions: list[float] = []
    ib.commissionReportEvent += lambda trade, fill, report: commissions.append(report.commission)
    trade = place(ib, MarketOrder("BUY", 4, orderRef="cycle-1:VTI", outsideRth=True))
    wait(ib, lambda: commissions == [1.0])
    assert trade.orderStatus.status == "Filled"
    assert (trade.orderStatus.filled, trade.orderStatus.avgFillPrice) == (4.0, 250.01)
    (fill,) = trade.fills
    assert fill.execution.orderRef == "cycle-1:VTI"
    assert (fill.execution.side, fill.execution.shares) == ("BOT", 4.0)
    assert fill.commissionReport.commission == 1.0
    assert trade.order.permId > 0
    placed = tws.placed[-1]
    assert (placed.order_ref, placed.outside_rth, placed.account) == ("cycle-1:VTI", True, FIRST)
    # Positions, portfolio and cash follow the fill: 10,000 - 4 x 250.01 - 1.00
    wait(ib, lambda: value(ib, "TotalCashValue") == "8998.96")
    held = {p.contract.symbol: p.position for p in ib.positions(FIRST)}
    assert held["VTI"] == 24.0
    assert {p.contract.symbol: p.position for p in ib.portfolio()}["VTI"] == 24.0


def test_limit_order_rests_until_the_price_crosses(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, LimitOrder("BUY", 2, 249.0, orderRef="lmt"))
    assert trade.orderStatus.status == "Submitted"
    assert trade.fills == []
    tws.set_price("VTI", "248.50")
    wait(ib, lambda: trade.orderStatus.status == "Filled")
    assert trade.fills[0].execution.price == 248.51  # the ask, under the limit


def test_partial_fills_then_the_rest(tws: FakeTws, ib: IB) -> None:
    tws.queue(PartialFill((Decimal(1), Decimal(2))))
    trade = place(ib, MarketOrder("BUY", 5, orderRef="partial"))
    wait(ib, lambda: len(trade.fills) == 2)
    assert trade.orderStatus.status == "Submitted"
    assert (trade.orderStatus.filled, trade.orderStatus.remaining) == (3.0, 2.0)
    tws.fill("partial")
    wait(ib, lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.shares for f in trade.fills] == [1.0, 2.0, 2.0]
    assert [f.execution.cumQty for f in trade.fills] == [1.0, 3.0, 5.0]
    # IB's minimum is per order: the executions together pay 1.00.
    wait(ib, lambda: all(f.commissionReport.execId for f in trade.fills))
    assert sum(f.commissionReport.commission for f in trade.fills) == pytest.approx(1.0)


def test_a_delayed_fill_arrives_later(tws: FakeTws, ib: IB) -> None:
    tws.queue(DelayedFill(0.2))
    trade = place(ib, MarketOrder("BUY", 1, orderRef="later"))
    assert trade.orderStatus.status == "Submitted"
    wait(ib, lambda: trade.orderStatus.status == "Filled")


def test_a_201_rejection_shows_as_cancelled_with_the_code_in_the_log(tws: FakeTws, ib: IB) -> None:
    tws.queue(Reject())
    trade = place(ib, MarketOrder("BUY", 1, orderRef="rejected"))
    assert trade.orderStatus.status == "Cancelled"
    assert trade.log[-1].errorCode == 201
    assert trade.fills == []
    # IB keeps the rejected order among the day's completed orders.
    done = {t.order.orderRef: t for t in ib.reqCompletedOrders(apiOnly=True)}
    assert done["rejected"].orderStatus.status == "Cancelled"


def test_a_buy_beyond_the_cash_is_rejected_201(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, MarketOrder("BUY", 100, orderRef="too-big"))  # 25,001 > 10,000
    assert trade.orderStatus.status == "Cancelled"
    assert trade.log[-1].errorCode == 201
    assert "EQUITY WITH LOAN" in trade.log[-1].message


def test_a_sale_beyond_the_holding_is_rejected_201(tws: FakeTws, ib: IB) -> None:
    tws.queue(Hold())
    place(ib, MarketOrder("SELL", 15, orderRef="sell-15"))  # of 20 held, still working
    trade = place(ib, MarketOrder("SELL", 10, orderRef="sell-10"))  # only 5 left to sell
    assert trade.orderStatus.status == "Cancelled"
    assert trade.log[-1].errorCode == 201


def test_cash_committed_to_working_buys_is_not_spent_twice(tws: FakeTws, ib: IB) -> None:
    tws.queue(Hold())
    place(ib, LimitOrder("BUY", 30, 250.0, orderRef="buy-7500"))  # 7,500 of 10,000
    trade = place(ib, LimitOrder("BUY", 12, 250.0, orderRef="buy-3000"))
    assert trade.log[-1].errorCode == 201


def test_selling_a_whole_position_removes_it_from_the_portfolio(tws: FakeTws, ib: IB) -> None:
    bnd = Stock("BND", "SMART", "USD")
    ib.qualifyContracts(bnd)
    trade = place(ib, MarketOrder("SELL", 50, orderRef="close-bnd"), bnd)
    wait(ib, lambda: trade.orderStatus.status == "Filled")
    wait(ib, lambda: "BND" not in {p.contract.symbol for p in ib.portfolio()})
    assert "BND" not in {p.contract.symbol for p in ib.positions(FIRST)}
    # 50 x (72.49 - 74.00) - 1.00 commission, the loss IB reports as realized
    (fill,) = trade.fills
    wait(ib, lambda: fill.commissionReport.realizedPNL != 0)
    assert fill.commissionReport.realizedPNL == pytest.approx(-76.5)


def test_a_fractional_quantity_is_refused_10243(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, MarketOrder("BUY", 1.5, orderRef="fraction"))
    assert trade.orderStatus.status == "Cancelled"
    assert trade.log[-1].errorCode == 10243
    assert all(o.order_ref != "fraction" for o in tws.state.orders.values())


def test_an_order_for_no_account_with_several_accounts_is_refused(tws: FakeTws) -> None:
    ib = connect(tws, account="")
    try:
        trade = ib.placeOrder(vti(ib), MarketOrder("BUY", 1, orderRef="no-account"))
        wait(ib, lambda: trade.log[-1].errorCode == 321)
        assert tws.state.orders == {}
    finally:
        ib.disconnect()


def test_cancel_a_working_order_then_cancel_again(tws: FakeTws, ib: IB) -> None:
    tws.queue(Hold())
    trade = place(ib, MarketOrder("SELL", 5, orderRef="held"))
    assert trade.orderStatus.status == "Submitted"
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    ib.cancelOrder(trade.order)
    wait(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert errors == [202]
    ib.cancelOrder(trade.order)
    wait(ib, lambda: errors == [202, 10148])
    assert tws.state.order_by_ref("held").status == "Cancelled"


def test_executions_by_filter(tws: FakeTws, ib: IB) -> None:
    place(ib, MarketOrder("BUY", 2, orderRef="b1"))
    place(ib, MarketOrder("SELL", 3, orderRef="s1"))
    refs = {f.execution.orderRef for f in ib.reqExecutions(ExecutionFilter(side="SELL"))}
    assert refs == {"s1"}
    assert len(ib.reqExecutions(ExecutionFilter(acctCode=SECOND))) == 0
    assert len(ib.reqExecutions(ExecutionFilter(symbol="VTI"))) == 2
    assert len(ib.reqExecutions()) == 2
    # Commissions land on the fills this session saw live (ib_async keys them by execId).
    assert {f.execution.orderRef: f.commissionReport.commission for f in ib.fills()} == {
        "b1": 1.0,
        "s1": 1.0,
    }


# -- losing the connection around an order ------------------------------------------------------


def test_an_order_filled_while_dropped_is_found_after_reconnecting(tws: FakeTws) -> None:
    ib = connect(tws)
    dropped: list[bool] = []
    ib.disconnectedEvent += lambda: dropped.append(True)
    tws.queue(DropAfterAccept(fill=True))
    trade = ib.placeOrder(vti(ib), MarketOrder("BUY", 3, orderRef="lost-1", account=FIRST))
    wait(ib, lambda: dropped == [True])
    assert trade.fills == []  # the fill happened after the socket closed
    assert tws.state.order_by_ref("lost-1").status == "Filled"

    again = connect(tws)
    try:
        by_ref = {t.order.orderRef: t for t in again.trades()}  # the sync's completed orders
        assert by_ref["lost-1"].orderStatus.status == "Filled"
        done = {t.order.orderRef: t for t in again.reqCompletedOrders(apiOnly=False)}
        assert done["lost-1"].order.filledQuantity == 3.0
        fills = again.reqExecutions(ExecutionFilter(clientId=CLIENT))
        assert [(f.execution.orderRef, f.execution.shares) for f in fills] == [("lost-1", 3.0)]
        # The startup sync's reqExecutions already brought the fill and its commission.
        assert [f.commissionReport.commission for f in again.fills()] == [1.0]
        assert all(o.orderRef != "lost-1" for o in again.openOrders())
    finally:
        again.disconnect()
    assert tws.count("placeOrder") == 1  # found, not resent


def test_a_working_order_survives_a_reconnect_and_fills_to_the_new_session(
    tws: FakeTws,
) -> None:
    ib = connect(tws)
    tws.queue(DropAfterAccept(fill=False))
    ib.placeOrder(vti(ib), MarketOrder("BUY", 2, orderRef="lost-2", account=FIRST))
    wait(ib, lambda: not ib.isConnected())

    again = connect(tws)
    try:
        (working,) = [t for t in again.openTrades() if t.order.orderRef == "lost-2"]
        assert working.orderStatus.status == "Submitted"
        tws.fill("lost-2")
        wait(again, lambda: working.orderStatus.status == "Filled")
        assert [f.execution.orderRef for f in working.fills] == ["lost-2"]
    finally:
        again.disconnect()


def test_a_silent_tws_keeps_the_socket_open_and_answers_nothing(tws: FakeTws, ib: IB) -> None:
    tws.queue(SilentAfterAccept(fill=True))
    trade = place(ib, MarketOrder("BUY", 1, orderRef="quiet"))
    assert trade.orderStatus.status == "Submitted"
    ib.RequestTimeout = 0.3
    with pytest.raises(TimeoutError):
        ib.reqCurrentTime()
    assert ib.isConnected()
    assert trade.orderStatus.status == "Submitted"  # the fill was never heard
    assert tws.state.order_by_ref("quiet").status == "Filled"
    tws.resume()
    ib.RequestTimeout = 3
    assert ib.reqCurrentTime() is not None


def test_state_survives_a_fake_server_restart_and_a_save(tmp_path: Path) -> None:
    state = two_accounts()
    with FakeTws(state) as first:
        ib = connect(first)
        place(ib, MarketOrder("BUY", 1, orderRef="before-restart"))
        ib.disconnect()
    path = tmp_path / "tws.json"
    state.save(path)
    with FakeTws(TwsState.load(path)) as second:
        ib = connect(second)
        try:
            fills = ib.reqExecutions()
            assert [f.execution.orderRef for f in fills] == ["before-restart"]
            assert {p.contract.symbol: p.position for p in ib.positions(FIRST)}["VTI"] == 21.0
            # Order ids carry on past the ones used before the restart.
            trade = place(ib, MarketOrder("BUY", 1, orderRef="after-restart"))
            assert trade.orderStatus.status == "Filled"
        finally:
            ib.disconnect()


# -- what the client sent --------------------------------------------------------------------------


def test_requests_are_recorded_for_counting(tws: FakeTws, ib: IB) -> None:
    with tws.counting() as seen:
        ib.qualifyContracts(*[Stock(s, "SMART", "USD") for s in ("VTI", "BND", "VXUS")])
    assert [r.name for r in seen] == ["reqContractDetails"] * 3
    assert [r.fields[4] for r in seen] == ["VTI", "BND", "VXUS"]
    assert tws.max_rate() <= 50


def exotic_orders() -> list[tuple[str, Order]]:
    algo = LimitOrder("BUY", 1, 250.0, algoStrategy="Adaptive")
    algo.algoParams = [TagValue("adaptivePriority", "Normal")]
    trail = Order(action="SELL", totalQuantity=1, orderType="TRAIL", auxPrice=1.0)
    peg_mid = Order(action="BUY", totalQuantity=1, orderType="PEG MID", lmtPrice=251.0)
    scale = LimitOrder("BUY", 10, 250.0, scaleInitLevelSize=2, scaleSubsLevelSize=2)
    scale.scalePriceIncrement = 0.05
    hedge = LimitOrder("BUY", 1, 250.0, hedgeType="F", hedgeParam="1")
    conditioned = LimitOrder("BUY", 1, 250.0)
    conditioned.conditions = [PriceCondition(price=240.0, conId=12345001, exch="SMART")]
    return [
        ("algo", algo),
        ("trail", trail),
        ("peg-mid", peg_mid),
        ("scale", scale),
        ("hedge", hedge),
        ("conditions", conditioned),
    ]


@pytest.mark.parametrize("version", [166, 176, 178])
def test_orders_the_fake_does_not_model_are_read_to_the_end_and_refused(version: int) -> None:
    with FakeTws(two_accounts(), server_version=version) as tws:
        ib = connect(tws)
        try:
            contract = vti(ib)
            for name, order in exotic_orders():
                order.account, order.orderRef = FIRST, name
                trade = ib.placeOrder(contract, order)
                wait(ib, lambda trade=trade: trade.log[-1].errorCode == 321)
        finally:
            ib.disconnect()
        assert tws.protocol_errors == []  # every layout parsed to its last field
        assert tws.order_refs() == [name for name, _ in exotic_orders()]
        assert tws.state.orders == {}


@pytest.mark.parametrize("version", [166, 170, 177, 178])
def test_other_server_versions_round_trip(version: int) -> None:
    with FakeTws(two_accounts(), server_version=version) as tws:
        ib = connect(tws)
        try:
            assert ib.client.serverVersion() == version
            trade = place(ib, LimitOrder("BUY", 1, 260.0, orderRef=f"v{version}"))
            wait(ib, lambda: trade.orderStatus.status == "Filled")
            assert trade.fills[0].execution.orderRef == f"v{version}"
            (done,) = ib.reqCompletedOrders(apiOnly=True)
            assert done.order.orderRef == f"v{version}"
        finally:
            ib.disconnect()
        assert tws.protocol_errors == []


# -- market hours, what-if, pacing, restarts ------------------------------------------------------


def test_outside_regular_hours_orders_wait_unless_limit_with_outside_rth(
    tws: FakeTws, ib: IB
) -> None:
    tws.close_market()
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    market = place(ib, MarketOrder("BUY", 1, orderRef="mkt-night", outsideRth=True))
    wait(ib, lambda: market.orderStatus.status == "PreSubmitted")
    assert errors == [2109]  # outsideRth ignored for a market order
    regular = place(ib, LimitOrder("BUY", 1, 260.0, orderRef="lmt-rth"))
    extended = place(ib, LimitOrder("BUY", 1, 260.0, orderRef="lmt-ext", outsideRth=True))
    wait(ib, lambda: extended.orderStatus.status == "Filled")
    assert regular.orderStatus.status == "PreSubmitted"
    tws.open_market()
    wait(ib, lambda: market.orderStatus.status == regular.orderStatus.status == "Filled")


def test_day_orders_expire_at_the_close(tws: FakeTws, ib: IB) -> None:
    day = place(ib, LimitOrder("BUY", 1, 200.0, orderRef="day"))
    gtc = place(ib, LimitOrder("BUY", 1, 200.0, orderRef="gtc", tif="GTC"))
    tws.close_market()
    wait(ib, lambda: day.orderStatus.status == "Cancelled")
    assert gtc.orderStatus.status == "Submitted"


def test_a_what_if_order_previews_margin_and_commission(tws: FakeTws, ib: IB) -> None:
    order = MarketOrder("BUY", 2, account=FIRST)
    preview = ib.whatIfOrder(vti(ib), order)
    assert float(preview.initMarginChange) == pytest.approx(500.0)  # 2 x 250 mark
    assert preview.commission == 1.0
    assert float(preview.equityWithLoanBefore) == pytest.approx(18625.0)
    assert tws.state.orders == {}  # nothing booked


def test_modifying_a_working_order_changes_its_limit(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, LimitOrder("BUY", 2, 240.0, orderRef="modify"))
    assert trade.orderStatus.status == "Submitted"
    trade.order.lmtPrice = 251.0
    ib.placeOrder(trade.contract, trade.order)
    wait(ib, lambda: trade.orderStatus.status == "Filled")
    assert tws.order_refs() == ["modify", "modify"]
    assert len(tws.state.orders) == 1


def test_open_orders_per_client_all_open_orders_and_the_master_client(tws: FakeTws, ib: IB) -> None:
    tws.queue(Hold(), Hold())
    place(ib, MarketOrder("BUY", 1, orderRef="from-7"))
    zero = connect(tws, client_id=0)
    try:
        names = [r.name for r in tws.requests(client_id=0)]
        assert names[:2] == ["startApi", "reqAutoOpenOrders"]  # ib_async binds as client 0
        assert zero.openTrades() == []  # reqOpenOrders: this client's orders only
        assert [t.order.orderRef for t in zero.reqAllOpenOrders()] == ["from-7"]
    finally:
        zero.disconnect()
    tws.master_client_id = 9
    master = connect(tws, client_id=9)
    try:
        assert [t.order.orderRef for t in master.openTrades()] == ["from-7"]
        tws.fill("from-7")
        wait(master, lambda: len(master.fills()) == 1)
    finally:
        master.disconnect()


def test_pacing_over_50_a_second_gets_error_100_and_a_disconnect(tws: FakeTws, ib: IB) -> None:
    tws.pacing_limit = 50
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    ib.client.MaxRequests = 0  # switch ib_async's own throttle off to break the limit
    for _ in range(60):
        # ib_async's Client is untyped.
        ib.client.reqCurrentTime()  # type: ignore[no-untyped-call]
    wait(ib, lambda: not ib.isConnected())
    assert 100 in errors


def test_a_nightly_restart_drops_clients_and_keeps_the_day(tws: FakeTws) -> None:
    ib = connect(tws)
    dropped: list[bool] = []
    ib.disconnectedEvent += lambda: dropped.append(True)
    place(ib, MarketOrder("BUY", 1, orderRef="before-night"))
    port = tws.port
    tws.stop()
    wait(ib, lambda: dropped == [True])
    with pytest.raises(ConnectionRefusedError):
        IB().connect(tws.host, port, clientId=CLIENT, timeout=1)
    tws.start()
    assert tws.port == port
    again = connect(tws)
    try:
        assert [t.order.orderRef for t in again.trades()] == ["before-night"]
    finally:
        again.disconnect()


@pytest.mark.slow
def test_the_fake_runs_as_its_own_process_and_keeps_the_server_side(tmp_path: Path) -> None:
    path = tmp_path / "tws.json"
    command = [sys.executable, "-m", "tests.fakes.tws", "--state", str(path)]
    for attempt in range(2):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            host, port = process.stdout.readline().strip().split(":")
            ib = IB()
            ib.connect(host, int(port), clientId=CLIENT, timeout=5, account=FIRST)
            if attempt == 0:
                place(ib, MarketOrder("BUY", 2, orderRef="kept"))
                # Written after the fill, before any exit: a killed fake loses nothing.
                saved = json.loads(path.read_text())
                assert [o["order_ref"] for o in saved["orders"]] == ["kept"]
            else:
                assert [f.execution.orderRef for f in ib.fills()] == ["kept"]
                assert {p.contract.symbol: p.position for p in ib.positions(FIRST)}["VTI"] == 22
            ib.disconnect()
        finally:
            process.terminate() if attempt == 0 else process.kill()
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()
