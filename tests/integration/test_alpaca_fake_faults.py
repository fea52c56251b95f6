"""The fake Alpaca's scripted faults, through alpaca-py's own client: a fault counts the
requests that match it (method and path prefix), lets `skip` of them through, then fires
`times` times. The Alpaca crash drills kill trimtab at "the 4th POST /v2/orders" this way."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

import pytest

from adapters.alpaca.sdk import APIError, TradingClient
from adapters.alpaca.transport import harden
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca, Fault

D = Decimal


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    state = AlpacaState(cash=D(100_000), market_open=True, auto_fill=True)
    state.add_asset("VTI", "180", fractionable=False)
    with FakeAlpaca(state) as made:
        yield made


def client_of(fake: FakeAlpaca) -> TradingClient:
    made = TradingClient(KEY_ID, SECRET, raw_data=True, url_override=fake.url)
    harden(made, 2, 5)
    return made


def order() -> dict[str, Any]:
    return {"symbol": "VTI", "qty": "1", "side": "buy", "type": "market",
            "time_in_force": "day", "client_order_id": f"f-{uuid.uuid4().hex[:8]}"}  # fmt: skip


def post(client: TradingClient) -> tuple[int, str]:
    """POST one order; return (status, its client order id)."""
    body = order()
    try:
        client.post("/orders", body)
    except APIError as error:
        return error.status_code or 0, body["client_order_id"]
    return 200, body["client_order_id"]


def placed(fake: FakeAlpaca) -> list[str]:
    with fake.state.lock:
        return [o.client_order_id for o in fake.state.orders]


def test_skip_lets_the_first_matching_request_through_and_fires_on_the_second(
    fake: FakeAlpaca,
) -> None:
    fault = fake.add_fault(Fault("POST", "/v2/orders", status=504, skip=1))
    client = client_of(fake)
    try:
        first = post(client)
        assert first[0] == 200
        assert not fault.fired.is_set()
        # Requests that do not match (another method, another path) are not counted.
        client.get("/orders")
        client.get("/account")
        assert not fault.fired.is_set()
        second = post(client)
        third = post(client)
    finally:
        client._session.close()
    assert fault.fired.is_set()
    assert (second[0], third[0]) == (504, 200)
    # Before the order was taken (not `after`): the second never reached the account.
    assert placed(fake) == [first[1], third[1]]


def test_skip_with_after_fires_once_the_nth_request_was_carried_out(fake: FakeAlpaca) -> None:
    fake.add_fault(Fault("POST", "/v2/orders", status=504, after=True, skip=2, times=2))
    client = client_of(fake)
    try:
        answers = [post(client) for _ in range(5)]
    finally:
        client._session.close()
    assert [status for status, _id in answers] == [200, 200, 504, 504, 200]
    # Every order was placed: the 3rd and 4th answered 504 after Alpaca took them.
    assert placed(fake) == [coid for _status, coid in answers]


def test_each_fault_counts_its_own_matching_requests(fake: FakeAlpaca) -> None:
    orders = fake.add_fault(Fault("POST", "/v2/orders", status=503, skip=1))
    reads = fake.add_fault(Fault("GET", "/v2/account", status=500, skip=2))
    client = client_of(fake)
    try:
        statuses = [post(client)[0], post(client)[0]]
        account_reads = []
        for _ in range(3):
            try:
                cast(dict[str, Any], client.get("/account"))
                account_reads.append(200)
            except APIError as error:
                account_reads.append(error.status_code or 0)
    finally:
        client._session.close()
    assert statuses == [200, 503]
    assert account_reads == [200, 200, 500]
    assert orders.fired.is_set()
    assert reads.fired.is_set()


def test_concurrent_requests_fire_a_skipping_fault_exactly_times_times(fake: FakeAlpaca) -> None:
    """The fake serves each request on its own thread: the count is taken under a lock, so
    of 24 concurrent orders exactly `skip` go through first and `times` get the fault."""
    fake.add_fault(Fault("POST", "/v2/orders", status=504, skip=5, times=3))
    answers: list[int] = []
    guard = threading.Lock()

    def worker() -> None:
        client = client_of(fake)
        try:
            for _ in range(4):
                status, _coid = post(client)
                with guard:
                    answers.append(status)
        finally:
            client._session.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [200] * 21 + [504] * 3
    assert len(placed(fake)) == 21


def test_faults_on_one_path_queue_up(fake: FakeAlpaca) -> None:
    """A request an earlier fault answered does not count for the later ones."""
    fake.add_fault(Fault("POST", "/v2/orders", status=503))
    fake.add_fault(Fault("POST", "/v2/orders", status=504, skip=1))
    client = client_of(fake)
    try:
        statuses = [post(client)[0] for _ in range(4)]
    finally:
        client._session.close()
    assert statuses == [503, 200, 504, 200]
