"""Orders through the real ib_async client against the fake TWS: fills, commissions and
orderRef, partial and delayed fills, refusals, cancels, a connection lost around an order,
market hours, what-if, modification, open orders per client, pacing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import IB, ExecutionFilter, LimitOrder, MarketOrder, Stock

from tests.fakes.tws import (
    DelayedFill,
    DropAfterAccept,
    FakeTws,
    Hold,
    PartialFill,
    Reject,
    SilentAfterAccept,
)
from tests.fakes.tws.client import CLIENT, connect, ib, place, tws, value, vti, wait
from tests.fakes.tws.states import FIRST, SECOND

# -- orders ------------------------------------------------------------------------------------


__all__ = ["ib", "tws"]  # fixtures, shared from tests.fakes.tws.client


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


def test_a_rejection_can_leave_the_order_inactive(tws: FakeTws, ib: IB) -> None:
    tws.queue(Reject(201, "Order rejected - reason:No trading permissions.", status="Inactive"))
    trade = place(ib, MarketOrder("BUY", 1, orderRef="inactive"))
    wait(ib, lambda: trade.orderStatus.status == "Inactive")
    assert 201 in [entry.errorCode for entry in trade.log]
    assert trade.isDone()


def test_cash_and_holdings_changed_outside_the_api_reach_subscribers(tws: FakeTws, ib: IB) -> None:
    tws.set_cash(FIRST, "12000.00")
    wait(ib, lambda: value(ib, "TotalCashValue") == "12000.00")
    tws.set_position(FIRST, "VXUS", 10, "60.00")
    wait(ib, lambda: "VXUS" in {p.contract.symbol for p in ib.portfolio()})
    assert {p.contract.symbol: p.position for p in ib.positions(FIRST)}["VXUS"] == 10.0
    tws.set_position(FIRST, "VXUS", 0, "0")
    wait(ib, lambda: "VXUS" not in {p.contract.symbol for p in ib.portfolio()})


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


def test_a_refused_order_does_not_use_up_a_queued_behaviour(tws: FakeTws, ib: IB) -> None:
    tws.queue(Hold())
    place(ib, MarketOrder("BUY", 0.5, orderRef="refused"))  # 10243
    place(ib, MarketOrder("BUY", 1000, orderRef="too-big"))  # margin 201
    held = place(ib, MarketOrder("BUY", 1, orderRef="held"))
    assert held.orderStatus.status == "Submitted"
    assert held.fills == []


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
    assert trade.orderStatus.status == "Submitted"  # the accept was heard
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


# -- market hours, what-if, open orders, pacing --------------------------------------------------


def test_outside_regular_hours_orders_wait_unless_limit_with_outside_rth(
    tws: FakeTws, ib: IB
) -> None:
    tws.close_market()
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    market = place(ib, MarketOrder("BUY", 1, orderRef="mkt-night", outsideRth=True))
    wait(ib, lambda: market.orderStatus.status == "PreSubmitted")
    # outsideRth ignored for a market order; held for the open
    assert errors == [2109, 399]
    regular = place(ib, LimitOrder("BUY", 1, 260.0, orderRef="lmt-rth"))
    wait(ib, lambda: regular.orderStatus.status == "PreSubmitted")
    assert errors == [2109, 399, 399]
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
