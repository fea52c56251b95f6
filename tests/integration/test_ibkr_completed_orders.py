"""Orders IB lists among its completed orders (`reqCompletedOrders`), read after a reconnect,
through the real ib_async client against the fake TWS.

IB's completed orders carry no order id or client id (ib_async leaves both 0) and ib_async
keeps no log for them: such an order is final whatever its status (an `Inactive` there is
no held order) unless IB's latest open-orders listing has it, and its unknown placer is no
reason to refuse its cancel.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from adapters.ibkr.broker import IbkrBroker
from daemon.core.domain import OrderStatus, Side
from daemon.core.errors import OrderRejected
from tests.fakes.tws import FakeTws, Hold, Reject, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker

REFUSED = "Order rejected - reason:NO."


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake


@pytest.fixture
def broker(tws: FakeTws) -> Iterator[IbkrBroker]:
    made = make_broker(tws.port, request_timeout_seconds=5)
    made.snapshot(["VTI"])
    yield made
    made.close()


def _reconnect(tws: FakeTws, broker: IbkrBroker) -> None:
    broker.link.run(broker.link.ib.disconnect)
    tws.wait_for(lambda: not tws.connected_client_ids())
    time.sleep(1.1)  # the reconnect backoff
    broker.snapshot(["VTI"])


@pytest.mark.parametrize("status", ["Inactive", "Cancelled"])
def test_a_refused_order_read_back_from_completed_orders_is_final(
    tws: FakeTws, broker: IbkrBroker, status: str
) -> None:
    tws.queue(Reject(201, REFUSED, status))
    refused = intent("VTI", Side.BUY, "1")
    with pytest.raises(OrderRejected):
        broker.submit(refused)
    _reconnect(tws, broker)
    # ib_async keeps no trade of the old connection: IB's completed order is all it has, and
    # it drops IB's words with the order's state (its completedStatus).
    found = broker.get_order(refused.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.CANCELLED, found
    # Nothing to cancel: the order is returned as it stands, nothing is sent.
    assert broker.cancel(refused.client_order_id) == found
    assert tws.count("cancelOrder") == 0
    assert broker.snapshot(["VTI"]).open_orders == ()


def test_a_working_order_is_still_cancelled_after_a_reconnect(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    tws.queue(Hold())
    held = intent("VTI", Side.BUY, "1", limit="1.00")
    assert broker.submit(held).status is OrderStatus.ACCEPTED
    _reconnect(tws, broker)
    after = broker.cancel(held.client_order_id)
    assert after.status is OrderStatus.CANCELLED
    assert tws.count("cancelOrder") == 1
