"""Money: the cent, rounding to it that never works against the account, and money as text.

Rounding picks its direction by what the amount is for, so that a rounding error is never paid
by the account: an amount to spend or to count on receiving rounds down (`cents_down`), a cost
or a cash need rounds up (`cents_up`), a value that only reports rounds to the nearest cent,
half to even (`cents`). The planner's float64 phases round in `daemon.core.planner.rounding`,
in whole increments; this module is for amounts of currency.

Formats: `usd` is an amount with cents ('$1,234.56'); `money` is the short form the planner's
reasons use (whole dollars from $100 up: '$3,110', '$54.32').
"""

from __future__ import annotations

__all__ = ["CENT", "cents", "cents_down", "cents_up", "is_whole_cents", "money", "usd"]

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
_DOLLAR = Decimal(1)
_HUNDRED = Decimal(100)


def cents(amount: Decimal) -> Decimal:
    """Round to the nearest cent, half to even: for values that are reported, not spent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def cents_down(amount: Decimal) -> Decimal:
    """Round down to a cent: an amount to spend, or proceeds the account can count on."""
    return amount.quantize(CENT, rounding=ROUND_FLOOR)


def cents_up(amount: Decimal) -> Decimal:
    """Round up to a cent: a cost to pay, or cash to set aside for one."""
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def is_whole_cents(amount: Decimal) -> bool:
    """Return whether `amount` has nothing below the cent (a broker takes no fraction of one)."""
    return amount == amount.quantize(CENT)


def usd(amount: Decimal, *, minus: str = "-") -> str:
    """Format currency with cents and separators: '$1,234.56', '-$1,234.56'.

    `minus` is the sign put before a negative amount's '$' (the report uses U+2212).
    """
    return f"{minus}${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def money(amount: Decimal) -> str:
    """Format currency briefly: whole dollars with separators, or cents below $100
    ('$3,110', '$54.32', '-$12.50'); halves round up."""
    step = CENT if -_HUNDRED < amount < _HUNDRED else _DOLLAR
    rounded = amount.quantize(step, rounding=ROUND_HALF_UP)
    return f"{'-' if rounded < 0 else ''}${abs(rounded):,}"
