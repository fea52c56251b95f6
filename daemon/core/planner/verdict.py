"""Test a drift table's bands again at other weights (a report's end-of-day valuation), as the
planner tests them: a primary and the alternates standing in for it as one pool."""

from __future__ import annotations

__all__ = ["out_of_band_at"]

from collections.abc import Mapping, Sequence

import numpy as np

from daemon.core.domain import CASH
from daemon.core.planner.bands import BandLimits, outside_band
from daemon.core.planner.types import DriftRow


def out_of_band_at(rows: Sequence[DriftRow], weights: Mapping[str, float]) -> dict[str, bool]:
    """Return, for each managed row but CASH, whether `weights` (0 for a symbol not in it)
    put it outside its band, with the planner's test (`daemon.core.planner.bands`).

    The rows of a pool (`DriftRow.pool`) are outside together, when their weights added up
    are outside their targets added up plus or minus the pool's half-width, or are held with
    a pool target of 0. Tested each alone, a pair out of band could show nothing out (each
    leg inside its own target plus the pool's half-width) and a pair inside could show a leg
    out, while the planner trades on the pool.
    """
    banded = [r for r in rows if r.managed and r.symbol != CASH]
    weight: dict[str, float] = {}
    target: dict[str, float] = {}
    half: dict[str, float] = {}
    for row in banded:
        pool = row.pool or row.symbol
        weight[pool] = weight.get(pool, 0.0) + weights.get(row.symbol, 0.0)
        target[pool] = target.get(pool, 0.0) + float(row.target)
        # Every member's limits are its own target plus or minus the pool's half-width.
        half[pool] = float(row.high - row.target)
    pools = list(weight)
    sums = np.array([target[p] for p in pools])
    halves = np.array([half[p] for p in pools])
    limits = BandLimits(half=halves, low=np.maximum(0.0, sums - halves), high=sums + halves)
    flags = outside_band(np.array([weight[p] for p in pools]), limits, sums)
    out = dict(zip(pools, flags.tolist(), strict=True))
    return {row.symbol: out[row.pool or row.symbol] for row in banded}
