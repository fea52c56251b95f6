"""Numbers in the tax CSV files (`trimtab tax import`, `trimtab tax replay`).

A point marks decimals; a comma is taken only as a thousands separator in its place
(`1,234.56`). Anything else with a comma is refused rather than read with the commas dropped:
a decimal comma (`25,5`, as spreadsheets in much of Europe save it) read that way is ten times
the shares and a hundred times the basis.
"""

from __future__ import annotations

__all__ = ["COMMA_HINT", "canonical", "parse_number"]

import re
from decimal import Decimal

from daemon.core.plannable import parse_plain_decimal

_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", re.ASCII)

COMMA_HINT = "a comma only separates thousands (1,234.56): use a point for decimals"
"""What to add to a refusal of a number written with a comma elsewhere."""


def parse_number(text: str) -> Decimal | None:
    """Return the finite number `text` writes (`1402.55`, `1,402.55`, `-3`, `1.5e2`), or None.

    None for anything else: a comma other than between groups of three digits before the
    point (`25,5`, `1,2,3`, `,5`), NaN or infinity, `_` separators, spaces.
    """
    if "," in text:
        if _GROUPED.fullmatch(text) is None:
            return None
        text = text.replace(",", "")
    return parse_plain_decimal(text)


def canonical(value: Decimal) -> str:
    """Return a number's text as a key: the same for every way of writing it (100, 100.0)."""
    return format((value + 0).normalize(), "f")
