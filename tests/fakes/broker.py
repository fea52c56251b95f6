"""A broker double whose snapshot the test writes by hand, and which records every submit.

For inputs the simulated broker cannot produce (short positions, NaN cash); tests that need
real order behaviour use the simulated broker instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, SecretStr

from adapters.base import Broker, BrokerEnvironment
from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    Position,
    Quote,
)


@dataclass
class HandWrittenBroker:
    cash: Decimal
    positions: dict[str, Decimal]
    quotes: dict[str, Quote]
    submitted: list[OrderIntent] = field(default_factory=list)
    market_buy_hold_fraction: Decimal = Decimal(0)

    trade_costs: TradeCosts = NO_COSTS  # it takes no orders

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        wanted = set(symbols) | set(self.positions)
        return AccountSnapshot(
            account="fake",
            as_of=max((q.as_of for q in self.quotes.values()), default=datetime.now(UTC)),
            cash=self.cash,
            positions=tuple(Position(s, q) for s, q in sorted(self.positions.items())),
            quotes={s: q for s, q in self.quotes.items() if s in wanted},
        )

    def funds(self, symbols: Collection[str]) -> Funds:
        snapshot = self.snapshot(symbols)
        return Funds(snapshot.as_of, snapshot.cash, snapshot.quotes)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        self.submitted.append(intent)
        raise AssertionError(f"the test broker must not receive orders, got {intent}")

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        return None

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        return {}

    def cancel(self, client_order_id: str) -> BrokerOrder:
        raise AssertionError("no orders to cancel")

    def fills(self, since: datetime) -> Sequence[Fill]:
        return ()

    def close(self) -> None:
        return None


class SecretSettings(BaseModel):
    """Settings of a pretend broker that needs credentials."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    api_key: SecretStr
    secret_key: SecretStr
    endpoint: str = "http://127.0.0.1:9"


class _SecretPlugin:
    name = "secret"
    settings_model: type[BaseModel] = SecretSettings

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker:
        return HandWrittenBroker(cash=Decimal(0), positions={}, quotes={})


SECRET_PLUGIN = _SecretPlugin()
