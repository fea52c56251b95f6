"""What-if sales over a finished replay: the lots a sale would relieve and what it would realize.

Pure: reads the replay's state and changes nothing. Sales previewed together are made the
same day, as one day's trades are in the replay: none of their shares replaces another's
loss (a same-day sale is no replacement), and their losses take the free replacement shares
in the order of the loss lots' acquisition (Treas. Reg. §1.1091-1(b)).
"""

from __future__ import annotations

__all__ = ["PREVIEW_ID", "SalesWhatIf", "preview_sales"]

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.domain import AccountType, Side
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.pieces import Piece, split_money
from daemon.core.tax.sweep import LedgerState, relieved_piece, select_pieces, wash_adjustment
from daemon.core.tax.types import (
    SalePreview,
    SaleRequest,
    TaxDataError,
    Trade,
    WashAdjustment,
)
from daemon.core.tax.wash import Group, disallowed_amounts, plan_matches, replacement_start

PREVIEW_ID = "preview"
"""The sale id a what-if's wash adjustments carry."""

_SPAN = timedelta(days=WINDOW_DAYS)
_ZERO = Decimal(0)

_Part = tuple[Piece, Decimal, Decimal, Decimal, Decimal]
"""A relieved piece: the piece, shares taken, their proceeds, basis and cost."""


def preview_sales(
    state: LedgerState, on: date, requests: Sequence[SaleRequest]
) -> tuple[SalePreview, ...]:
    """Return a preview of each requested sale, all made on `on`, in the order requested.

    Raise `TaxDataError` for an unknown account, a sale of more than is held, a named lot
    not held, or two sales of one symbol in one account.
    """
    return SalesWhatIf(state, on, requests).previews()


class SalesWhatIf:
    """Sales of one day worked out up to their wash matches, the records built only on demand.

    `disallowed` answers whether (and by how much) each sale would be washed; `previews` adds
    a record per relieved piece, which is most of a preview's cost, for the caller that keeps
    the sale. Building one raises `TaxDataError` as `preview_sales` does.
    """

    __slots__ = ("_on", "_parts", "_requests", "_state", "_trades", "_washes")

    def __init__(self, state: LedgerState, on: date, requests: Sequence[SaleRequest]) -> None:
        self._state = state
        self._on = on
        self._requests = tuple(requests)
        self._trades, self._parts, self._washes = _plan(state, on, self._requests)

    def disallowed(self) -> tuple[Decimal, ...]:
        """Return each sale's `disallowed`, exactly as its preview would give it."""
        totals = [Decimal(0)] * len(self._parts)
        # Each piece's washes summed first, as its record sums them. The sums are exact, so
        # the total, down to its exponent, is the one the preview's records add up to.
        for (n, _), washes in self._washes.items():
            if washes:
                totals[n] += sum((w.disallowed for w in washes), _ZERO)
        return tuple(totals)

    def previews(self) -> tuple[SalePreview, ...]:
        """Return the preview of each sale, in the order requested."""
        state, on, washes = self._state, self._on, self._washes
        return tuple(
            SalePreview(
                trade.account,
                trade.symbol,
                on,
                trade.qty,
                request.method or state.policy.method_for(trade.account),
                tuple(
                    relieved_piece(p, take, proceeds, on, washes.get((n, i), ()), basis, cost)
                    for i, (p, take, proceeds, basis, cost) in enumerate(parts)
                ),
            )
            for n, (request, trade, parts) in enumerate(
                zip(self._requests, self._trades, self._parts, strict=True)
            )
        )


def _plan(
    state: LedgerState, on: date, requests: Sequence[SaleRequest]
) -> tuple[list[Trade], list[list[_Part]], dict[tuple[int, int], tuple[WashAdjustment, ...]]]:
    """Return the sales as trades, the pieces each relieves, and the washes of their losses."""
    seen: set[tuple[str, str]] = set()
    trades: list[Trade] = []
    chosen_parts: list[list[_Part]] = []
    consumed: dict[int, Decimal] = {}
    for request in requests:
        key = (request.account, request.symbol)
        if key in seen:
            raise TaxDataError(PREVIEW_ID, "symbol", f"{key[1]} is sold twice in {key[0]}")
        seen.add(key)
        trade = _trade(state, on, request)
        method = request.method or state.policy.method_for(request.account)
        held = state.holdings.get(key, [])
        price = request.proceeds / request.qty
        chosen = select_pieces(held, PREVIEW_ID, request.qty, method, request.picks, on, price)
        for piece, take in chosen:
            consumed[id(piece)] = take
        trades.append(trade)
        chosen_parts.append(_parts(chosen, request))
    return trades, chosen_parts, _match(state, on, trades, chosen_parts, consumed)


def _trade(state: LedgerState, on: date, request: SaleRequest) -> Trade:
    account_type = state.account_types.get(request.account)
    if account_type is None:
        raise TaxDataError(PREVIEW_ID, "account", f"no trade names account {request.account}")
    if not request.qty.is_finite() or request.qty <= 0:
        raise TaxDataError(PREVIEW_ID, "qty", f"must be a positive number, not {request.qty}")
    return Trade(
        id=PREVIEW_ID,
        date=on,
        account=request.account,
        account_type=account_type,
        symbol=request.symbol,
        side=Side.SELL,
        qty=request.qty,
        amount=request.proceeds,
        lots=tuple(request.picks),
    )


def _parts(chosen: Sequence[tuple[Piece, Decimal]], request: SaleRequest) -> list[_Part]:
    parts = []
    proceeds, qty = request.proceeds, request.qty
    taken = allotted = Decimal(0)
    for piece, take in chosen:
        taken += take
        upto = split_money(proceeds, taken, qty)
        if take == piece.qty:  # most pieces go whole: their basis and cost as they are
            parts.append((piece, take, upto - allotted, piece.adjusted_basis, piece.cost))
        else:
            basis = split_money(piece.adjusted_basis, take, piece.qty)
            cost = split_money(piece.cost, take, piece.qty)
            parts.append((piece, take, upto - allotted, basis, cost))
        allotted = upto
    return parts


def _match(
    state: LedgerState,
    on: date,
    trades: Sequence[Trade],
    chosen_parts: Sequence[Sequence[_Part]],
    consumed: dict[int, Decimal],
) -> dict[tuple[int, int], tuple[WashAdjustment, ...]]:
    """Match the losses of all the sales with replacement shares, as the day's settlement would."""
    losses = []
    for n, (trade, parts) in enumerate(zip(trades, chosen_parts, strict=True)):
        if not state.washable(trade.account):
            continue
        group = state.groups.get(state.group_key(trade.account, trade.symbol))
        if group is None or not group.open_between(on - _SPAN, on + _SPAN):
            continue
        losses += [
            (part[0].block.key, n, i, group) for i, part in enumerate(parts) if part[3] > part[2]
        ]
    losses.sort(key=lambda loss: loss[:3])
    washes = {}
    # Free replacement shares left in each group's window: once none are, the remaining
    # losses of the group match nothing, and searching the window for each is wasted.
    free: dict[int, Decimal] = {}
    for _, n, i, group in losses:
        piece, take, proceeds, basis, _ = chosen_parts[n][i]
        left = free.get(id(group))
        if left is None:
            left = free[id(group)] = _free_shares(group, on, consumed)
        if left <= 0:
            continue
        matches = plan_matches(group, piece.block, take, on, state.policy, consumed)
        takes = [t for _, t in matches]
        free[id(group)] = left - sum(takes, Decimal(0))
        amounts = disallowed_amounts(basis - proceeds, take, takes)
        washes[(n, i)] = tuple(
            _wash(state, trades[n], piece, used, used_qty, amount)
            for (used, used_qty), amount in zip(matches, amounts, strict=True)
        )
    return washes


def _free_shares(group: Group, on: date, consumed: Mapping[int, Decimal]) -> Decimal:
    """Return the shares in `group`'s window around `on` that a loss could still take."""
    free = Decimal(0)
    for block in group.between(on - _SPAN, on + _SPAN):
        if block.available <= 0:
            continue
        for piece in block.pieces:
            if not piece.used:
                free += max(piece.qty - consumed.get(id(piece), Decimal(0)), Decimal(0))
    return free


def _wash(
    state: LedgerState, trade: Trade, loss: Piece, used: Piece, qty: Decimal, amount: Decimal
) -> WashAdjustment:
    start = None
    if used.block.trade.account_type is AccountType.TAXABLE:
        start = replacement_start(
            state.policy.holding_period, loss.holding_period_start, trade.date, used
        )
    return wash_adjustment(trade, loss, used, qty, amount, start)
