"""Test a drift table's bands again at other weights (a report's end-of-day valuation), as the
planner tests them: a primary and the alternates standing in for it as one pool; and a pool's
band as the planner tested it, for what shows it (`pool_band`: validate, the daily report,
the drift alert)."""

from __future__ import annotations

__all__ = ["PoolBand", "PoolRow", "out_of_band_at", "pool_band"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

import numpy as np

from daemon.core.domain import CASH
from daemon.core.planner.bands import BandLimits, outside_band
from daemon.core.planner.types import DriftRow


def out_of_band_at(rows: Sequence[DriftRow], weights: Mapping[str, float]) -> dict[str, bool]:
    """Return, for each managed row but CASH, whether `weights` (0 for a symbol not in it)
    put it outside its band, with the planner's test (`daemon.core.planner.bands`). A
    holding the plan left unsold (a target of 0 and no sale possible) has an unmanaged row:
    like a `keep` holding it is never out of band.

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


N = TypeVar("N", float, Decimal)
N_co = TypeVar("N_co", float, Decimal, covariant=True)


class PoolRow(Protocol[N_co]):
    """A drift row as a pool's band is read from (`DriftRow`, a report's allocation row)."""

    @property
    def symbol(self) -> str: ...
    @property
    def weight(self) -> N_co: ...
    @property
    def target(self) -> N_co: ...
    @property
    def high(self) -> N_co: ...
    @property
    def pool(self) -> str:
        """The primary whose pool the row is in; empty for a symbol tested alone."""
        ...


@dataclass(frozen=True, slots=True)
class PoolBand(Generic[N]):
    """A holding's band test as the planner makes it: a pool's weights and targets added up,
    within the pool's target plus or minus its half-width; one row's own, alone."""

    primary: str
    members: tuple[str, ...]
    """The symbols tested together, in the rows' order (the primary's alone: itself)."""
    weight: N
    target: N
    low: N
    high: N

    @property
    def name(self) -> str:
        """Return what the test is called: "BBB with BBX, BBY", or the symbol alone."""
        others = [m for m in self.members if m != self.primary]
        return f"{self.primary} with {', '.join(others)}" if others else self.primary


def pool_band(rows: Sequence[PoolRow[N]], row: PoolRow[N], half: N | None = None) -> PoolBand[N]:
    """Return the band test of `row`'s pool among `rows` (`row` alone when it has no pool).

    `half` is the pool's half-width; by default `row`'s own high less its target, since every
    member's limits are its own target plus or minus the pool's half-width
    (`daemon.core.planner.bands`). The low limit is never below 0.
    """
    members = [r for r in rows if r.pool == row.pool] if row.pool else [row]
    weight, target = members[0].weight, members[0].target
    for member in members[1:]:
        weight += member.weight
        target += member.target
    if half is None:
        half = row.high - row.target
    low = target - half
    return PoolBand(
        primary=row.pool or row.symbol,
        members=tuple(m.symbol for m in members),
        weight=weight,
        target=target,
        low=low if low > 0 else type(low)(0),
        high=target + half,
    )
