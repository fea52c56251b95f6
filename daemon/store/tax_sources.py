"""Where ledger facts come from: the broker's fills, reinvested dividends, and declared trades.

Every source is idempotent: a fill, a reinvestment or a declaration is keyed by a source id
unique in its account, so reading the same history twice records nothing twice. A sale's
relieved lots are fixed here, when it is recorded: the lots trimtab chose for it before the
order was sent (specific identification), then the account's lot method for the rest, as the
broker applies it: on the basis the broker knows (`daemon.core.tax.relief`).
"""

from __future__ import annotations

__all__ = [
    "UNMATCHED",
    "RecordedSale",
    "Reinvestment",
    "book_reinvestments",
    "broker_book",
    "broker_reinvestments",
    "declare_trade",
    "record_fills",
    "record_reinvestments",
    "relieve",
    "relieve_again",
]

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from adapters.base import DividendHistory, ReinvestmentHistory
from daemon.config.settings import SYMBOL
from daemon.core.domain import Side
from daemon.core.errors import DataError
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.numbers import canonical
from daemon.core.tax.relief import BROKER_RANKED, broker_view, rank
from daemon.core.tax.types import LotMethod, Split, TaxPolicy, View, amount_realized
from daemon.store.models import FillRow, OrderIntentRow
from daemon.store.tax_ledger import HouseholdAccount, TaxLedger, lot_id_of
from daemon.store.tax_models import TaxLotRow, TaxReliefRow, TaxSaleRow

_ZERO = Decimal(0)
REINVESTMENT_OVERLAP = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RecordedSale:
    """A sale just added to the ledger and the lots it relieved (for the audit)."""

    sale_id: int
    source_id: str
    symbol: str
    sold: date
    qty: Decimal
    proceeds: Decimal
    lots: tuple[tuple[int, Decimal], ...]
    """(lot id, quantity) relieved."""
    unmatched: Decimal
    """Shares sold that no recorded lot covered (import the account's older lots)."""
    harvest: bool
    method: str


def relieve(
    ledger: TaxLedger,
    *,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    account: str,
    symbol: str,
    qty: Decimal,
    on: date,
    proceeds: Decimal,
    chosen: Sequence[tuple[int, Decimal]] = (),
    book: TaxBook | None = None,
) -> tuple[list[tuple[int, Decimal]], Decimal, str]:
    """Pick the lots a sale relieves: `chosen` lots first, then the account's method.

    Return (lot id, quantity) pairs, the quantity no lot covers, and the method used. The
    method ranks lots as the broker does, by the basis and holding periods it knows: `book`
    is a broker-view replay of the account's trades (`broker_book`, replayed here when not
    given). The household's washes from other accounts or symbols move no lot's rank (tax
    rules §1.8, §1.9); they count in the gains of the lots relieved. Quantities always come
    from the ledger itself, so a book from before other sales of the same batch only affects
    the order of lots, and only for `hifo` and `min_tax`.
    """
    remaining = ledger.remaining(account, symbol, on)
    picks: list[tuple[int, Decimal]] = []
    need = qty
    for lot_id, wanted in chosen:
        take = min(wanted, remaining.get(lot_id, _ZERO), need)
        if take > 0:
            picks.append((lot_id, take))
            remaining[lot_id] -= take
            need -= take
    method = str(policy.method_for(account)) if not picks else "specific"
    rest = min(need, sum(remaining.values(), _ZERO))
    if rest > 0:
        if book is None:
            book = broker_book(ledger, accounts, policy, account)
        elif book.policy.view is not View.BROKER:
            raise ValueError("lots are ranked on a broker-view book (broker_book)")
        ranked = _ranked_lots(book, policy, account, symbol, on, proceeds / qty)
        taken: dict[int, Decimal] = {}
        for lot_id, held in ranked:
            take = min(held, remaining.get(lot_id, _ZERO) - taken.get(lot_id, _ZERO), rest)
            if take > 0:
                taken[lot_id] = taken.get(lot_id, _ZERO) + take
                rest -= take
                need -= take
        picks += sorted(taken.items())
        if method == "specific":
            method = f"specific, then {_method(policy, account)}"
    return picks, need, method


UNMATCHED = " shares had no recorded lot"
"""The end of the note of a sale recorded with shares no lot covered."""


def relieve_again(
    session: Session,
    *,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    sales: Sequence[TaxSaleRow],
    scale: Callable[[Decimal], Decimal] = lambda qty: qty,
) -> tuple[int, ...]:
    """Relieve the lots of recorded `sales` (of one account and symbol) again, oldest first,
    by the account's method: after a split recorded late or lots imported late, the lots
    they relieved are not the ones they would. Under `specific` the lots each named come
    first, their shares passed through `scale`. Return the sales' ledger ids.
    """
    ledger = TaxLedger(session)
    ordered = sorted(sales, key=lambda s: (s.sold, s.id))
    ids = [sale.id for sale in ordered]
    # Every sale's reliefs go first: in old shares, one could name more than a lot holds.
    before: dict[int, list[tuple[int, Decimal]]] = {}
    for relief in session.scalars(
        select(TaxReliefRow).where(TaxReliefRow.sale_id.in_(ids)).order_by(TaxReliefRow.id)
    ):
        before.setdefault(relief.sale_id, []).append((relief.lot_id, relief.qty))
    session.execute(delete(TaxReliefRow).where(TaxReliefRow.sale_id.in_(ids)))
    session.flush()
    for sale in ordered:
        named = policy.method_for(sale.account) is LotMethod.SPECIFIC
        chosen = [(lot, scale(qty)) for lot, qty in before.get(sale.id, ())]
        picks, unmatched, _ = relieve(
            ledger,
            accounts=accounts,
            policy=policy,
            account=sale.account,
            symbol=sale.symbol,
            qty=sale.qty,
            on=sale.sold,
            proceeds=sale.proceeds,
            chosen=chosen if named else (),
        )
        for lot_id, qty in picks:
            session.add(TaxReliefRow(sale_id=sale.id, lot_id=lot_id, qty=qty))
        if not sale.note or sale.note.endswith(UNMATCHED):
            sale.note = f"{unmatched}{UNMATCHED}" if unmatched else ""
        session.flush()
    return tuple(ids)


def broker_book(
    ledger: TaxLedger, accounts: Mapping[str, HouseholdAccount], policy: TaxPolicy, account: str
) -> TaxBook:
    """Replay the account's trades as its broker sees them: its own washes, no one else's.

    Every account's splits are replayed with them, as `TaxBook.broker_lots` does: a split is
    the security's, so one recorded only in another account (this one sold out before it)
    still counts the account's buy-backs in new shares; it scales no lot here.
    """
    own = [t for t in ledger.trades(accounts) if t.account == account or isinstance(t, Split)]
    return replay_trades(own, broker_view(policy))


def _method(policy: TaxPolicy, account: str) -> LotMethod:
    # Specific identification without names is FIFO (Treas. Reg. §1.1012-1(c)(1)).
    method = policy.method_for(account)
    return LotMethod.FIFO if method is LotMethod.SPECIFIC else method


def _ranked_lots(
    book: TaxBook,
    policy: TaxPolicy,
    account: str,
    symbol: str,
    on: date,
    price: Decimal,
) -> list[tuple[int, Decimal]]:
    """Return the account's lots of `symbol` in the order its method relieves them.

    The broker-view replay gives each lot the wash-adjusted basis and holding period the
    broker knows, which HIFO and minimum-tax rank by; a lot split by a partial wash appears
    once per piece.
    """
    held = list(book.lots(account, symbol))
    ranked = []
    for lot in rank(held, _method(policy, account), on, price):
        lot_id = lot_id_of(lot.source_id)
        if lot_id is None:
            raise DataError(f"the tax engine holds an unknown lot {lot.source_id}")
        ranked.append((lot_id, lot.qty))
    return ranked


def record_fills(
    session: Session,
    *,
    account: str,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    timezone: ZoneInfo,
    at: datetime,
) -> list[RecordedSale]:
    """Add the account's recorded fills the ledger lacks: buys as lots, sells with their lots.

    Fills are taken from the `fills` table that reconciliation keeps (each fill once,
    trimtab's own and outside orders alike), oldest first, so a buy and a sell of one cycle
    enter in the order they happened.
    """
    ledger = TaxLedger(session)
    known_lots = select(TaxLotRow.source_id).where(TaxLotRow.account == account)
    known_sales = select(TaxSaleRow.source_id).where(TaxSaleRow.account == account)
    fills = session.scalars(
        select(FillRow)
        .where(
            FillRow.account == account,
            FillRow.fill_id.not_in(known_lots),
            FillRow.fill_id.not_in(known_sales),
        )
        .order_by(FillRow.at, FillRow.fill_id)
    ).all()
    recorded: list[RecordedSale] = []
    book: TaxBook | None = None
    lot_method = policy.method_for(account)
    for fill in fills:
        on = fill.at.astimezone(timezone).date()
        if fill.side == str(Side.BUY):
            ledger.add_lot(
                account=account,
                symbol=fill.symbol,
                acquired=on,
                qty=fill.qty,
                cost=fill.qty * fill.price + fill.commission,
                source="fill",
                source_id=fill.fill_id,
                order_ref=fill.broker_order_id or fill.client_order_id,
                at=at,
            )
            book = None  # a later sell must see this lot
            continue
        cycle_id = session.scalar(
            select(OrderIntentRow.cycle_id).where(
                OrderIntentRow.client_order_id == fill.client_order_id
            )
        )
        chosen, harvest = ledger.choices(cycle_id, fill.symbol) if cycle_id else ([], False)
        if lot_method is not LotMethod.SPECIFIC:
            # The broker relieves by its own method; trimtab's expectation is not a choice.
            chosen = []
        proceeds = amount_realized(fill.qty, fill.price, fill.commission)
        if book is None:
            # Replayed once for a run of sells, again after a buy in between, and after each
            # sell where the rank reads the basis or holding period: a sell can wash its loss
            # into a lot held (an adjusted basis, a longer holding period), and the next sell
            # must rank that lot as the broker does then (as `trimtab plan` folds them,
            # `daemon.cycle.unbooked`).
            book = broker_book(ledger, accounts, policy, account)
        picks, unmatched, method = relieve(
            ledger,
            accounts=accounts,
            policy=policy,
            account=account,
            symbol=fill.symbol,
            qty=fill.qty,
            on=on,
            proceeds=proceeds,
            chosen=chosen,
            book=book,
        )
        sale = ledger.add_sale(
            account=account,
            symbol=fill.symbol,
            sold=on,
            qty=fill.qty,
            proceeds=proceeds,
            source="fill",
            source_id=fill.fill_id,
            reliefs=picks,
            at=at,
            harvest=harvest,
            note=f"{unmatched} shares had no recorded lot" if unmatched else "",
        )
        assert sale is not None  # the query above excluded recorded fills
        if lot_method in BROKER_RANKED:
            book = None
        recorded.append(
            RecordedSale(
                sale_id=sale.id,
                source_id=fill.fill_id,
                symbol=fill.symbol,
                sold=on,
                qty=fill.qty,
                proceeds=proceeds,
                lots=tuple(picks),
                unmatched=unmatched,
                harvest=harvest,
                method=method,
            )
        )
    return recorded


@dataclass(frozen=True, slots=True)
class Reinvestment:
    """A dividend reinvested in shares, as the broker reports it: the lot it is recorded as."""

    source_id: str
    """The broker's id of the activity: the lot's source id and order reference."""
    symbol: str
    on: date
    qty: Decimal
    cost: Decimal


def broker_reinvestments(
    broker: object, *, since: datetime, timezone: ZoneInfo
) -> list[Reinvestment]:
    """Return the dividend reinvestments the broker reports from a week before `since`, in
    the order they are recorded; none when it cannot report them. Nothing is recorded."""
    if isinstance(broker, DividendHistory):
        start = since.astimezone(timezone).date() - REINVESTMENT_OVERLAP
        return [
            Reinvestment(a.activity_id, a.symbol, a.on, a.qty, abs(a.net_amount))
            for a in broker.dividends(start)
            if a.kind == "reinvestment" and a.qty is not None and a.qty > 0
        ]
    if isinstance(broker, ReinvestmentHistory):
        return [
            Reinvestment(
                f.fill_id,
                f.symbol,
                f.at.astimezone(timezone).date(),
                f.qty,
                f.qty * f.price + f.commission,
            )
            for f in broker.reinvestments(since - REINVESTMENT_OVERLAP)
        ]
    return []


def record_reinvestments(
    session: Session,
    broker: object,
    *,
    account: str,
    since: datetime,
    timezone: ZoneInfo,
    at: datetime,
) -> int:
    """Add the dividend reinvestments the broker reports (if it can); return how many were new.

    `trimtab plan` reads the same (`broker_reinvestments`) and replays those the ledger
    lacks in memory (`daemon.cycle.unbooked`).
    """
    reinvestments = broker_reinvestments(broker, since=since, timezone=timezone)
    return book_reinvestments(session, reinvestments, account=account, at=at)


def book_reinvestments(
    session: Session, reinvestments: Sequence[Reinvestment], *, account: str, at: datetime
) -> int:
    """Add reinvestments read by `broker_reinvestments` as lots, each once (by its activity
    id); return how many were new. Reconciliation books the ones it read this way."""
    ledger = TaxLedger(session)
    added = 0
    for found in reinvestments:
        lot = ledger.add_lot(
            account=account,
            symbol=found.symbol,
            acquired=found.on,
            qty=found.qty,
            cost=found.cost,
            source="reinvestment",
            source_id=found.source_id,
            order_ref=found.source_id,
            at=at,
            note="dividend reinvestment",
        )
        added += lot is not None
    return added


@dataclass(frozen=True, slots=True)
class Declared:
    """A trade declared for an outside account, as recorded."""

    kind: str
    """lot or sale"""
    id: int
    source_id: str
    lots: tuple[tuple[int, Decimal], ...] = ()
    unmatched: Decimal = _ZERO


def declare_trade(
    session: Session,
    *,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    account: str,
    symbol: str,
    side: Side,
    on: date,
    qty: Decimal,
    amount: Decimal,
    note: str,
    at: datetime,
) -> Declared:
    """Record a trade in an account trimtab does not trade (spouse, another broker, a plan).

    Raise `DataError` naming the problem: an account that is not a declared outside account,
    the same trade declared twice, or a sale of shares the account's ledger does not hold.
    """
    household = accounts.get(account)
    if household is None or household.managed:
        outside = sorted(n for n, a in accounts.items() if not a.managed)
        raise DataError(
            f"account {account!r} is not an outside account; declare it under "
            f"[tax.outside_accounts] (declared so far: {', '.join(outside) or 'none'}); "
            "trades of trimtab's own accounts come from the broker"
        )
    if not SYMBOL.fullmatch(symbol):
        # " VTI" would never match VTI's wash sales; "" left a trade no command could replay.
        raise DataError(
            f"symbol {symbol!r} is not a ticker in upper case (e.g. VTI): a letter, then "
            "letters, digits, '.' or '-'"
        )
    if qty <= 0 or amount < 0:
        raise DataError(f"quantity must be above 0 and amount at least 0 (got {qty}, {amount})")
    key = "|".join(
        [account, symbol, str(side), on.isoformat(), canonical(qty), canonical(amount), note]
    )
    source_id = "declared-" + hashlib.sha256(key.encode()).hexdigest()[:20]
    ledger = TaxLedger(session)
    facts = (account, symbol, on, qty, amount, note)
    if ledger.has_source(account, source_id) or facts in _declared(session, side, account):
        raise DataError(
            f"this {side} of {qty} {symbol} on {on} in {account} is already declared; "
            "to declare a second identical trade, give it a different --note"
        )
    if side is Side.BUY:
        lot = ledger.add_lot(
            account=account,
            symbol=symbol,
            acquired=on,
            qty=qty,
            cost=amount,
            source="declared",
            source_id=source_id,
            order_ref=source_id,
            at=at,
            note=note,
        )
        assert lot is not None
        _check_replays(ledger, accounts, policy, side, qty, symbol, on, account)
        return Declared("lot", lot.id, source_id)
    picks, unmatched, _ = relieve(
        ledger,
        accounts=accounts,
        policy=policy,
        account=account,
        symbol=symbol,
        qty=qty,
        on=on,
        proceeds=amount,
    )
    if unmatched:
        raise DataError(
            f"{account} holds only {qty - unmatched} {symbol} on {on} in the ledger, not {qty}: "
            "check the sale's date (a sale relieves only lots acquired on or before it), or "
            "declare (or import) the purchases first"
        )
    sale = ledger.add_sale(
        account=account,
        symbol=symbol,
        sold=on,
        qty=qty,
        proceeds=amount,
        source="declared",
        source_id=source_id,
        reliefs=picks,
        at=at,
        note=note,
    )
    assert sale is not None
    _check_replays(ledger, accounts, policy, side, qty, symbol, on, account)
    return Declared("sale", sale.id, source_id, tuple(picks))


def _declared(session: Session, side: Side, account: str) -> set[tuple[object, ...]]:
    """Return the account's declared buys or sells by value: those recorded before their
    key hashed the numbers canonically hashed them as typed (10.0 is 10)."""
    table = TaxLotRow if side is Side.BUY else TaxSaleRow
    day = TaxLotRow.acquired if side is Side.BUY else TaxSaleRow.sold
    money = TaxLotRow.cost if side is Side.BUY else TaxSaleRow.proceeds
    query = select(table.account, table.symbol, day, table.qty, money, table.note).where(
        table.account == account, table.source == "declared"
    )
    return {tuple(row) for row in session.execute(query)}


def _check_replays(
    ledger: TaxLedger,
    accounts: Mapping[str, HouseholdAccount],
    policy: TaxPolicy,
    side: Side,
    qty: Decimal,
    symbol: str,
    on: date,
    account: str,
) -> None:
    ledger.check_replays(
        accounts,
        policy,
        f"this {side} of {qty} {symbol} on {on} in {account}",
        "check its date and quantity against the lots held then (trimtab tax lots)",
    )
