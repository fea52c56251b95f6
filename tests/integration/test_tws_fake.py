"""The fake TWS against the real ib_async client (`ib_async.IB`) on loopback: connecting,
accounts, contracts, market data, what the client sent, server versions and restarts. Orders:
`test_tws_fake_orders.py`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Order, PriceCondition, Stock, TagValue

from tests.fakes.tws import FakeTws, TwsState, two_accounts
from tests.fakes.tws.client import CLIENT, connect, ib, place, tws, value, vti, wait
from tests.fakes.tws.states import FIRST, SECOND

# -- connecting ---------------------------------------------------------------------------------


__all__ = ["ib", "tws"]  # fixtures, shared from tests.fakes.tws.client


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
                order.orderRef = name
                trade = place(ib, order, contract)
                assert trade.log[-1].errorCode == 321
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


# -- restarts --------------------------------------------------------------------------------


def test_state_survives_a_fake_server_restart_and_a_save(tmp_path: Path) -> None:
    state = two_accounts()
    with FakeTws(state) as first:
        ib = connect(first)
        used = place(ib, MarketOrder("BUY", 1, orderRef="before-restart")).order.orderId
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
            # An id the client used before the restart is a duplicate (IB keeps the sequence).
            reused = place(ib, MarketOrder("BUY", 1, orderRef="reused", orderId=used))
            assert reused.orderStatus.status == "Cancelled"
            assert reused.log[-1].errorCode == 103
        finally:
            ib.disconnect()


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
