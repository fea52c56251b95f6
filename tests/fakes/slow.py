"""A strategy that takes its time, so a test can send a signal while a cycle is running."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from strategies.base import StrategyContext


class SlowParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seconds: float
    targets: dict[str, Decimal]


@dataclass(frozen=True)
class SlowStrategy:
    seconds: float
    weights: Mapping[str, Decimal]

    def universe(self) -> frozenset[str]:
        return frozenset(self.weights)

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        time.sleep(self.seconds)
        return self.weights


class _SlowPlugin:
    name = "slow"
    params_model: type[BaseModel] = SlowParams

    def create(self, params: BaseModel) -> SlowStrategy:
        assert isinstance(params, SlowParams)
        return SlowStrategy(params.seconds, params.targets)


SLOW_STRATEGY = _SlowPlugin()
