"""An order still open when a reconciliation starts (one it cancels itself, found working
after its submission's answer was lost: Alpaca answers `pending_cancel`) fills while the
account is read, and Alpaca lists its FILL activity only later, through the real
reconciliation and `AlpacaBroker` against the fake Alpaca.

Its reported filled quantity is read again after the positions, so the fill is a pending
fill in the reconciliation that reads the shares gone, and counts once when it is listed:
no halt, neither then nor after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.base import Broker
from daemon.core.domain import AccountSnapshot, Fill, OrderStatus, TradingState
from daemon.cycle.reconcile import Reconciliation, reconcile
from daemon.store.audit_log import AuditLog
from daemon.store.book import BookStore
from daemon.store.db import Database
from daemon.store.trading_state import account_state
from tests.fakes.alpaca_server.harness import AlpacaHarness
from tests.integration.test_alpaca_lifecycle import moves, stored
from tests.integration.test_alpaca_unknown_outcome import LOG, finish, sell_unknown_past_the_wait

D = Decimal


@pytest.fixture
def alpaca() -> Iterator[AlpacaHarness]:
    made = AlpacaHarness("main")
    made.set_price("VTI", D(100))
    made.fund(D(10_000))
    made.give_position("VTI", D(10))
    yield made
    made.close()


@dataclass
class Lagging:
    """Alpaca's broker, listing a fill only once `listing` (or if listed before); with
    `after_snapshot`, called once right after the next read of the account."""

    inner: Broker
    listing: bool = False
    seen: set[str] = field(default_factory=set)
    after_snapshot: Callable[[], object] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fills(self, since: datetime) -> list[Fill]:
        shown = [f for f in self.inner.fills(since) if self.listing or f.fill_id in self.seen]
        self.seen |= {f.fill_id for f in shown}
        return shown

    def snapshot(self, symbols: Any) -> AccountSnapshot:
        read = self.inner.snapshot(symbols)
        hook, self.after_snapshot = self.after_snapshot, None
        if hook is not None:
            hook()
        return read


def reconciled(
    database: Database, broker: Any, alpaca: AlpacaHarness, cycle_id: str | None
) -> Reconciliation:
    return reconcile(
        database=database, broker=broker, account="main", symbols=["VTI"], clock=alpaca.now,
        log=LOG, on_mismatch=TradingState.HALTED, cycle_id=cycle_id, exchange="XNYS",
        sleep=lambda s: alpaca.advance(timedelta(seconds=s)),
    )  # fmt: skip


def trading(database: Database) -> tuple[TradingState, str]:
    with database.transaction() as session:
        found = account_state(session, "main")
        return found.state, found.reason


def book(database: Database) -> dict[str, Decimal]:
    with database.transaction() as session:
        return BookStore(session).positions("main")


def recorded_fills(database: Database, coid: str) -> Decimal:
    with database.transaction() as session:
        return sum(
            (f.qty for f in BookStore(session).fills_of_orders([coid])), D(0)
        )  # fmt: skip


def test_a_fill_in_the_recovery_cancel_race_is_pending_then_counted_once(
    database: Database, alpaca: AlpacaHarness
) -> None:
    lagging = Lagging(alpaca.broker)
    reconciled(database, lagging, alpaca, "c0")  # the first reconciliation: the book is VTI 10
    outcome = sell_unknown_past_the_wait(database, alpaca, timedelta(seconds=90))
    coid = outcome.intent.client_order_id
    alpaca.advance(timedelta(minutes=2))  # Alpaca shows the order now, resting
    with alpaca.state.lock:  # the recovery cancel: pending_cancel, then it fills instead
        alpaca.state.cancel_race = "filled"
        alpaca.state.pending_cancel_requests = 1

    after = reconciled(database, lagging, alpaca, "c1")  # the cycle's own, after trading

    found = alpaca.state.find(coid)
    assert found is not None
    assert (found.status, found.filled_qty) == ("filled", D(10))
    assert trading(database)[0] is TradingState.ACTIVE, trading(database)[1]
    assert not after.mismatches
    assert [(p.client_order_id, p.qty) for p in after.pending_fills] == [(coid, D(10))]
    # The report read after the positions is the intent's: filled, and audited.
    assert (stored(database, coid).status, stored(database, coid).filled_qty) == (
        OrderStatus.FILLED,
        D(10),
    )
    assert moves(database, coid)[-1] is OrderStatus.FILLED
    with database.transaction() as session:
        results = [
            r.payload
            for r in AuditLog(session).records(kinds=["order_result"])
            if r.payload["client_order_id"] == coid
        ]
    assert results[-1]["status"] == "filled"
    assert "read again after the account's positions" in str(results[-1]["detail"])
    assert book(database) == {"VTI": D(10)}  # never the pending shares
    finish(database, alpaca, "c1")

    lagging.listing = True  # Alpaca's activity for the fill is listed now
    alpaca.advance(timedelta(hours=1))
    again = reconciled(database, lagging, alpaca, "c2")

    assert not again.mismatches
    assert again.pending_fills == ()
    assert trading(database)[0] is TradingState.ACTIVE, trading(database)[1]
    assert recorded_fills(database, coid) == D(10)
    assert book(database) == {}


def test_a_fill_reported_after_the_positions_were_read_is_read_again_not_a_halt(
    database: Database, alpaca: AlpacaHarness
) -> None:
    lagging = Lagging(alpaca.broker)
    reconciled(database, lagging, alpaca, "c0")
    outcome = sell_unknown_past_the_wait(database, alpaca, timedelta(seconds=90))
    coid = outcome.intent.client_order_id
    finish(database, alpaca, "c1")
    alpaca.advance(timedelta(minutes=2))  # Alpaca shows the order now, resting
    # It fills right after the account is read: its report is ahead of the positions. (No
    # cycle runs: the reconciliation leaves the order working, as `trimtab reconcile` does.)
    lagging.after_snapshot = lambda: alpaca.state.fill(coid)

    after = reconciled(database, lagging, alpaca, None)

    assert trading(database)[0] is TradingState.ACTIVE, trading(database)[1]
    assert not after.mismatches
    assert after.snapshot.positions == ()
    assert [(p.client_order_id, p.qty) for p in after.pending_fills] == [(coid, D(10))]
    assert book(database) == {"VTI": D(10)}

    lagging.listing = True
    alpaca.advance(timedelta(hours=1))
    again = reconciled(database, lagging, alpaca, "c2")
    assert not again.mismatches
    assert trading(database)[0] is TradingState.ACTIVE, trading(database)[1]
    assert recorded_fills(database, coid) == D(10)
    assert book(database) == {}
