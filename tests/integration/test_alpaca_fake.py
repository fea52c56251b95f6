"""The fake Alpaca itself, through alpaca-py's own client: Alpaca's rules and shapes, and its
separate-process mode with a state file."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import requests

from adapters.alpaca.sdk import APIError, TradingClient
from adapters.alpaca.transport import harden
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import household, make_broker

D = Decimal


@pytest.fixture
def state() -> AlpacaState:
    made = household()
    made.set_position("VTI", "10")
    return made


@pytest.fixture
def client(state: AlpacaState) -> Iterator[TradingClient]:
    with FakeAlpaca(state) as fake:
        made = TradingClient(KEY_ID, SECRET, raw_data=True, url_override=fake.url)
        harden(made, 2, 5)
        yield made
        made._session.close()


def order(**fields: Any) -> dict[str, Any]:
    base = {"symbol": "VTI", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day",
            "client_order_id": f"f-{uuid.uuid4().hex[:8]}"}  # fmt: skip
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


def refusal(client: TradingClient, body: dict[str, Any]) -> tuple[int | None, str]:
    with pytest.raises(APIError) as caught:
        client.post("/orders", body)
    return caught.value.status_code, json.loads(str(caught.value))["message"]


def test_orders_come_back_in_alpacas_shape(client: TradingClient) -> None:
    placed = cast(dict[str, Any], client.post("/orders", order(qty="0.5")))
    uuid.UUID(placed["id"])
    assert (placed["qty"], placed["filled_qty"], placed["status"]) == ("0.5", "0", "accepted")
    account = cast(dict[str, Any], client.get("/account"))
    assert isinstance(account["cash"], str)
    assert "pattern_day_trader" not in account


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"qty": None}, 422, "qty or notional"),
        ({"notional": "100"}, 422, "qty or notional"),
        ({"qty": None, "notional": "100", "type": "limit", "limit_price": "1"}, 422, "market"),
        ({"qty": "0.5", "time_in_force": "gtc"}, 422, "DAY orders"),
        ({"symbol": "BND", "qty": "0.5"}, 422, "not fractionable"),
        ({"symbol": "NOPE"}, 422, "asset not found"),
        ({"type": "limit"}, 422, "limit_price is required"),
        ({"extended_hours": True}, 422, "extended hours"),
        ({"qty": "0.1234567891"}, 422, "9 decimals"),
        ({"side": "sell", "qty": "11"}, 403, "insufficient qty"),
        ({"qty": "100"}, 403, "insufficient buying power"),
    ],
)
def test_the_fake_refuses_what_alpaca_refuses(
    client: TradingClient, fields: dict[str, Any], status: int, words: str
) -> None:
    code, message = refusal(client, order(**fields))
    assert code == status
    assert words in message


def test_client_order_ids_stay_taken_after_a_cancel(client: TradingClient) -> None:
    placed = cast(
        dict[str, Any],
        client.post("/orders", order(type="limit", limit_price="200", client_order_id="x1")),
    )
    client.delete(f"/orders/{placed['id']}")
    assert refusal(client, order(client_order_id="x1")) == (422, "client_order_id must be unique")
    with pytest.raises(APIError) as caught:
        client.delete(f"/orders/{placed['id']}")
    assert caught.value.status_code == 422


def test_a_wash_trade_is_refused_while_the_opposite_order_is_open(client: TradingClient) -> None:
    client.post("/orders", order(side="sell", type="limit", limit_price="300"))
    assert refusal(client, order()) == (403, "potential wash trade detected. use complex orders")


def test_orders_queue_while_the_market_is_closed(client: TradingClient, state: AlpacaState) -> None:
    state.market_open, state.auto_fill = False, True
    placed = cast(dict[str, Any], client.post("/orders", order()))
    assert cast(dict[str, Any], client.get(f"/orders/{placed['id']}"))["status"] == "accepted"
    state.market_open = True
    assert cast(dict[str, Any], client.get(f"/orders/{placed['id']}"))["status"] == "filled"


def test_requests_without_keys_are_unauthorized(client: TradingClient, state: AlpacaState) -> None:
    answer = requests.get(f"{client._base_url}/v2/account", timeout=5)
    assert answer.status_code == 401
    assert answer.json()["code"] == 40110000


def test_rate_limit_headers_and_429_past_the_limit(state: AlpacaState) -> None:
    with FakeAlpaca(state, rate_limit=3) as fake:
        headers = {"APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET}
        answers = [
            requests.get(f"{fake.url}/v2/clock", headers=headers, timeout=5) for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert answers[0].headers["X-Ratelimit-Limit"] == "3"
    assert answers[2].headers["X-Ratelimit-Remaining"] == "0"
    assert int(answers[2].headers["X-Ratelimit-Reset"]) > 0


@pytest.mark.slow
def test_the_fake_runs_as_its_own_process_and_keeps_its_account(tmp_path: Path) -> None:
    state_file = tmp_path / "fake.json"
    command = [sys.executable, "-m", "tests.fakes.alpaca_server", "--state", str(state_file),
               "--asset", "VTI=250", "--cash", "1000", "--market-open", "--auto-fill"]  # fmt: skip
    for attempt in range(2):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            broker = make_broker(_UrlOnly(url, AlpacaState()))  # type: ignore[arg-type]
            if attempt == 0:
                intent = OrderIntent(
                    "keep-1", "c", "main", 1, "VTI", Side.BUY, D(2), OrderType.MARKET, "t"
                )
                broker.submit(intent)
            found = broker.get_order("keep-1")
            assert found is not None
            assert found.status is OrderStatus.FILLED
            assert broker.snapshot(()).qty("VTI") == D(2)
            broker.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()
    assert json.loads(state_file.read_text())["client_order_ids"] == ["keep-1"]


class _UrlOnly:
    """What `make_broker` reads from a fake: its URL and its clock."""

    def __init__(self, url: str, state: AlpacaState) -> None:
        self.url, self.state = url, state
