"""What-if sales over a finished replay: the lots a sale would relieve and what it would realize.

Pure: reads the replay's state and changes nothing. Sales previewed together are made the
same day, after that day's trades in the book, as one day's trades are in the replay; their
losses take the free replacement shares in the order of the loss lots' acquisition (Treas.
Reg. §1.1091-1(b)).

Two ways to the same answer. The quick one works over the finished replay: exact when the
day's settlement cannot change, i.e. when the book has no sale of the group on or after that
day and no share the what-if sells can replace one of its losses (only possible when same-day
sales count). Otherwise the trades of the sales' groups are replayed again with the sales
added (`_replayed`): a loss of an older lot settles before the book's losses of that day and
can take the shares they took, which the finished replay cannot show (issue 13).
"""

from __future__ import annotations

__all__ = ["PREVIEW_ID", "SalesWhatIf", "preview_sales"]

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.domain import AccountType, Side
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.pieces import Piece, split_money
from daemon.core.tax.sweep import LedgerState, relieved_piece, select_pieces, wash_adjustment
from daemon.core.tax.types import (
    RelievedPiece,
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

    __slots__ = ("_exact", "_on", "_parts", "_requests", "_state", "_trades", "_washes")

    def __init__(self, state: LedgerState, on: date, requests: Sequence[SaleRequest]) -> None:
        self._state = state
        self._on = on
        self._requests = tuple(requests)
        self._trades = _sales(state, on, self._requests)
        self._parts: list[list[_Part]] = []
        self._exact: tuple[SalePreview, ...] | None = None
        self._washes: dict[tuple[int, int], tuple[WashAdjustment, ...]] = {}
        keys = {state.group_key(trade.account, trade.symbol) for trade in self._trades}
        if _book_moves(state, on, keys):
            # The finished replay's holdings are not those of that day: replay it.
            self._exact = _replayed(state, on, self._requests, self._trades)
            return
        self._parts, consumed = _plan(state, on, self._requests)
        if state.policy.same_day_count and _sold_shares_replace(
            state, on, self._trades, self._parts
        ):
            self._exact = _replayed(state, on, self._requests, self._trades)
        else:
            self._washes = _match(state, on, self._trades, self._parts, consumed)

    def disallowed(self) -> tuple[Decimal, ...]:
        """Return each sale's `disallowed`, exactly as its preview would give it."""
        if self._exact is not None:
            return tuple(preview.disallowed for preview in self._exact)
        totals = [Decimal(0)] * len(self._parts)
        # Each piece's washes summed first, as its record sums them. The sums are exact, so
        # the total, down to its exponent, is the one the preview's records add up to.
        for (n, _), washes in self._washes.items():
            if washes:
                totals[n] += sum((w.disallowed for w in washes), _ZERO)
        return tuple(totals)

    def previews(self) -> tuple[SalePreview, ...]:
        """Return the preview of each sale, in the order requested."""
        if self._exact is not None:
            return self._exact
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


def _sales(state: LedgerState, on: date, requests: Sequence[SaleRequest]) -> list[Trade]:
    """Return the requested sales as trades; one per account and symbol."""
    seen: set[tuple[str, str]] = set()
    trades: list[Trade] = []
    for request in requests:
        key = (request.account, request.symbol)
        if key in seen:
            raise TaxDataError(PREVIEW_ID, "symbol", f"{key[1]} is sold twice in {key[0]}")
        seen.add(key)
        trades.append(_trade(state, on, request))
    return trades


def _plan(
    state: LedgerState, on: date, requests: Sequence[SaleRequest]
) -> tuple[list[list[_Part]], dict[int, Decimal]]:
    """Return the pieces each sale relieves, and the shares they take of each piece."""
    chosen_parts: list[list[_Part]] = []
    consumed: dict[int, Decimal] = {}
    for request in requests:
        method = request.method or state.policy.method_for(request.account)
        held = state.holdings.get((request.account, request.symbol), [])
        price = request.proceeds / request.qty
        chosen = select_pieces(held, PREVIEW_ID, request.qty, method, request.picks, on, price)
        for piece, take in chosen:
            consumed[id(piece)] = take
        chosen_parts.append(_parts(chosen, request))
    return chosen_parts, consumed


def _book_moves(state: LedgerState, on: date, keys: set[tuple[str, str]]) -> bool:
    """Say whether the book has trades of the groups `keys` that the sales would change.

    When it has, the quick what-if over the finished replay may be wrong, in both
    directions, and the sales' groups are replayed instead.
    """
    sales = state.sales
    # A sale of the group that day: its losses were settled without these sales, and a loss
    # of theirs from an older lot would settle first and take its replacements.
    for sale in sales[bisect_left(sales, on, key=lambda sale: sale.trade.date) :]:
        if sale.trade.date > on:
            break
        if state.group_key(sale.trade.account, sale.trade.symbol) in keys:
            return True
    # A trade of the group after that day: the finished replay holds lots bought later, and
    # settled later losses that these sales' losses would come before.
    later = state.trades[bisect_right(state.trades, on, key=lambda trade: trade.date) :]
    if any(state.group_key(trade.account, trade.symbol) in keys for trade in later):
        return True
    # A split after that day: the finished replay's lots are in shares not yet split then.
    return any(split.date > on for split in state.splits_of(keys))


def _sold_shares_replace(
    state: LedgerState, on: date, trades: Sequence[Trade], parts: Sequence[Sequence[_Part]]
) -> bool:
    """Say whether shares the sales relieve may replace a loss of theirs (same-day counted)."""
    # Shares these sales relieve replace a loss of theirs bought before them (same group,
    # bought within the 30 days before): the quick what-if counts only shares still held.
    first_loss: dict[tuple[str, str], tuple[date, int]] = {}
    for trade, relieved in zip(trades, parts, strict=True):
        if not state.washable(trade.account):
            continue
        key = state.group_key(trade.account, trade.symbol)
        for piece, _, proceeds, basis, _ in relieved:
            known = first_loss.get(key)
            if basis > proceeds and (known is None or piece.block.key < known):
                first_loss[key] = piece.block.key
    if not first_loss:
        return False
    recent = on - _SPAN
    for trade, relieved in zip(trades, parts, strict=True):
        oldest = first_loss.get(state.group_key(trade.account, trade.symbol))
        if oldest is None:
            continue
        for piece, *_ in relieved:
            block = piece.block
            if block.trade.date >= recent and block.key > oldest:
                return True
    return False


def _replayed(
    state: LedgerState, on: date, requests: Sequence[SaleRequest], trades: Sequence[Trade]
) -> tuple[SalePreview, ...]:
    """Return the previews from a replay of the sales' groups with the sales made on `on`.

    Only the trades of the sales' groups matter to them: lots are relieved per account and
    symbol, and losses are matched within a group. Raise `TaxDataError` when the sales leave
    a later trade of the book impossible (a sale of shares they sold).
    """
    keys = {state.group_key(trade.account, trade.symbol) for trade in trades}
    history = state.trades_of(keys)
    taken = {t.id for t in history}
    replay = LedgerState(state.policy)
    sales = []
    for n, (request, trade) in enumerate(zip(requests, trades, strict=True)):
        sale_id = f"{PREVIEW_ID}-{n}"
        while sale_id in taken:
            sale_id += "'"
        sales.append(replace(trade, id=sale_id))
        if request.method is not None:
            replay.trade_methods[sale_id] = request.method
    try:
        replay.run([*history, *sales, *state.splits_of(keys)])
    except TaxDataError as exc:
        if exc.trade_id in {sale.id for sale in sales}:  # the what-if's own sale: say so
            raise TaxDataError(PREVIEW_ID, exc.field_name, exc.problem) from None
        raise
    realized = {sale.id: sale for sale in replay.sales}
    return tuple(
        SalePreview(
            trade.account,
            trade.symbol,
            on,
            trade.qty,
            request.method or state.policy.method_for(trade.account),
            tuple(_as_preview(piece) for piece in realized[sale.id].pieces),
        )
        for request, trade, sale in zip(requests, trades, sales, strict=True)
    )


def _as_preview(piece: RelievedPiece) -> RelievedPiece:
    """Return a replayed piece with its washes carrying the what-if's sale id."""
    if not piece.washes:
        return piece
    return replace(piece, washes=tuple(replace(w, sale_id=PREVIEW_ID) for w in piece.washes))


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
