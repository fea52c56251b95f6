"""Read retries within a budget of seconds (issue 14, item 4): backoff with full jitter, the
broker's own wait hint honoured, writes never retried. Time is a stepped clock."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import structlog
from structlog.testing import capture_logs

from daemon.core.domain import AccountSnapshot, BrokerOrder, OrderIntent, OrderType, Side
from daemon.core.errors import TransientBrokerError
from daemon.cycle.retry import (
    MAX_BACKOFF_SECONDS,
    MIN_BACKOFF_SECONDS,
    READ_RETRY_SECONDS,
    ReadRetrying,
    backoff,
)
from tests.fakes.broker import HandWrittenBroker
from tests.fakes.clocks import Ticks

D = Decimal


@dataclass
class Failing(HandWrittenBroker):
    """A broker whose reads fail with `errors`, one per call, then answer; each read takes
    `read_seconds` of the clock."""

    errors: list[TransientBrokerError] = field(default_factory=list)
    clock: Ticks | None = None
    read_seconds: float = 0.0
    reads: int = 0

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        self.reads += 1
        if self.clock is not None:
            self.clock.now += self.read_seconds
        if self.errors:
            raise self.errors.pop(0)
        return super().snapshot(symbols)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        self.submitted.append(intent)
        raise TransientBrokerError("503 on the POST")


def broker(errors: list[TransientBrokerError], clock: Ticks, read_seconds: float = 0.0) -> Failing:
    return Failing(
        cash=D(1000),
        positions={},
        quotes={},
        errors=errors,
        clock=clock,
        read_seconds=read_seconds,
    )


def retrying(
    inner: Failing, clock: Ticks, draw: float | None = 1.0, budget: float = 30.0
) -> ReadRetrying:
    """The wrapper on a stepped clock; `draw` fixes the jitter (None: random, as live)."""
    return ReadRetrying(
        inner,
        log=structlog.get_logger(),
        budget=budget,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        draw=random.random if draw is None else lambda: draw,
    )


def burst(n: int, status: str = "503 Service Unavailable") -> list[TransientBrokerError]:
    return [TransientBrokerError(status) for _ in range(n)]


def test_a_burst_of_five_5xx_answers_is_ridden_out_within_the_budget() -> None:
    clock = Ticks()
    inner = broker(burst(5), clock)
    snapshot = retrying(inner, clock).snapshot(())
    assert snapshot.cash == D(1000)
    assert inner.reads == 6
    # At the top of each jitter window: 0.5, 1, 2, 4, 8 s: 15.5 s of the 30 s budget.
    assert clock.waits == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_full_jitter_draws_each_wait_inside_its_window() -> None:
    clock = Ticks()
    inner = broker(burst(5), clock)
    retrying(inner, clock, draw=None).snapshot(())  # random.random, as in production
    windows = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert len(clock.waits) == 5
    for wait, window in zip(clock.waits, windows, strict=True):
        assert MIN_BACKOFF_SECONDS <= wait <= window


def test_the_backoff_window_doubles_to_its_cap_and_never_spins() -> None:
    assert backoff(1, 0.0) == MIN_BACKOFF_SECONDS
    assert backoff(3, 0.5) == 1.0
    assert backoff(10, 0.999) == pytest.approx(0.999 * MAX_BACKOFF_SECONDS)
    assert backoff(60, 1.0) == MAX_BACKOFF_SECONDS  # no overflow on a long outage


def test_a_rate_limit_waits_as_long_as_the_broker_asks() -> None:
    clock = Ticks()
    inner = broker([TransientBrokerError("429", retry_after=7.0)], clock)
    with capture_logs() as logs:
        retrying(inner, clock).snapshot(())
    assert clock.waits == [7.0]  # not the 0.5 s backoff
    assert inner.reads == 2
    retry = next(e for e in logs if e["event"] == "broker_read_retry")
    assert (retry["delay"], retry["hinted"]) == (7.0, True)


def test_a_hint_of_zero_retries_almost_at_once() -> None:
    clock = Ticks()
    inner = broker([TransientBrokerError("429", retry_after=0.0)], clock)
    retrying(inner, clock).snapshot(())
    assert clock.waits == [MIN_BACKOFF_SECONDS]  # a reset already past: no tight loop


def test_the_budget_is_respected_then_the_read_fails_naming_it() -> None:
    clock = Ticks()
    inner = broker(burst(100), clock)
    with pytest.raises(TransientBrokerError, match=r"snapshot failed 7 time\(s\) over 23\.5s") as e:
        retrying(inner, clock).snapshot(())
    assert "retry budget 30s" in str(e.value)
    # 0.5 + 1 + 2 + 4 + 8 + 8 = 23.5 s slept; one more 8 s wait would end past 30 s.
    assert clock.waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert clock.now <= READ_RETRY_SECONDS
    assert inner.reads == 7


def test_time_spent_in_slow_reads_counts_against_the_budget() -> None:
    clock = Ticks()
    inner = broker(burst(100), clock, read_seconds=5.0)
    with pytest.raises(TransientBrokerError, match="retry budget 20s"):
        retrying(inner, clock, budget=20.0).snapshot(())
    # Reads at 0-5, 5.5-10.5, 11.5-16.5; a 2 s wait then would end at 18.5 <= 20, the
    # fourth read ends at 23.5, and no further wait fits.
    assert inner.reads == 4
    assert clock.waits == [0.5, 1.0, 2.0]


def test_a_wait_longer_than_the_budget_left_fails_at_once() -> None:
    clock = Ticks()
    inner = broker([TransientBrokerError("429", retry_after=45.0)], clock)
    with pytest.raises(TransientBrokerError, match="the broker asked to wait 45s more") as e:
        retrying(inner, clock).snapshot(())
    assert clock.waits == []
    assert e.value.retry_after == 45.0  # passed on, for whoever runs the next attempt
    assert inner.reads == 1


def test_a_zero_budget_means_one_attempt() -> None:
    clock = Ticks()
    inner = broker(burst(1), clock)
    with pytest.raises(TransientBrokerError, match=r"failed 1 time\(s\)"):
        retrying(inner, clock, budget=0.0).snapshot(())
    assert inner.reads == 1


def test_a_submission_is_never_retried() -> None:
    clock = Ticks()
    inner = broker([], clock)
    intent = OrderIntent(
        client_order_id="tt-1", cycle_id="c", account="a", seq=1, symbol="VTI",
        side=Side.BUY, qty=D(1), order_type=OrderType.MARKET, reason="test",
    )  # fmt: skip
    with pytest.raises(TransientBrokerError, match="503 on the POST"):
        retrying(inner, clock).submit(intent)
    assert inner.submitted == [intent]
    assert clock.waits == []


def test_the_wrapper_reports_the_inner_brokers_hold() -> None:
    clock = Ticks()
    inner = broker([], clock)
    inner.market_buy_hold_fraction = D("0.04")
    assert retrying(inner, clock).market_buy_hold_fraction == D("0.04")
