"""The replay's sweep: trades in order, lots relieved, losses matched with replacements day by day.

A day's trades run in their given order: buys add lots, sells relieve lots (with the bases
as they stand). When the day's trades are done, its taxable losses are settled in order of
the loss lots' acquisition (Treas. Reg. §1.1091-1(b)), each against purchases from 30 days
before to 30 days after, future ones included, so a sale's result is final when its day is.
Per-group indexes and bisection keep a replay of 100,000 trades to a few seconds.
"""

from __future__ import annotations

__all__ = [
    "LedgerState",
    "Selection",
    "relieved_piece",
    "select_pieces",
    "split_places",
    "wash_adjustment",
]

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import groupby

from daemon.core.domain import AccountType, Side
from daemon.core.progress import Progress, no_progress
from daemon.core.tax.dates import WINDOW_DAYS, is_long_term
from daemon.core.tax.pieces import Block, Piece, split_money
from daemon.core.tax.relief import rank
from daemon.core.tax.types import (
    SPLIT_PLACES,
    LotMethod,
    LotPick,
    RealizedSale,
    RelievedPiece,
    Split,
    TaxDataError,
    TaxPolicy,
    Term,
    Trade,
    View,
    WashAdjustment,
)
from daemon.core.tax.wash import Group, disallowed_amounts, plan_matches, replacement_start

_ZERO = Decimal(0)

Selection = list[tuple[Piece, Decimal]]
"""Pieces a sale takes and how many shares of each, in the order relieved."""


@dataclass(slots=True, eq=False)
class _Relieved:
    piece: Piece
    proceeds: Decimal
    washes: list[WashAdjustment]


@dataclass(slots=True, eq=False)
class _Gone:
    """A piece sold on the day being settled, and where its relieved record lives."""

    relieved: _Relieved
    sale: list[_Relieved]
    seq: int
    trade: Trade
    index: int


_Pending = list[tuple[int, Trade, list[_Relieved]]]
_Loss = tuple[tuple[date, int], int, int, int, Trade, _Relieved]
"""A relieved piece to settle: its lot's place, the sale's, the piece's, a tie-break."""


def _check(trade: Trade) -> None:
    if not trade.id:
        raise TaxDataError("(no id)", "id", "every trade needs an id")
    if not trade.account:
        raise TaxDataError(trade.id, "account", "is empty")
    if not trade.symbol:
        raise TaxDataError(trade.id, "symbol", "is empty")
    if not trade.qty.is_finite() or trade.qty <= 0:
        raise TaxDataError(trade.id, "qty", f"must be a positive number, not {trade.qty}")
    if not trade.amount.is_finite() or trade.amount < 0:
        raise TaxDataError(trade.id, "amount", f"must be zero or more, not {trade.amount}")
    if trade.lots and trade.side is Side.BUY:
        raise TaxDataError(trade.id, "lot", "only a sell names the lots it relieves")
    for pick in trade.lots:
        if pick.qty is not None and (not pick.qty.is_finite() or pick.qty <= 0):
            raise TaxDataError(trade.id, "lot", f"quantity must be positive, not {pick.qty}")


def select_pieces(
    held: Sequence[Piece],
    trade_id: str,
    qty: Decimal,
    method: LotMethod,
    picks: Sequence[LotPick],
    on: date,
    price: Decimal,
) -> Selection:
    """Return the pieces a sale of `qty` takes from `held` (in order of acquisition).

    Named lots come first (a pick without a quantity takes what the sale still needs from
    that lot), then `method` for the rest. Raise `TaxDataError` when the account holds too few
    shares, or a named lot is not held or holds less than named.
    """
    if not picks:
        if method in _IN_ORDER:
            # Held pieces are kept in order of acquisition: FIFO and LIFO need no ranking.
            pieces = held[::-1] if method is LotMethod.LIFO else held
            taken, remaining = _take_in_order(pieces, qty)
            short = remaining > 0
        else:
            taken, short = _take_ranked(rank(held, method, on, price), qty)
        if short:
            total = sum((p.qty for p in held), _ZERO)
            raise TaxDataError(trade_id, "qty", f"sells {qty} but only {total} are held")
        return taken
    return _select_named(held, trade_id, qty, method, picks, on, price)


def _select_named(
    held: Sequence[Piece],
    trade_id: str,
    qty: Decimal,
    method: LotMethod,
    picks: Sequence[LotPick],
    on: date,
    price: Decimal,
) -> Selection:
    total = sum((p.qty for p in held), _ZERO)
    if total < qty:
        raise TaxDataError(trade_id, "qty", f"sells {qty} but only {total} are held")
    by_source: dict[str, list[Piece]] = {}
    for piece in held:
        by_source.setdefault(piece.block.trade.id, []).append(piece)
    chosen = _Chosen()
    for pick in picks:
        pieces = by_source.get(pick.source_id, [])
        if not pieces:
            raise TaxDataError(trade_id, "lot", f"lot {pick.source_id} is not held")
        have = sum((chosen.free(p) for p in pieces), Decimal(0))
        if pick.qty is not None and have < pick.qty:
            raise TaxDataError(
                trade_id, "lot", f"lot {pick.source_id} holds {have}, not {pick.qty}"
            )
        want = qty - chosen.total if pick.qty is None else min(pick.qty, qty - chosen.total)
        for piece in pieces:
            want -= chosen.take(piece, want)
    if chosen.total < qty:
        for piece in rank(held, method, on, price):
            chosen.take(piece, qty - chosen.total)
            if chosen.total == qty:
                break
    return [(piece, take) for piece, take in chosen.items.values()]


_IN_ORDER = frozenset({LotMethod.FIFO, LotMethod.SPECIFIC, LotMethod.LIFO})


def _take_in_order(pieces: Sequence[Piece], qty: Decimal) -> tuple[Selection, Decimal]:
    """Return the first pieces that cover `qty`, and how many shares they fall short."""
    chosen: Selection = []
    remaining = qty
    for piece in pieces:
        take = piece.qty if piece.qty < remaining else remaining
        chosen.append((piece, take))
        remaining -= take
        if not remaining:
            break
    return chosen, remaining


def _take_ranked(ranked: Sequence[Piece], qty: Decimal) -> tuple[Selection, bool]:
    """Return what `_Chosen` would take from `ranked` with nothing named, and if it fell short.

    The arithmetic is `_Chosen`'s, so quantities keep the same exponents (`5` vs `5.00`).
    """
    chosen: Selection = []
    total = Decimal(0)
    for piece in ranked:
        take = min(piece.qty - _ZERO, qty - total)
        chosen.append((piece, take))
        total += take
        if total == qty:
            return chosen, False
    return chosen, True


class _Chosen:
    """Shares taken so far from each piece, in the order first taken."""

    __slots__ = ("items", "total")

    def __init__(self) -> None:
        self.items: dict[int, tuple[Piece, Decimal]] = {}
        self.total = Decimal(0)

    def free(self, piece: Piece) -> Decimal:
        taken = self.items.get(id(piece))
        return piece.qty - (taken[1] if taken else Decimal(0))

    def take(self, piece: Piece, want: Decimal) -> Decimal:
        take = min(self.free(piece), want)
        if take > 0:
            taken = self.items.get(id(piece))
            self.items[id(piece)] = (piece, take + (taken[1] if taken else Decimal(0)))
            self.total += take
        return max(take, Decimal(0))


class LedgerState:
    """The replay's working state; `daemon.core.tax.engine.TaxBook` reads it once the replay
    is done."""

    def __init__(self, policy: TaxPolicy) -> None:
        self.policy = policy
        self.holdings: dict[tuple[str, str], list[Piece]] = {}
        self.groups: dict[tuple[str, str], Group] = {}
        self.blocks: list[Block] = []
        self.account_types: dict[str, AccountType] = {}
        self.sales: list[RealizedSale] = []
        self._block_of: dict[int, Block] = {}
        self._group_keys: dict[tuple[str, str], tuple[str, str]] = {}
        self.trades: list[Trade] = []
        """Every trade, in the order replayed (by date; a day's in the given order)."""
        self.trade_methods: dict[str, LotMethod] = {}
        """Lot methods of single sales that differ from their account's (a what-if's)."""
        self._by_group: dict[tuple[str, str], list[int]] | None = None
        self._gone: dict[int, _Gone] = {}
        self._gone_blocks: list[Block] = []
        self._losses: list[_Loss] = []
        self._tie = 0
        self._ids: set[str] = set()
        self.splits: list[Split] = []
        """Every split, by date; each applied at the start of its day (`_split`)."""
        self._split_days: dict[tuple[str, str, date], Split] = {}
        """Each account's split of a symbol on a day (one: twice would scale its lots twice)."""
        self._splits_of: dict[str, dict[date, Split]] = {}
        """Each symbol's splits by day, whichever account recorded them (`scale`)."""

    def group_key(self, account: str, symbol: str) -> tuple[str, str]:
        """Return the key of the purchases a loss in `account` of `symbol` is matched against."""
        key = self._group_keys.get((account, symbol))
        if key is None:
            if self.policy.view is View.BROKER:
                key = (account, symbol)
            else:
                key = ("", self.policy.identical.key(symbol))
            self._group_keys[(account, symbol)] = key
        return key

    def trades_of(self, keys: Iterable[tuple[str, str]]) -> list[Trade]:
        """Return the trades of the groups `keys` (see `group_key`), in the order replayed."""
        if self._by_group is None:
            # Built on the first what-if that needs it: most books are never asked.
            self._by_group = {}
            for n, trade in enumerate(self.trades):
                key = self.group_key(trade.account, trade.symbol)
                self._by_group.setdefault(key, []).append(n)
        found = sorted(n for key in set(keys) for n in self._by_group.get(key, ()))
        return [self.trades[n] for n in found]

    def washable(self, account: str) -> bool:
        """Say whether a loss in `account` can be washed (only taxable losses are deductible)."""
        return self.account_types[account] is AccountType.TAXABLE

    def run(self, trades: Iterable[Trade | Split], progress: Progress = no_progress) -> None:
        """Replay `trades` (in date order; the given order within a day) into this state,
        telling `progress` how many are done after each day. A `Split` among them applies
        before the trades of its day."""
        bought_or_sold: list[Trade] = []
        for item in trades:
            if isinstance(item, Split):
                self._add_split(item)
            else:
                bought_or_sold.append(item)
        ordered = self._load(bought_or_sold, first_seq=0)
        self.trades = [trade for _, trade in ordered]
        splits = iter(self.splits)
        split = next(splits, None)
        done, total = 0, len(ordered)
        progress(done, total)
        for day, items in groupby(ordered, key=lambda item: item[1].date):
            while split is not None and split.date <= day:
                self._split(split)
                split = next(splits, None)
            done += self._run_day(day, list(items))
            progress(done, total)
        while split is not None:
            self._split(split)
            split = next(splits, None)

    def _add_split(self, split: Split) -> None:
        if not split.id:
            raise TaxDataError("(no id)", "id", "every split needs an id")
        if split.id in self._ids:
            raise TaxDataError(split.id, "id", "appears more than once")
        if split.new <= 0 or split.old <= 0 or split.new == split.old:
            raise TaxDataError(
                split.id, "ratio", f"{split.ratio} is not two different positive numbers"
            )
        key = (split.account, split.symbol, split.date)
        if key in self._split_days:
            raise TaxDataError(
                split.id,
                "id",
                f"splits {split.symbol} in {split.account} on {split.date}, as "
                f"{self._split_days[key].id} does: a split appears more than once",
            )
        # A split is the security's: every account that records it records the same ratio.
        known = self._splits_of.setdefault(split.symbol, {}).setdefault(split.date, split)
        if (known.new, known.old) != (split.new, split.old):
            raise TaxDataError(
                split.id,
                "ratio",
                f"{split.ratio} split of {split.symbol} on {split.date} in {split.account}, "
                f"but {known.id} records a {known.ratio} split of it that day in {known.account}",
            )
        self._ids.add(split.id)
        self._split_days[key] = split
        self.splits.append(split)
        self.splits.sort(key=lambda s: s.date)

    def _split(self, split: Split) -> None:
        """Turn the shares of `split.symbol` held in `split.account` into new shares.

        Only the account's: the ledger records a split for each account whose lots it
        changes (not one whose lots are in new shares already).

        Each purchase's held shares are scaled together (`Split.scaled`), its pieces in
        cumulative steps so they add up to that exactly (the ledger scales a lot's remaining
        shares the same way); cost, adjusted basis and holding periods stay as they are.
        """
        held = self.holdings.get((split.account, split.symbol), [])
        blocks: dict[int, Block] = {}
        for piece in held:
            blocks.setdefault(id(piece.block), piece.block)
        for block in blocks.values():
            whole = sum((p.qty for p in block.pieces), _ZERO)
            before = after = _ZERO
            for piece in block.pieces:
                before += piece.qty
                upto = split.scaled(before) if before != whole else split.scaled(whole)
                piece.qty = upto - after
                after = upto
            block.available = sum((p.qty for p in block.pieces if not p.used), _ZERO)

    def scale(self, symbol: str, after: date, upto: date) -> Fraction:
        """Return how many shares of `symbol` each share after the splits up to `after` is,
        after the splits up to `upto` (1 when none is between).

        A split is the security's: one recorded in any account counts, once, whichever
        account the shares are in (Treas. Reg. §1.1091-1(c): shares bought after it replace
        shares sold before it in proportion, in every account of the household).
        """
        factor = Fraction(1)
        for day, split in self._splits_of.get(symbol, {}).items():
            if after < day <= upto:
                factor *= Fraction(split.new, split.old)
        return factor

    def splits_of(self, keys: Iterable[tuple[str, str]]) -> list[Split]:
        """Return the splits of the symbols of the groups `keys` (see `group_key`), by date,
        whichever account recorded them."""
        wanted = {symbols for _, symbols in keys}
        return [s for s in self.splits if self._symbols_key(s.symbol) in wanted]

    def _symbols_key(self, symbol: str) -> str:
        """Return the part of `group_key` that names the symbols (the account's is its own)."""
        return self.group_key("", symbol)[1]

    def extend(self, trades: Sequence[Trade]) -> bool:
        """Replay one more day's `trades` on top of this state, as if replayed with the rest.

        Only when that gives what a replay of everything would: the trades share one date
        after every trade replayed so far, and none is a purchase within 30 days after a loss
        sale of its group (whose result it could change: a replacement bought later washes
        an earlier loss). Otherwise return False with the state untouched: replay everything.
        """
        if not trades:
            return True
        if self.splits:
            return False  # a split's day would need applying first: replay everything
        day = trades[0].date
        if any(t.date != day for t in trades) or (self.trades and day <= self.trades[-1].date):
            return False
        buys = {self.group_key(t.account, t.symbol) for t in trades if t.side is Side.BUY}
        if buys and self._recent_loss_in(buys, day):
            return False
        ordered = self._load(trades, first_seq=len(self.trades))
        self.trades.extend(trades)
        self._by_group = None  # rebuilt by the next what-if that needs it
        self._run_day(day, ordered)
        return True

    def _recent_loss_in(self, groups: set[tuple[str, str]], day: date) -> bool:
        """Say whether a sale in the 30 days before `day` realized a loss in a washable
        account in one of `groups` (washed in full or not: a new purchase may replace it)."""
        first = day - timedelta(days=WINDOW_DAYS)
        for sale in reversed(self.sales):
            trade = sale.trade
            if trade.date < first:
                return False
            if (
                self.group_key(trade.account, trade.symbol) in groups
                and self.washable(trade.account)
                and any(piece.loss_before_wash > 0 for piece in sale.pieces)
            ):
                return True
        return False

    def _run_day(self, day: date, items: list[tuple[int, Trade]]) -> int:
        """Replay one day's trades in their order, then settle its losses; return how many."""
        pending: _Pending = []
        for seq, trade in items:
            if trade.side is Side.BUY:
                self._hold(self._block_of[seq])
            else:
                relieved = self._relieve(trade)
                pending.append((seq, trade, relieved))
                if self.policy.same_day_count:
                    self._keep_gone(seq, trade, relieved)
        self._settle(day, pending)
        return len(items)

    def _load(self, trades: Iterable[Trade], *, first_seq: int) -> list[tuple[int, Trade]]:
        ordered = sorted(enumerate(trades, start=first_seq), key=lambda item: item[1].date)
        for seq, trade in ordered:
            _check(trade)
            if trade.id in self._ids:
                raise TaxDataError(trade.id, "id", "appears more than once")
            self._ids.add(trade.id)
            known = self.account_types.setdefault(trade.account, trade.account_type)
            if known is not trade.account_type:
                raise TaxDataError(
                    trade.id,
                    "account_type",
                    f"names account {trade.account}, which is {known} in an earlier trade",
                )
            if trade.side is Side.BUY:
                block = Block(trade, seq)
                self._block_of[seq] = block
                self.blocks.append(block)
                key = self.group_key(trade.account, trade.symbol)
                group = self.groups.get(key)
                if group is None:
                    group = self.groups[key] = Group()
                group.add(block)
        return ordered

    def _hold(self, block: Block) -> None:
        block.bought = True
        trade = block.trade
        self.holdings.setdefault((trade.account, trade.symbol), []).extend(block.pieces)

    def _relieve(self, trade: Trade) -> list[_Relieved]:
        held = self.holdings.get((trade.account, trade.symbol), [])
        method = self.trade_methods.get(trade.id) or self.policy.method_for(trade.account)
        price = trade.amount / trade.qty
        chosen = select_pieces(held, trade.id, trade.qty, method, trade.lots, trade.date, price)
        relieved = []
        taken = allotted = _ZERO
        for piece, take in chosen:
            taken += take
            upto = split_money(trade.amount, taken, trade.qty)
            part = self._detach(held, piece, take)
            relieved.append(_Relieved(part, upto - allotted, []))
            allotted = upto
        return relieved

    def _detach(self, held: list[Piece], piece: Piece, take: Decimal) -> Piece:
        block = piece.block
        if not piece.used:
            block.available -= take
        if take < piece.qty:
            return piece.split(take)
        held.remove(piece)
        block.pieces.remove(piece)
        return piece

    def _keep_gone(self, seq: int, trade: Trade, relieved: list[_Relieved]) -> None:
        """List the sale's pieces with their blocks: shares sold today can replace a loss."""
        for index, r in enumerate(relieved):
            block = r.piece.block
            if not block.gone:
                self._gone_blocks.append(block)
            block.gone.append(r.piece)
            self._gone[id(r.piece)] = _Gone(r, relieved, seq, trade, index)

    def _settle(self, day: date, pending: _Pending) -> None:
        # Settled in the order of the loss lots' acquisition (Reg. §1.1091-1(b)). When shares
        # sold today count as replacements, a piece that absorbs a loss can turn into a loss
        # itself: every piece is looked at, in that order, with its basis as it then stands
        # (a replacement is always bought after the loss it absorbs, so it comes later).
        every = self.policy.same_day_count
        losses: list[_Loss] = []
        for seq, trade, relieved in pending:
            if not self.washable(trade.account):
                continue
            for index, r in enumerate(relieved):
                if every or r.piece.adjusted_basis > r.proceeds:
                    losses.append((r.piece.block.key, seq, index, self._next_tie(), trade, r))
        heapq.heapify(losses)
        self._losses = losses
        while losses:
            *_, trade, loss = heapq.heappop(losses)
            if loss.piece.adjusted_basis > loss.proceeds:
                self._wash(day, trade, loss)
        for _, trade, relieved in pending:
            self.sales.append(RealizedSale(trade, tuple(_relieved_piece(r, day) for r in relieved)))
        for block in self._gone_blocks:
            block.gone.clear()
        self._gone_blocks.clear()
        self._gone.clear()

    def _next_tie(self) -> int:
        self._tie += 1
        return self._tie

    def _wash(self, day: date, trade: Trade, loss: _Relieved) -> None:
        piece = loss.piece
        group = self.groups.get(self.group_key(trade.account, trade.symbol))
        if group is None:
            return
        scale = None
        if self.splits:

            def scale(block: Block) -> Fraction:
                bought = block.trade
                return self.scale(bought.symbol, day, bought.date)

        matches = plan_matches(group, piece.block, piece.qty, day, self.policy, {}, scale)
        takes = [take for _, take in matches]
        if scale is not None:
            matches = _on_split_places(matches, scale)
            # Replacement shares bought after a split count in the loss's shares.
            takes = [_in_old_shares(take, scale(used.block)) for used, take in matches]
        amounts = disallowed_amounts(piece.adjusted_basis - loss.proceeds, piece.qty, takes)
        for (replacement, take), amount in zip(matches, amounts, strict=True):
            used = self._use(replacement, take)
            loss.washes.append(self._adjust(day, trade, piece, used, amount))

    def _use(self, piece: Piece, take: Decimal) -> Piece:
        gone = self._gone.get(id(piece))
        if gone is not None:
            return self._use_gone(piece, take, gone)
        block = piece.block
        block.available -= take
        used = piece
        if take < piece.qty:
            used = piece.split(take)
            block.pieces.insert(block.pieces.index(piece), used)
            if block.bought:
                trade = block.trade
                held = self.holdings[(trade.account, trade.symbol)]
                held.insert(held.index(piece), used)
        used.used = True
        return used

    def _use_gone(self, piece: Piece, take: Decimal, gone: _Gone) -> Piece:
        """Use `take` shares of a piece sold today; split its sale's record if only part."""
        used = piece
        if take < piece.qty:
            whole = piece.qty
            used = piece.split(take)
            block = piece.block
            block.gone.insert(block.gone.index(piece), used)
            record = gone.relieved
            proceeds = split_money(record.proceeds, take, whole)
            part = _Relieved(used, proceeds, [])
            record.proceeds -= proceeds
            gone.sale.insert(gone.sale.index(record), part)
            self._gone[id(used)] = _Gone(part, gone.sale, gone.seq, gone.trade, gone.index)
            if self.washable(gone.trade.account):
                heapq.heappush(
                    self._losses,
                    (block.key, gone.seq, gone.index, self._next_tie(), gone.trade, part),
                )
        used.used = True
        return used

    def _adjust(
        self, day: date, trade: Trade, loss: Piece, used: Piece, amount: Decimal
    ) -> WashAdjustment:
        replacement = used.block.trade
        permanent = replacement.account_type is not AccountType.TAXABLE
        start = None
        if not permanent:
            start = replacement_start(
                self.policy.holding_period, loss.holding_period_start, day, used
            )
            used.adjusted_basis += amount
            used.holding_period_start = start
        return wash_adjustment(trade, loss, used, used.qty, amount, start)


def _on_split_places(
    matches: list[tuple[Piece, Decimal]], scale: Callable[[Block], Fraction]
) -> list[tuple[Piece, Decimal]]:
    """Return `matches` with part of a purchase matched across a split kept to 12 places.

    The loss's shares in a purchase's shares (1 old share after a 1-for-3 split: 1/3) need
    not be a decimal; the replacement's part is rounded as `Split.scaled` rounds a lot's
    shares, so lots never hold 28-digit pieces. What that leaves of the loss unmatched is
    less than one step of the purchase's shares (`TaxBook.loss_windows` counts it matched).
    """
    kept = []
    for piece, wanted in matches:
        take = wanted
        if take < piece.qty and scale(piece.block) != 1:
            take = min(split_places(take), piece.qty)
        if take > 0:
            kept.append((piece, take))
    return kept


def split_places(qty: Decimal) -> Decimal:
    """Return `qty` to 12 decimal places when it has more, as `Split.scaled` keeps shares."""
    exponent = qty.as_tuple().exponent
    if isinstance(exponent, int) and exponent < _SPLIT_EXPONENT:
        return qty.quantize(SPLIT_PLACES, ROUND_HALF_EVEN)
    return qty


_SPLIT_EXPONENT = -12  # SPLIT_PLACES


def _in_old_shares(qty: Decimal, factor: Fraction) -> Decimal:
    if factor == 1:
        return qty
    return qty * factor.denominator / factor.numerator


def wash_adjustment(
    trade: Trade, loss: Piece, used: Piece, qty: Decimal, amount: Decimal, start: date | None
) -> WashAdjustment:
    """Return the record of `qty` shares of `used` replacing `loss` shares sold by `trade`."""
    replacement = used.block.trade
    # Positional, in field order: one record per wash match, in the replay's inner loop.
    return WashAdjustment(
        trade.id,
        trade.date,
        loss.block.trade.id,
        replacement.id,
        replacement.account,
        replacement.account_type,
        replacement.symbol,
        replacement.date,
        qty,
        amount,
        replacement.account_type is not AccountType.TAXABLE,
        start,
    )


def _relieved_piece(relieved: _Relieved, sold: date) -> RelievedPiece:
    piece = relieved.piece
    return relieved_piece(piece, piece.qty, relieved.proceeds, sold, tuple(relieved.washes))


def relieved_piece(
    piece: Piece,
    qty: Decimal,
    proceeds: Decimal,
    sold: date,
    washes: tuple[WashAdjustment, ...],
    basis: Decimal | None = None,
    cost: Decimal | None = None,
) -> RelievedPiece:
    """Return the public record of `qty` shares of `piece` sold on `sold`."""
    term = Term.LONG if is_long_term(piece.holding_period_start, sold) else Term.SHORT
    disallowed = permanent = _ZERO
    if washes:
        disallowed = sum((w.disallowed for w in washes), _ZERO)
        permanent = sum((w.disallowed for w in washes if w.permanent), _ZERO)
    # Positional, in field order: one record per relieved piece, the replay's hottest call.
    return RelievedPiece(
        piece.block.trade.id,
        qty,
        piece.cost if cost is None else cost,
        piece.adjusted_basis if basis is None else basis,
        piece.block.trade.date,
        piece.holding_period_start,
        proceeds,
        term,
        disallowed,
        permanent,
        washes,
    )
