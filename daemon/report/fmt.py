"""How the report writes numbers: the same text in the HTML page and the plain-text summary."""

from __future__ import annotations

__all__ = [
    "bps",
    "fixed",
    "money",
    "neg_pct",
    "pct",
    "pp",
    "price",
    "qty",
    "ratio",
    "signed_money",
    "signed_pct",
    "tone",
]

from decimal import ROUND_HALF_UP, Decimal

from daemon.core.money import CENT, usd

DASH = "—"
MINUS = "−"


def money(value: Decimal | None) -> str:
    if value is None:
        return DASH
    # `+ 0` turns a rounded -0.00 into 0.00.
    return usd(value.quantize(CENT, ROUND_HALF_UP) + 0, minus=MINUS)


def signed_money(value: Decimal | None) -> str:
    if value is None:
        return DASH
    text = money(value)
    return text if text.startswith(MINUS) else "+" + text


def price(value: Decimal | None) -> str:
    """A price with as many decimals as it has, at least two."""
    if value is None:
        return DASH
    places = max(2, -int(value.normalize().as_tuple().exponent))
    return f"${value:,.{min(places, 6)}f}"


def qty(value: Decimal | None) -> str:
    if value is None:
        return DASH
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def fixed(value: float, places: int, *, plus: bool = False, minus: str = MINUS) -> str:
    """Return `value` with `places` decimals, negatives with `minus`, positives with "+" when
    `plus`; a value that rounds to zero carries no minus (-0.0001 is 0.0, as `money` writes
    -0.004 as $0.00). Every number format below goes through it."""
    text = f"{value:.{places}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    if plus and not text.startswith("-"):
        text = "+" + text
    return text.replace("-", minus)


def pct(value: float | None, places: int = 1) -> str:
    if value is None:
        return DASH
    return fixed(value * 100, places) + "%"


def signed_pct(value: float | None) -> str:
    if value is None:
        return DASH
    text = pct(value, 2)
    return text if text.startswith(MINUS) else "+" + text


def neg_pct(value: float | None) -> str:
    """A fall written as a negative percentage (a drawdown of 0.12 is −12.0%)."""
    return DASH if value is None else (pct(-value) if value else "0.0%")


def pp(value: float | None) -> str:
    """A difference of weights in percentage points."""
    if value is None:
        return DASH
    return fixed(value * 100, 1, plus=True) + " pp"


def ratio(value: float | None) -> str:
    return DASH if value is None else fixed(value, 2)


def bps(value: float | None) -> str:
    return DASH if value is None else fixed(value, 1, plus=True) + " bp"


def tone(value: Decimal | float | None) -> str:
    """The CSS class of a change: up, down, or nothing."""
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"
