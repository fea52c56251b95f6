"""A strategy plugin as another package would write it (docs/strategies.md shows this file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from strategies.base import StrategyContext


class EqualWeightParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbols: list[str] = Field(min_length=1, description="Symbols to hold in equal parts.")


@dataclass(frozen=True, slots=True)
class EqualWeight:
    """Hold each symbol in equal parts; the rounding residue goes to the first symbol."""

    symbols: tuple[str, ...]

    def universe(self) -> frozenset[str]:
        return frozenset(self.symbols)

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        part = (Decimal(1) / len(self.symbols)).quantize(Decimal("0.000000001"))
        weights = dict.fromkeys(self.symbols, part)
        weights[self.symbols[0]] += Decimal(1) - part * len(self.symbols)
        return weights


class EqualWeightPlugin:
    name = "equal_weight"
    description = "Each symbol in equal parts."
    params_model: type[BaseModel] = EqualWeightParams

    def create(self, params: BaseModel) -> EqualWeight:
        assert isinstance(params, EqualWeightParams)
        return EqualWeight(tuple(params.symbols))


PLUGIN = EqualWeightPlugin()
