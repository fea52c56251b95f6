"""Band arithmetic: half-widths, band limits and the out-of-band test, as arrays and as Decimal.

A primary and the alternates standing in for it (`PlanInput.stand_ins`) are one pool: the
band test adds up their weights against their targets added up, with the primary's band.
Tested one by one, a primary whose alternates took most of its target would have a band
around the small residual that its weight of 0 is always outside, and every day would
rebalance the whole account. Each member's own limits are its target plus or minus the
pool's half-width: with the alternates at their targets (their target is their weight), the
primary's weight is inside them exactly when the pool is inside its band. `band_edge` trades
an out-of-band pool as a whole to the pool's limits (`Pools.low`, `Pools.high`), not each
member to its own (`daemon.core.planner.planner`).
"""

from __future__ import annotations

__all__ = [
    "BAND_TOLERANCE",
    "BandLimits",
    "Pools",
    "band_limits",
    "decimal_limits",
    "outside_band",
    "pool_sums",
]

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.core.errors import DataError
from daemon.core.planner.types import Band

BAND_TOLERANCE = 1e-9
"""Weight units a holding may sit outside its band and still count as inside.

Float noise on a weight is about 1e-15; without this slack a holding the planner put exactly
on its band edge could read as outside on the next run and trigger a trade of nothing.
"""

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Pools:
    """The pools of the band test, per symbol: which pool, and that pool's limits."""

    of: NDArray[np.intp]
    """The index of the primary whose pool the symbol is in (its own index when alone)."""
    low: NDArray[np.float64]
    high: NDArray[np.float64]

    def add_up(self, per_symbol: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return, per symbol, the sum of `per_symbol` over its pool."""
        return _add_up(self.of, per_symbol)


def _add_up(pools: NDArray[np.intp], per_symbol: NDArray[np.float64]) -> NDArray[np.float64]:
    # With weights, bincount sums in float64 (astype copies nothing); a symbol alone keeps
    # its own value exactly.
    sums = np.bincount(pools, weights=per_symbol, minlength=len(pools))
    return sums.astype(np.float64, copy=False)[pools]


@dataclass(frozen=True, slots=True)
class BandLimits:
    """Half-width, low and high limits per symbol, in weight units."""

    half: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    pools: Pools | None = None
    """None when no alternate stands in: every symbol is tested alone."""


def band_limits(
    bands: Sequence[Band],
    targets: NDArray[np.float64],
    pools: NDArray[np.intp] | None = None,
) -> BandLimits:
    """Return the limits of each symbol's band around its (effective) target weight.

    `pools` gives each symbol the index of the primary whose pool it is in (see the module's
    docstring); a pooled symbol's half-width is the pool's.
    """
    # Most symbols share the default band: work out each distinct band once.
    seen: dict[int, tuple[float, bool, float]] = {}
    for band in bands:
        if id(band) not in seen:
            seen[id(band)] = (
                np.inf if band.absolute_pp is None else float(band.absolute_pp) / 100.0,
                band.relative is not None,
                0.0 if band.relative is None else float(band.relative),
            )
    if len(seen) == 1:
        # One band for every symbol (no override): its three numbers, repeated.
        (only,) = seen.values()
        columns = np.empty((len(bands), 3), dtype=np.float64)
        columns[:] = only
    else:
        columns = np.array([seen[id(band)] for band in bands], dtype=np.float64).reshape(-1, 3)
    absolute, has_relative, relative = columns[:, 0], columns[:, 1] > 0, columns[:, 2]
    if pools is None:
        half = np.minimum(absolute, np.where(has_relative, relative * targets, np.inf))
        low = np.maximum(0.0, targets - half)
        return BandLimits(half=half, low=low, high=targets + half)
    # The primary's band, around the pool's target.
    pooled = _add_up(pools, targets)
    half = np.minimum(
        absolute[pools], np.where(has_relative[pools], relative[pools] * pooled, np.inf)
    )
    return BandLimits(
        half=half,
        low=np.maximum(0.0, targets - half),
        high=targets + half,
        pools=Pools(of=pools, low=np.maximum(0.0, pooled - half), high=pooled + half),
    )


def decimal_limits(
    bands: Sequence[Band], targets: Sequence[Decimal], pools: Sequence[int] | None = None
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Return (half-width, low, high) of each band around its target, exactly; a pooled
    symbol's half-width is its pool's (`band_limits`)."""
    absolute: dict[Decimal, Decimal] = {}
    widths = targets
    if pools is not None:
        pooled = pool_sums(targets, pools)
        bands = [bands[p] for p in pools]
        widths = [pooled[p] for p in pools]
    limits = []
    for band, target, width in zip(bands, targets, widths, strict=True):
        half = None
        if band.absolute_pp is not None:
            half = absolute.get(band.absolute_pp)
            if half is None:
                half = absolute[band.absolute_pp] = band.absolute_pp / _HUNDRED
        if band.relative is not None:
            relative = band.relative * width
            half = relative if half is None or relative < half else half
        if half is None:
            raise DataError("a band has neither absolute_pp nor relative")
        low = target - half
        limits.append((half, low if low > 0 else _ZERO, target + half))
    return limits


def pool_sums(values: Sequence[Decimal], pools: Sequence[int]) -> dict[int, Decimal]:
    """Return, per pool (the index of its primary), the exact sum of its members' `values`."""
    sums: dict[int, Decimal] = {}
    for value, pool in zip(values, pools, strict=True):
        sums[pool] = sums.get(pool, _ZERO) + value
    return sums


def outside_band(
    weights: NDArray[np.float64],
    limits: BandLimits,
    targets: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Return which weights lie outside their band; a held target-0 symbol always does.

    The planner never hands it a holding no order can sell (a target of 0, a sale under the
    minimum trade or only a fraction of a whole-shares-only symbol): that one is left unsold,
    out of the managed symbols (`daemon.core.planner.book.Unsold`), and its drift row is not
    managed, so the report's and the alert's re-tests (`verdict`) leave it out too.

    A pooled symbol is outside when its pool is: the pool's weights added up outside the
    pool's limits, or held with a pool target of 0.
    """
    pools = limits.pools
    if pools is not None:
        weights, targets = pools.add_up(weights), pools.add_up(targets)
        limits = BandLimits(half=limits.half, low=pools.low, high=pools.high)
    held_without_target = (targets <= 0.0) & (weights > 0.0)
    return (
        (weights < limits.low - BAND_TOLERANCE)
        | (weights > limits.high + BAND_TOLERANCE)
        | held_without_target
    )
