"""Reconciliation: agree with the broker before trimtab plans anything, and after it trades.

The broker is the truth for positions, cash and orders. trimtab keeps the positions it last
agreed on (the book) and every fill the broker reported (deduplicated by fill id). A new
reconciliation expects book + new fills + new dividend reinvestments == the broker's
positions; a difference that neither explains moves the account to HALTED (or REDUCING, per
`risk.on_mismatch`) and is audited. It never assumes a flat or empty account: if the broker
cannot be read, the cycle aborts.

A dividend reinvested in shares is a buy no fill reports. A broker that reports them
(`DividendHistory` or `ReinvestmentHistory`, through `broker_reinvestments`) has them read
with the fills, from a week before where fills were last read; the ones read are booked as
tax lots in the same transaction (the cycle's only read of them: the tax ledger's lots come
from here), and a lot's activity id is what makes a reinvestment new: one the ledger holds
was counted (or taken into the book) before and explains nothing again. When they cannot be
read, none explains anything: a difference halts as before, and the reason says so.
"""

from __future__ import annotations

__all__ = [
    "PENDING_FILLS_WINDOW",
    "PENDING_FILL_WAITS",
    "PendingFill",
    "Reconciliation",
    "book_positions",
    "expected_positions",
    "fills_since_mark",
    "new_reinvestments",
    "pending_fills",
    "reconcile",
    "reinvestments_in_book_through",
    "reinvestments_since",
]

import dataclasses
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from adapters.base import Broker, DividendHistory, ReinvestmentHistory
from daemon.audit.events import (
    AuditKind,
    CountedReinvestment,
    Mismatch,
    OrderResult,
    PendingFillSeen,
    Reconciled,
)
from daemon.core.calendar import exchange_timezone
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Side,
    TradingState,
    merge_report,
)
from daemon.core.errors import TransientBrokerError
from daemon.cycle.unresolved import resolve_unresolved
from daemon.logs import Log
from daemon.store.audit_log import AuditLog
from daemon.store.book import BookStore
from daemon.store.db import Database, Transaction
from daemon.store.intents import IntentStore, StoredIntent
from daemon.store.tax_ledger import TaxLedger
from daemon.store.tax_sources import Reinvestment, book_reinvestments, broker_reinvestments
from daemon.store.trading_state import mark_reconciled, reading_mark, set_trading_state

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READ_ATTEMPTS = 3
FILL_OVERLAP = timedelta(days=1)
PENDING_FILLS_WINDOW = timedelta(days=2)
"""How long after an order was sent its reported fills explain shares while the broker lists
none of them: a lag of seconds or minutes is the broker's way (Alpaca's activities); fills
still missing after this are a fault that halts."""
PENDING_FILL_WAITS = (0.25, 0.5, 1.0)
"""Seconds waited, one after another, for pending fills before they are recorded as pending."""


@dataclass(frozen=True, slots=True)
class PendingFill:
    """Shares one of trimtab's orders filled, by the broker's report of the order, that the
    broker lists no fill for yet."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    qty: Decimal

    @property
    def signed(self) -> Decimal:
        """The change of the position: positive for a buy, negative for a sell."""
        return self.side.signed(self.qty)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    snapshot: AccountSnapshot
    new_fills: tuple[Fill, ...]
    external_fills: tuple[Fill, ...]
    external_orders: tuple[BrokerOrder, ...]
    mismatches: Mapping[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    """symbol -> (expected from book, fills and reinvestments, reported by the broker)"""
    baseline: bool = False
    busy_symbols: frozenset[str] = frozenset()
    """Symbols with an open order at the broker or an unresolved intent: no new order."""
    reinvestments: tuple[Reinvestment, ...] = ()
    """The new dividend reinvestments that explained shares like fills."""
    pending_fills: tuple[PendingFill, ...] = ()
    """Fills of trimtab's orders the broker reported but did not list yet: counted when listed."""


def reconcile(
    *,
    database: Database,
    broker: Broker,
    account: str,
    symbols: Collection[str],
    clock: Callable[[], datetime],
    log: Log,
    on_mismatch: TradingState,
    cycle_id: str | None,
    exchange: str,
    always_read_reinvestments: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Reconciliation:
    """Resolve unsettled intents, record new fills and reinvestments, and compare positions
    with the book.

    The dividend reinvestments are read every time unless `always_read_reinvestments` is
    False (after trading: trimtab's orders cause none, and the cycle read them before it
    planned); then only when the fills leave a difference. `sleep` waits for pending fills
    (`PENDING_FILL_WAITS`).
    """
    # An order of an earlier cycle that did not finish is cancelled; never one of this cycle.
    unresolved = resolve_unresolved(
        database=database, broker=broker, account=account, clock=clock, log=log, cycle_id=cycle_id
    )
    with database.transaction() as session:
        agreed = _Agreed.load(session, account, clock())
    # Re-read a day before the last fill seen: a fill reported late with an earlier time is
    # still found, and fill ids keep the overlap from counting anything twice.
    read_through = agreed.read_through
    since = read_through - FILL_OVERLAP if read_through is not None else EPOCH
    timezone = exchange_timezone(exchange)

    def reinvestments() -> Sequence[Reinvestment]:
        # From where the last reconciliation left the mark (a week further back).
        start = reinvestments_since(read_through)
        return broker_reinvestments(broker, since=start, timezone=timezone)

    read = _consistent_read(
        broker,
        symbols,
        since,
        agreed,
        reinvestments if _reports_reinvestments(broker) else None,
        always=always_read_reinvestments,
        sleep=sleep,
    )
    with database.transaction() as session:
        result = _record(
            session, account, read, unresolved, clock(), timezone, cycle_id, on_mismatch
        )
    for coid, order in read.reports.items():
        log.info("order_read_again", client_order_id=coid, status=str(order.status))
    if read.unread is not None:
        log.warning("reinvestments_unread", error=read.unread)
    if result.pending_fills:
        log.warning(
            "fills_pending",
            orders=[p.client_order_id for p in result.pending_fills],
            shares={
                p.client_order_id: f"{p.side} {p.qty} {p.symbol}" for p in result.pending_fills
            },
        )
    log.info(
        "reconciled",
        new_fills=len(result.new_fills),
        reinvestments=len(result.reinvestments),
        reinvestments_unread=read.unread is not None,
        external_fills=len(result.external_fills),
        external_orders=len(result.external_orders),
        mismatches=sorted(result.mismatches),
        pending_fills=len(result.pending_fills),
        baseline=result.baseline,
    )
    return result


def fills_since_mark(
    *, database: Database, broker: Broker, account: str, clock: Callable[[], datetime]
) -> Sequence[Fill]:
    """Return the broker's fills from where the next reconciliation reads them; record
    nothing (`trimtab plan` folds them into its tax replay, `daemon.cycle.unbooked`)."""
    with database.transaction() as session:
        read_through = reading_mark(session, account, clock()).fills_read_through
    return broker.fills(read_through - FILL_OVERLAP if read_through is not None else EPOCH)


def reinvestments_since(read_through: datetime | None) -> datetime:
    """Where reconciliation reads the broker's reinvestments from (`broker_reinvestments`
    goes a week further back): the newest fill it had read before, or the beginning."""
    return read_through if read_through is not None else EPOCH


def new_reinvestments(
    found: Sequence[Reinvestment],
    *,
    booked: Collection[str],
    fill_ids: Collection[str],
    in_book_through: date | None,
) -> tuple[Reinvestment, ...]:
    """Return the reinvestments of `found` that explain shares now, each activity once.

    Not one the ledger has `booked` (an earlier reconciliation read it: counted then, or its
    shares were in the broker's positions the book took), nor one whose id is a fill's (the
    fill counts), nor one dated up to `in_book_through` (the book took the broker's positions
    without reading them: its shares are in the book already).
    """
    seen: set[str] = set()
    new: list[Reinvestment] = []
    for reinvestment in found:
        key = reinvestment.source_id
        if key in seen or key in booked or key in fill_ids:
            continue
        seen.add(key)
        if in_book_through is not None and reinvestment.on <= in_book_through:
            continue
        new.append(reinvestment)
    return tuple(new)


def reinvestments_in_book_through(
    previous: date | None, *, asked: bool, read: bool, adopted: bool, today: date
) -> date | None:
    """Return through which day reinvestments not yet read are in the book already.

    `read`: every one the broker reports was read (and booked): none is. Otherwise, when the
    book `adopted` the broker's positions (a first reconciliation, or a difference) after
    the reinvestments were `asked` for and could not be read, those dated up to `today` are
    (a reinvestment of today reported later is then taken as in the book too: it halts
    rather than count twice). Else as `previous`: the book took nothing unexplained.
    """
    if read:
        return None
    if asked and adopted:
        return today
    return previous


def expected_positions(
    book: Mapping[str, Decimal],
    fills: Sequence[Fill],
    reinvestments: Sequence[Reinvestment],
    pending: Sequence[PendingFill] = (),
) -> dict[str, Decimal]:
    """Return symbol -> the book plus new `fills` (signed) plus new `reinvestments` plus
    `pending` fills (signed)."""
    expected = dict(book)
    for fill in fills:
        signed = fill.side.signed(fill.qty)
        expected[fill.symbol] = expected.get(fill.symbol, Decimal(0)) + signed
    for reinvestment in reinvestments:
        expected[reinvestment.symbol] = (
            expected.get(reinvestment.symbol, Decimal(0)) + reinvestment.qty
        )
    for waiting in pending:
        expected[waiting.symbol] = expected.get(waiting.symbol, Decimal(0)) + waiting.signed
    return expected


def pending_fills(
    reported: Sequence[StoredIntent], listed: Mapping[str, Decimal]
) -> tuple[PendingFill, ...]:
    """Return the shares of trimtab's `reported` orders the broker has not listed fills for.

    `reported`: intents the broker reported (some) shares filled for; `listed`: client order
    id -> the quantity of the fills the broker listed for it (recorded before, or new). An
    order whose listed fills reach its reported quantity (or pass it: the report was older)
    has none pending.
    """
    pending: list[PendingFill] = []
    for stored in reported:
        intent = stored.intent
        missing = stored.filled_qty - listed.get(intent.client_order_id, Decimal(0))
        if missing > 0 and stored.broker_order_id is not None:
            pending.append(
                PendingFill(
                    client_order_id=intent.client_order_id,
                    broker_order_id=stored.broker_order_id,
                    symbol=intent.symbol,
                    side=intent.side,
                    qty=missing,
                )
            )
    return tuple(pending)


def book_positions(
    reported: Mapping[str, Decimal], pending: Sequence[PendingFill]
) -> dict[str, Decimal]:
    """Return the book to keep: the broker's `reported` positions without the `pending`
    fills' shares, so those fills count once when the broker lists them."""
    book = dict(reported)
    for waiting in pending:
        book[waiting.symbol] = book.get(waiting.symbol, Decimal(0)) - waiting.signed
    return {symbol: qty for symbol, qty in book.items() if qty != 0}


def _listed(
    fills: Iterable[Fill], before: Mapping[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """Return client order id -> the quantity of `fills` listed for it, added to `before`."""
    listed = dict(before or {})
    for fill in fills:
        listed[fill.client_order_id] = listed.get(fill.client_order_id, Decimal(0)) + fill.qty
    return listed


def _reports_reinvestments(broker: object) -> bool:
    """Whether the broker reports dividend reinvestments (`broker_reinvestments` reads them)."""
    return isinstance(broker, DividendHistory | ReinvestmentHistory)


@dataclass(frozen=True, slots=True)
class _Agreed:
    """What trimtab last agreed on with the broker: read once, before the broker is read.

    Nothing else changes it meanwhile: one trimtab process at a time runs an account.
    """

    book: Mapping[str, Decimal]
    fill_ids: frozenset[str]
    baseline: bool
    """No reconciliation yet: there is no book to agree with."""
    read_through: datetime | None
    booked: frozenset[str]
    """Source ids of the account's ledger lots: a reinvestment among them was read before."""
    in_book_through: date | None
    """The last reconciliation's `reinvestments_in_book_through`."""
    recent: tuple[StoredIntent, ...] = ()
    """trimtab's orders of the last `PENDING_FILLS_WINDOW` the broker acknowledged, as last
    reported (`refreshed`)."""
    listed: Mapping[str, Decimal] = field(default_factory=dict)
    """Client order id of `recent` -> the quantity of its fills recorded so far."""

    @classmethod
    def load(cls, session: Transaction, account: str, now: datetime) -> _Agreed:
        mark = reading_mark(session, account, now)
        book = BookStore(session)
        latest = AuditLog(session).latest(AuditKind.RECONCILIATION, account)
        event = None if latest is None else latest.event
        sent = IntentStore(session).created_between(
            [account], since=now - PENDING_FILLS_WINDOW, until=now + PENDING_FILLS_WINDOW
        )
        recent = tuple(s for s in sent if s.broker_order_id is not None)
        listed = _listed(book.fills_of_orders([s.intent.client_order_id for s in recent]))
        return cls(
            book=book.positions(account),
            fill_ids=book.fill_ids(account),
            baseline=mark.reconciled_at is None,
            read_through=mark.fills_read_through,
            booked=frozenset(lot.source_id for lot in TaxLedger(session).lots(account)),
            in_book_through=(
                event.reinvestments_in_book_through if isinstance(event, Reconciled) else None
            ),
            recent=recent,
            listed=listed,
        )

    @property
    def reported(self) -> tuple[StoredIntent, ...]:
        """The orders of `recent` the broker reported shares filled for."""
        return tuple(s for s in self.recent if s.filled_qty > 0)

    @property
    def working(self) -> list[str]:
        """Client order ids of the orders of `recent` that may still fill."""
        return [s.intent.client_order_id for s in self.recent if s.status.is_open]

    def refreshed(
        self, orders: Mapping[str, BrokerOrder]
    ) -> tuple[_Agreed, dict[str, BrokerOrder]]:
        """Return these terms with the broker's `orders` (reports of `working`) folded in, as
        `IntentStore.apply` folds them, and the reports that changed an order."""
        recent: list[StoredIntent] = []
        changed: dict[str, BrokerOrder] = {}
        for stored in self.recent:
            order = orders.get(stored.intent.client_order_id)
            merged = (
                None
                if order is None
                else merge_report(stored.status, stored.filled_qty, order.status, order.filled_qty)
            )
            if order is None or merged is None:
                recent.append(stored)
                continue
            changed[stored.intent.client_order_id] = order
            recent.append(
                dataclasses.replace(
                    stored,
                    status=merged[0],
                    filled_qty=merged[1],
                    broker_order_id=order.broker_order_id,
                    avg_fill_price=order.avg_fill_price,
                )
            )
        return dataclasses.replace(self, recent=tuple(recent)), changed

    def new(self, fills: Sequence[Fill]) -> list[Fill]:
        return [f for f in fills if f.fill_id not in self.fill_ids]

    def pending(self, new: Sequence[Fill]) -> tuple[PendingFill, ...]:
        """Return the fills of trimtab's reported orders that neither the recorded fills nor
        the `new` ones list."""
        return pending_fills(self.reported, _listed(new, self.listed))

    def new_reinvestments(
        self, found: Sequence[Reinvestment], fills: Sequence[Fill]
    ) -> tuple[Reinvestment, ...]:
        return new_reinvestments(
            found,
            booked=self.booked,
            fill_ids=self.fill_ids | {f.fill_id for f in fills},
            in_book_through=self.in_book_through,
        )

    def differences(
        self, new: Sequence[Fill], reinvestments: Sequence[Reinvestment], snapshot: AccountSnapshot
    ) -> dict[str, tuple[Decimal, Decimal]]:
        """Return symbol -> (book plus `new` fills, `reinvestments` and the pending fills, the
        broker's position) where they differ."""
        expected = expected_positions(self.book, new, reinvestments, self.pending(new))
        reported = _reported(snapshot)
        return {
            symbol: (expected.get(symbol, Decimal(0)), reported.get(symbol, Decimal(0)))
            for symbol in sorted(set(expected) | set(reported))
            if expected.get(symbol, Decimal(0)) != reported.get(symbol, Decimal(0))
        }

    def explains(
        self, fills: Sequence[Fill], found: Sequence[Reinvestment], snapshot: AccountSnapshot
    ) -> bool:
        """Whether the book plus the new ones of `fills` and `found` is the snapshot's
        positions.

        Never on a first reconciliation: it always reads fills twice.
        """
        new = self.new(fills)
        return not self.baseline and not self.differences(
            new, self.new_reinvestments(found, new), snapshot
        )


@dataclass(frozen=True, slots=True)
class _Read:
    """What one consistent read of the broker found."""

    agreed: _Agreed
    """The terms it was judged by: trimtab's orders as reported after the account."""
    fills: Sequence[Fill]
    snapshot: AccountSnapshot
    reinvestments: Sequence[Reinvestment] = ()
    attempted: bool = False
    """The reinvestments were asked for (of a broker that reports them)."""
    unread: str | None = None
    """Why they could not be read: then none explains anything."""
    reports: Mapping[str, BrokerOrder] = field(default_factory=dict)
    """Client order id -> the report read after the account that last changed the order."""


def _consistent_read(
    broker: Broker,
    symbols: Collection[str],
    since: datetime,
    agreed: _Agreed,
    reinvestments: Callable[[], Sequence[Reinvestment]] | None,
    *,
    always: bool,
    sleep: Callable[[float], None],
) -> _Read:
    """Read fills, reinvestments and the account; read fills again unless they already
    explain the account.

    When the book plus the new fills equals the broker's positions, any fill that arrived
    between the two reads nets to nothing and is recorded next time, so the second read
    would add nothing. Otherwise fills are read again, until none arrived in between; a
    difference that remains is then a real mismatch. Reinvestments are read before the
    account (their shares are then in it), with the fills; not `always`, only once the
    fills leave a difference, and the account is read again after them. `reinvestments` is
    None for a broker that reports none.

    When the account is explained only with pending fills (trimtab's orders the broker
    reported filled, their fills not listed yet), all is read again after each of the
    `PENDING_FILL_WAITS`; they are recorded as pending if still missing after the last.

    trimtab's orders that may still fill (`_Agreed.working`: one its recovery cancel left
    pending at the broker, one still open) are read again after each read of the account,
    so their filled quantities are never behind its positions: a fill between the two reads
    is then pending (or listed), not a difference. One that moved since the read before may
    be ahead of the positions instead: a difference is then read again, not taken as real.
    """
    attempted = always and reinvestments is not None
    waits = iter(PENDING_FILL_WAITS)
    attempts = 0
    reports: dict[str, BrokerOrder] = {}
    while attempts < READ_ATTEMPTS:
        before = broker.fills(since)
        found: Sequence[Reinvestment] = ()
        unread = None
        if attempted and reinvestments is not None:
            try:
                found = reinvestments()
            except TransientBrokerError as exc:
                unread = str(exc)
        snapshot = broker.snapshot(symbols)
        working = agreed.working
        agreed, moved = agreed.refreshed(broker.get_orders(working) if working else {})
        reports.update(moved)
        if agreed.explains(before, found, snapshot):
            wait = next(waits, None) if agreed.pending(agreed.new(before)) else None
            if wait is None:
                return _Read(agreed, before, snapshot, found, attempted, unread, reports)
            sleep(wait)  # the broker lists fills a little after it reports the order filled
            continue
        attempts += 1
        if not attempted and reinvestments is not None:
            attempted = True
            continue
        after = broker.fills(since)
        if not moved and {f.fill_id for f in after} == {f.fill_id for f in before}:
            return _Read(agreed, after, snapshot, found, attempted, unread, reports)
    raise TransientBrokerError(
        f"fills kept arriving or trimtab's orders kept filling while reconciling "
        f"({READ_ATTEMPTS} attempts); trying next cycle"
    )


def _record(
    session: Transaction,
    account: str,
    read: _Read,
    unresolved: Sequence[str],
    now: datetime,
    timezone: ZoneInfo,
    cycle_id: str | None,
    on_mismatch: TradingState,
) -> Reconciliation:
    ours = IntentStore(session).ids(account)
    _record_reports(session, read.reports, now)
    agreed = read.agreed
    snapshot = read.snapshot
    new = agreed.new(read.fills)
    baseline = agreed.baseline
    # A first reconciliation takes the broker's positions: every reinvestment is in them.
    counted = () if baseline else agreed.new_reinvestments(read.reinvestments, new)
    book = BookStore(session)
    book.add_fills(account, new, ours=ours, now=now)
    # Every one read becomes a lot (once: by activity id), so none is counted again.
    book_reinvestments(session, read.reinvestments, account=account, at=now)
    reported = _reported(snapshot)
    mismatches = {} if baseline else agreed.differences(new, counted, snapshot)
    pending = agreed.pending(new)
    # Never the pending fills' shares, even when the book takes the broker's positions after a
    # difference: each is counted once, when the broker lists it.
    book.replace_positions(account, book_positions(reported, pending))
    in_book_through = reinvestments_in_book_through(
        agreed.in_book_through,
        asked=read.attempted,
        read=read.attempted and read.unread is None,
        adopted=baseline or bool(mismatches),
        today=now.astimezone(timezone).date(),
    )
    mark_reconciled(session, account, at=now, fills_through=max((f.at for f in new), default=None))
    external_orders = tuple(o for o in snapshot.open_orders if o.client_order_id not in ours)
    external_fills = tuple(f for f in new if f.client_order_id not in ours)
    audit = AuditLog(session)
    audit.append(
        Reconciled(
            baseline=baseline,
            cash=snapshot.cash,
            positions=reported,
            new_fills=tuple(new),
            external_fills=tuple(f.fill_id for f in external_fills),
            external_open_orders=external_orders,
            unresolved_symbols=tuple(unresolved),
            mismatches={s: Mismatch(expected=e, broker=b) for s, (e, b) in mismatches.items()},
            reinvestments=tuple(
                CountedReinvestment(r.source_id, r.symbol, r.on, r.qty) for r in counted
            ),
            reinvestments_unread=read.unread,
            reinvestments_in_book_through=in_book_through,
            fills_pending=tuple(
                PendingFillSeen(p.client_order_id, p.broker_order_id, p.symbol, p.side, p.qty)
                for p in pending
            )
            or None,
        ),
        at=now,
        account=account,
        cycle_id=cycle_id,
    )
    if mismatches:
        detail = ", ".join(
            f"{s} expected {e} but the broker has {b}" for s, (e, b) in mismatches.items()
        )
        if read.unread is not None:
            why = (
                f"positions no recorded fill explains: {detail} (the broker's dividend "
                f"reinvestments could not be read: {read.unread})"
            )
        elif read.attempted:
            why = f"positions no recorded fill or dividend reinvestment explains: {detail}"
        else:
            why = f"positions no recorded fill explains: {detail}"
        set_trading_state(
            session,
            account,
            on_mismatch,
            at=now,
            cycle_id=cycle_id,
            actor="reconciliation",
            reason=why,
        )
    busy = {o.symbol for o in snapshot.open_orders} | set(unresolved)
    return Reconciliation(
        snapshot=snapshot,
        new_fills=tuple(new),
        external_fills=external_fills,
        external_orders=external_orders,
        mismatches=mismatches,
        baseline=baseline,
        busy_symbols=frozenset(busy),
        reinvestments=counted,
        pending_fills=pending,
    )


def _record_reports(
    session: Transaction, reports: Mapping[str, BrokerOrder], now: datetime
) -> None:
    """Fold in and audit the reports of trimtab's orders read after the account, as the
    lookup of an unresolved order records its report (`daemon.cycle.unresolved`)."""
    intents = IntentStore(session)
    audit = AuditLog(session)
    for coid, order in reports.items():
        stored = intents.get(coid)
        said = f": {order.message}" if order.message else ""
        detail = f"read again after the account's positions{said}"
        status = intents.apply(coid, order, now, detail=detail)
        audit.append(
            OrderResult.of(stored.intent, status, order, detail),
            at=now,
            account=stored.intent.account,
            cycle_id=stored.intent.cycle_id,
        )


def _reported(snapshot: AccountSnapshot) -> dict[str, Decimal]:
    return {p.symbol: p.qty for p in snapshot.positions if p.qty != 0}
