"""The sentences a person reads: order reasons, drift-row notes and their number formats."""

from __future__ import annotations

__all__ = [
    "FRACTION_LEFT",
    "Origin",
    "Why",
    "order_reason",
    "percent",
    "quantity",
    "row_note",
    "unsold_note",
]

from decimal import ROUND_HALF_UP, Decimal
from enum import IntFlag

from daemon.core.domain import Side
from daemon.core.money import CENT, money

FRACTION_LEFT = (
    "the broker takes whole shares only; sell the fraction through the broker or by hand"
)
"""What a drift note and a plan note say of a fraction no order can sell."""

_DOLLAR = Decimal(1)
_HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")


class Origin(IntFlag):
    """Which step of the plan asked for (part of) an order."""

    NONE = 0
    EXCESS = 1  # buys with cash above its target
    RAISE = 2  # sells that raise a withdrawal or the cash buffer
    REBALANCE = 4  # the rebalance proper
    FUND = 8  # trims toward target that pay for band-edge buys


_VERB = {Side.BUY: "buy", Side.SELL: "sell"}
_SUFFIX_BITS = 15
# The rebalance proper needs no explanation; otherwise say what the order is for.
_SUFFIX = tuple(
    ""
    if bits & Origin.REBALANCE or not bits
    else " to fund buys"
    if bits & Origin.FUND
    else " to raise cash"
    if bits & Origin.RAISE
    else " from excess cash"
    for bits in range(_SUFFIX_BITS + 1)
)


class Why(IntFlag):
    """Why a holding may stay off target after the plan."""

    NONE = 0
    BUY_ONLY = 1
    MIN_TRADE = 2
    NO_CASH = 4
    INCREMENT = 8
    RAISED = 16
    FRACTION = 32  # target 0, but the broker takes whole shares only: a fraction stays


def percent(weight: Decimal) -> str:
    """Format a weight as a percentage with one decimal: 0.412 -> '41.2%'."""
    return f"{(weight * _HUNDRED).quantize(_TENTH, rounding=ROUND_HALF_UP)!s}%"


def quantity(qty: Decimal) -> str:
    """Format a quantity without exponent or trailing zeros: 12.500 -> '12.5'."""
    text = _plain(qty.normalize())
    return "0" if text in ("-0", "0") else text


def _plain(value: Decimal) -> str:
    """Return `format(value, "f")`: `str(value)` unless that has an exponent, at half the
    cost (Decimal's __format__ parses its spec each time; `f"{d}"` is `str(d)` at twice the
    cost, hence the `!s` below). The reasons are written once per order of every plan."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def order_reason(
    *,
    symbol: str,
    weight: Decimal,
    target: Decimal,
    half_width: Decimal,
    in_targets: bool,
    side: Side,
    qty: Decimal,
    notional: Decimal,
    origin: int,
) -> str:
    """Return the one-line reason printed beside an order; `origin` is a set of `Origin` bits."""
    # Written out rather than through `percent`, `quantity` and `daemon.core.money.money` (the
    # same formats): this runs once per order, and plans of thousands of orders are in the
    # latency budget.
    step = CENT if notional < _HUNDRED else _DOLLAR
    cost = notional.quantize(step, ROUND_HALF_UP)
    action = f"{_VERB[side]} {_plain(qty.normalize())} sh (${cost:,})"
    now = (weight * _HUNDRED).quantize(_TENTH, ROUND_HALF_UP)
    if not in_targets:
        return f"{symbol} {now!s}% vs target 0.0%: not in targets, {action}"
    goal = (target * _HUNDRED).quantize(_TENTH, ROUND_HALF_UP)
    band = (half_width * _HUNDRED).quantize(_TENTH, ROUND_HALF_UP)
    suffix = _SUFFIX[origin & _SUFFIX_BITS]
    return f"{symbol} {now!s}% vs target {goal!s}% ±{band!s}pp: {action}{suffix}"


def row_note(
    *,
    why: Why,
    overweight: bool,
    in_targets: bool,
    buy_only: bool,
    dropped: Decimal | None,
    min_trade: str,
    increment: Decimal,
    fraction: Decimal = Decimal(0),
) -> str:
    """Return why a holding stays off target after the plan, from the flags the plan raised.

    `fraction` is what is held beyond the whole increments (`Why.FRACTION` says it stays);
    `min_trade` is `PlanningPolicy.min_trade_words`.
    """
    if why & Why.BUY_ONLY and overweight:
        if not in_targets:
            return "not in targets; buy_only: not sold"
        return "buy_only: not sold"
    if why & Why.MIN_TRADE:
        size = f" of {money(dropped)}" if dropped is not None else ""
        return f"order{size} below {min_trade}"
    if why & Why.FRACTION:
        return f"{quantity(fraction)} sh left: {FRACTION_LEFT}"
    if why & Why.NO_CASH:
        if buy_only:
            return "not enough cash (buy_only: nothing is sold to pay for buys)"
        return "not enough cash"
    if why & Why.RAISED:
        return "sold below target to raise cash"
    if why & Why.INCREMENT:
        return f"increment of {quantity(increment)} sh too coarse to land inside the band"
    return ""


def unsold_note(
    *, qty: Decimal, price: Decimal, sellable: Decimal, whole_only: bool, min_trade: str
) -> tuple[str, str]:
    """Return why a held holding with a target of 0 is left unsold (`Book.unsold`): its drift
    row's note, and the plan's note (to follow "SYMBOL: ").

    `sellable` is what a sale of it would sell: all of it, or its whole shares where the
    broker takes whole shares only. The row says what it said when such a holding was managed
    (the order below the minimum trade, the fraction left).
    """
    held = quantity(qty)
    if whole_only and sellable == 0:
        why = FRACTION_LEFT
        row = f"{held} sh left: {why}"
    else:
        worth = money(sellable * price)
        size = worth if sellable == qty else f"{quantity(sellable)} whole sh ({worth})"
        why = row = f"order of {size} below {min_trade}"
        if sellable != qty:
            why = row = f"{row}; the broker takes whole shares only"
    return row, f"{held} sh left unsold: {why}; not in the managed value"
