"""IB Gateway's "Read-Only API" setting, through the real ib_async client against the fake
TWS: IB answers a placeOrder with error 321 ("The API interface is currently in Read-Only
mode"), which ib_async takes for a warning (the trade stays `ValidationError`, no permId).
That is IB's refusal: recorded rejected with IB's words at once, never an unknown outcome, and
ib_async's own record of the order is never taken for IB's order by a lookup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.ibkr.broker import IbkrBroker
from daemon.core.domain import Side
from daemon.core.errors import OrderRejected, TransientBrokerError
from tests.fakes.tws import FakeTws, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake


@pytest.fixture
def broker(tws: FakeTws) -> Iterator[IbkrBroker]:
    made = make_broker(tws.port, request_timeout_seconds=5)
    made.snapshot(())  # connected and read before the setting is turned on
    yield made
    made.close()


def test_an_order_refused_as_read_only_is_rejected_with_ibs_words_at_once(tws: FakeTws) -> None:
    # A request timeout far longer than any answer: an adapter that waited it out instead of
    # taking IB's refusal would take a minute, not a moment (a margin no busy machine nears).
    patient = make_broker(tws.port, request_timeout_seconds=60)
    patient.snapshot(())
    tws.read_only = True  # IB applies the API settings to connected clients at once
    sell = intent("BND", Side.SELL, "5")
    started = time.monotonic()
    try:
        with pytest.raises(OrderRejected) as caught:
            patient.submit(sell)
    finally:
        patient.close()
    assert time.monotonic() - started < 30  # not the request timeout: IB answered
    reason = caught.value.reason
    assert "IB error 321" in reason
    assert "The API interface is currently in Read-Only mode." in reason
    assert "Read-Only API" in reason  # the fix
    assert "READ_ONLY_API=no" in reason
    assert tws.count("placeOrder") == 1
    assert all(o.order_ref != sell.client_order_id for o in tws.state.orders.values())


def test_a_lookup_never_adopts_an_order_ib_never_acknowledged(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    tws.read_only = True
    sell = intent("BND", Side.SELL, "5")
    with pytest.raises(OrderRejected):
        broker.submit(sell)
    found = broker.get_order(sell.client_order_id)
    # IB refused it: a rejection (IB's answer), never a working order to wait on or cancel.
    assert found is None or found.status.name == "REJECTED", found
    assert tws.count("cancelOrder") == 0
    # A full sync is refused too (IB lists no orders to a read-only API): said, with the fix.
    now = datetime.now(UTC)
    with pytest.raises(TransientBrokerError, match=r"Read-Only API mode .*READ_ONLY_API=no"):
        broker.orders_submitted(now, now)


def test_connecting_to_a_read_only_gateway_names_the_setting(tws: FakeTws) -> None:
    tws.read_only = True
    broker = make_broker(tws.port, connect_timeout_seconds=1)
    try:
        with pytest.raises(TransientBrokerError) as caught:
            broker.snapshot(())
    finally:
        broker.close()
    assert "is in Read-Only API mode" in str(caught.value)
    assert "turn 'Read-Only API' off" in str(caught.value)
    assert tws.count("placeOrder") == 0
