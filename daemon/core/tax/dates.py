"""Calendar rules of the tax law: the 61-day window and the more-than-one-year holding period."""

from __future__ import annotations

__all__ = ["WINDOW_DAYS", "is_long_term", "one_year_after", "window"]

from datetime import date, timedelta
from functools import lru_cache

WINDOW_DAYS = 30
"""IRC §1091(a): 30 calendar days before and after the sale; with the sale day, 61 days."""


@lru_cache(maxsize=4096)  # a replay asks for the same few thousand dates over and over
def one_year_after(start: date) -> date:
    """Return the same day one year later; Feb 29 becomes Feb 28 (month-end clamping)."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # Feb 29 in a year followed by a common year
        return start.replace(year=start.year + 1, day=28)


def is_long_term(holding_period_start: date, sold: date) -> bool:
    """Say whether shares held from `holding_period_start` and sold on `sold` are long-term.

    Held more than one year: the count starts the day after acquisition and includes the sale
    day, so shares bought 2023-06-15 are long-term from 2024-06-16 (Pub 544 and Pub 550).
    """
    return sold > one_year_after(holding_period_start)


def window(sold: date) -> tuple[date, date]:
    """Return the first and last day of the 61-day wash-sale window around a sale."""
    span = timedelta(days=WINDOW_DAYS)
    return sold - span, sold + span
