"""The range of numbers trimtab plans with: one rule for amounts, prices and quantities.

The planner's hot path works in float64 (money stays `Decimal` everywhere else). Every number
it takes, in the account's currency for amounts, is at most `MAX_NUMBER`, 10^13 (ten
trillion): 10^13 in cents is 10^15, below 2^53 (about 9.007 x 10^15), so every whole-cent
amount up to it is exact in float64, and sums of a few such amounts keep their cents too.
Prices are at least `MIN_PRICE` (0.000001) and share increments at least `MIN_INCREMENT`
(0.000000001, the finest step a broker takes): the increments an account's value could buy
then stay finite (at most 10^28), so no float overflows or divides to infinity.

A number outside the range is refused (`DataError`) wherever it enters: the broker's snapshot
(`daemon.core.inputs`), the planner's input (`daemon.core.planner.validate`), the simulated
broker's CSV of closes, the backtest's price file and `trimtab prices merge`, a holdings file
for `trimtab plan --holdings`. Those files also take a close only as a plain decimal number
(`parse_plain_decimal`): ASCII digits, an optional point and exponent, nothing else.
"""

from __future__ import annotations

__all__ = [
    "MAX_AGE_HOURS",
    "MAX_NUMBER",
    "MIN_INCREMENT",
    "MIN_PRICE",
    "PRICE_RANGE",
    "age_hours_problem",
    "parse_plain_decimal",
    "price_problem",
]

import re
from decimal import Decimal

MAX_NUMBER = Decimal("1e13")
"""The largest amount, price, quantity or increment trimtab plans with (see the module)."""
MIN_PRICE = Decimal("0.000001")
"""The smallest price trimtab plans with."""
MIN_INCREMENT = Decimal("0.000000001")
"""The smallest share increment trimtab plans with."""
PRICE_RANGE = "a price must be from 0.000001 to 10000000000000 (1e13)"
"""Said with every refused price, so the reader knows the rule."""
MAX_AGE_HOURS = Decimal(366 * 24)
"""The longest age limit, in hours, a setting may give (a quote's, an export's, a stand-in
snapshot's): a year, a leap year's. Older says nothing about the account, and a far larger
limit (1e11) overflowed the timedelta it is compared with, crashing every cycle."""


def age_hours_problem(key: str, hours: Decimal) -> str | None:
    """Say what is wrong with an age limit `key` of `hours` (None: it is within the range)."""
    if 0 < hours <= MAX_AGE_HOURS:
        return None
    return (
        f"{key} is {hours}; it must be a number of hours above 0 and at most "
        f"{MAX_AGE_HOURS} (a year)"
    )


_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def price_problem(price: Decimal) -> str | None:
    """Return what is wrong with `price` as a price to plan with, or None when nothing is.

    The text completes "price of VTI ..." ("is 0", "is NaN", "is too large (1E+999); ...").
    """
    if price.is_nan():
        return "is NaN"
    if price.is_infinite():
        return f"is {'-' if price < 0 else ''}infinite"
    if price == 0:
        return "is 0"
    if price < 0:
        return f"is negative ({price})"
    if price > MAX_NUMBER:
        return f"is too large ({price}); {PRICE_RANGE}"
    if price < MIN_PRICE:
        return f"is too small ({price}); {PRICE_RANGE}"
    return None


def parse_plain_decimal(text: str) -> Decimal | None:
    """Return `text` as a Decimal if it is a plain decimal number (`412.37`, `-3`, `1.5e2`),
    else None: no NaN or infinity, no `_` separators, no digits other than 0-9, no spaces."""
    if _PLAIN.fullmatch(text) is None:
        return None
    return Decimal(text)
