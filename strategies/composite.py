"""Strategy `composite`: a pie of sleeves, each another strategy with its own params.

`w_s = Σ_k weight_k × w_{k,s}`: each sleeve's weights (summing to 1) multiplied by the
sleeve's weight (the sleeves' weights sum to 1), then the composite's own policy limits. A
sleeve may be a composite itself, to a depth of `MAX_DEPTH`; sleeves are written inline, so a
cycle (a composite containing itself) cannot be written. The turnover limit belongs to the
composite (the whole account), so a sleeve's `max_turnover` must stay 1.
"""

from __future__ import annotations

__all__ = ["MAX_DEPTH", "PLUGIN", "CompositeParams", "CompositeStrategy", "Sleeve"]

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from daemon.core.errors import PluginNotFound
from strategies.base import (
    Allocation,
    Explains,
    ReadsHistory,
    ReadsYields,
    Strategy,
    StrategyContext,
)
from strategies.common import Plugin, finish, pct
from strategies.history import HistoryNeeds
from strategies.params import PolicyLimits
from strategies.registry import load_strategy

MAX_DEPTH = 4
"""Composites nest at most this deep (a composite of composites of ... counts each level)."""


class Sleeve(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="A label for the sleeve (core, income, ...), for reasons.")
    weight: Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        description="The sleeve's share of the account; the sleeves' weights sum to 1."
    )
    strategy: str = Field(description="The sleeve's strategy: an installed name or module:attr.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="That strategy's params, as in strategy_params."
    )


class CompositeParams(PolicyLimits):
    sleeves: list[Sleeve] = Field(min_length=1, description="The sleeves of the pie.")

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, data: Any) -> Any:
        depth = _depth(data)
        if depth > MAX_DEPTH:
            raise ValueError(
                f"composites nest {depth} deep, more than {MAX_DEPTH}; flatten the sleeves"
            )
        return data

    @model_validator(mode="after")
    def _valid_sleeves(self) -> Self:
        total = sum((s.weight for s in self.sleeves), Decimal(0))
        if abs(total - 1) > Decimal("0.000001"):
            raise ValueError(f"sleeve weights sum to {total}, not 1; adjust them")
        names = [s.name for s in self.sleeves]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two sleeves are named {name!r}; name each once")
        for sleeve in self.sleeves:
            try:
                plugin = load_strategy(sleeve.strategy)
            except PluginNotFound as exc:
                raise ValueError(f"sleeve {sleeve.name}: {exc}") from None
            try:
                params = plugin.params_model.model_validate(sleeve.params)
            except ValueError as exc:
                raise ValueError(f"sleeve {sleeve.name} ({sleeve.strategy}): {exc}") from None
            if getattr(params, "max_turnover", 1) != 1:
                raise ValueError(
                    f"sleeve {sleeve.name}: max_turnover applies to the whole account; set it "
                    "on the composite, not on a sleeve"
                )
        return self


def _depth(data: Any) -> int:
    """How deep composites nest in raw params (1: no sleeve is a composite).

    A sleeve is a composite when its plugin takes a composite's params, however it is named
    (`composite`, `strategies.composite:PLUGIN`, another entry point for the same plugin).
    """
    if not isinstance(data, Mapping):
        return 1
    deepest = 0
    for sleeve in data.get("sleeves") or ():
        if isinstance(sleeve, Mapping):
            name, params = sleeve.get("strategy"), sleeve.get("params")
        elif isinstance(sleeve, Sleeve):
            name, params = sleeve.strategy, sleeve.params
        else:
            continue
        if isinstance(name, str) and _is_composite(name):
            deepest = max(deepest, _depth(params))
    return 1 + deepest


def _is_composite(name: str) -> bool:
    try:
        plugin = load_strategy(name)
    except PluginNotFound:
        return False  # named in the sleeve's own check, after this one
    model = plugin.params_model
    return isinstance(model, type) and issubclass(model, CompositeParams)


@dataclass(frozen=True, slots=True)
class CompositeStrategy:
    params: CompositeParams
    sleeves: tuple[tuple[Sleeve, Strategy], ...]
    name = "composite"

    def universe(self) -> frozenset[str]:
        return frozenset().union(*(s.universe() for _, s in self.sleeves))

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        return self.allocate(context).weights

    def history_needs(self) -> HistoryNeeds:
        needs = HistoryNeeds(frozenset(), 0)
        for _, strategy in self.sleeves:
            if isinstance(strategy, ReadsHistory):
                needs |= strategy.history_needs()
        return needs

    def yield_symbols(self) -> frozenset[str]:
        return frozenset().union(
            *(s.yield_symbols() for _, s in self.sleeves if isinstance(s, ReadsYields))
        )

    def allocate(self, context: StrategyContext) -> Allocation:
        raw: dict[str, float] = {}
        parts: dict[str, list[str]] = {}
        for sleeve, strategy in self.sleeves:
            if isinstance(strategy, Explains):
                inner = strategy.allocate(context)
                weights, reasons = inner.weights, inner.reasons
            else:
                weights, reasons = strategy.targets(context), {}
            for symbol, w in weights.items():
                share = float(sleeve.weight) * float(w)
                raw[symbol] = raw.get(symbol, 0.0) + share
                why = reasons.get(symbol, f"{sleeve.strategy}: configured weight")
                parts.setdefault(symbol, []).append(
                    f"{sleeve.name} {pct(float(sleeve.weight))} × {pct(float(w))} ({why})"
                )
        reasons_out = {s: "composite: " + " + ".join(p) for s, p in parts.items()}
        return finish(self.name, raw, reasons_out, self.params, context, self.universe())


def _create(params: CompositeParams) -> CompositeStrategy:
    sleeves = []
    for sleeve in params.sleeves:
        plugin = load_strategy(sleeve.strategy)
        sleeves.append((sleeve, plugin.create(plugin.params_model.model_validate(sleeve.params))))
    return CompositeStrategy(params, tuple(sleeves))


PLUGIN = Plugin(
    "composite",
    "A pie of sleeves (core and satellites), each another strategy, weights multiplied through.",
    CompositeParams,
    _create,
)
