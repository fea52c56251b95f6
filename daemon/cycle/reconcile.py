"""Reconciliation: agree with the broker before trimtab plans anything, and after it trades.

The broker is the truth for positions, cash and orders. trimtab keeps the positions it last
agreed on (the book) and every fill the broker reported (deduplicated by fill id). A new
reconciliation expects book + new fills == the broker's positions; a difference that no fill
explains moves the account to HALTED (or REDUCING, per `risk.on_mismatch`) and is audited.
It never assumes a flat or empty account: if the broker cannot be read, the cycle aborts.
"""

from __future__ import annotations

__all__ = ["Reconciliation", "fills_since_mark", "reconcile"]

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from adapters.base import Broker
from daemon.audit.events import Mismatch, Reconciled
from daemon.core.domain import AccountSnapshot, BrokerOrder, Fill, Side, TradingState
from daemon.core.errors import TransientBrokerError
from daemon.cycle.unresolved import resolve_unresolved
from daemon.logs import Log
from daemon.store.audit_log import AuditLog
from daemon.store.book import BookStore
from daemon.store.db import Database, Transaction
from daemon.store.intents import IntentStore
from daemon.store.trading_state import mark_reconciled, reading_mark, set_trading_state

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READ_ATTEMPTS = 3
FILL_OVERLAP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    snapshot: AccountSnapshot
    new_fills: tuple[Fill, ...]
    external_fills: tuple[Fill, ...]
    external_orders: tuple[BrokerOrder, ...]
    mismatches: Mapping[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    """symbol -> (expected from book and fills, reported by the broker)"""
    baseline: bool = False
    busy_symbols: frozenset[str] = frozenset()
    """Symbols with an open order at the broker or an unresolved intent: no new order."""


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
) -> Reconciliation:
    """Resolve unsettled intents, record new fills, and compare positions with the book."""
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
    fills, snapshot = _consistent_read(broker, symbols, since, agreed.explains)
    with database.transaction() as session:
        result = _record(
            session, agreed, account, fills, snapshot, unresolved, clock(), cycle_id, on_mismatch
        )
    log.info(
        "reconciled",
        new_fills=len(result.new_fills),
        external_fills=len(result.external_fills),
        external_orders=len(result.external_orders),
        mismatches=sorted(result.mismatches),
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

    @classmethod
    def load(cls, session: Transaction, account: str, now: datetime) -> _Agreed:
        mark = reading_mark(session, account, now)
        book = BookStore(session)
        return cls(
            book=book.positions(account),
            fill_ids=book.fill_ids(account),
            baseline=mark.reconciled_at is None,
            read_through=mark.fills_read_through,
        )

    def new(self, fills: Sequence[Fill]) -> list[Fill]:
        return [f for f in fills if f.fill_id not in self.fill_ids]

    def differences(
        self, new: Sequence[Fill], snapshot: AccountSnapshot
    ) -> dict[str, tuple[Decimal, Decimal]]:
        """Return symbol -> (book plus `new` fills, the broker's position) where they differ."""
        expected = dict(self.book)
        for fill in new:
            signed = fill.qty if fill.side is Side.BUY else -fill.qty
            expected[fill.symbol] = expected.get(fill.symbol, Decimal(0)) + signed
        reported = _reported(snapshot)
        return {
            symbol: (expected.get(symbol, Decimal(0)), reported.get(symbol, Decimal(0)))
            for symbol in sorted(set(expected) | set(reported))
            if expected.get(symbol, Decimal(0)) != reported.get(symbol, Decimal(0))
        }

    def explains(self, fills: Sequence[Fill], snapshot: AccountSnapshot) -> bool:
        """Whether the book plus the new ones of `fills` is the snapshot's positions.

        Never on a first reconciliation: it always reads fills twice.
        """
        return not self.baseline and not self.differences(self.new(fills), snapshot)


def _consistent_read(
    broker: Broker,
    symbols: Collection[str],
    since: datetime,
    agrees: Callable[[Sequence[Fill], AccountSnapshot], bool],
) -> tuple[Sequence[Fill], AccountSnapshot]:
    """Read fills and the account; read fills again unless they already explain the account.

    When the book plus the new fills equals the broker's positions, any fill that arrived
    between the two reads nets to nothing and is recorded next time, so the second read
    would add nothing. Otherwise fills are read again, until none arrived in between; a
    difference that remains is then a real mismatch.
    """
    for _ in range(READ_ATTEMPTS):
        before = broker.fills(since)
        snapshot = broker.snapshot(symbols)
        if agrees(before, snapshot):
            return before, snapshot
        after = broker.fills(since)
        if {f.fill_id for f in after} == {f.fill_id for f in before}:
            return after, snapshot
    raise TransientBrokerError(
        f"fills kept arriving while reconciling ({READ_ATTEMPTS} attempts); trying next cycle"
    )


def _record(
    session: Transaction,
    agreed: _Agreed,
    account: str,
    fills: Sequence[Fill],
    snapshot: AccountSnapshot,
    unresolved: Sequence[str],
    now: datetime,
    cycle_id: str | None,
    on_mismatch: TradingState,
) -> Reconciliation:
    ours = IntentStore(session).ids(account)
    new = agreed.new(fills)
    book = BookStore(session)
    book.add_fills(account, new, ours=ours, now=now)
    reported = _reported(snapshot)
    baseline = agreed.baseline
    mismatches = {} if baseline else agreed.differences(new, snapshot)
    book.replace_positions(account, reported)
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
        ),
        at=now,
        account=account,
        cycle_id=cycle_id,
    )
    if mismatches:
        detail = ", ".join(
            f"{s} expected {e} but the broker has {b}" for s, (e, b) in mismatches.items()
        )
        set_trading_state(
            session,
            account,
            on_mismatch,
            at=now,
            cycle_id=cycle_id,
            actor="reconciliation",
            reason=f"positions no recorded fill explains: {detail}",
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
    )


def _reported(snapshot: AccountSnapshot) -> dict[str, Decimal]:
    return {p.symbol: p.qty for p in snapshot.positions if p.qty != 0}
