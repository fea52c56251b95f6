"""Money and shares that move without an order of trimtab's: deposits, withdrawals, dividends.

Brokers report them through the optional capabilities of `adapters.base` (`CashFlowReporter`,
`DividendHistory`); the store records them. The types live in the kernel so an adapter can
build them without loading the store.
"""

from __future__ import annotations

__all__ = ["FLOW_TIME", "CashFlow", "DividendActivity", "FlowKind"]

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

FLOW_TIME = time(16, 0)
"""A flow known only by its date counts at the regular close of that day, exchange time."""


class FlowKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True, slots=True)
class CashFlow:
    """Money moved into (positive `amount`) or out of (negative) an account from outside.

    `external_id` is the reporter's own id for the movement (unique per account and source).
    """

    account: str
    at: datetime
    amount: Decimal
    kind: FlowKind
    source: str
    external_id: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a cash flow's time must be timezone-aware")
        if not self.amount.is_finite() or self.amount == 0:
            raise ValueError(f"a cash flow's amount must be a non-zero number, not {self.amount}")
        if (self.amount > 0) != (self.kind is FlowKind.DEPOSIT):
            sign = "positive" if self.kind is FlowKind.DEPOSIT else "negative"
            raise ValueError(f"a {self.kind} must be {sign}, not {self.amount}")


class DividendActivity(Protocol):
    """A dividend-related activity as an adapter reports it (e.g. Alpaca's `Dividend`)."""

    @property
    def activity_id(self) -> str: ...

    @property
    def kind(self) -> str:
        """`reinvestment` for shares bought with a dividend; anything else is ignored here."""
        ...

    @property
    def symbol(self) -> str: ...

    @property
    def on(self) -> date: ...

    @property
    def net_amount(self) -> Decimal:
        """Cash out for a reinvestment (negative): its cost."""
        ...

    @property
    def qty(self) -> Decimal | None: ...
