"""Band arithmetic: half-widths, band limits and the out-of-band test, as arrays and as Decimal."""

from __future__ import annotations

__all__ = [
    "BAND_TOLERANCE",
    "BandLimits",
    "band_limits",
    "decimal_limits",
    "outside_band",
]

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.planner.types import Band

BAND_TOLERANCE = 1e-9
"""Weight units a holding may sit outside its band and still count as inside.

Float noise on a weight is about 1e-15; without this slack a holding the planner put exactly
on its band edge could read as outside on the next run and trigger a trade of nothing.
"""

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class BandLimits:
    """Half-width, low and high limits per symbol, in weight units."""

    half: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]


def band_limits(bands: Sequence[Band], targets: NDArray[np.float64]) -> BandLimits:
    """Return the limits of each symbol's band around its (effective) target weight."""
    absolute = np.array(
        [np.inf if b.absolute_pp is None else float(b.absolute_pp) / 100.0 for b in bands],
        dtype=np.float64,
    )
    has_relative = np.array([b.relative is not None for b in bands], dtype=bool)
    relative = np.array(
        [0.0 if b.relative is None else float(b.relative) for b in bands], dtype=np.float64
    )
    half = np.minimum(absolute, np.where(has_relative, relative * targets, np.inf))
    low = np.maximum(0.0, targets - half)
    return BandLimits(half=half, low=low, high=targets + half)


def decimal_limits(band: Band, target: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Return (half-width, low, high) of `band` around `target`, exactly."""
    widths = []
    if band.absolute_pp is not None:
        widths.append(band.absolute_pp / _HUNDRED)
    if band.relative is not None:
        widths.append(band.relative * target)
    half = min(widths)
    return half, max(Decimal(0), target - half), target + half


def outside_band(
    weights: NDArray[np.float64],
    limits: BandLimits,
    targets: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Return which weights lie outside their band; a held target-0 symbol always does."""
    held_without_target = (targets <= 0.0) & (weights > 0.0)
    return (
        (weights < limits.low - BAND_TOLERANCE)
        | (weights > limits.high + BAND_TOLERANCE)
        | held_without_target
    )
