"""Helpers for driving the real ib_async client against the fake TWS in tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Order, Stock, Trade

from tests.fakes.tws.server import FakeTws
from tests.fakes.tws.states import FIRST, two_accounts

CLIENT = 7


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    """A fake TWS whose login manages two accounts; afterwards, every request it received
    was one it could read and answer."""
    with FakeTws(two_accounts()) as fake:
        yield fake
        assert fake.protocol_errors == []
        assert fake.unhandled == []
    close_client_loop()


def close_client_loop() -> None:
    """Close the event loop ib_async's sync calls made for this thread, after one more turn
    for the sockets its disconnect is closing. Left open, it lingered until some later
    `asyncio.run` replaced it, and the garbage collector's ResourceWarnings (loop, transport,
    socket) then failed whatever unrelated test was running."""
    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running() and not loop.is_closed():
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def ib(tws: FakeTws) -> Iterator[IB]:
    """The real ib_async client connected to `tws` as client `CLIENT`, for the first account."""
    client = connect(tws)
    yield client
    client.disconnect()


def connect(tws: FakeTws, client_id: int = CLIENT, account: str = FIRST, **kw: object) -> IB:
    """`IB.connect` to the fake, raising if any step of the startup sync times out."""
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


def wait(ib: IB, condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Let ib_async's loop run until `condition()` holds (a deadline, not a fixed sleep)."""
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
    """An account value in USD, as ib_async holds it (a string)."""
    return next(v.value for v in ib.accountValues(account) if v.tag == tag and v.currency == "USD")


def place(ib: IB, order: MarketOrder | LimitOrder | Order, contract: Stock | None = None) -> Trade:
    """Place for DU1234567 and wait until the fake has answered (accepted or refused)."""
    order.account = FIRST
    trade = ib.placeOrder(contract or vti(ib), order)
    wait(ib, lambda: trade.orderStatus.status != "PendingSubmit")
    return trade
