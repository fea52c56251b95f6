"""The `Broker` port: what every broker adapter (sim, alpaca, ibkr, ...) must provide.

| method | required | what it does |
|---|---|---|
| `snapshot(symbols)` | yes | cash, positions, quotes (held and requested), open orders |
| `submit(intent)` | yes | send one order with `intent.client_order_id`; never retried inside |
| `get_order(client_order_id)` | yes | the broker's view of an order, or `None` if it has none |
| `cancel(client_order_id)` | yes | ask to cancel; returns the order as it stands afterwards |
| `fills(since)` | yes | executions at or after `since`, oldest first, unique `fill_id`s |
| `close()` | yes | release connections |

Errors (from `daemon.errors`): `TransientBrokerError` for reads that may succeed later,
`OrderRejected` for a definitive refusal, `OutcomeUnknown` when an order may or may not exist
(timeout, dropped connection), `DuplicateClientOrderId` when the id is taken (the order
exists: fetch it). Adapters translate their SDK's exceptions with `raise ... from exc`.
"""

from __future__ import annotations

__all__ = ["Broker", "BrokerEnvironment", "BrokerPlugin"]

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel

from daemon.domain import AccountSnapshot, BrokerOrder, Fill, OrderIntent

if TYPE_CHECKING:
    from daemon.persistence.db import Database


@runtime_checkable
class Broker(Protocol):
    """One brokerage account, as trimtab talks to it."""

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot: ...

    def submit(self, intent: OrderIntent) -> BrokerOrder: ...

    def get_order(self, client_order_id: str) -> BrokerOrder | None: ...

    def cancel(self, client_order_id: str) -> BrokerOrder: ...

    def fills(self, since: datetime) -> Sequence[Fill]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BrokerEnvironment:
    """What trimtab hands an adapter when it builds one: never global, always passed in."""

    account: str
    database: Database
    state_dir: Path
    clock: Callable[[], datetime]


@runtime_checkable
class BrokerPlugin(Protocol):
    """An entry point in the `trimtab.brokers` group.

    `settings_model` validates the account's `broker_settings` table (it must forbid unknown
    keys and hold credentials as `SecretStr`); `create` builds the broker from them.
    """

    name: str
    settings_model: type[BaseModel]

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker: ...
