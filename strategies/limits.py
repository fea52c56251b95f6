"""The one way investment-policy limits shape a strategy's weights, and how weights become Decimals.

`apply_limits(raw, ...)` (floats in, floats out; pure):

1. **Caps.** Each symbol's cap is `min(max_weight, 1/min_holdings)`; each capped asset class
   holds at most its `class_caps` entry. CASH is exempt from both and keeps its weight. Weight
   above a cap is cut and spread over the symbols still below every cap, in proportion to their
   weights (equally when those are all zero), until nothing exceeds a cap. If the caps cannot
   hold the whole portfolio (e.g. `max_weight` × universe size < 1), a `StrategyError` names
   the limit and the fix.
2. **Turnover.** With current weights `c` (from the holdings, their prices and the cash) and
   capped targets `t`, the turnover is `sum(|t - c|) / 2` over every symbol and CASH. Above
   `max_turnover`, the targets become `c + (t - c) × max_turnover / turnover`: the same
   direction, exactly `max_turnover` far. A current portfolio outside the caps is then brought
   toward them at that pace, not in one step.

`to_allocation` turns the floats into Decimals with nine places summing to exactly 1: the
rounding residue goes to the largest weight (the first such symbol by name on a tie).
"""

from __future__ import annotations

__all__ = ["apply_limits", "current_weights", "to_allocation"]

import math
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType

import numpy as np

from daemon.core.domain import CASH
from daemon.core.errors import DataError, StrategyError
from strategies.base import Allocation, StrategyContext
from strategies.params import PolicyLimits

QUANTUM = Decimal("0.000000001")
_EPS = 1e-12


def current_weights(context: StrategyContext) -> dict[str, float]:
    """Return each holding's and CASH's share of the account's value (empty if worth nothing)."""
    values: dict[str, float] = {}
    for symbol, qty in context.holdings.items():
        if qty == 0:
            continue
        price = context.prices.get(symbol)
        if price is None:
            raise DataError(
                f"no price for held {symbol} on {context.trading_day}; the turnover limit "
                "needs the value of every holding: add its quote"
            )
        values[symbol] = float(qty * price)
    values[CASH] = values.get(CASH, 0.0) + float(context.cash)
    total = sum(values.values())
    if total <= 0:
        return {}
    return {s: v / total for s, v in values.items() if v != 0}


def apply_limits(
    raw: Mapping[str, float],
    *,
    strategy: str,
    limits: PolicyLimits,
    current: Mapping[str, float],
    universe: Collection[str] = (),
) -> dict[str, float]:
    """Return `raw` (non-negative, summing to 1) within the caps, then the turnover limit.

    `universe` is every symbol the strategy may hold: weight cut by a cap may go to those of
    them `raw` leaves at zero.
    """
    symbols = sorted((set(raw) | set(universe)) - {CASH})
    cash = float(raw.get(CASH, 0.0))
    weights = _cap(raw, symbols, cash, strategy, limits)
    capped = {s: w for s, w in zip(symbols, weights, strict=True) if w > 0}
    if cash > 0:
        capped[CASH] = cash
    return _limit_turnover(capped, current, float(limits.max_turnover))


def _cap(
    raw: Mapping[str, float],
    symbols: Sequence[str],
    cash: float,
    strategy: str,
    limits: PolicyLimits,
) -> list[float]:
    budget = 1.0 - cash
    n = len(symbols)
    if n == 0:
        return []
    weights = np.array([raw.get(s, 0.0) for s in symbols], dtype=np.float64)
    if budget <= _EPS:
        return [0.0] * n
    if weights.sum() <= 0:
        raise StrategyError(f"strategy {strategy} gave no weight to any symbol nor to CASH")
    weights *= budget / weights.sum()
    cap = min(float(limits.max_weight), 1.0 / limits.min_holdings)
    names = sorted(set(limits.class_caps))
    member = np.array([[limits.asset_classes.get(s) == c for s in symbols] for c in names])
    member = member.reshape(len(names), n)
    class_cap = np.array([float(limits.class_caps[c]) for c in names])
    _check_feasible(strategy, limits, symbols, member, class_cap, cap, budget)
    for _ in range(4 * n + 4 * len(names) + 10):
        for k in range(len(names)):
            held = weights[member[k]].sum()
            if held > class_cap[k]:
                weights[member[k]] *= class_cap[k] / held
        np.minimum(weights, cap, out=weights)
        excess = budget - weights.sum()
        if excess <= 1e-13:
            return [float(w) for w in weights]
        free = weights < cap - _EPS
        for k in range(len(names)):
            if weights[member[k]].sum() >= class_cap[k] - _EPS:
                free &= ~member[k]
        if not free.any():
            break
        base = weights[free].sum()
        if base > _EPS:
            weights[free] += excess * weights[free] / base
        else:
            weights[free] += excess / free.sum()
    raise StrategyError(
        f"strategy {strategy}: the limits max_weight, min_holdings and class_caps cannot hold "
        "the whole portfolio; loosen them"
    )


def _check_feasible(
    strategy: str,
    limits: PolicyLimits,
    symbols: Sequence[str],
    member: np.ndarray,
    class_cap: np.ndarray,
    cap: float,
    budget: float,
) -> None:
    n = len(symbols)
    cash_free = budget >= 1 - 1e-12
    if limits.min_holdings > n:
        raise StrategyError(
            f"strategy {strategy}: min_holdings is {limits.min_holdings} but only {n} symbols "
            "can be held; lower min_holdings or widen the universe"
        )
    if cap * n < budget - 1e-9:
        raise StrategyError(
            f"strategy {strategy}: max_weight {limits.max_weight} × {n} symbols = "
            f"{cap * n:.4g} < {budget:.4g}{'' if cash_free else ' (the part not in CASH)'}, so "
            "the symbols cannot hold the portfolio; raise max_weight "
            f"to at least {math.ceil(budget / n * 1e4) / 1e4:.4f} or widen the universe"
        )
    classed = member.any(axis=0) if len(class_cap) else np.zeros(n, dtype=bool)
    room = cap * float((~classed).sum())
    room += sum(min(float(c), cap * float(m.sum())) for c, m in zip(class_cap, member, strict=True))
    if room < budget - 1e-9:
        raise StrategyError(
            f"strategy {strategy}: class_caps {dict(sorted(limits.class_caps.items()))} with "
            f"max_weight {cap:.4g} can hold only {room:.4g} of the portfolio; raise a class "
            "cap or add symbols outside the capped classes"
        )


def _limit_turnover(
    target: dict[str, float], current: Mapping[str, float], max_turnover: float
) -> dict[str, float]:
    if max_turnover >= 1 or not current:
        return target
    keys = sorted(set(target) | set(current))
    moves = {k: target.get(k, 0.0) - current.get(k, 0.0) for k in keys}
    turnover = sum(abs(m) for m in moves.values()) / 2
    if turnover <= max_turnover:
        return target
    step = max_turnover / turnover
    blended = {k: current.get(k, 0.0) + moves[k] * step for k in keys}
    return {k: max(w, 0.0) for k, w in blended.items() if w > _EPS}


def to_allocation(
    weights: Mapping[str, float], reasons: Mapping[str, str], *, strategy: str
) -> Allocation:
    """Return the weights as nine-place Decimals summing to exactly 1, with their reasons."""
    for symbol, w in weights.items():
        if not math.isfinite(w) or w < -1e-9:
            raise StrategyError(f"strategy {strategy} gave {symbol} the weight {w}")
    total = sum(weights.values())
    if total <= 0:
        raise StrategyError(f"strategy {strategy} gave no weight to anything")
    rounded = {
        s: Decimal(repr(w / total)).quantize(QUANTUM, ROUND_HALF_EVEN)
        for s, w in sorted(weights.items())
    }
    rounded = {s: d for s, d in rounded.items() if d > 0}
    largest = min(rounded, key=lambda s: (-rounded[s], s))
    rounded[largest] += Decimal(1) - sum(rounded.values(), Decimal(0))
    chosen = {
        s: reasons.get(s, f"{strategy}: weight carried from the current holdings") for s in rounded
    }
    return Allocation(MappingProxyType(rounded), MappingProxyType(chosen))
