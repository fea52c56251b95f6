"""Strategy `income`: weights by trailing yield, within caps, optionally to a target yield.

Yields are trailing-12-month yields as fractions (0.031 = 3.1%): the context's (from the
broker or a file, given by the caller) where it has one, else `yields` in the params. A
universe symbol with neither is a `DataError`. Symbols yielding less than `min_yield` get no
weight. Then:

- without `target_yield`: `w_s ∝ y_s` over the eligible symbols, then the policy limits
  (`max_weight`, `class_caps`, ...) as for every strategy;
- with `target_yield` `T`: the portfolio closest to equal weight `e` (least `Σ|w_s - e_s|`)
  whose yield `Σ w_s y_s` is at least `T`, within `max_weight`, `1/min_holdings` and
  `class_caps`, found by linear programming (scipy's HiGHS). If no portfolio within the caps
  reaches `T`, a `StrategyError` gives the highest yield the caps allow.

`income` reads no price history (`lookback_days` does not apply).
"""

from __future__ import annotations

__all__ = ["PLUGIN", "IncomeParams", "IncomeStrategy"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator

from daemon.core.errors import DataError, StrategyError
from strategies.base import Allocation, StrategyContext
from strategies.common import Plugin, finish, pct
from strategies.params import PolicyLimits, check_universe

Yield = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]


class IncomeParams(PolicyLimits):
    universe: list[str] = Field(description="Symbols the strategy chooses among.")
    yields: dict[str, Yield] = Field(
        default_factory=dict,
        description="Trailing-12-month yield per symbol (0.031 = 3.1%), used where the "
        "broker or file gives none.",
    )
    min_yield: Yield = Field(Decimal(0), description="Symbols yielding less get no weight.")
    target_yield: Yield | None = Field(
        None,
        description="Portfolio yield to reach with the least departure from equal weight; "
        "unset: weights proportional to yield.",
    )

    _universe = field_validator("universe")(check_universe)


@dataclass(frozen=True, slots=True)
class IncomeStrategy:
    params: IncomeParams
    name = "income"

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.universe)

    def yield_symbols(self) -> frozenset[str]:
        return frozenset(self.params.universe)

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]:
        return self.allocate(context).weights

    def allocate(self, context: StrategyContext) -> Allocation:
        p = self.params
        yields = {s: float(self._yield(s, context)) for s in p.universe}
        eligible = [s for s in p.universe if yields[s] >= float(p.min_yield) and yields[s] > 0]
        if not eligible:
            raise StrategyError(
                f"strategy income: no symbol yields at least min_yield {pct(float(p.min_yield))}; "
                "lower min_yield or add higher-yielding symbols"
            )
        if p.target_yield is None:
            raw = {s: yields[s] for s in eligible}
            rule = "weight ∝ yield"
        else:
            raw = _to_target(eligible, yields, p)
            rule = (
                f"least change from equal weight reaching the target {pct(float(p.target_yield))}"
            )
        total = sum(raw.values())
        portfolio = sum(raw[s] * yields[s] for s in raw) / total
        reasons = {
            s: f"income: trailing yield {pct(yields[s])}; {rule} (portfolio {pct(portfolio)})"
            for s in raw
        }
        return finish(self.name, raw, reasons, p, context, eligible)

    def _yield(self, symbol: str, context: StrategyContext) -> Decimal:
        given = context.yields.get(symbol)
        if given is None:
            given = self.params.yields.get(symbol)
        if given is None:
            raise DataError(
                f"strategy income: no yield for {symbol}; give its trailing-12-month yield in "
                f"strategy_params.yields (e.g. {symbol} = 0.031 for 3.1%)"
            )
        return given


def _to_target(
    eligible: Sequence[str], yields: Mapping[str, float], p: IncomeParams
) -> dict[str, float]:
    from scipy.optimize import linprog

    n = len(eligible)
    y = np.array([yields[s] for s in eligible])
    cap = min(float(p.max_weight), 1.0 / p.min_holdings)
    classes = sorted(p.class_caps)
    rows = [[1.0 if p.asset_classes.get(s) == c else 0.0 for s in eligible] for c in classes]
    caps = [float(p.class_caps[c]) for c in classes]
    bounds = [(0.0, cap)] * n
    best = linprog(
        -y,
        A_ub=np.array(rows).reshape(len(classes), n) if rows else None,
        b_ub=np.array(caps) if caps else None,
        A_eq=np.ones((1, n)),
        b_eq=[1.0],
        bounds=bounds,
        method="highs",
    )
    if best.status != 0 or best.x is None:
        raise StrategyError(
            f"strategy income: the limits max_weight, min_holdings and class_caps leave no "
            f"portfolio of the {n} eligible symbols ({best.message}); loosen them"
        )
    target = float(p.target_yield or 0)
    highest = float(y @ best.x)
    if highest < target - 1e-12:
        raise StrategyError(
            f"strategy income: target_yield {pct(target)} is out of reach: within the caps the "
            f"highest portfolio yield is {pct(highest)}; lower target_yield, raise the caps "
            "or add higher-yielding symbols"
        )
    # Variables: w (n) then d (n) with d >= |w - e|; minimise sum(d).
    equal = np.full(n, 1.0 / n)
    eye = np.eye(n)
    a_ub = [np.hstack([eye, -eye]), np.hstack([-eye, -eye]), np.hstack([-y, np.zeros(n)])]
    b_ub = [equal, -equal, np.array([-target])]
    if rows:
        a_ub.append(np.hstack([np.array(rows), np.zeros((len(classes), n))]))
        b_ub.append(np.array(caps))
    found = linprog(
        np.concatenate([np.zeros(n), np.ones(n)]),
        A_ub=np.vstack(a_ub),
        b_ub=np.concatenate(b_ub),
        A_eq=np.hstack([np.ones((1, n)), np.zeros((1, n))]),
        b_eq=[1.0],
        bounds=bounds + [(0.0, None)] * n,
        method="highs",
    )
    if found.status != 0 or found.x is None:
        raise StrategyError(f"strategy income: the optimizer failed: {found.message}")
    return {s: max(float(w), 0.0) for s, w in zip(eligible, found.x[:n], strict=True)}


PLUGIN = Plugin(
    "income",
    "Weights by trailing yield within caps, or to a target yield.",
    IncomeParams,
    IncomeStrategy,
)
