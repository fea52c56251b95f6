"""The account's value at each day's close: its cash plus each quantity times its close,
exactly the `Decimal` that adding them up in order gives.

A 20-year backtest of 100 symbols values the account on 5,040 days: 504,000 closes parsed
as `Decimal`, multiplied and added. When the price file wrote its closes plainly
(`PriceTable.digits`: 3065 and 2 places for "30.65"), the same sum is worked out in
integers instead, on the closes' digits and the quantities' coefficients (by numpy, days at
a time, while the sums fit 64 bits; else in Python's integers), and made a `Decimal` once a
day. It is the same number, written the same way:

- `Decimal` multiplies and adds exactly, the result's exponent the sum of the factors' and
  the least of the terms' (zeros included: 0 x 30.65 is 0.00), as long as no result needs
  more digits than the context's precision; here the whole sum (its terms' magnitudes added
  up, so every partial sum too) is checked to need fewer, else the day is added up in
  `Decimal` as before;
- the closes of a row must have the same places (else that day is added up in `Decimal`),
  so the least exponent of the terms is the quantities' least less those places.
"""

from __future__ import annotations

__all__ = ["DayValues"]

from collections.abc import Sequence
from decimal import Decimal, getcontext
from operator import mul
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from daemon.backtest.prices import DecimalRows, Digits

_INT64 = 2**63
_INT62 = 2.0**62
_DAYS = 16
"""Days whose sums `DayValues` makes at once after the quantities change."""


class DayValues:
    """Value the account on the rows of a run, for the quantities it last held."""

    __slots__ = (
        "_cash",
        "_coefficients",
        "_decimals",
        "_digits",
        "_exponent",
        "_from",
        "_places",
        "_quantities",
        "_sums",
        "_vector",
    )

    def __init__(self, decimals: DecimalRows, digits: Digits | None) -> None:
        """`decimals` are the run's rows of closes, `digits` the same as integers (or None)."""
        self._decimals = decimals
        self._digits: NDArray[np.int64] | None = None
        self._places: list[int] = []
        if digits is not None and digits[1].shape[1]:
            integers, places = digits
            # A row whose closes differ in places is added up in Decimal (-1).
            uniform = (places == places[:, :1]).all(axis=1)
            self._places = np.where(uniform, places[:, 0], -1).tolist()
            self._digits = integers
        self._quantities: Sequence[Decimal] = ()
        self._coefficients: list[int] | None = None
        self._exponent = 0
        self._vector: NDArray[np.int64] | None = None
        self._sums: list[int] = []
        self._from = 0
        self._cash: tuple[Decimal, int, int, int] | None = None

    def hold(self, quantities: Sequence[Decimal]) -> None:
        """Value the rows for `quantities` (one per symbol, in the rows' order) from now on."""
        self._quantities = quantities
        self._coefficients = self._vector = None
        self._sums = []
        if self._digits is None or not all(_plain(q) for q in quantities):
            return
        # Every quantity's coefficient at the least exponent of them all.
        least = min(_exponent(q) for q in quantities)
        coefficients = [_coefficient(q, least) for q in quantities]
        self._coefficients = coefficients
        self._exponent = least
        if max(coefficients, default=0) < _INT64:
            self._vector = np.array(coefficients, dtype=np.int64)

    def value(self, i: int, cash: Decimal) -> Decimal:
        """Return cash + the sum of quantity x close over row `i`, as `Decimal` adds it up."""
        exact = self._exact(i, cash)
        if exact is not None:
            return exact
        return sum(map(mul, self._quantities, self._decimals[i]), cash)

    def _exact(self, i: int, cash: Decimal) -> Decimal | None:
        coefficients, digits = self._coefficients, self._digits
        if coefficients is None or digits is None or not _plain(cash):
            return None
        places = self._places[i]
        if places < 0:
            return None
        held = self._held(i, coefficients, digits)  # x 10^(exponent - places)
        terms = self._exponent - places
        least, cash_coefficient = self._cash_at(cash, terms)
        scale: int = 10 ** (terms - least)  # terms >= least
        total = cash_coefficient + held * scale
        context = getcontext()
        if total >= 10**context.prec or least < context.Etiny() or context.clamp:
            return None  # Decimal would round a partial sum, or clamp: add it up in Decimal
        return Decimal(total).scaleb(least)

    def _held(self, i: int, coefficients: list[int], digits: NDArray[np.int64]) -> int:
        """Return the sum of coefficient x close digits over row `i`: of the next days at
        once, twice as many as last time (the quantities hold for weeks)."""
        k = i - self._from
        if not 0 <= k < len(self._sums):
            self._sums = self._next_sums(digits[i : i + max(_DAYS, 2 * len(self._sums))])
            self._from, k = i, 0
        if not self._sums:  # too large for int64: this row alone, in Python's integers
            return sum(map(mul, coefficients, digits[i].tolist()))
        return self._sums[k]

    def _next_sums(self, block: NDArray[np.int64]) -> list[int]:
        """Return each row's sum of coefficient x close digits, by numpy in int64, or none
        (and none again until the quantities change) when a row's could reach 2^62: the
        account's value in its smallest units (10^-11 of a dollar for quantities of 9 places
        and closes of 2 leaves room for about $46 million)."""
        vector = self._vector
        if vector is None:
            return []
        # Each column's largest close in the block times its coefficient bounds every row's
        # sum (in floats, whose rounding is far inside the factor 2 spared).
        bound = float(block.max(axis=0).astype(np.float64) @ vector.astype(np.float64))
        if bound >= _INT62:
            self._vector = None
            return []
        sums: list[int] = (block @ vector).tolist()
        return sums

    def _cash_at(self, cash: Decimal, terms: int) -> tuple[int, int]:
        """Return the least exponent of the sum's terms and cash, and cash's coefficient at
        it (kept while cash, to its exponent, and the terms' exponent stay as they are: most
        days; a day adds its dividends to cash, 0 on most, which makes a new but equal one)."""
        kept = self._cash
        if (
            kept is None
            or kept[1] != terms
            or not (kept[0] is cash or (kept[0] == cash and kept[0].same_quantum(cash)))
        ):
            least = min(terms, _exponent(cash))
            kept = self._cash = (cash, terms, least, _coefficient(cash, least))
        return kept[2], kept[3]


def _plain(value: Decimal) -> bool:
    """Finite and not negative (nor -0): terms whose sum's sign and digits are the integers'."""
    return value.is_finite() and not value.is_signed()


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite value's
    return exponent


def _coefficient(value: Decimal, exponent: int) -> int:
    """Return `value` / 10^`exponent`, an integer (`value`'s own exponent is at least it)."""
    numerator, denominator = value.as_integer_ratio()
    scale: int = 10 ** abs(exponent)  # an int power: 10 ** -2 would be a float
    if exponent <= 0:
        return numerator * scale // denominator
    return numerator // (denominator * scale)
