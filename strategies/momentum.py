"""Strategy `momentum`: dual momentum (relative strength, then absolute momentum).

The rule, over `L = lookback_days` trading days, on the last `L + 1` closes:

1. Each universe symbol's return `R_s = close_today / close_L_days_ago - 1`.
2. The hurdle `H`: the `benchmark` symbol's return over the same window when set (a T-bill
   fund such as BIL), else `(1 + risk_free_rate)^(L/252) - 1`.
3. Relative strength: rank by `R_s` (highest first; ties by symbol name); the first `top_n`
   are chosen. Hysteresis: a symbol held now (quantity > 0) that is not chosen replaces the
   weakest chosen symbol not held now, unless that one's return beats it by more than
   `margin`. So a leader is kept until another beats it by more than the margin.
4. Absolute momentum: a chosen symbol is invested when `R_s > H`; a symbol held now stays
   invested while `R_s > H - margin` (the same margin, the other way).
5. Each of the `top_n` slots weighs `1/top_n`, given to its symbol when invested, else to
   `safe_asset` (a ticker such as AGG, or CASH).
"""

from __future__ import annotations

__all__ = ["PLUGIN", "MomentumParams", "MomentumStrategy"]

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from strategies.base import StrategyContext
from strategies.common import HistoryStrategy, Matrix, Plugin, pct
from strategies.params import SafeAssetParams, check_symbol

YEAR = 252


class MomentumParams(SafeAssetParams):
    benchmark: str | None = Field(
        None,
        description="Ticker whose return is the absolute-momentum hurdle (e.g. BIL); "
        "unset: risk_free_rate.",
    )
    risk_free_rate: Annotated[Decimal, Field(ge=-1, le=1, allow_inf_nan=False)] = Field(
        Decimal(0), description="Annual rate for the hurdle when no benchmark is set (0.04 = 4%)."
    )
    top_n: int = Field(1, ge=1, description="How many symbols to hold (each 1/top_n).")
    margin: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        Decimal("0.01"),
        description="Hysteresis: a held symbol is replaced only by one whose return beats it "
        "by more than this (0.01 = 1 point), and leaves only below the hurdle minus this.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.top_n > len(self.universe):
            raise ValueError(
                f"top_n is {self.top_n} but the universe has {len(self.universe)} symbols; "
                "lower top_n or add symbols"
            )
        if self.benchmark is not None:
            check_symbol(self.benchmark)
        return self


@dataclass(frozen=True, slots=True)
class MomentumStrategy(HistoryStrategy[MomentumParams]):
    name = "momentum"

    def history_symbols(self) -> tuple[str, ...]:
        extra = () if self.params.benchmark is None else (self.params.benchmark,)
        return (*self.params.universe, *(s for s in extra if s not in self.params.universe))

    def compute(
        self, closes: Matrix, context: StrategyContext
    ) -> tuple[dict[str, float], dict[str, str]]:
        p = self.params
        days = p.lookback_days
        growth = closes[-1] / closes[0] - 1.0
        by_symbol = dict(zip(self.history_symbols(), (float(g) for g in growth), strict=True))
        returns = {s: by_symbol[s] for s in p.universe}
        if p.benchmark is None:
            hurdle = (1 + float(p.risk_free_rate)) ** (days / YEAR) - 1
            hurdle_name = f"risk-free {pct(float(p.risk_free_rate))} a year"
        else:
            hurdle = by_symbol[p.benchmark]
            hurdle_name = p.benchmark
        margin = float(p.margin)
        held = {s for s in p.universe if context.holdings.get(s, Decimal(0)) > 0}
        ranked = sorted(p.universe, key=lambda s: (-returns[s], s))
        rank = {s: i + 1 for i, s in enumerate(ranked)}
        chosen = ranked[: p.top_n]
        kept: dict[str, str] = {}
        for h in sorted(held - set(chosen), key=lambda s: (-returns[s], s)):
            newcomers = [s for s in chosen if s not in held]
            if not newcomers:
                break
            weakest = min(newcomers, key=lambda s: (returns[s], s))
            if returns[weakest] - returns[h] <= margin:
                chosen[chosen.index(weakest)] = h
                kept[h] = weakest
        slot = 1.0 / p.top_n
        raw: dict[str, float] = {}
        reasons: dict[str, str] = {}
        out: list[str] = []
        for s in chosen:
            bar = hurdle - margin if s in held else hurdle
            window = f"{days}-day return {pct(returns[s])}"
            if returns[s] > bar:
                raw[s] = raw.get(s, 0.0) + slot
                why = f"momentum: {window} > {hurdle_name} {pct(hurdle)}"
                why += f" (rank {rank[s]} of {len(ranked)})"
                if s in kept:
                    why += (
                        f"; kept: {kept[s]} ({pct(returns[kept[s]])}) does not beat it by more "
                        f"than the margin {pct(margin)}"
                    )
                reasons[s] = why
            else:
                raw[p.safe_asset] = raw.get(p.safe_asset, 0.0) + slot
                out.append(
                    f"{s} {window} ≤ {hurdle_name} {pct(hurdle)}"
                    + (f" - margin {pct(margin)}" if s in held else "")
                )
        if out:
            reasons[p.safe_asset] = "momentum: safe asset, as " + "; ".join(out)
        return raw, reasons


PLUGIN = Plugin(
    "momentum",
    "Dual momentum: the strongest symbols over the lookback, if they beat a hurdle.",
    MomentumParams,
    MomentumStrategy,
)
