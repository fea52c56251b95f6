"""The one way investment-policy limits shape a strategy's weights, and how weights become Decimals.

`apply_limits(raw, ...)` (floats in, floats out; pure):

1. **Caps.** Each symbol's cap is `min(max_weight, 1/min_holdings)`; each capped asset class
   holds at most its `class_caps` entry. CASH is exempt from both and keeps its weight. Each
   weight becomes `min(cap, t × w)` for one factor `t` that makes the weights hold the
   portfolio, except in a class that would pass its cap: its members stop at the factor at
   which the class holds exactly its cap. So weight cut by a cap goes to the symbols below
   every cap, in proportion to their weights, a class's first to its own members. When those
   are all at a cap and the portfolio is not full, the symbols `raw` left at zero (a weight
   under 1e-15 counts as zero) share the rest the same way, equally. Limits that pass the
   feasibility check always hold the portfolio (`_fill` solves the factor exactly); if the
   caps cannot (e.g. `max_weight` × universe size < 1), a `StrategyError` names the limit and
   the fix.
2. **Turnover.** With current weights `c` (from the holdings, their prices and the cash) and
   capped targets `t`, the turnover is `sum(|t - c|) / 2` over every symbol and CASH. Above
   `max_turnover`, the targets become `c + (t - c) × max_turnover / turnover`: the same
   direction, exactly `max_turnover` far. A current portfolio outside the caps is then brought
   toward them at that pace, not in one step.

`to_allocation` turns the floats into Decimals with nine places summing to exactly 1: the
rounding residue goes to the largest weight it leaves within its caps (the first such symbol by
name on a tie), so it never pushes a weight at `max_weight` or a full class over its cap.
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
_TINY = 1e-15


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
    weights[weights < _TINY] = 0.0  # noise (an optimizer's 1e-300): a scale would overflow
    cap = min(float(limits.max_weight), 1.0 / limits.min_holdings)
    names = sorted(set(limits.class_caps))
    member = np.array(
        [[limits.asset_classes.get(s) == c for s in symbols] for c in names], dtype=bool
    ).reshape(len(names), n)
    class_cap = np.array([float(limits.class_caps[c]) for c in names], dtype=np.float64)
    _check_feasible(strategy, limits, symbols, member, class_cap, cap, budget)
    # First the weights: each free symbol's weight times one common factor. Where those (all
    # at a cap) cannot hold the budget, the symbols `raw` left at zero share the rest equally.
    filled = _fill(weights, budget, cap, member, class_cap)
    left = budget - filled.sum()
    if left > 1e-13:
        room = np.maximum(class_cap - member @ filled, 0.0)
        zero = (weights <= 0) & ~(member & (room <= _EPS)[:, None]).any(axis=0)
        filled += _fill(zero.astype(np.float64), left, cap, member, room)
    if budget - filled.sum() > 1e-9:  # _check_feasible says this cannot happen; never guess
        raise StrategyError(
            f"strategy {strategy}: the limits max_weight, min_holdings and class_caps cannot "
            "hold the whole portfolio; loosen them"
        )
    return [float(w) for w in filled]


def _fill(
    base: np.ndarray, budget: float, cap: float, member: np.ndarray, class_cap: np.ndarray
) -> np.ndarray:
    """Return `min(cap, t_k × base)` symbol by symbol, holding `budget` as far as it can.

    `t_k` is one factor `t` for every symbol outside a capped class and in a class below its
    cap; a class that would pass its cap at `t` keeps the factor at which its members (each
    still within `cap`) hold exactly the cap. `t` is the least factor whose weights sum to
    `budget`; when none does (every symbol with a base is at a cap), the weights at the
    largest. The sum is piecewise linear in `t`, so `t` is solved exactly between breakpoints.
    """
    positive = base > 0
    full = [_scale_to(base[m], cap, float(c)) for m, c in zip(member, class_cap, strict=True)]

    def weights_at(t: float) -> np.ndarray:
        factor = np.full(len(base), t)
        for m, s in zip(member, full, strict=True):
            factor[m] = min(s, t)
        w = np.zeros(len(base))
        w[positive] = np.minimum(cap, factor[positive] * base[positive])
        return w

    reach = cap / base[positive]  # where each symbol reaches `cap`
    points = np.unique(np.concatenate([reach, [s for s in full if math.isfinite(s)]]))
    lo = 0.0
    for hi in (float(t) for t in points):
        if weights_at(hi).sum() >= budget:
            break
        lo = hi
    else:
        return weights_at(math.inf)
    at_lo = weights_at(lo)
    # Between lo and hi the weights below `cap`, in no class or one below its cap, grow by
    # their bases.
    growing = np.zeros_like(positive)
    growing[positive] = reach > lo
    for m, s in zip(member, full, strict=True):
        if s <= lo:
            growing &= ~m
    slope = float(base[growing].sum())
    t = hi if slope <= 0 else min(hi, lo + (budget - float(at_lo.sum())) / slope)
    return weights_at(t)


def _scale_to(base: np.ndarray, cap: float, target: float) -> float:
    """Return the least `t` with `sum(min(cap, t × base)) == target` (inf if none)."""
    positive = np.sort(base[base > 0])[::-1]  # largest first: they reach `cap` first
    if cap * len(positive) <= target:
        return math.inf
    # With the j largest at cap, the rest sum to t × (their bases' sum).
    rest = np.cumsum(positive[::-1])[::-1]  # rest[j] = sum of positive[j:]
    for j in range(len(positive) - 1):
        t = (target - cap * j) / rest[j]
        if t * positive[j] <= cap:
            return float(t)
    return float((target - cap * (len(positive) - 1)) / rest[-1])


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
    weights: Mapping[str, float],
    reasons: Mapping[str, str],
    *,
    strategy: str,
    limits: PolicyLimits | None = None,
) -> Allocation:
    """Return the weights as nine-place Decimals summing to exactly 1, with their reasons.

    The rounding residue goes to the largest weight (the first by name on a tie); when it is
    positive, to the largest that stays within `limits`' caps with it, if any does.
    """
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
    residue = Decimal(1) - sum(rounded.values(), Decimal(0))
    order = sorted(rounded, key=lambda s: (-rounded[s], s))
    takes = order[0]
    if residue > 0:
        takes = next((s for s in order if _room(rounded, s, limits) >= residue), takes)
    rounded[takes] += residue
    chosen = {
        s: reasons.get(s, f"{strategy}: weight carried from the current holdings") for s in rounded
    }
    return Allocation(MappingProxyType(rounded), MappingProxyType(chosen))


def _room(rounded: Mapping[str, Decimal], symbol: str, limits: PolicyLimits | None) -> Decimal:
    """How much `symbol` may still gain within its cap and its class's (CASH: unlimited)."""
    if symbol == CASH or limits is None:
        return Decimal("Infinity")
    room = min(limits.max_weight, Decimal(1) / limits.min_holdings) - rounded[symbol]
    name = limits.asset_classes.get(symbol)
    if name is not None and name in limits.class_caps:
        held = sum(
            (w for s, w in rounded.items() if limits.asset_classes.get(s) == name), Decimal(0)
        )
        room = min(room, limits.class_caps[name] - held)
    return room
