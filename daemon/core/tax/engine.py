"""The engine's entry point: replay a trade list into a `TaxBook`, then ask it questions.

The book is a function of the whole trade list: a purchase made after a loss sale changes
that sale, so callers replay everything again when a trade is added (100,000 trades replay in
a few seconds), or grow a `GrowingLedger` a day at a time, which replays only what a new day
could change. Every question is pure: what-ifs never change the book.
"""

from __future__ import annotations

__all__ = ["PREVIEW_ID", "GrowingLedger", "TaxBook", "replay_trades"]

import gc
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby

from daemon.core.domain import AccountType
from daemon.core.progress import Progress, no_progress
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.preview import PREVIEW_ID, SalesWhatIf, preview_sales
from daemon.core.tax.relief import broker_view
from daemon.core.tax.sweep import LedgerState, split_places
from daemon.core.tax.types import (
    SPLIT_PLACES,
    LossWindow,
    Lot,
    LotMethod,
    LotPick,
    PurchaseWindow,
    RealizedSale,
    RelievedPiece,
    SalePreview,
    SaleRequest,
    Split,
    TaxPolicy,
    Trade,
    View,
    WashAdjustment,
)

_SPAN = timedelta(days=WINDOW_DAYS)


def replay_trades(
    trades: Iterable[Trade | Split],
    policy: TaxPolicy | None = None,
    *,
    progress: Progress = no_progress,
) -> TaxBook:
    """Replay `trades` (any order; same-day trades keep the given order) under `policy`.

    A `Split` among them changes the shares held at the start of its day (`Split`); sales
    before it keep their shares as sold, lots and sales after it are in the new shares.

    `progress` is told (trades replayed, trades in all) as the replay goes, day by day.

    Raise `TaxDataError`, naming the trade, for a list that cannot be replayed: duplicate ids,
    a sale of more shares than held (short sales are not supported), a named lot not held.
    """
    state = LedgerState(policy or TaxPolicy())
    with _collector_paused():
        state.run(trades, progress)
    return TaxBook(state)


class GrowingLedger:
    """A trade list that grows a day at a time (the backtest's), and its book after each day.

    `add(trades)` returns the book of every trade added so far: what `replay_trades` of the
    whole list gives, but made by replaying only the new day on top of the last book where
    that gives the same result (`LedgerState.extend`: the day comes after every earlier
    trade, and none of its purchases falls in the wash window of a loss sale of its group),
    else by replaying everything. A 20-year backtest adds a day's trades a thousand times;
    replaying everything each time is quadratic. A book returned earlier reads the state
    the next `add` changes: only the latest book is to be asked. No splits: the backtest's
    prices are adjusted for them already.
    """

    def __init__(self, policy: TaxPolicy | None = None) -> None:
        self._policy = policy or TaxPolicy()
        self._trades: list[Trade] = []
        self._state: LedgerState | None = None
        self.replays = 0
        """Whole replays made (the first `add`, and each day that could not extend)."""

    @property
    def trades(self) -> Sequence[Trade]:
        return self._trades

    def add(self, trades: Sequence[Trade]) -> TaxBook:
        """Add trades dated in order (a day's in the order made), none before those added
        already; return the book of every trade added so far."""
        self._trades.extend(trades)
        state = self._state
        if state is not None:
            try:
                if all(state.extend(list(day)) for _, day in groupby(trades, _trade_date)):
                    return TaxBook(state)
            except BaseException:
                self._state = None  # part of a day may be in it: replay everything next time
                raise
        self.replays += 1
        self._state = None
        state = LedgerState(self._policy)
        with _collector_paused():
            state.run(self._trades)
        self._state = state
        return TaxBook(state)


def _trade_date(trade: Trade) -> date:
    return trade.date


class _CollectorPause:
    """Hold off the cyclic garbage collector while replays build their records.

    A replay allocates hundreds of thousands of objects that all stay alive, so every full
    collection it would trigger walks them all for nothing (about 40% of a 100,000-trade
    replay). Nested and concurrent replays share one pause; the collector runs again when
    the last one ends, and only if it was running before the first began.
    """

    __slots__ = ("_count", "_lock", "_resume")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._count == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0 and self._resume:
                    gc.enable()


_collector_paused = _CollectorPause()


class TaxBook:
    """Realized sales, wash adjustments and open lots of one replay, and what-ifs over them."""

    __slots__ = ("_block_dates", "_broker", "_by_id", "_sale_dates", "_sales", "_state")

    def __init__(self, state: LedgerState) -> None:
        self._state = state
        self._broker: dict[tuple[str, str], tuple[Lot, ...]] = {}
        self._sales = tuple(state.sales)
        self._by_id = {sale.id: sale for sale in self._sales}
        self._sale_dates = [sale.trade.date for sale in self._sales]
        self._block_dates = [block.trade.date for block in state.blocks]

    @property
    def policy(self) -> TaxPolicy:
        return self._state.policy

    @property
    def sales(self) -> tuple[RealizedSale, ...]:
        """Return every sale, taxable or not, in the order sold."""
        return self._sales

    @property
    def adjustments(self) -> tuple[WashAdjustment, ...]:
        """Return every wash match, by sale in the order sold and by piece within a sale."""
        return tuple(w for sale in self._sales for w in sale.washes)

    def sale(self, sale_id: str) -> RealizedSale:
        """Return the sale with id `sale_id`; raise `KeyError` when there is none."""
        return self._by_id[sale_id]

    def account_type(self, account: str) -> AccountType | None:
        """Return the type of `account`, or None when no trade names it."""
        return self._state.account_types.get(account)

    def lots(self, account: str | None = None, symbol: str | None = None) -> tuple[Lot, ...]:
        """Return the open lots (of one account and/or symbol), in order of acquisition."""
        holdings = self._state.holdings
        if account is not None and symbol is not None:
            pieces = list(holdings.get((account, symbol), ()))
        else:
            pieces = [
                piece
                for (held_account, held_symbol), held in holdings.items()
                if account in (None, held_account) and symbol in (None, held_symbol)
                for piece in held
            ]
        pieces.sort(key=lambda piece: piece.block.key)
        return tuple(piece.to_lot() for piece in pieces)

    def broker_lots(self, account: str, symbol: str) -> tuple[Lot, ...]:
        """Return the open lots of `symbol` in `account` as its broker sees them.

        A broker's basis and holding periods reflect washes within the account and symbol
        only (`View.BROKER`); its HIFO and minimum-tax methods rank lots by them. The same
        as `lots(account, symbol)` in a broker-view book, or when no other account or symbol
        trades in the group; else the account's trades of the symbol replayed in the broker
        view (once per book).
        """
        key = (account, symbol)
        found = self._broker.get(key)
        if found is None:
            found = self.lots(account, symbol)
            if self.policy.view is not View.BROKER:
                state = self._state
                group = state.trades_of([state.group_key(account, symbol)])
                own: list[Trade | Split] = [
                    t for t in group if t.account == account and t.symbol == symbol
                ]
                if len(own) < len(group):
                    # Every account's splits of the symbol: one recorded in another account
                    # still splits the shares bought back here (`LedgerState.scale`).
                    own += [s for s in state.splits if s.symbol == symbol]
                    found = replay_trades(own, broker_view(self.policy)).lots(account, symbol)
            self._broker[key] = found
        return found

    def preview_sale(
        self,
        account: str,
        symbol: str,
        qty: Decimal,
        on: date,
        proceeds: Decimal,
        method: LotMethod | None = None,
        picks: Sequence[LotPick] = (),
    ) -> SalePreview:
        """Return what selling `qty` of `symbol` in `account` on `on` would relieve and realize.

        `proceeds` is the sale's net total. Lots are chosen as a real sale would choose them
        (`picks`, then `method`, by default the account's); losses are matched against
        purchases already in the book. The preview is what a replay with the sale added, after
        the trades of `on`, would give, also on a day whose losses the book has settled already
        (`daemon.core.tax.preview`). Raise `TaxDataError` for an unknown account, a sale of
        more than is held, or one that leaves a later sale in the book without its shares.
        """
        request = SaleRequest(account, symbol, qty, proceeds, method, tuple(picks))
        return preview_sales(self._state, on, (request,))[0]

    def what_if(self, on: date, requests: Sequence[SaleRequest]) -> SalesWhatIf:
        """Return the sales of one day worked out up to their washes, as `preview_sales` does.

        Its `disallowed()` says whether each sale would be washed and by how much; its
        `previews()` are `preview_sales(on, requests)`. For a caller that drops most of the
        sales it looks at (a guard deferring washed sales), the records are never built.
        """
        return SalesWhatIf(self._state, on, requests)

    def preview_sales(self, on: date, requests: Sequence[SaleRequest]) -> tuple[SalePreview, ...]:
        """Return what the sales of one day would do together, in the order requested.

        Unlike separate `preview_sale` calls, no sale's shares count as a replacement for
        another's loss (they are sold the same day), and the losses share the free
        replacement shares in the order of their lots' acquisition. One sale per account
        and symbol.
        """
        return preview_sales(self._state, on, requests)

    def loss_windows(self, as_of: date) -> tuple[LossWindow, ...]:
        """Return taxable loss sales of the last 30 days whose loss a purchase could still wash.

        A sale whose loss is matched in full already is left out: buying more washes nothing.
        Shares are as of `as_of`: a split since the sale scales them.
        """
        state = self._state
        windows = []
        for sale in self._sales[bisect_left(self._sale_dates, as_of - _SPAN) :]:
            if sale.trade.date > as_of or not state.washable(sale.trade.account):
                continue
            unwashed_qty = unwashed_loss = Decimal(0)
            for piece in _loss_pieces(sale.pieces):
                unwashed_qty += self._unmatched(sale, piece)
                unwashed_loss += piece.loss_before_wash - piece.disallowed
            if state.splits and unwashed_qty > 0:
                trade = sale.trade
                factor = state.scale(trade.symbol, trade.date, as_of)
                if factor != 1:
                    # In the shares of `as_of`, to the 12 places a split's shares are kept in.
                    unwashed_qty = split_places(
                        unwashed_qty * factor.numerator / factor.denominator
                    )
            if unwashed_qty > 0:
                windows.append(
                    LossWindow(
                        sale_id=sale.id,
                        account=sale.trade.account,
                        symbol=sale.trade.symbol,
                        symbols=self._symbols(sale.trade.symbol),
                        sale_date=sale.trade.date,
                        ends=sale.trade.date + _SPAN,
                        unwashed_qty=unwashed_qty,
                        unwashed_loss=unwashed_loss,
                    )
                )
        return tuple(windows)

    def _unmatched(self, sale: RealizedSale, piece: RelievedPiece) -> Decimal:
        """Return the shares of loss `piece` its washes left unmatched (in the sale's shares).

        A match across a split is kept to 12 places of the replacement's shares
        (`daemon.core.tax.sweep`): up to one such step per match is rounding, and the loss
        is matched in full (a window of 1E-28 shares would hold back buys for 30 days).
        """
        if not self._state.splits:
            return piece.qty - sum((w.qty for w in piece.washes), Decimal(0))
        matched = rounding = Decimal(0)
        for wash in piece.washes:
            factor = self._state.scale(
                wash.replacement_symbol, sale.trade.date, wash.replacement_acquired
            )
            if factor == 1:
                matched += wash.qty
            else:
                # The replacement's shares before the splits between the sale and the purchase.
                matched += wash.qty * factor.denominator / factor.numerator
                rounding += SPLIT_PLACES * factor.denominator / factor.numerator
        unmatched = piece.qty - matched
        return Decimal(0) if abs(unmatched) <= rounding else unmatched

    def purchase_windows(self, as_of: date) -> tuple[PurchaseWindow, ...]:
        """Return purchases of the last 30 days with shares that would wash a loss sale now.

        Only shares still held and not yet used as a replacement count. In the broker view
        such a purchase only matters to a loss in its own account.
        """
        windows = []
        blocks = self._state.blocks
        for block in blocks[bisect_left(self._block_dates, as_of - _SPAN) :]:
            trade = block.trade
            if trade.date > as_of:
                break
            if block.bought and block.available > 0:
                windows.append(
                    PurchaseWindow(
                        source_id=trade.id,
                        account=trade.account,
                        account_type=trade.account_type,
                        symbol=trade.symbol,
                        symbols=self._symbols(trade.symbol),
                        acquired=trade.date,
                        ends=trade.date + _SPAN,
                        available_qty=block.available,
                    )
                )
        return tuple(windows)

    def open_windows(self, as_of: date) -> tuple[LossWindow | PurchaseWindow, ...]:
        """Return every open window (loss sales and purchases) as of `as_of`, soonest end first."""
        windows: list[LossWindow | PurchaseWindow] = [
            *self.loss_windows(as_of),
            *self.purchase_windows(as_of),
        ]
        windows.sort(key=lambda w: w.ends)
        return tuple(windows)

    def _symbols(self, symbol: str) -> frozenset[str]:
        if self.policy.view is View.BROKER:
            return frozenset({symbol})
        return self.policy.identical.members(symbol)


def _loss_pieces(pieces: Iterable[RelievedPiece]) -> Iterable[RelievedPiece]:
    return (p for p in pieces if p.loss_before_wash > 0)
