"""Form 8949-style rows and totals by term from the engine's realized sales (pure).

One row per lot piece a taxable sale relieved: (a) description, (b) date acquired (the real
purchase date; the term comes from the holding period, which a wash may have moved back),
(c) date sold, (d) proceeds, (e) cost or other basis (wash-adjusted), (f) code `W` when a
loss is disallowed, (g) the disallowed loss as a positive adjustment, (h) gain or loss =
(d) - (e) + (g). Sales in a traditional or Roth IRA are not reported and give no rows.
"""

from __future__ import annotations

__all__ = ["Form8949Row", "Form8949Totals", "form8949_rows", "form8949_totals"]

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.core.tax.types import RealizedSale, Term

WASH_CODE = "W"


@dataclass(frozen=True, slots=True)
class Form8949Row:
    """One line of Form 8949 (Part I when short-term, Part II when long-term)."""

    sale_id: str
    account: str
    owner: str
    symbol: str
    description: str
    acquired: date
    sold: date
    proceeds: Decimal
    basis: Decimal
    code: str
    adjustment: Decimal
    gain: Decimal
    term: Term


@dataclass(frozen=True, slots=True)
class Form8949Totals:
    """The totals of one part of Form 8949 (one term)."""

    term: Term
    rows: int
    proceeds: Decimal
    basis: Decimal
    adjustment: Decimal
    gain: Decimal


def form8949_rows(
    sales: Iterable[RealizedSale], year: int | None = None
) -> tuple[Form8949Row, ...]:
    """Return the rows of the taxable sales (made in `year`, when given), short-term first."""
    rows = [
        Form8949Row(
            sale_id=sale.id,
            account=sale.trade.account,
            owner=sale.trade.owner,
            symbol=sale.trade.symbol,
            description=f"{piece.qty:f} sh. {sale.trade.symbol}",
            acquired=piece.acquired,
            sold=sale.trade.date,
            proceeds=piece.proceeds,
            basis=piece.basis,
            code=WASH_CODE if piece.disallowed > 0 else "",
            adjustment=piece.disallowed,
            gain=piece.gain,
            term=piece.term,
        )
        for sale in sales
        if sale.taxable and (year is None or sale.trade.date.year == year)
        for piece in sale.pieces
    ]
    rows.sort(key=lambda row: row.term is Term.LONG)
    return tuple(rows)


def form8949_totals(rows: Sequence[Form8949Row]) -> tuple[Form8949Totals, ...]:
    """Return the totals of the short-term rows, then of the long-term rows."""
    return tuple(
        Form8949Totals(
            term=term,
            rows=len(part),
            proceeds=sum((r.proceeds for r in part), Decimal(0)),
            basis=sum((r.basis for r in part), Decimal(0)),
            adjustment=sum((r.adjustment for r in part), Decimal(0)),
            gain=sum((r.gain for r in part), Decimal(0)),
        )
        for term in (Term.SHORT, Term.LONG)
        for part in ([r for r in rows if r.term is term],)
    )
