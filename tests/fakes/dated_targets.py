"""A strategy plugin whose targets change on the dates its params name (`targets`: from each
date on, the weights given for the latest date on or before the day): a backtest's way to
drop a symbol on a chosen day, as a momentum or trend strategy would."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from strategies.base import StrategyContext


class DatedTargetsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: dict[date, dict[str, Decimal]] = Field(
        min_length=1, description="The weights from each date on (the first from any day)."
    )


@dataclass(frozen=True, slots=True)
class DatedTargets:
    plan: tuple[tuple[date, Mapping[str, Decimal]], ...]

    def universe(self) -> frozenset[str]:
        return frozenset(s for _, weights in self.plan for s in weights if s != "CASH")

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        # The same mapping object while the dates do not change it, as a static strategy's.
        current = self.plan[0][1]
        for day, weights in self.plan:
            if day <= context.trading_day:
                current = weights
        return current


class DatedTargetsPlugin:
    name = "dated_targets"
    description = "Weights that change on given dates."
    params_model: type[BaseModel] = DatedTargetsParams

    def create(self, params: BaseModel) -> DatedTargets:
        assert isinstance(params, DatedTargetsParams)
        plan = sorted(params.targets.items())
        return DatedTargets(tuple((day, MappingProxyType(dict(w))) for day, w in plan))


PLUGIN = DatedTargetsPlugin()
