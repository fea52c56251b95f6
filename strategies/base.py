"""The `Strategy` port: turn a context into target weights.

| member | required | what it is |
|---|---|---|
| `universe()` | yes | every symbol it may give a weight, so the engine can fetch their quotes |
| `targets(context)` | yes | weights by symbol (`CASH` allowed), summing to 1 |

A strategy is found by an entry point in the `trimtab.strategies` group (or `module:attr`)
that names a `StrategyPlugin`: its `params_model` validates the account's `strategy_params`
table, and `create(params)` returns the strategy. Strategies are pure: no I/O, no clock; all
they know arrives in the `StrategyContext`.
"""

from __future__ import annotations

__all__ = ["Strategy", "StrategyContext", "StrategyPlugin"]

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from daemon.core.domain import AccountType


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may look at: the day, the account, its holdings and prices."""

    trading_day: date
    account: str
    account_type: AccountType
    cash: Decimal
    holdings: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]


@runtime_checkable
class Strategy(Protocol):
    def universe(self) -> frozenset[str]: ...

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]: ...


@runtime_checkable
class StrategyPlugin(Protocol):
    name: str
    params_model: type[BaseModel]

    def create(self, params: BaseModel) -> Strategy: ...
