"""Lot relief: which held lots a sale takes, by the method the account is set to at the broker.

Pure ordering over anything shaped like a lot (`Relievable`): the engine ranks its own pieces
with it and the planner can rank `Lot`s. The input must be in order of acquisition; ties keep
that order (earliest first).

- FIFO: earliest purchase first (Treas. Reg. §1.1012-1(c)(1), the default when lots are not
  identified). Ordered by the purchase date, not by a holding period moved back by a wash.
- LIFO: latest purchase first.
- HIFO: highest adjusted basis per share first.
- MIN_TAX: losses before gains, long-term before short-term, then by gain per share: the
  largest loss first, the smallest gain first (zero-gain lots between losses and gains).
- SPECIFIC: the lots the sale names; a sale that names none is FIFO (§1.1012-1(c)(1)).
"""

from __future__ import annotations

__all__ = ["Relievable", "rank"]

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeVar

from daemon.core.tax.dates import is_long_term
from daemon.core.tax.types import LotMethod


class Relievable(Protocol):
    """What lot relief needs to know about a held lot.

    | attribute | meaning |
    |---|---|
    | `qty` | shares held |
    | `adjusted_basis` | basis of those shares, wash adjustments included |
    | `acquired` | purchase date |
    | `holding_period_start` | start of the holding period (moved back by a wash) |
    """

    @property
    def qty(self) -> Decimal: ...

    @property
    def adjusted_basis(self) -> Decimal: ...

    @property
    def acquired(self) -> date: ...

    @property
    def holding_period_start(self) -> date: ...


L = TypeVar("L", bound=Relievable)


def rank(lots: Sequence[L], method: LotMethod, on: date, price: Decimal) -> list[L]:
    """Return `lots` in the order a sale on `on` at `price` per share relieves them.

    `lots` must be in order of acquisition. SPECIFIC ranks as FIFO: the named lots are taken
    by the caller first.
    """
    if method is LotMethod.LIFO:
        return sorted(lots, key=lambda lot: lot.acquired)[::-1]
    if method is LotMethod.HIFO:
        return sorted(lots, key=lambda lot: -(lot.adjusted_basis / lot.qty))
    if method is LotMethod.MIN_TAX:
        return sorted(lots, key=lambda lot: _min_tax_key(lot, on, price))
    return sorted(lots, key=lambda lot: lot.acquired)


def _min_tax_key(lot: Relievable, on: date, price: Decimal) -> tuple[int, int, Decimal]:
    gain = price - lot.adjusted_basis / lot.qty
    category = 0 if gain < 0 else 1 if gain == 0 else 2
    short = 0 if is_long_term(lot.holding_period_start, on) else 1
    return category, short, gain
