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
class BandLimits:
    """Half-width, low and high limits per symbol, in weight units."""

    half: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]


def band_limits(bands: Sequence[Band], targets: NDArray[np.float64]) -> BandLimits:
    """Return the limits of each symbol's band around its (effective) target weight."""
    # Most symbols share the default band: work out each distinct band once.
    seen: dict[int, tuple[float, bool, float]] = {}
    for band in bands:
        if id(band) not in seen:
            seen[id(band)] = (
                np.inf if band.absolute_pp is None else float(band.absolute_pp) / 100.0,
                band.relative is not None,
                0.0 if band.relative is None else float(band.relative),
            )
    columns = np.array([seen[id(band)] for band in bands], dtype=np.float64).reshape(-1, 3)
    absolute, has_relative, relative = columns[:, 0], columns[:, 1] > 0, columns[:, 2]
    half = np.minimum(absolute, np.where(has_relative, relative * targets, np.inf))
    low = np.maximum(0.0, targets - half)
    return BandLimits(half=half, low=low, high=targets + half)


def decimal_limits(
    bands: Sequence[Band], targets: Sequence[Decimal]
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Return (half-width, low, high) of each band around its target, exactly."""
    absolute: dict[Decimal, Decimal] = {}
    limits = []
    for band, target in zip(bands, targets, strict=True):
        half = None
        if band.absolute_pp is not None:
            half = absolute.get(band.absolute_pp)
            if half is None:
                half = absolute[band.absolute_pp] = band.absolute_pp / _HUNDRED
        if band.relative is not None:
            relative = band.relative * target
            half = relative if half is None or relative < half else half
        if half is None:
            raise DataError("a band has neither absolute_pp nor relative")
        low = target - half
        limits.append((half, low if low > 0 else _ZERO, target + half))
    return limits


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
