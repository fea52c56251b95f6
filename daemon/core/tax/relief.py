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

A broker ranks HIFO and MIN_TAX lots by the basis and holding period it knows: its own
account and symbol's washes only (`View.BROKER`), not a spouse's loss or one of a
substantially identical symbol. So the lots such a sale relieves are ranked on a broker-view
replay (`broker_view`, `relieved`); the household view then gives those lots' gains and
washes. FIFO and LIFO go by purchase date, which no wash moves: both views agree.
"""

from __future__ import annotations

__all__ = ["BROKER_RANKED", "Relievable", "broker_view", "rank", "relieved"]

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeVar

from daemon.core.tax.dates import is_long_term
from daemon.core.tax.types import LotMethod, LotPick, TaxPolicy, View

BROKER_RANKED = frozenset({LotMethod.HIFO, LotMethod.MIN_TAX})
"""Standing methods whose order depends on wash adjustments: ranked on the broker's view."""


def broker_view(policy: TaxPolicy) -> TaxPolicy:
    """Return `policy` as a broker applies it: washes within one account and symbol only."""
    return policy if policy.view is View.BROKER else replace(policy, view=View.BROKER)


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


class _Named(Relievable, Protocol):
    @property
    def source_id(self) -> str: ...


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


def relieved(
    lots: Sequence[_Named], method: LotMethod, on: date, price: Decimal, qty: Decimal
) -> tuple[LotPick, ...]:
    """Return the lots a sale of `qty` on `on` at `price` relieves by `method`, as named lots.

    `lots` are the account's lots of the symbol in order of acquisition; for a method in
    `BROKER_RANKED` they must be the broker's (a broker-view replay's), so that the lots
    named are the ones the broker sells. Pieces of one purchase are merged, in the order
    relieved. Fewer shares than `qty` are named when fewer are held.
    """
    taken: dict[str, Decimal] = {}
    left = qty
    for lot in rank(lots, method, on, price):
        if left <= 0:
            break
        take = min(lot.qty, left)
        taken[lot.source_id] = taken.get(lot.source_id, Decimal(0)) + take
        left -= take
    return tuple(LotPick(source_id, take) for source_id, take in taken.items())


def _min_tax_key(lot: Relievable, on: date, price: Decimal) -> tuple[int, int, Decimal]:
    gain = price - lot.adjusted_basis / lot.qty
    category = 0 if gain < 0 else 1 if gain == 0 else 2
    short = 0 if is_long_term(lot.holding_period_start, on) else 1
    return category, short, gain
