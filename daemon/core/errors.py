"""Errors, grouped by what the operator should do about them.

```
TrimtabError
  ConfigError              fatal at start; names the key path and the fix
  BrokerError
    TransientBrokerError   retried with backoff (reads only); the cycle aborts when exhausted
      NotSent              an order refused before it left, for a cause that may pass (link
                           down, rate limit): recorded as not sent, never looked up; the
                           cycle sends no more orders and the next one reads the account first
    OrderRejected          recorded; the cycle goes on with the other orders
    OutcomeUnknown         resolved by looking the order up by client order id, never by resending
    DuplicateClientOrderId the broker has that id already: fetch and adopt the order
  DataError                bad quotes, holdings or history: the account is skipped this cycle
  StrategyError            plugin failure: the account is skipped, alert raised
  StateError               reconciliation mismatch or corrupt state: account halted, alert raised
    InvalidTransition      an order status change outside the transition table
  PluginNotFound           unknown broker or strategy name (also a LookupError)
```
"""

from __future__ import annotations

__all__ = [
    "BrokerError",
    "ConfigError",
    "ConfigProblem",
    "DataError",
    "DuplicateClientOrderId",
    "InvalidTransition",
    "NotSent",
    "OrderRejected",
    "OutcomeUnknown",
    "PluginNotFound",
    "StateError",
    "StrategyError",
    "TransientBrokerError",
    "TrimtabError",
]

from dataclasses import dataclass


class TrimtabError(Exception):
    """Base of every error trimtab raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in the configuration: where it is, what is wrong, how to fix it."""

    path: str
    problem: str
    fix: str
    about_the_file: bool = False
    """The problem is the config file's own text (a secret written in it): its source is that
    file, whatever the environment also sets."""

    def __str__(self) -> str:
        return f"{self.path}: {self.problem} (fix: {self.fix})"


class ConfigError(TrimtabError):
    """The configuration cannot be used; every problem is listed with its key path."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class BrokerError(TrimtabError):
    """The broker could not do what was asked."""


class TransientBrokerError(BrokerError):
    """A read failed in a way that may pass (network, 5xx, rate limit).

    `retry_after` is the broker's own word on when to try again, in seconds from now (HTTP
    `Retry-After`, a rate-limit reset time), already capped by the adapter; None when it
    gave none. The retry wrapper waits that long instead of its own backoff.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class NotSent(TransientBrokerError):
    """An order refused before it left, for a cause that may pass.

    The adapter never sent it (the link to the broker is lost or not reconciled since, a
    rate limit refused the request, a read its checks need failed): it is certainly not
    placed, so no lookup is needed, and it is not the broker's rejection of the order. The
    executor records it as not sent (CANCELLED), sends no more orders that cycle, and the
    next cycle reads the account before it plans. `retry_after` as for
    `TransientBrokerError`; nothing resends the order (submissions are never retried).
    """

    def __init__(
        self, client_order_id: str, reason: str, *, retry_after: float | None = None
    ) -> None:
        self.client_order_id = client_order_id
        self.reason = reason
        super().__init__(f"order {client_order_id} not sent: {reason}", retry_after=retry_after)


class OrderRejected(BrokerError):
    """The broker definitively refused an order."""

    def __init__(self, client_order_id: str, reason: str) -> None:
        self.client_order_id = client_order_id
        self.reason = reason
        super().__init__(f"order {client_order_id} rejected: {reason}")


class OutcomeUnknown(BrokerError):
    """An order was perhaps sent; only a lookup by its client order id can tell."""

    def __init__(self, client_order_id: str, detail: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(f"outcome of order {client_order_id} unknown: {detail}")


class DataError(TrimtabError):
    """Input data (quotes, holdings, prices, history) is unusable; names the thing."""


class StrategyError(TrimtabError):
    """A strategy plugin failed or returned unusable targets."""


class StateError(TrimtabError):
    """Stored state disagrees with the broker or with itself."""


class InvalidTransition(StateError):
    """An order status change that the transition table does not allow."""


class PluginNotFound(TrimtabError, LookupError):
    """No plugin of that name; the message lists the known ones."""


class DuplicateClientOrderId(BrokerError):
    """The broker already has an order with this client order id: fetch it, never resend."""

    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(f"the broker already has an order with client order id {client_order_id}")
