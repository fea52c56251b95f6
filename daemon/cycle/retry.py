"""Retry the broker's reads, never its writes.

A read that fails with `TransientBrokerError` is tried again with exponential backoff; when
the attempts are used up the error goes on and the cycle aborts (trimtab never assumes a
flat or empty account). `submit` and `cancel` are passed straight through: a failed submit
is resolved by looking the order up, never by sending it again.

Every optional capability of `adapters.base.CAPABILITIES` the inner broker has, the wrapper
has too (each method a retried read), and only those: `isinstance(wrapper, Capability)`
answers as it would for the inner broker, so no caller needs to unwrap it.
"""

from __future__ import annotations

__all__ = ["READ_ATTEMPTS", "ReadRetrying"]

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from adapters.base import CAPABILITIES, Broker, Capability
from daemon.core.domain import AccountSnapshot, BrokerOrder, Fill, Funds, OrderIntent
from daemon.core.errors import TransientBrokerError
from daemon.logs import Log

READ_ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 0.5

T = TypeVar("T")


class ReadRetrying:
    """A `Broker` that retries its inner broker's reads.

    Built as a subclass with one retried method per capability method the inner broker has.
    """

    def __new__(cls, inner: Broker, **_options: Any) -> ReadRetrying:
        offered = tuple(c for c in CAPABILITIES if isinstance(inner, c.protocol))
        return super().__new__(_with_capabilities(offered))

    def __init__(
        self,
        inner: Broker,
        *,
        log: Log,
        attempts: int = READ_ATTEMPTS,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self._log = log
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._sleep = sleep

    def _read(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(1, self._attempts + 1):
            try:
                return call()
            except TransientBrokerError as exc:
                if attempt == self._attempts:
                    raise TransientBrokerError(
                        f"{what} failed {self._attempts} times, last: {exc}"
                    ) from exc
                delay = self._first_backoff * 2 ** (attempt - 1)
                self._log.warning(
                    "broker_read_retry", read=what, attempt=attempt, delay=delay, error=str(exc)
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        return self._read("snapshot", lambda: self._inner.snapshot(symbols))

    def funds(self, symbols: Collection[str]) -> Funds:
        return self._read("cash and quotes", lambda: self._inner.funds(symbols))

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
