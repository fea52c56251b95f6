"""IRC §1091: which purchased shares replace a loss, how much is disallowed, and the new dates.

Pure planning over the engine's pieces; the engine (`daemon.core.tax.engine`) applies the plan and
the what-ifs (`daemon.core.tax.preview`) only read it. The rules, as implemented:

- Window: purchases from 30 calendar days before to 30 after the sale day (§1091(a)).
- Replacement shares are taken in order of acquisition, earliest first, each at most once
  (Treas. Reg. §1.1091-1(c), (d), (e)); share for share, also across symbols of a group.
- Shares of the loss lot's own purchase order never replace it (Rev. Rul. 56-602).
- Shares sold before the loss sale's day are not replacements. Shares sold on that day are,
  when the policy counts them (`SameDayReplacements`) and they were bought after the loss
  shares; otherwise only shares still held when the day ends are: see docs/tax.md.
- Shares bought before the loss lot itself replace it unless the policy says otherwise.
- A replacement in a traditional or Roth IRA disallows the loss for good (Rev. Rul. 2008-5).
- Across a stock split, shares compare in the replacement's shares: a loss of 100 shares
  sold before a 2-for-1 split is replaced by 200 shares bought after it (`scale`).
- The disallowed amount is the loss on the matched shares, split cumulatively in cents, so
  the matches of a fully washed loss add up to it exactly and never exceed it.
"""

from __future__ import annotations

__all__ = ["Group", "disallowed_amounts", "plan_matches", "replacement_start"]

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.pieces import Block, Piece, split_money
from daemon.core.tax.types import HoldingPeriodConvention, TaxPolicy

_SPAN = timedelta(days=WINDOW_DAYS)
_ZERO = Decimal(0)


class Group:
    """Every purchase of one set of substantially identical symbols, in order of acquisition."""

    __slots__ = ("blocks", "dates")

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.dates: list[date] = []

    def add(self, block: Block) -> None:
        """Append a purchase; purchases must arrive in order of acquisition."""
        self.blocks.append(block)
        self.dates.append(block.trade.date)

    def between(self, first: date, last: date) -> list[Block]:
        """Return the purchases made from `first` to `last`, both included."""
        return self.blocks[bisect_left(self.dates, first) : bisect_right(self.dates, last)]

    def open_between(self, first: date, last: date) -> bool:
        """Say whether a purchase from `first` to `last` still has shares free to replace."""
        return any(block.available > 0 for block in self.between(first, last))


def plan_matches(
    group: Group,
    loss_block: Block,
    qty: Decimal,
    sold: date,
    policy: TaxPolicy,
    consumed: dict[int, Decimal],
    scale: Callable[[Block], Fraction] | None = None,
) -> list[tuple[Piece, Decimal]]:
    """Return the replacement pieces and shares for `qty` loss shares of `loss_block`.

    `consumed` maps `id(piece)` to shares already spoken for in this what-if (sold by the
    sale itself, or matched to an earlier loss of it); the matches are added to it. `scale`
    says how many of a purchase's shares one loss share is (a split between the sale and
    the purchase); the shares returned are the purchase's.
    """
    own_order = loss_block.order
    remaining = qty
    matches: list[tuple[Piece, Decimal]] = []
    for block in group.between(sold - _SPAN, sold + _SPAN):
        if (block.available <= 0 and not block.gone) or block.order == own_order:
            continue
        if not policy.earlier_purchase_replaces and block.key < loss_block.key:
            continue
        # Shares sold this day (only listed when same-day sales count) first: the buy-back
        # sold again is the wash a broker reports. Only those bought after the loss shares,
        # so that a loss they absorb is settled after the one they replace.
        gone = block.gone if block.key > loss_block.key else ()
        for piece in (*gone, *block.pieces) if gone else block.pieces:
            if piece.used:
                continue
            free = piece.qty - consumed.get(id(piece), _ZERO)
            if free <= 0:
                continue
            factor = Fraction(1) if scale is None else scale(block)
            if factor != 1:
                # The loss's shares left, in this purchase's shares.
                wanted = remaining * factor.numerator / factor.denominator
                take = min(free, wanted)
                left = _ZERO if take == wanted else remaining - _in_loss(take, factor)
            else:
                take = min(free, remaining)
                left = remaining - take
            consumed[id(piece)] = consumed.get(id(piece), _ZERO) + take
            matches.append((piece, take))
            remaining = left
            if remaining <= 0:
                return matches
    return matches


def _in_loss(qty: Decimal, factor: Fraction) -> Decimal:
    return qty * factor.denominator / factor.numerator


def disallowed_amounts(loss: Decimal, qty: Decimal, takes: list[Decimal]) -> list[Decimal]:
    """Split `loss` on `qty` shares over matches of `takes` shares each, cumulatively in cents."""
    amounts = []
    matched = Decimal(0)
    before = Decimal(0)
    for take in takes:
        matched += take
        upto = split_money(loss, matched, qty)
        amounts.append(upto - before)
        before = upto
    return amounts


def replacement_start(
    convention: HoldingPeriodConvention,
    loss_start: date,
    sold: date,
    replacement: Piece,
) -> date:
    """Return the replacement's holding period start once the washed shares' period is added.

    Never later than it was: a wash only lengthens a holding period (§1223(3)).
    """
    bought = replacement.acquired
    held = sold - loss_start
    takes_loss_start = convention is HoldingPeriodConvention.LOSS_LOT_START or (
        convention is HoldingPeriodConvention.NO_DOUBLE_COUNT and bought < sold
    )
    start = loss_start if takes_loss_start else bought - held
    return min(start, replacement.holding_period_start)
