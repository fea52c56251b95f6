"""The engine's working state: purchases (blocks) and the pieces their shares are split into.

Private to `daemon.core.tax`: mutable while a replay runs, never handed out (the book turns pieces
into frozen `Lot`s). A block is one buy; its shares are split into pieces whenever part of
them is sold or absorbs a wash loss, so every piece has one basis and one holding period.
"""

from __future__ import annotations

__all__ = ["Block", "Piece", "split_money"]

from datetime import date
from decimal import Decimal

from daemon.core.money import cents
from daemon.core.tax.types import Lot, Trade


def split_money(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """Return the share of `total` for `part` of `whole` shares, in cents (all of it for all)."""
    if part == whole:
        return total
    return cents(total * part / whole)


class Block:
    """One purchase: the trade, its place in the replay, and its pieces not yet sold."""

    __slots__ = ("available", "bought", "gone", "key", "order", "pieces", "seq", "trade")

    def __init__(self, trade: Trade, seq: int) -> None:
        self.trade = trade
        self.seq = seq
        self.key = (trade.date, seq)
        """Place in the order of acquisition."""
        self.order = (trade.account, trade.purchase_order)
        """The purchase order its shares belong to (Rev. Rul. 56-602)."""
        self.bought = False
        self.pieces = [Piece(self, trade.qty, trade.amount, trade.amount, trade.date)]
        self.available = trade.qty
        """Shares not sold and not yet used as a replacement."""
        self.gone: list[Piece] = []
        """Pieces sold on the day being settled: replacements when same-day sales count."""


class Piece:
    """Shares of one block with one basis and holding period; `used` once it absorbed a loss."""

    __slots__ = ("adjusted_basis", "block", "cost", "holding_period_start", "qty", "used")

    def __init__(
        self, block: Block, qty: Decimal, cost: Decimal, basis: Decimal, start: date
    ) -> None:
        self.block = block
        self.qty = qty
        self.cost = cost
        self.adjusted_basis = basis
        self.holding_period_start = start
        self.used = False

    @property
    def acquired(self) -> date:
        return self.block.trade.date

    def split(self, qty: Decimal) -> Piece:
        """Cut `qty` shares off into a new piece (not placed in any list); keep the rest."""
        cost = split_money(self.cost, qty, self.qty)
        basis = split_money(self.adjusted_basis, qty, self.qty)
        part = Piece(self.block, qty, cost, basis, self.holding_period_start)
        part.used = self.used
        self.qty -= qty
        self.cost -= cost
        self.adjusted_basis -= basis
        return part

    def to_lot(self) -> Lot:
        trade = self.block.trade
        # Positional, in field order: the book turns every open piece into a `Lot`.
        return Lot(
            trade.id,
            trade.account,
            trade.account_type,
            trade.symbol,
            trade.owner,
            self.qty,
            self.cost,
            self.adjusted_basis,
            trade.date,
            self.holding_period_start,
            trade.purchase_order,
            self.used,
        )
