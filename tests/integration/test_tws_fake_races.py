"""The fake TWS's races around an order, through the real ib_async client: a placeOrder lost
in flight (`DropBeforeAccept`), a cancel IB holds pending before it ends (`CancelRace`), and
the injectable clock that stamps executions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ib_async import IB, ExecutionFilter, LimitOrder, MarketOrder

from tests.fakes.tws import CancelRace, DropBeforeAccept, FakeTws, Hold, TwsState, two_accounts
from tests.fakes.tws.client import CLIENT, connect, ib, place, tws, vti, wait
from tests.fakes.tws.states import FIRST

# -- a placeOrder lost before TWS took it ------------------------------------------------------


__all__ = ["ib", "tws"]  # fixtures, shared from tests.fakes.tws.client


def test_an_order_lost_in_flight_leaves_no_trace_at_ib(tws: FakeTws) -> None:
    ib = connect(tws)
    contract = vti(ib)
    before = tws.state.highest_order_ids.get(CLIENT, 0)
    tws.queue(DropBeforeAccept(), Hold())
    trade = ib.placeOrder(contract, MarketOrder("BUY", 3, orderRef="lost", account=FIRST))
    wait(ib, lambda: not ib.isConnected())
    assert trade.orderStatus.status == "PendingSubmit"  # nothing came back
    assert tws.placed == []  # TWS never read it
    assert [o.order_ref for o in tws.state.orders.values()] == []
    assert tws.state.highest_order_ids.get(CLIENT, 0) == before  # its id was never used

    again = connect(tws)
    try:
        assert all(t.order.orderRef != "lost" for t in again.trades())
        assert all(t.order.orderRef != "lost" for t in again.reqAllOpenOrders())
        assert all(t.order.orderRef != "lost" for t in again.reqCompletedOrders(apiOnly=False))
        assert again.reqExecutions(ExecutionFilter(clientId=CLIENT)) == []
        # The queued behaviour behind it applies to the next order that does arrive.
        held = place(again, MarketOrder("BUY", 1, orderRef="next"))
        assert held.orderStatus.status == "Submitted"
        assert tws.state.order_by_ref("next").status == "Submitted"
    finally:
        again.disconnect()
    assert tws.order_refs() == ["next"]


# -- a cancel held pending ---------------------------------------------------------------------


def _resting_sell(ib: IB) -> LimitOrder:
    # VTI trades near 250 in `two_accounts`: a sale at 300 rests.
    return LimitOrder("SELL", 5, 300, orderRef="resting", account=FIRST)


def test_a_pending_cancel_stays_open_at_ib_until_it_ends_cancelled(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, _resting_sell(ib))
    tws.queue(CancelRace("canceled"))
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    ib.cancelOrder(trade.order)
    wait(ib, lambda: tws.state.order_by_ref("resting").status == "PendingCancel")
    ib.reqCurrentTime()  # a round trip: all TWS said about the cancel has been read
    assert trade.orderStatus.status == "PendingCancel"
    assert errors == []
    # IB's open orders still list it, as PendingCancel: it can still fill.
    (listed,) = [t for t in ib.reqAllOpenOrders() if t.order.orderRef == "resting"]
    assert listed.orderStatus.status == "PendingCancel"

    tws.finish_cancel("resting")
    wait(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert errors == [202]
    assert trade.fills == []
    assert tws.state.order_by_ref("resting").completed_status == "Cancelled by Trader"


def test_a_second_cancel_while_pending_gets_10148_and_ib_async_wrongly_shows_it_cancelled(
    tws: FakeTws, ib: IB
) -> None:
    trade = place(ib, _resting_sell(ib))
    tws.queue(CancelRace("filled"))
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    ib.cancelOrder(trade.order)
    wait(ib, lambda: tws.state.order_by_ref("resting").status == "PendingCancel")
    ib.cancelOrder(trade.order)
    wait(ib, lambda: errors == [10148])
    # ib_async cancels a trade on any non-warning error: it shows Cancelled while IB still
    # works the order (a client must not cancel twice), and the fill still comes.
    assert trade.orderStatus.status == "Cancelled"
    assert tws.state.order_by_ref("resting").status == "PendingCancel"
    tws.finish_cancels()
    wait(ib, lambda: tws.state.order_by_ref("resting").status == "Filled")


def test_a_pending_cancel_can_lose_the_race_to_a_fill_at_the_limit(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, _resting_sell(ib))
    tws.queue(CancelRace("filled"))
    ib.cancelOrder(trade.order)
    wait(ib, lambda: tws.state.order_by_ref("resting").status == "PendingCancel")
    assert tws.finish_cancels() == 1
    wait(ib, lambda: trade.orderStatus.status == "Filled")
    assert [(f.execution.shares, f.execution.price) for f in trade.fills] == [(5.0, 300.0)]
    wait(ib, lambda: trade.fills[0].commissionReport.commission > 0)
    assert tws.finish_cancels() == 0
    holding = tws.state.accounts[FIRST].holdings[tws.state.by_symbol("VTI").con_id]
    assert holding.quantity == 15


def test_a_pending_cancel_with_a_delay_ends_by_itself(tws: FakeTws, ib: IB) -> None:
    trade = place(ib, _resting_sell(ib))
    tws.queue(CancelRace("canceled", after=0.05))
    ib.cancelOrder(trade.order)
    wait(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert tws.state.order_by_ref("resting").status == "Cancelled"


def test_a_cancel_race_outcome_is_checked() -> None:
    with pytest.raises(ValueError, match="canceled or filled"):
        CancelRace("expired")


# -- the clock ---------------------------------------------------------------------------------


class Stepping:
    """Whole seconds, one more at every read."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_execution_and_order_times_come_from_the_injected_clock() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    clock = Stepping(start)
    state = two_accounts()
    state.clock = clock
    assert TwsState(clock=clock).clock is clock
    with FakeTws(state) as tws:
        ib = connect(tws)
        try:
            place(ib, MarketOrder("BUY", 2, orderRef="timed"))
            order = tws.state.order_by_ref("timed")
            assert order.placed_at == start + timedelta(seconds=1)
            assert order.completed_at == start + timedelta(seconds=2)
            (fill,) = ib.reqExecutions(ExecutionFilter(clientId=CLIENT))
            # IB's execution time, to the second, as the clock gave it.
            assert fill.execution.time == start + timedelta(seconds=2)
            (done,) = ib.reqCompletedOrders(apiOnly=False)
            assert done.order.orderRef == "timed"
        finally:
            ib.disconnect()
    assert tws.state.executions[0].shares == Decimal(2)
