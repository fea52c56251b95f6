"""IB's informational messages on an order, through the real ib_async client against the fake
TWS: they leave the order working, and trimtab never calls it rejected or cancelled.

IB sends some messages on a new order's id before its first status, e.g. 10349 "Order TIF was
set to DAY based on order preset" (newer TWS; ib_async #191/#217: the order "remains active and
subsequently fills"). ib_async grades every code outside its short warning list as fatal and
marks the trade `Cancelled` locally; IB's own statuses follow. A code trimtab does not know as
a refusal is settled by what IB itself says (its status, else its open-orders listing), never
by ib_async's local `Cancelled`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.ibkr.broker import IbkrBroker
from daemon.bootstrap import open_app
from daemon.core.domain import OrderStatus, Side, TradingState
from daemon.store.trading_state import account_state
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, Hold, two_accounts
from tests.fakes.tws import orders as desk
from tests.fakes.tws import outgoing as out
from tests.fakes.tws.incoming import read_place_order
from tests.integration.test_ibkr_adapter import intent, make_broker

TIF_PRESET = "Order TIF was set to DAY based on order preset."
# A code no list names (IB adds messages with new TWS versions): only IB's answer tells.
UNNAMED = (10999, "Order will be routed with the account's preset attributes.")


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


def _message_first(monkeypatch: pytest.MonkeyPatch, code: int, text: str, delay: float) -> None:
    """IB sends `code` on each new order's id, and its first status `delay` seconds later."""
    place = desk.OrderDesk.place

    def placed(self: desk.OrderDesk, session: Any, fields: list[str]) -> None:
        order = read_place_order(fields, session.version)
        if order.what_if:
            place(self, session, fields)
            return
        session.send(out.error(session.version, order.order_id, code, text))
        self.fake.later(delay, lambda: place(self, session, fields))

    monkeypatch.setattr(desk.OrderDesk, "place", placed)


@pytest.mark.parametrize(("code", "text"), [(10349, TIF_PRESET), UNNAMED])
def test_a_message_before_the_first_status_leaves_the_order_working(
    tws: FakeTws, broker: IbkrBroker, monkeypatch: pytest.MonkeyPatch, code: int, text: str
) -> None:
    _message_first(monkeypatch, code, text, 0.3)
    buy = intent("VTI", Side.BUY, "1")
    order = broker.submit(buy)  # no OrderRejected
    assert order.status in (OrderStatus.ACCEPTED, OrderStatus.FILLED)
    tws.wait_for(lambda: len(tws.state.executions) == 1)
    time.sleep(0.2)
    found = broker.get_order(buy.client_order_id)
    assert found is not None
    assert (found.status, found.filled_qty) == (OrderStatus.FILLED, 1)


def test_a_held_order_after_a_message_before_its_status_is_open(
    tws: FakeTws, broker: IbkrBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    _message_first(monkeypatch, *UNNAMED, 0.3)
    tws.queue(Hold())
    buy = intent("VTI", Side.BUY, "1", limit="1.00")
    assert broker.submit(buy).status is OrderStatus.ACCEPTED
    open_orders = broker.snapshot(["VTI"]).open_orders
    assert [(o.client_order_id, o.status) for o in open_orders] == [
        (buy.client_order_id, OrderStatus.ACCEPTED)
    ]


def test_10349_on_a_working_order_leaves_it_working(tws: FakeTws, broker: IbkrBroker) -> None:
    tws.queue(Hold())
    buy = intent("VTI", Side.BUY, "1", limit="1.00")
    assert broker.submit(buy).status is OrderStatus.ACCEPTED
    order_id = broker.link.run(
        lambda: next(
            t.order.orderId
            for t in broker.link.ib.trades()
            if t.order.orderRef == buy.client_order_id
        )
    )
    tws.send_error(10349, TIF_PRESET, req_id=order_id)
    tws.wait_for(lambda: any(e.code == 10349 for e in broker.link.errors))
    time.sleep(0.1)
    found = broker.get_order(buy.client_order_id)
    assert found is not None
    assert (found.status, found.message) == (OrderStatus.ACCEPTED, "")
    assert [o.client_order_id for o in broker.snapshot(["VTI"]).open_orders] == [
        buy.client_order_id
    ]


def test_a_cycle_with_10349_on_every_order_trades_and_does_not_halt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _message_first(monkeypatch, 10349, TIF_PRESET, 0.3)
    (tmp_path / "state").mkdir()
    database_url = f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}"
    with FakeTws(two_accounts()) as tws:
        config = tmp_path / "trimtab.toml"
        config.write_text(
            ib_config(database_url, tws.port, 'VTI = "0.3", BND = "0.2", VXUS = "0.5"')
        )
        app = open_app(config)
        try:
            result = app.engine().run_once("main", force=True)
            assert result.outcomes
            assert {o.status for o in result.outcomes} == {OrderStatus.FILLED}, [
                (o.intent.symbol, o.status, o.detail) for o in result.outcomes
            ]
            assert len(tws.state.executions) == len(result.outcomes)
            with app.database.transaction() as session:
                assert account_state(session, "main").state is TradingState.ACTIVE
        finally:
            app.close()


def test_an_order_ib_lists_open_after_an_unnamed_code_is_working(
    tws: FakeTws, broker: IbkrBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IB books the order but streams no status for it ("There are not guaranteed to be
    # orderStatus callbacks for every change in order status", IB's API notes): only the code.
    _message_first(monkeypatch, *UNNAMED, 0.0)
    notify = desk.OrderDesk.notify
    silenced: list[int] = []

    def quiet_once(self: desk.OrderDesk, order: Any, with_open_order: bool) -> None:
        if not silenced:
            silenced.append(order.order_id)
            return
        notify(self, order, with_open_order)

    monkeypatch.setattr(desk.OrderDesk, "notify", quiet_once)
    tws.queue(Hold())
    buy = intent("VTI", Side.BUY, "1", limit="1.00")
    listings = tws.count("reqAllOpenOrders")
    order = broker.submit(buy)
    assert silenced  # IB sent no status: the listing told
    assert tws.count("reqAllOpenOrders") == listings + 1
    assert (order.status, order.message) == (OrderStatus.ACCEPTED, "")
    found = broker.get_order(buy.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.ACCEPTED
