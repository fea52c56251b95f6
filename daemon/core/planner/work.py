"""The account as a plan changes it: float values and cash, increments, and why each order is."""

from __future__ import annotations

__all__ = ["Work"]

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.core.planner.book import Book
from daemon.core.planner.reasons import Origin, Why
from daemon.core.planner.rounding import exact_cash, large_enough

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]


@dataclass(slots=True)
class Work:
    """The account as the plan changes it, in floats, plus what each symbol's orders are for.

    Cash is not kept in float: what is left to spend is always measured exactly (`spare`).
    """

    book: Book
    values: Floats
    sells: Floats
    sell_all: Flags
    buys: Floats
    why: NDArray[np.int64]
    origin: NDArray[np.int64]
    dropped: Floats

    @classmethod
    def start(cls, book: Book) -> Work:
        n = book.size
        return cls(
            book=book,
            values=book.values.copy(),
            sells=np.zeros(n),
            sell_all=np.zeros(n, dtype=bool),
            buys=np.zeros(n),
            why=np.zeros(n, dtype=np.int64),
            origin=np.zeros(n, dtype=np.int64),
            dropped=np.full(n, np.nan),
        )

    def sell(self, steps: Floats, whole: Flags, origin: Origin) -> None:
        """Record sells of `steps` increments, and of whole holdings where `whole`."""
        whole = whole & ~self.sell_all
        amount = np.where(whole, self.values, steps * self.book.unit_values)
        self.values = np.where(whole, 0.0, self.values - amount)
        self.sells = self.sells + np.where(whole, 0.0, steps)
        self.sell_all = self.sell_all | whole
        self.origin[(amount > 0)] |= origin

    def buy(self, steps: Floats, origin: Origin) -> None:
        """Record buys of `steps` increments."""
        amount = steps * self.book.unit_values
        self.values = self.values + amount
        self.buys = self.buys + steps
        self.origin[steps > 0] |= origin

    def spare(self, floor: Decimal) -> Decimal:
        """Return the cash that buys may still spend above `floor`, measured exactly."""
        cash = exact_cash(self.book, sells=self.sells, sell_all=self.sell_all, buys=self.buys)
        return cash - floor

    def flag(self, where: Flags, why: Why) -> None:
        self.why[where] |= why

    def drop_small(self, active: Flags, notional: Floats, min_trade: float) -> Flags:
        """Flag and return the `active` orders whose total notional is below the minimum trade."""
        small = active & ~large_enough(notional, np.ones_like(notional), min_trade)
        self.flag(small, Why.MIN_TRADE)
        self.dropped = np.where(small, notional, self.dropped)
        return small
