"""Strategy `trend`: each symbol's share is held while its close is above its moving average.

The rule, with `N = lookback_days` and the last `N` closes (today's included):

1. `SMA_s` is the mean of symbol s's last `N` closes; `P_s` its last close.
2. Band hysteresis: s is *in* when `P_s > SMA_s × (1 + band)`, *out* when
   `P_s < SMA_s × (1 - band)`; inside the band it keeps its state: in when held now
   (quantity > 0), out when not.
3. s gets its base weight (`weights`, default equal) when in; when out, that weight goes to
   `safe_asset` (a ticker such as SHY, or CASH).
"""

from __future__ import annotations

__all__ = ["PLUGIN", "TrendParams", "TrendStrategy"]

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from strategies.base import StrategyContext
from strategies.common import HistoryStrategy, Matrix, Plugin, pct
from strategies.params import SafeAssetParams


class TrendParams(SafeAssetParams):
    lookback_days: int = Field(
        200, ge=2, le=5000, description="Length N of the simple moving average, in trading days."
    )
    band: Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)] = Field(
        Decimal("0.02"),
        description="Hysteresis band around the average (0.02 = ±2%): inside it, a symbol "
        "keeps its current state.",
    )
    weights: dict[str, Annotated[Decimal, Field(gt=0, le=1)]] | None = Field(
        None, description="Base weight of each universe symbol, summing to 1 (default: equal)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.weights is not None:
            if set(self.weights) != set(self.universe):
                raise ValueError("weights must name exactly the universe's symbols")
            total = sum(self.weights.values(), Decimal(0))
            if abs(total - 1) > Decimal("0.000001"):
                raise ValueError(f"weights sum to {total}, not 1; adjust them")
        return self


@dataclass(frozen=True, slots=True)
class TrendStrategy(HistoryStrategy[TrendParams]):
    name = "trend"

    def rows(self) -> int:
        return self.params.lookback_days

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        p = self.params
        band = float(p.band)
        sma = closes.mean(axis=0)
        last = closes[-1]
        raw: dict[str, float] = {}
        reasons: dict[str, str] = {}
        out: list[str] = []
        for j, s in enumerate(p.universe):
            base = float(p.weights[s]) if p.weights else 1.0 / len(p.universe)
            held = context.holdings.get(s, Decimal(0)) > 0
            gap = float(last[j] / sma[j] - 1)
            where = f"close {last[j]:.2f} is {pct(gap)} from its {p.lookback_days}-day "
            where += f"average {sma[j]:.2f}"
            if gap > band:
                state, why = True, f"above the band +{pct(band)}"
            elif gap < -band:
                state, why = False, f"below the band -{pct(band)}"
            else:
                state, why = (
                    held,
                    f"inside the band ±{pct(band)}, {'held' if held else 'not held'}: unchanged",
                )
            if state:
                raw[s] = base
                reasons[s] = f"trend: {where}, {why}"
            else:
                raw[p.safe_asset] = raw.get(p.safe_asset, 0.0) + base
                out.append(f"{s} {where}, {why}")
        if out:
            reasons[p.safe_asset] = "trend: safe asset, as " + "; ".join(out)
        return raw, reasons


PLUGIN = Plugin(
    "trend",
    "Hold each symbol while above its moving average (with a band), else a safe asset.",
    TrendParams,
    TrendStrategy,
)
