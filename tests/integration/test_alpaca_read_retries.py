"""Read retries against the fake Alpaca over real HTTP (issue 14, item 4): a burst of 5xx
answers is ridden out within the budget, and a 429 waits what Alpaca's headers ask for
(`Retry-After` in seconds or as an HTTP date, else `X-Ratelimit-Reset`), read on the
broker's clock. Time is stepped: the retry wrapper's sleeps move a test clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
import structlog

from adapters.alpaca.broker import AlpacaBroker
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.core.errors import NotSent, OutcomeUnknown, TransientBrokerError
from daemon.cycle.retry import ReadRetrying
from tests.fakes.alpaca_server import AlpacaState, FakeAlpaca, rate_limited, server_errors
from tests.fakes.alpaca_server.client import MONDAY_MIDDAY, household, make_broker

D = Decimal


class SteppedTime:
    """The broker's wall clock and the wrapper's monotonic clock, moved only by sleeps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.sleeps: list[float] = []

    def wall(self) -> datetime:
        return MONDAY_MIDDAY + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.seconds += seconds


@pytest.fixture
def time_() -> SteppedTime:
    return SteppedTime()


@pytest.fixture
def state(time_: SteppedTime) -> AlpacaState:
    made = household()
    made.clock = time_.wall
    made.set_position("BND", "10")
    return made


@pytest.fixture
def fake(state: AlpacaState) -> Iterator[FakeAlpaca]:
    with FakeAlpaca(state) as server:
        yield server


@pytest.fixture
def broker(fake: FakeAlpaca, time_: SteppedTime) -> Iterator[AlpacaBroker]:
    made = make_broker(fake, clock=time_.wall, rate_limit_max_wait_seconds=D(60))
    yield made
    made.close()


def retrying(broker: AlpacaBroker, time_: SteppedTime, budget: float = 30.0) -> ReadRetrying:
    return ReadRetrying(
        broker,
        log=structlog.get_logger(),
        budget=budget,
        sleep=time_.sleep,
        monotonic=time_.monotonic,
        draw=lambda: 1.0,  # the top of each jitter window: the slowest retries can be
    )


def test_a_burst_of_five_503s_is_ridden_out(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    fake.add_fault(server_errors("GET", "/v2/positions", times=5))
    snapshot = retrying(broker, time_).snapshot(())
    assert snapshot.qty("BND") == D(10)
    assert fake.count("GET", "/v2/positions") == 6  # five 503s, then the answer
    assert time_.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]  # 15.5 s of the 30 s budget


def test_a_longer_outage_fails_the_read_within_the_budget(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    fake.add_fault(server_errors("GET", "/v2/account", times=100, status=502))
    with pytest.raises(TransientBrokerError, match=r"retry budget 30s.*last: Alpaca account"):
        retrying(broker, time_).snapshot(())
    assert fake.count("GET", "/v2/account") == 7
    assert sum(time_.sleeps) <= 30


def test_a_429_with_retry_after_in_seconds_waits_that_long(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    fake.add_fault(rate_limited("GET", "/v2/positions", retry_after="7"))
    retrying(broker, time_).snapshot(())
    assert time_.sleeps == [7.0]
    assert fake.count("GET", "/v2/positions") == 2


def test_a_429_with_retry_after_as_an_http_date_waits_until_then(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    when = time_.wall() + timedelta(seconds=12)
    fake.add_fault(rate_limited("GET", "/v2/positions", retry_after=format_datetime(when, True)))
    retrying(broker, time_).snapshot(())
    # Whole seconds on the wire; the broker's clock has moved a little while reading.
    assert len(time_.sleeps) == 1
    assert 11.0 <= time_.sleeps[0] <= 12.0


def test_a_429_with_only_the_reset_header_waits_for_the_window(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    reset = (time_.wall() + timedelta(seconds=20)).timestamp()
    fake.add_fault(rate_limited("GET", "/v2/positions", reset_at=reset))
    retrying(broker, time_).snapshot(())
    assert len(time_.sleeps) == 1
    assert 19.0 <= time_.sleeps[0] <= 20.0


def test_a_reset_past_the_budget_fails_at_once_instead_of_waiting(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    fake.add_fault(rate_limited("GET", "/v2/positions", retry_after="50"))
    with pytest.raises(TransientBrokerError, match="asked to wait 50s more") as raised:
        retrying(broker, time_).snapshot(())
    assert time_.sleeps == []
    assert raised.value.retry_after == 50.0


def test_orders_are_never_retried_on_5xx_or_429(
    fake: FakeAlpaca, broker: AlpacaBroker, time_: SteppedTime
) -> None:
    wrapper = retrying(broker, time_)
    intent = OrderIntent(
        client_order_id="tt-r-1", cycle_id="c", account="main", seq=1, symbol="VTI",
        side=Side.BUY, qty=D(1), order_type=OrderType.MARKET, reason="test",
    )  # fmt: skip
    fake.add_fault(server_errors("POST", "/v2/orders", times=5))
    with pytest.raises(OutcomeUnknown):
        wrapper.submit(intent)
    assert fake.count("POST", "/v2/orders") == 1  # one of the burst's five used: no resend
    fake.faults.clear()
    fake.add_fault(rate_limited("POST", "/v2/orders", retry_after="1"))
    with pytest.raises(NotSent, match="rate limit") as limited:
        wrapper.submit(intent)
    assert limited.value.retry_after == 1.0  # said, not waited: submissions are sent once
    assert fake.count("POST", "/v2/orders") == 2
    assert time_.sleeps == []
    assert fake.state.orders == []
