"""Price feeds and strategies that misbehave the way outside data sometimes does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from daemon.core.domain import Quote
from strategies.base import StrategyContext


@dataclass
class RawFeed:
    """Quotes exactly as given, however wrong: zero, negative, NaN, stale or absent."""

    prices: dict[str, Decimal]
    as_of: datetime | None = None

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        if symbol not in self.prices:
            return None
        return Quote(symbol, self.prices[symbol], (self.as_of or at).astimezone(UTC), "raw-feed")

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        return []  # quotes only, no history

    def describe(self) -> dict[str, Any]:
        return {"source": "raw-feed", "synthetic": False}


class FixedWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: dict[str, Decimal]


@dataclass(frozen=True)
class UncheckedStrategy:
    """Returns its weights without any validation, as a buggy plugin might."""

    weights: Mapping[str, Decimal]

    def universe(self) -> frozenset[str]:
        return frozenset(self.weights)

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        return self.weights


class _UncheckedPlugin:
    name = "unchecked"
    params_model: type[BaseModel] = FixedWeights

    def create(self, params: BaseModel) -> UncheckedStrategy:
        assert isinstance(params, FixedWeights)
        return UncheckedStrategy(params.weights)


UNCHECKED_STRATEGY = _UncheckedPlugin()
