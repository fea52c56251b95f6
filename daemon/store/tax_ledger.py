"""The household tax-lot ledger: a repository over the `tax_*` tables, inside one unit of work.

The ledger stores facts only: each acquisition (a lot as bought), each sale (with its net
proceeds) and which lots each sale relieved, fixed when the sale was recorded, and each stock
split. Quantities are as of their day: a lot's as bought, a sale's and its reliefs' as sold
(after a split, in new shares); `remaining` scales a lot's shares across the splits since.
Everything the law derives from them (wash-sale adjustments, holding periods, realized gains)
comes from the tax engine replaying `trades()`, so nothing derived can drift from the facts.
"""

from __future__ import annotations

__all__ = [
    "HouseholdAccount",
    "LedgerLot",
    "LedgerSale",
    "TaxLedger",
    "household_accounts",
    "lot_trade_id",
    "sale_trade_id",
    "split_trade_id",
    "tax_policy",
]

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from daemon.config.tax_policy import HouseholdAccount, household_accounts, tax_policy
from daemon.core.domain import AccountType, Side
from daemon.core.errors import DataError
from daemon.core.money import cents
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.types import LotMethod, LotPick, Split, TaxDataError, TaxPolicy, Trade
from daemon.store.tax_models import (
    TaxLotChoiceRow,
    TaxLotRow,
    TaxReliefRow,
    TaxSaleRow,
    TaxSplitRow,
)

_ZERO = Decimal(0)


def lot_trade_id(lot_id: int) -> str:
    """Return the engine's trade id of a ledger lot (its `source_id` in the engine's lots)."""
    return f"lot-{lot_id}"


def sale_trade_id(sale_id: int) -> str:
    return f"sale-{sale_id}"


def split_trade_id(split_id: int) -> str:
    return f"split-{split_id}"


def lot_id_of(trade_id: str) -> int | None:
    """Return the ledger id behind an engine trade id of a lot, or None if it is not one."""
    prefix, _, number = trade_id.partition("-")
    return int(number) if prefix == "lot" and number.isdigit() else None


@dataclass(frozen=True, slots=True)
class LedgerLot:
    id: int
    account: str
    symbol: str
    acquired: date
    qty: Decimal
    cost: Decimal
    source: str
    source_id: str
    order_ref: str
    note: str


@dataclass(frozen=True, slots=True)
class LedgerSale:
    id: int
    account: str
    symbol: str
    sold: date
    qty: Decimal
    proceeds: Decimal
    source: str
    source_id: str
    harvest: bool
    note: str
    reliefs: tuple[tuple[int, Decimal], ...]
    """(lot id, quantity) for each lot the sale relieved."""

    @property
    def matched_qty(self) -> Decimal:
        return sum((q for _, q in self.reliefs), _ZERO)

    @property
    def matched_proceeds(self) -> Decimal:
        """Return the proceeds of the matched shares: pro rata, in cents, as the engine
        splits a lot's money, so that they and the unmatched shares' add up to the whole."""
        matched = self.matched_qty
        if matched == self.qty:
            return self.proceeds
        return cents(self.proceeds * matched / self.qty)


class TaxLedger:
    """Read and add ledger facts in the caller's session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_lot(
        self,
        *,
        account: str,
        symbol: str,
        acquired: date,
        qty: Decimal,
        cost: Decimal,
        source: str,
        source_id: str,
        order_ref: str,
        at: datetime,
        note: str = "",
    ) -> LedgerLot | None:
        """Add an acquisition; return None when `source_id` is already in the account's ledger."""
        if self._has(TaxLotRow, account, source_id):
            return None
        row = TaxLotRow(
            account=account,
            symbol=symbol,
            acquired=acquired,
            qty=qty,
            cost=cost,
            source=source,
            source_id=source_id,
            order_ref=order_ref,
            note=note,
            recorded_at=at,
        )
        self._session.add(row)
        self._session.flush()
        return _lot(row)

    def add_sale(
        self,
        *,
        account: str,
        symbol: str,
        sold: date,
        qty: Decimal,
        proceeds: Decimal,
        source: str,
        source_id: str,
        reliefs: Sequence[tuple[int, Decimal]],
        at: datetime,
        harvest: bool = False,
        note: str = "",
    ) -> LedgerSale | None:
        """Add a sale and the lots it relieved; None when `source_id` is already recorded."""
        if self._has(TaxSaleRow, account, source_id):
            return None
        row = TaxSaleRow(
            account=account,
            symbol=symbol,
            sold=sold,
            qty=qty,
            proceeds=proceeds,
            source=source,
            source_id=source_id,
            harvest=harvest,
            note=note,
            recorded_at=at,
        )
        self._session.add(row)
        self._session.flush()
        for lot_id, relieved in reliefs:
            self._session.add(TaxReliefRow(sale_id=row.id, lot_id=lot_id, qty=relieved))
        self._session.flush()
        return _sale(row, tuple(reliefs))

    def _has(self, table: type[TaxLotRow] | type[TaxSaleRow], account: str, source_id: str) -> bool:
        found = self._session.execute(
            select(table.id).where(table.account == account, table.source_id == source_id)
        ).first()
        return found is not None

    def add_split(
        self, *, account: str, symbol: str, effective: date, new: int, old: int, at: datetime
    ) -> Split | None:
        """Add a split of `symbol` in `account` (`new` shares for `old`, in lowest terms);
        return None when that very split is recorded already.

        Raise `DataError` when another ratio is recorded for the same account, symbol and day.
        """
        row = self._session.scalars(
            select(TaxSplitRow).where(
                TaxSplitRow.account == account,
                TaxSplitRow.symbol == symbol,
                TaxSplitRow.effective == effective,
            )
        ).first()
        if row is not None:
            if (row.new, row.old) == (new, old):
                return None
            raise DataError(
                f"a {row.new}:{row.old} split of {symbol} on {effective} is already recorded in "
                f"{account}, not {new}:{old}"
            )
        row = TaxSplitRow(
            account=account, symbol=symbol, effective=effective, new=new, old=old, recorded_at=at
        )
        self._session.add(row)
        self._session.flush()
        return _split(row)

    def splits(self, account: str | None = None, symbol: str | None = None) -> list[Split]:
        """Return the recorded splits (of one account and/or symbol), oldest first."""
        query = select(TaxSplitRow).order_by(TaxSplitRow.effective, TaxSplitRow.id)
        if account is not None:
            query = query.where(TaxSplitRow.account == account)
        if symbol is not None:
            query = query.where(TaxSplitRow.symbol == symbol)
        return [_split(row) for row in self._session.scalars(query)]

    def has_source(self, account: str, source_id: str) -> bool:
        """Say whether a lot or sale with this source id is already in the account's ledger."""
        return self._has(TaxLotRow, account, source_id) or self._has(TaxSaleRow, account, source_id)

    def lots(self, account: str | None = None) -> list[LedgerLot]:
        """Return every recorded acquisition (of one account), oldest first."""
        query = select(TaxLotRow).order_by(TaxLotRow.acquired, TaxLotRow.id)
        if account is not None:
            query = query.where(TaxLotRow.account == account)
        return [_lot(row) for row in self._session.scalars(query)]

    def sales(self, account: str | None = None) -> list[LedgerSale]:
        """Return every recorded sale (of one account) with its reliefs, oldest first."""
        query = select(TaxSaleRow).order_by(TaxSaleRow.sold, TaxSaleRow.id)
        if account is not None:
            query = query.where(TaxSaleRow.account == account)
        rows = list(self._session.scalars(query))
        reliefs: dict[int, list[tuple[int, Decimal]]] = {}
        relief_query = select(TaxReliefRow).order_by(TaxReliefRow.id)
        if account is not None:
            relief_query = relief_query.where(
                TaxReliefRow.sale_id.in_(select(TaxSaleRow.id).where(TaxSaleRow.account == account))
            )
        for relief in self._session.scalars(relief_query):
            reliefs.setdefault(relief.sale_id, []).append((relief.lot_id, relief.qty))
        return [_sale(row, tuple(reliefs.get(row.id, ()))) for row in rows]

    def remaining(self, account: str, symbol: str, on: date | None = None) -> dict[int, Decimal]:
        """Return the unrelieved quantity of each of the account's lots of `symbol` (> 0 only).

        Only lots acquired on or before `on` count (default: every lot). In the shares of day
        `on` (default: after every recorded split): a lot's shares are
        scaled by each split after it was acquired, as the engine scales them (`Split.scaled`
        of the lot's shares then held), and a relief counts in the shares of its sale's day.
        """
        query = select(TaxLotRow).where(TaxLotRow.account == account, TaxLotRow.symbol == symbol)
        if on is not None:
            # A lot bought after the day is not held on it: a sale then cannot relieve it (a
            # back-dated sale, or a sale relieved again after a late split, took one and the
            # ledger could no longer be replayed).
            query = query.where(TaxLotRow.acquired <= on)
        rows = list(self._session.scalars(query))
        splits = [s for s in self.splits(account, symbol) if on is None or s.date <= on]
        used = self._session.execute(
            select(TaxReliefRow.lot_id, TaxReliefRow.qty, TaxSaleRow.sold)
            .join(TaxSaleRow, TaxSaleRow.id == TaxReliefRow.sale_id)
            .where(TaxReliefRow.lot_id.in_([row.id for row in rows]))
        )
        reliefs: dict[int, list[tuple[date, Decimal]]] = {}
        for lot_id, qty, sold in used:
            reliefs.setdefault(lot_id, []).append((sold, qty))
        lots: dict[int, Decimal] = {}
        for row in rows:
            # Each lot through its days: reliefs before a split in old shares, after in new.
            events: list[tuple[date, int, Split | Decimal]] = [
                (s.date, 0, s) for s in splits if s.date > row.acquired
            ]
            events += [(sold, 1, qty) for sold, qty in reliefs.get(row.id, ())]
            held = row.qty
            for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
                held = event.scaled(held) if isinstance(event, Split) else held - event
            lots[row.id] = held
        return {lot_id: qty for lot_id, qty in lots.items() if qty > 0}

    def held(self, account: str) -> dict[str, Decimal]:
        """Return the quantity the ledger holds per symbol in an account.

        Shares bought or sold before a split of the symbol count in its new shares.
        """
        bought = _sum_by(
            self._session.execute(
                select(TaxLotRow.symbol, TaxLotRow.qty).where(TaxLotRow.account == account)
            ).all()
        )
        sold = _sum_by(
            self._session.execute(
                select(TaxSaleRow.symbol, TaxSaleRow.qty).where(TaxSaleRow.account == account)
            ).all()
        )
        splits = self.splits(account)
        if splits:
            bought, sold = self._held_after_splits(account, splits)
        for symbol, qty in sold.items():
            bought[symbol] = bought.get(symbol, _ZERO) - qty
        return {s: q for s, q in bought.items() if q != 0}

    def _held_after_splits(
        self, account: str, splits: Sequence[Split]
    ) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        def after(symbol: str, on: date, qty: Decimal) -> Decimal:
            for split in splits:
                if split.symbol == symbol and split.date > on:
                    qty = split.scaled(qty)
            return qty

        bought: dict[str, Decimal] = {}
        for lot in self.lots(account):
            bought[lot.symbol] = bought.get(lot.symbol, _ZERO) + after(
                lot.symbol, lot.acquired, lot.qty
            )
        sold: dict[str, Decimal] = {}
        for sale in self.sales(account):
            sold[sale.symbol] = sold.get(sale.symbol, _ZERO) + after(
                sale.symbol, sale.sold, sale.qty
            )
        return bought, sold

    def trades(self, accounts: Mapping[str, HouseholdAccount]) -> list[Trade | Split]:
        """Return the household's trades for the engine, every sale with its relieved lots,
        and its recorded splits.

        A sale recorded with fewer relieved shares than it sold (its lots were never imported)
        enters the engine with the relieved shares only and their part of the proceeds, pro
        rata in cents (`LedgerSale.matched_proceeds`); `sales()` keeps the full fact, and
        `trimtab tax report` lists the unmatched shares.
        """
        trades: list[Trade] = []
        for lot in self.lots():
            account = _known(accounts, lot.account)
            trades.append(
                Trade(
                    id=lot_trade_id(lot.id),
                    date=lot.acquired,
                    account=lot.account,
                    account_type=account.type,
                    symbol=lot.symbol,
                    side=Side.BUY,
                    qty=lot.qty,
                    amount=lot.cost,
                    owner=account.owner,
                    order_id=lot.order_ref,
                )
            )
        for sale in self.sales():
            matched = sale.matched_qty
            if matched <= 0:
                continue
            account = _known(accounts, sale.account)
            trades.append(
                Trade(
                    id=sale_trade_id(sale.id),
                    date=sale.sold,
                    account=sale.account,
                    account_type=account.type,
                    symbol=sale.symbol,
                    side=Side.SELL,
                    qty=matched,
                    amount=sale.matched_proceeds,
                    lots=tuple(LotPick(lot_trade_id(lot_id), qty) for lot_id, qty in sale.reliefs),
                    owner=account.owner,
                )
            )
        return [*trades, *self.splits()]

    def check_replays(
        self, accounts: Mapping[str, HouseholdAccount], policy: TaxPolicy, change: str, fix: str
    ) -> None:
        """Raise `DataError` when the household's ledger, with the facts this session added,
        cannot be replayed; it names the `change` and the `fix`, and the caller commits nothing.

        Every source checks what it adds, and this is the backstop: a fact the engine cannot
        replay would fail every cycle of every taxable account until it is removed by hand.
        """
        try:
            replay_trades(self.trades(accounts), policy)
        except TaxDataError as exc:
            raise DataError(
                f"{change} would leave the tax ledger unable to be replayed ({exc}); "
                f"nothing was recorded: {fix}"
            ) from None

    def save_choices(
        self, cycle_id: str, symbol: str, picks: Iterable[tuple[int, Decimal]], *, harvest: bool
    ) -> None:
        """Record the lots a planned sell of `symbol` in cycle `cycle_id` is meant to relieve."""
        for lot_id, qty in picks:
            self._session.merge(
                TaxLotChoiceRow(
                    cycle_id=cycle_id, symbol=symbol, lot_id=lot_id, qty=qty, harvest=harvest
                )
            )
        self._session.flush()

    def choices(self, cycle_id: str, symbol: str) -> tuple[list[tuple[int, Decimal]], bool]:
        """Return the planned lots of a cycle's sell of `symbol`, and whether it is a harvest."""
        rows = list(
            self._session.scalars(
                select(TaxLotChoiceRow)
                .where(TaxLotChoiceRow.cycle_id == cycle_id, TaxLotChoiceRow.symbol == symbol)
                .order_by(TaxLotChoiceRow.lot_id)
            )
        )
        return [(r.lot_id, r.qty) for r in rows], any(r.harvest for r in rows)

    def harvested(self, year: int, account: str | None = None) -> list[LedgerSale]:
        """Return the year's harvest sales (of one account)."""
        return [s for s in self.sales(account) if s.harvest and s.sold.year == year]

    def count(self) -> int:
        return int(self._session.execute(select(func.count(TaxLotRow.id))).scalar_one())


def _known(accounts: Mapping[str, HouseholdAccount], name: str) -> HouseholdAccount:
    account = accounts.get(name)
    if account is not None:
        return account
    # A ledger account no longer in the configuration still counts (its trades happened);
    # without its type it is treated as taxable, the conservative reading for wash sales.
    return HouseholdAccount(name, AccountType.TAXABLE, "self", False, LotMethod.FIFO)


def _sum_by(rows: Iterable[Row[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for symbol, qty in rows:
        totals[symbol] = totals.get(symbol, _ZERO) + qty
    return totals


def _lot(row: TaxLotRow) -> LedgerLot:
    return LedgerLot(
        id=row.id,
        account=row.account,
        symbol=row.symbol,
        acquired=row.acquired,
        qty=row.qty,
        cost=row.cost,
        source=row.source,
        source_id=row.source_id,
        order_ref=row.order_ref,
        note=row.note,
    )


def _split(row: TaxSplitRow) -> Split:
    return Split(
        id=split_trade_id(row.id),
        date=row.effective,
        account=row.account,
        symbol=row.symbol,
        new=row.new,
        old=row.old,
    )


def _sale(row: TaxSaleRow, reliefs: tuple[tuple[int, Decimal], ...]) -> LedgerSale:
    return LedgerSale(
        id=row.id,
        account=row.account,
        symbol=row.symbol,
        sold=row.sold,
        qty=row.qty,
        proceeds=row.proceeds,
        source=row.source,
        source_id=row.source_id,
        harvest=row.harvest,
        note=row.note,
        reliefs=reliefs,
    )
