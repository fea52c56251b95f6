"""IB's refusals of new orders, through the real ib_async client against the fake TWS.

ib_async shows a new order IB refused with an error it does not take for a warning as
`Cancelled` (the code only in the trade's log), and IB may follow a refusal with the status
`Inactive`, which can also mean a held order. Whatever the code, an order IB refused before it
ever worked (no Submitted or PreSubmitted, nothing filled) is rejected with IB's words and
leaves nothing to wait on or cancel; IB's notices (399 held until the open, 2109, ...) leave an
order working.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.ibkr.broker import IbkrBroker
from daemon.core.domain import OrderStatus, Side
from daemon.core.errors import OrderRejected
from tests.fakes.tws import FakeTws, Reject, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker

# IB's texts for refusals whose codes are not among the ones trimtab names (IB's message-code
# list: 163 price percentage constraint, 387 unsupported order type, 388 order size below the
# minimum).
UNLISTED = [
    (388, "Order size 1 is smaller than the minimum required size of 100."),
    (387, "Unsupported order type for this exchange and security type."),
    (
        163,
        "The following order 'ID:6' price exceeds the Percentage constraint of 3%. "
        "Restriction is specified in Precautionary Settings of Global Configuration/Presets.",
    ),
]


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


@pytest.mark.parametrize(("code", "text"), UNLISTED)
def test_a_refusal_with_a_code_trimtab_does_not_name_is_rejected_with_ibs_words(
    tws: FakeTws, broker: IbkrBroker, code: int, text: str
) -> None:
    tws.queue(Reject(code, text))
    refused = intent("VTI", Side.BUY, "1")
    with pytest.raises(OrderRejected) as caught:
        broker.submit(refused)
    assert caught.value.reason == f"IB error {code}: {text}"
    found = broker.get_order(refused.client_order_id)
    assert found is None or found.status is OrderStatus.REJECTED
    assert broker.snapshot(["VTI"]).open_orders == ()


@pytest.mark.parametrize(("code", "text"), [UNLISTED[0], (201, "Order rejected - reason:NO.")])
def test_a_refusal_ib_follows_with_inactive_is_final(
    tws: FakeTws, broker: IbkrBroker, code: int, text: str
) -> None:
    tws.queue(Reject(code, text, "Inactive"))
    refused = intent("VTI", Side.BUY, "1")
    with pytest.raises(OrderRejected) as caught:
        broker.submit(refused)
    assert caught.value.reason == f"IB error {code}: {text}"
    tws.wait_for(
        lambda: broker.link.run(lambda: _status_of(broker, refused.client_order_id)) == "Inactive"
    )
    found = broker.get_order(refused.client_order_id)
    assert found is not None
    assert (found.status, found.message) == (OrderStatus.REJECTED, f"IB error {code}: {text}")
    # Final: nothing is left to cancel, so nothing is sent.
    assert broker.cancel(refused.client_order_id).status is OrderStatus.REJECTED
    assert tws.count("cancelOrder") == 0


def test_a_notice_leaves_the_order_working(tws: FakeTws, broker: IbkrBroker) -> None:
    tws.close_market()  # IB holds a market order until the open, with notice 399
    held = intent("VTI", Side.BUY, "1")
    order = broker.submit(held)
    assert order.status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in broker.snapshot(["VTI"]).open_orders] == [
        held.client_order_id
    ]


def _status_of(broker: IbkrBroker, ref: str) -> str:
    return next(
        str(t.orderStatus.status) for t in broker.link.ib.trades() if t.order.orderRef == ref
    )


def test_a_held_inactive_order_ib_will_not_cancel_is_final(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    # IB parks the order Inactive after a notice: held, still working to trimtab ...
    tws.queue(Reject(399, "Order Message:\nBUY 1 VTI SMART\nWarning: order held.", "Inactive"))
    held = intent("VTI", Side.BUY, "1")
    assert broker.submit(held).status is OrderStatus.ACCEPTED
    tws.wait_for(
        lambda: broker.link.run(lambda: _status_of(broker, held.client_order_id)) == "Inactive"
    )
    found = broker.get_order(held.client_order_id)
    assert found is not None
    assert (found.status, found.message) == (OrderStatus.ACCEPTED, "Inactive at IB (held)")
    # ... until IB answers its cancel "cannot be cancelled, state: Inactive": IB no longer
    # works it, so it is final and nothing waits on it.
    after = broker.cancel(held.client_order_id)
    assert after.status is OrderStatus.CANCELLED
    assert "IB error 10148" in after.message
    assert "state: Inactive" in after.message
    again = broker.get_order(held.client_order_id)
    assert again is not None
    assert again.status is OrderStatus.CANCELLED
    assert tws.count("cancelOrder") == 1
