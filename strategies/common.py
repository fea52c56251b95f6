"""What every strategy of the library shares: the plugin shape, the check of history, the
limits, and the Decimal weights with reasons.

A library strategy computes float weights and a reason per symbol; `finish` applies the policy
limits (`strategies.limits.apply_limits`: the one way) and returns the `Allocation`.
`HistoryStrategy` adds the one check of the price window before the rule runs.
"""

from __future__ import annotations

__all__ = ["HistoryStrategy", "Plugin", "finish", "pct"]

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from daemon.core.domain import CASH
from strategies.base import Allocation, Strategy, StrategyContext
from strategies.history import HistoryNeeds
from strategies.limits import apply_limits, current_weights, to_allocation
from strategies.params import HistoryParams, PolicyLimits, SafeAssetParams

Matrix = npt.NDArray[np.float64]
P = TypeVar("P", bound=PolicyLimits)
H = TypeVar("H", bound=HistoryParams)


def pct(value: float) -> str:
    """Format a fraction as a percentage with one decimal: 0.1423 -> '14.2%'."""
    return f"{value * 100:.1f}%"


def finish(
    strategy: str,
    raw: Mapping[str, float],
    reasons: Mapping[str, str],
    limits: PolicyLimits,
    context: StrategyContext,
    universe: Collection[str],
) -> Allocation:
    """Apply the limits to `raw` and return Decimal weights summing to 1, each with its reason."""
    total = sum(raw.values())
    normal = {s: w / total for s, w in raw.items() if w > 0} if total > 0 else dict(raw)
    current = current_weights(context) if limits.max_turnover < 1 else {}
    limited = apply_limits(
        normal, strategy=strategy, limits=limits, current=current, universe=universe
    )
    explained = dict(reasons)
    for symbol, w in limited.items():
        before = normal.get(symbol, 0.0)
        if abs(w - before) > 5e-10:
            note = f"limits: {pct(before)} → {pct(w)}"
            explained[symbol] = f"{reasons[symbol]}; {note}" if symbol in reasons else note
    return to_allocation(limited, explained, strategy=strategy, limits=limits)


@dataclass(frozen=True, slots=True)
class HistoryStrategy(ABC, Generic[H]):
    """A strategy that reads `rows()` daily closes of `history_symbols()`, checked, then its rule.

    Subclasses give `name`, `rows`, `compute`, and `holdable` when they may hold a symbol
    outside the universe (a safe asset).
    """

    params: H

    name = "history"

    def holdable(self) -> frozenset[str]:
        safe = self.params.safe_asset if isinstance(self.params, SafeAssetParams) else CASH
        return frozenset([*self.params.universe, safe])

    def history_symbols(self) -> tuple[str, ...]:
        return tuple(self.params.universe)

    def universe(self) -> frozenset[str]:
        return self.holdable() - {CASH}

    def rows(self) -> int:
        return self.params.lookback_days + 1

    def history_needs(self) -> HistoryNeeds:
        return HistoryNeeds(frozenset(self.history_symbols()), self.rows())

    @abstractmethod
    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Return float weights by symbol (CASH allowed) and a reason for each."""

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        return self.allocate(context).weights

    def allocate(self, context: StrategyContext) -> Allocation:
        closes = context.history.window(
            strategy=self.name,
            symbols=self.history_symbols(),
            rows=self.rows(),
            expected_last=context.history_expected_through,
        )
        raw, reasons = self.compute(closes, context)
        return finish(self.name, raw, reasons, self.params, context, self.universe())


@dataclass(frozen=True, slots=True)
class Plugin(Generic[P]):
    """A `StrategyPlugin`: a name, a one-line description, a params model and a factory."""

    name: str
    description: str
    params_model: type[P]
    factory: Callable[[P], Strategy]

    def create(self, params: object) -> Strategy:
        if not isinstance(params, self.params_model):
            params = self.params_model.model_validate(params)
        return self.factory(params)
