"""IB drops the link while trimtab lists its open orders (`reqAllOpenOrders`) inside a submit
or a cancel: a trimtab error the cycle and `kill --cancel-open` handle (an order's outcome
unknown, a failed cancel), never a bare ConnectionError that crashes the cycle; and a refusal
IB makes in Read-Only API mode (321) is a rejection at once, with no listing to wait for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from daemon.core.domain import Side
from daemon.core.errors import BrokerError, OrderRejected, OutcomeUnknown
from tests.fakes.tws import FakeTws, Reject, two_accounts
from tests.fakes.tws import orders as desk
from tests.fakes.tws import outgoing as out
from tests.fakes.tws import session as sess
from tests.fakes.tws.incoming import read_place_order
from tests.integration.test_ibkr_adapter import intent, make_broker


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake


def _drop_on_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    def drop(self: Any, fields: list[str]) -> None:
        self.close()  # the socket drops while IB lists its open orders

    monkeypatch.setattr(sess.Session, "all_open_orders", drop)


def test_a_drop_while_a_submit_lists_open_orders_is_an_unknown_outcome(
    tws: FakeTws, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = make_broker(tws.port, request_timeout_seconds=5)
    try:
        broker.snapshot(["VTI"])
        place = desk.OrderDesk.place

        def placed(self: desk.OrderDesk, session: Any, fields: list[str]) -> None:
            order = read_place_order(fields, session.version)
            if not order.what_if:
                # IB books the order but first sends a code no list names, and no status.
                session.send(out.error(session.version, order.order_id, 10999, "preset"))
            place(self, session, fields)

        monkeypatch.setattr(desk.OrderDesk, "place", placed)
        send = sess.Session.send

        def quiet(self: Any, fields: Any) -> None:
            if fields and str(fields[0]) in ("3", "5", "11", "59"):
                return  # no status, open order or execution reaches trimtab
            send(self, fields)

        monkeypatch.setattr(sess.Session, "send", quiet)
        _drop_on_listing(monkeypatch)
        with pytest.raises(OutcomeUnknown):
            broker.submit(intent("VTI", Side.BUY, "1"))
    finally:
        broker.close()


def test_a_drop_while_a_cancel_lists_open_orders_is_a_broker_error(
    tws: FakeTws, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = make_broker(tws.port, request_timeout_seconds=5)
    try:
        broker.snapshot(["VTI"])
        tws.queue(Reject(201, "Order rejected - reason:NO.", "Inactive"))
        refused = intent("VTI", Side.BUY, "1")
        with pytest.raises(OrderRejected):
            broker.submit(refused)
        # After a reconnect the order is known only from IB's completed orders.
        broker.link.run(broker.link.ib.disconnect)
        tws.wait_for(lambda: not tws.connected_client_ids())
        time.sleep(1.1)
        broker.snapshot(["VTI"])
        assert broker.get_order(refused.client_order_id) is not None
        _drop_on_listing(monkeypatch)
        with pytest.raises(BrokerError):
            broker.cancel(refused.client_order_id)
    finally:
        broker.close()


def test_a_read_only_refusal_is_a_rejection_without_a_listing(tws: FakeTws) -> None:
    broker = make_broker(tws.port, request_timeout_seconds=5)
    try:
        broker.snapshot(())
        tws.read_only = True
        before = tws.count("reqAllOpenOrders")
        with pytest.raises(OrderRejected, match="321"):
            broker.submit(intent("BND", Side.SELL, "5"))
        # In Read-Only mode IB's order information may not come: nothing waits for it.
        assert tws.count("reqAllOpenOrders") == before
    finally:
        broker.close()
