"""Strategy `static`: the same target weights every day, straight from the config."""

from __future__ import annotations

__all__ = ["PLUGIN", "StaticParams", "StaticStrategy"]

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from daemon.core.domain import CASH
from strategies.base import StrategyContext

SUM_TOLERANCE = Decimal("0.000001")
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")


class StaticParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: dict[str, Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]] = Field(
        description='Weight per symbol, summing to 1; "CASH" may have a weight too.'
    )

    @field_validator("targets")
    @classmethod
    def _valid_targets(cls, targets: dict[str, Decimal]) -> dict[str, Decimal]:
        if not targets:
            raise ValueError("targets is empty; give at least one symbol and its weight")
        for symbol in targets:
            if symbol != CASH and not _SYMBOL.match(symbol):
                raise ValueError(f"{symbol!r} is not a ticker; write tickers in upper case")
        total = sum(targets.values(), Decimal(0))
        if abs(total - 1) > SUM_TOLERANCE:
            raise ValueError(
                f"targets sum to {total}, not 1; adjust the weights (CASH may take the rest)"
            )
        return targets


@dataclass(frozen=True, slots=True)
class StaticStrategy:
    weights: Mapping[str, Decimal]

    def universe(self) -> frozenset[str]:
        return frozenset(symbol for symbol in self.weights if symbol != CASH)

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        return self.weights

    def fixed_targets(self) -> Mapping[str, Decimal]:
        return self.weights


class _StaticPlugin:
    name = "static"
    params_model: type[BaseModel] = StaticParams

    def create(self, params: BaseModel) -> StaticStrategy:
        assert isinstance(params, StaticParams)
        return StaticStrategy(MappingProxyType(dict(params.targets)))


PLUGIN = _StaticPlugin()
