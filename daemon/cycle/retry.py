"""Retry the broker's reads, never its writes.

A read that fails with `TransientBrokerError` is tried again until it succeeds or its retry
budget (seconds of wall time, counted from the first attempt) is spent; then the error goes
on and the cycle aborts (trimtab never assumes a flat or empty account). Between attempts
it waits the broker's own hint when the error carries one (`retry_after`: HTTP
`Retry-After`, a rate-limit reset), else an exponential backoff with full jitter: a random
wait between `MIN_BACKOFF_SECONDS` and `first_backoff * 2**(n-1)`, capped at
`MAX_BACKOFF_SECONDS`, so accounts retrying together do not hit the broker in step. A wait
that would end past the budget is not started: the read fails at once, saying why.

`submit` and `cancel` are passed straight through: a failed submit is resolved by looking
the order up, never by sending it again.

Every optional capability of `adapters.base.CAPABILITIES` the inner broker has, the wrapper
has too (each method a retried read), and only those: `isinstance(wrapper, Capability)`
answers as it would for the inner broker, so no caller needs to unwrap it.

Every snapshot (and the cash and quotes buys are sized by) is checked against the broker
contract as it arrives (`daemon.core.inputs.check_snapshot`): a position listed twice, a
float quantity, a naive time is the plugin's fault, refused with a `DataError` naming the
plugin (`name`: the account's `broker`) before reconciliation, the audit log or the planner
use it. Every cycle, `trimtab plan` and a household's reads of its other members read
through this wrapper.
"""

from __future__ import annotations

__all__ = ["READ_RETRY_SECONDS", "ReadRetrying", "backoff"]

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from adapters.base import CAPABILITIES, Broker, Capability
from daemon.core.costs import TradeCosts
from daemon.core.domain import AccountSnapshot, BrokerOrder, Fill, Funds, OrderIntent
from daemon.core.errors import TransientBrokerError
from daemon.core.inputs import check_funds, check_snapshot
from daemon.logs import Log

READ_RETRY_SECONDS = 30.0
"""Default retry budget of one read: rides out a broker's restart or a rate-limit window
(Alpaca's is a minute, and its reset header is usually sooner) without stalling a cycle."""
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
MIN_BACKOFF_SECONDS = 0.05
"""Full jitter may draw ~0, a reset may be past: never retry in a tight loop."""

T = TypeVar("T")


def backoff(
    attempt: int,
    draw: float,
    *,
    first: float = FIRST_BACKOFF_SECONDS,
    cap: float = MAX_BACKOFF_SECONDS,
) -> float:
    """Return the wait after failed attempt `attempt` (1-based): full jitter, `draw` in [0, 1).

    The window doubles from `first` up to `cap`; the wait is `draw` of the window, at least
    `MIN_BACKOFF_SECONDS`.
    """
    window = min(cap, first * 2.0 ** (attempt - 1))
    return max(MIN_BACKOFF_SECONDS, draw * window)


class ReadRetrying:
    """A `Broker` that retries its inner broker's reads within a budget of seconds.

    Built as a subclass with one retried method per capability method the inner broker has.
    `name` is the broker plugin's, for the errors of a snapshot that breaks its contract.
    `sleep`, `monotonic` and `draw` (uniform in [0, 1)) are injected so tests step time.
    """

    def __new__(cls, inner: Broker, **_options: Any) -> ReadRetrying:
        offered = tuple(c for c in CAPABILITIES if isinstance(inner, c.protocol))
        return super().__new__(_with_capabilities(offered))

    def __init__(
        self,
        inner: Broker,
        *,
        log: Log,
        budget: float = READ_RETRY_SECONDS,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
        name: str | None = None,
    ) -> None:
        self._inner = inner
        self._name = name or f"{type(inner).__module__}.{type(inner).__qualname__}"
        """The broker plugin, as errors name it: the account's `broker` (else the class)."""
        self._log = log
        self._budget = budget
        self._first_backoff = first_backoff
        self._sleep = sleep
        self._monotonic = monotonic
        self._draw = draw

    @property
    def market_buy_hold_fraction(self) -> Decimal:
        return self._inner.market_buy_hold_fraction

    @property
    def trade_costs(self) -> TradeCosts:
        return self._inner.trade_costs

    def _read(self, what: str, call: Callable[[], T]) -> T:
        started = self._monotonic()
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except TransientBrokerError as exc:
                hinted = exc.retry_after is not None
                delay = (
                    max(exc.retry_after or 0.0, MIN_BACKOFF_SECONDS)  # never a tight loop
                    if hinted
                    else backoff(attempt, self._draw(), first=self._first_backoff)
                )
                # Waits count even when `sleep` does not move `monotonic` (a test's no-op).
                spent = max(self._monotonic() - started, slept)
                if spent + delay > self._budget:
                    raise TransientBrokerError(
                        f"{what} failed {attempt} time(s) over {spent:.1f}s "
                        f"(retry budget {self._budget:g}s"
                        + (f"; the broker asked to wait {delay:g}s more" if hinted else "")
                        + f"), last: {exc}",
                        retry_after=exc.retry_after,
                    ) from exc
                self._log.warning(
                    "broker_read_retry",
                    read=what,
                    attempt=attempt,
                    delay=round(delay, 3),
                    hinted=hinted,
                    error=str(exc),
                )
                self._sleep(delay)
                slept += delay

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        snapshot = self._read("snapshot", lambda: self._inner.snapshot(symbols))
        return check_snapshot(snapshot, self._name)

    def funds(self, symbols: Collection[str]) -> Funds:
        funds = self._read("cash and quotes", lambda: self._inner.funds(symbols))
        return check_funds(funds, self._name)

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        return self._read("order lookup", lambda: self._inner.get_order(client_order_id))

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        return self._read("order lookups", lambda: self._inner.get_orders(client_order_ids))

    def fills(self, since: datetime) -> Sequence[Fill]:
        return self._read("fills", lambda: self._inner.fills(since))

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        return self._inner.submit(intent)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        return self._inner.cancel(client_order_id)

    def close(self) -> None:
        self._inner.close()


@cache
def _with_capabilities(offered: tuple[Capability, ...]) -> type[ReadRetrying]:
    """Return `ReadRetrying` extended by a retried read for every method of `offered`."""
    if not offered:
        return ReadRetrying
    methods = {
        method: _retried(method, what)
        for capability in offered
        for method, what in capability.reads
    }
    names = "".join(capability.protocol.__name__ for capability in offered)
    return type(f"ReadRetrying{names}", (ReadRetrying,), methods)


def _retried(method: str, what: str) -> Callable[..., Any]:
    def read(self: ReadRetrying, *args: Any, **kwargs: Any) -> Any:
        return self._read(what, lambda: getattr(self._inner, method)(*args, **kwargs))

    read.__name__ = read.__qualname__ = method
    return read
