"""The ledger's open lots against the broker's positions: where they disagree, per symbol.

Pure. The ledger records trimtab's fills, reinvestments, imported lots and declared trades;
a split, a spin-off, a transfer in or out, or lots bought before trimtab and never imported
change what the broker holds without any of those. Where the ledger's open shares of a
symbol differ from the broker's, its lots (and so their basis) do not describe the shares
held: the tax step plans that symbol as it plans a sale with lots missing (`unknown_basis`:
no gains estimate, no wash check of its sells, no harvest), and the cycle audits and alerts
(`daemon.cycle.tax`). The comparison is made at the edge and handed to the decision step in
`TaxInputs.mismatches`; the backtest owns both sides and hands in none.
"""

from __future__ import annotations

__all__ = ["LotMismatch", "lot_mismatches", "lot_quantities"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from daemon.core.planner.reasons import quantity
from daemon.core.tax.types import Lot

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LotMismatch:
    """One symbol whose open shares in the ledger differ from the broker's position."""

    symbol: str
    ledger: Decimal
    """Shares of the account's open lots of `symbol` in the ledger."""
    broker: Decimal
    """Shares the lots are compared with: the broker's position, less the shares of fills
    the broker reported for trimtab's orders but has not listed yet (the ledger records
    those once listed), so the difference and its fix are the lots'."""
    held: Decimal | None = None
    """The position the broker reports, when fills not listed yet make it differ from
    `broker`: the words name it, with the pending shares apart ("the broker 10, of which 10
    are fills not listed yet"), never the compared figure as if the broker held it."""

    @property
    def _broker_words(self) -> str:
        """The broker's position in words, its pending shares apart."""
        if self.held is None or self.held == self.broker:
            return quantity(self.broker)
        pending = self.held - self.broker
        if pending > 0:
            apart = f"of which {quantity(pending)} are fills not listed yet"
        else:
            apart = f"after {quantity(-pending)} sold in fills not listed yet"
        return f"{quantity(self.held)}, {apart} (the ledger records them when listed)"

    @property
    def reason(self) -> str:
        """Say what differs and what it means for the plan, in words."""
        return (
            f"the ledger's lots hold {quantity(self.ledger)} {self.symbol}, the broker "
            f"{self._broker_words}: its lots' basis is not trusted (no gains estimate, no "
            "wash-sale check of its sells, no harvest)"
        )

    @property
    def fix(self) -> str:
        """Say what the owner can do about it, counting pending shares as the ledger will."""
        pending = self.held is not None and self.held != self.broker
        counted = "with the fills not listed yet counted, " if pending else ""
        if self.broker > self.ledger:
            return counted + (
                f"the ledger lacks {quantity(self.broker - self.ledger)} sh: if they were "
                "bought before trimtab, import their lots (trimtab tax import FILE.csv); a "
                f"split: record it (trimtab tax split {self.symbol} NEW:OLD --date DAY); a "
                "spin-off or transfer in cannot be recorded in the ledger yet (docs/tax.md, "
                "Ledger and broker disagree)"
            )
        return counted + (
            f"the ledger holds {quantity(self.ledger - self.broker)} sh the broker does not: "
            f"a reverse split: record it (trimtab tax split {self.symbol} NEW:OLD --date DAY, "
            "and its cash in lieu); a transfer out or a sale trimtab never saw cannot be "
            "recorded in the ledger yet (docs/tax.md, Ledger and broker disagree)"
        )


def lot_quantities(lots: Iterable[Lot]) -> dict[str, Decimal]:
    """Return the open shares per symbol of `lots` (one account's, from the engine's replay)."""
    held: dict[str, Decimal] = {}
    for lot in lots:
        held[lot.symbol] = held.get(lot.symbol, _ZERO) + lot.qty
    return held


def lot_mismatches(
    ledger: Mapping[str, Decimal], broker: Mapping[str, Decimal]
) -> tuple[LotMismatch, ...]:
    """Return, by symbol, every symbol whose quantity in `ledger` and `broker` differs.

    A symbol missing from either side holds 0 there. Quantities are compared exactly: a
    fraction of a share the ledger lacks (a reinvestment the broker did not report) is a
    difference too, since a lot is missing.
    """
    found = []
    for symbol in sorted(set(ledger) | set(broker)):
        ours, theirs = ledger.get(symbol, _ZERO), broker.get(symbol, _ZERO)
        if ours != theirs:
            found.append(LotMismatch(symbol, ours, theirs))
    return tuple(found)
