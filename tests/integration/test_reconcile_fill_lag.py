"""Fills the broker lists after it reports the order filled (Alpaca's FILL activities lag:
docs/alpaca.md), through whole cycles on the fake Alpaca: trimtab's own filled orders never
halt the account, each fill counts once, and shares they do not explain still halt."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from adapters.base import Broker
from daemon.bootstrap import App, open_app
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import BrokerOrder, Fill, OrderIntent, OrderStatus, TradingState
from daemon.cycle.reconcile import PENDING_FILL_WAITS, PENDING_FILLS_WINDOW
from daemon.store.audit_log import AuditLog
from daemon.store.book import BookStore
from daemon.store.models import FillRow, OrderIntentRow
from daemon.store.trading_state import AccountState, account_state, set_trading_state
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, SteppingClock, account_toml, household
from tests.fakes.clocks import Ticks

D = Decimal


@dataclass
class LaggingFills:
    """The account's Alpaca broker, listing the fills of some symbols only once `listing`:
    orders and positions move at once, the fills come later."""

    inner: Broker
    symbols: frozenset[str] = frozenset({"VTI", "BND"})
    listing: bool = False
    list_after_reads: int | None = None
    """Start listing after this many more reads of fills (then `listing` turns True)."""
    on_submit: Callable[[], None] | None = None
    """Called once, after the first order is sent."""
    reads: int = 0
    seen: set[str] = field(default_factory=set)
    """Fill ids listed before: a fill once listed stays listed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fills(self, since: datetime) -> list[Fill]:
        self.reads += 1
        if self.list_after_reads is not None:
            self.list_after_reads -= 1
            self.listing = self.list_after_reads < 0
        found = list(self.inner.fills(since))
        shown = [
            f
            for f in found
            if self.listing or f.symbol not in self.symbols or f.fill_id in self.seen
        ]
        self.seen |= {f.fill_id for f in shown}
        return shown

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        order = self.inner.submit(intent)
        hook, self.on_submit = self.on_submit, None
        if hook is not None:
            hook()
        return order


@dataclass
class Cycle:
    fake: FakeAlpaca
    state: AlpacaState
    app: App
    broker: LaggingFills
    ticks: Ticks = field(default_factory=Ticks)
    """The engine's pauses (the fill wait's, reconciliation's waits for pending fills): the
    fake answers on each request, not with time, so they move this clock, not the test's."""

    def run(self, **kwargs: object) -> CycleReport:
        engine = self.app.engine(
            fill_timeout=2, poll_sleep=self.ticks.sleep, monotonic=self.ticks.monotonic
        )
        return engine.run_once("main", **kwargs)  # type: ignore[arg-type]

    def account(self) -> AccountState:
        with self.app.database.transaction() as session:
            return account_state(session, "main")

    def book(self) -> dict[str, Decimal]:
        with self.app.database.transaction() as session:
            return BookStore(session).positions("main")

    def broker_positions(self) -> dict[str, Decimal]:
        with self.state.lock:
            return {symbol: qty for symbol, (qty, _) in self.state.positions.items()}

    def fills_by_order(self) -> dict[str, Decimal]:
        """Client order id -> the quantity of its recorded fills."""
        with self.app.database.transaction() as session:
            rows = session.scalars(select(FillRow).where(FillRow.account == "main"))
            counted: dict[str, Decimal] = {}
            for row in rows:
                counted[row.client_order_id] = counted.get(row.client_order_id, D(0)) + row.qty
            return counted

    def filled_by_order(self) -> dict[str, Decimal]:
        """Client order id -> the filled quantity the broker reported for trimtab's order."""
        with self.app.database.transaction() as session:
            rows = session.scalars(select(OrderIntentRow).where(OrderIntentRow.account == "main"))
            return {r.client_order_id: r.filled_qty for r in rows if r.filled_qty}

    def resume(self) -> None:
        with self.app.database.transaction() as session:
            set_trading_state(
                session,
                "main",
                TradingState.ACTIVE,
                reason="operator checked the account",
                actor="test",
                at=self.state.now(),
            )

    def add_shares(self, symbol: str, qty: Decimal) -> None:
        """Shares appear at the broker with no fill: nothing trimtab did explains them."""
        with self.state.lock:
            held, cost = self.state.positions.get(symbol, (D(0), D(0)))
            self.state.positions[symbol] = (held + qty, cost)


@pytest.fixture
def make_cycle(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Cycle]]:
    opened: list[Cycle] = []

    def make() -> Cycle:
        monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
        monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
        state = household("100000")
        state.auto_fill = True
        fake = FakeAlpaca(state).start()
        config = tmp_path / "trimtab.toml"
        settings = "read_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0"
        config.write_text(
            f'mode = "paper"\ndatabase_url = "{database_url}"\n'
            + account_toml(fake.url, 'VTI = "0.6", BND = "0.4"', settings=settings)
        )
        app = open_app(config, clock=state.now)
        lagging = LaggingFills(app.broker("main"))
        app.brokers["main"] = lagging
        cycle = Cycle(fake, state, app, lagging)
        opened.append(cycle)
        return cycle

    yield make
    for cycle in opened:
        cycle.app.close()
        cycle.fake.close()


def pending_logged(logs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    return [e["orders"] for e in logs if e["event"] == "fills_pending"]


def test_fills_listed_after_the_cycle_keep_the_account_active_and_count_once(
    make_cycle: Callable[[], Cycle],
) -> None:
    cycle = make_cycle()
    with capture_logs() as logs:
        report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert report.outcomes
    assert all(o.status is OrderStatus.FILLED for o in report.outcomes)
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    ordered = cycle.filled_by_order()
    assert len(ordered) == len(report.outcomes)
    # Recorded as pending (the post-trade reconciliation waited, then went on), not as fills.
    assert [sorted(orders) for orders in pending_logged(logs)] == [sorted(ordered)]
    assert cycle.ticks.waits[-len(PENDING_FILL_WAITS) :] == list(PENDING_FILL_WAITS)
    assert cycle.fills_by_order() == {}
    # The book does not take the pending shares: the fills add them when listed.
    assert cycle.book() == {}

    cycle.broker.listing = True  # the activities catch up; the next slot runs
    with capture_logs() as logs:
        again = cycle.run(force=True)
    assert again.outcome == "succeeded", again.error
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    assert pending_logged(logs) == []
    assert cycle.fills_by_order() == ordered
    assert cycle.book() == cycle.broker_positions() == {"VTI": D(240), "BND": D(551)}
    with cycle.app.database.transaction() as session:
        records = AuditLog(session).records(kinds=["reconciliation"])
        assert all(not r.payload["mismatches"] for r in records)
    # The audit log says which fills were pending, where the operator reads the cycle.
    waiting = [r.payload.get("fills_pending") for r in records]
    listed = [p for w in waiting if w for p in w]
    assert {p["client_order_id"]: D(p["qty"]) for p in listed} == ordered
    assert len(listed) == len(ordered)  # in one record: the post-trade reconciliation's
    assert waiting[-1] is None  # none pending once listed: the record's shape as before


def test_fills_still_unlisted_at_the_next_cycle_stay_pending_then_count_once(
    make_cycle: Callable[[], Cycle],
) -> None:
    cycle = make_cycle()
    cycle.run()
    ordered = cycle.filled_by_order()
    with capture_logs() as logs:
        second = cycle.run(force=True)
    assert second.outcome == "succeeded", second.error
    assert not second.outcomes  # the broker's positions are on target: nothing to trade
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    assert [sorted(orders) for orders in pending_logged(logs)] == [sorted(ordered)]
    assert cycle.book() == {}

    cycle.broker.listing = True
    third = cycle.run(force=True)
    assert third.outcome == "succeeded", third.error
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    assert cycle.fills_by_order() == ordered
    assert cycle.book() == {"VTI": D(240), "BND": D(551)}


def test_fills_listed_while_reconciliation_waits_are_recorded_at_once(
    make_cycle: Callable[[], Cycle],
) -> None:
    cycle = make_cycle()

    def lag_one_read() -> None:
        # The post-trade reconciliation's first read misses the fills; its next one has them.
        cycle.broker.list_after_reads = 1

    cycle.broker.on_submit = lag_one_read
    with capture_logs() as logs:
        report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    assert pending_logged(logs) == []
    assert cycle.fills_by_order() == cycle.filled_by_order()
    assert cycle.book() == {"VTI": D(240), "BND": D(551)}


def test_shares_beyond_the_pending_fills_still_halt(make_cycle: Callable[[], Cycle]) -> None:
    cycle = make_cycle()
    cycle.broker.symbols = frozenset({"BND"})
    cycle.broker.on_submit = lambda: cycle.add_shares("BND", D(3))
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    halted = cycle.account()
    assert halted.state is TradingState.HALTED
    assert halted.reason.endswith(
        "positions no recorded fill or dividend reinvestment explains: "
        "BND expected 551 but the broker has 554"
    )
    # The book took the broker's positions, but not the pending fills' shares.
    assert cycle.book() == {"VTI": D(240), "BND": D(3)}

    cycle.resume()
    cycle.broker.listing = True
    again = cycle.run(force=True)
    assert again.outcome == "succeeded", again.error
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    assert cycle.fills_by_order() == cycle.filled_by_order()
    assert cycle.book() == {"VTI": D(240), "BND": D(554)}


def test_late_fills_after_a_halt_and_a_resume_are_counted_once(
    make_cycle: Callable[[], Cycle],
) -> None:
    cycle = make_cycle()
    # BND's fills lag; VTI's are listed, but more VTI shares appear that no fill explains.
    cycle.broker.symbols = frozenset({"BND"})
    cycle.broker.on_submit = lambda: cycle.add_shares("VTI", D(5))
    cycle.run()
    halted = cycle.account()
    assert halted.state is TradingState.HALTED
    assert "VTI expected 240 but the broker has 245" in halted.reason
    assert "BND" not in halted.reason

    cycle.resume()  # the operator checked VTI and resumes; then BND's fills are listed
    cycle.broker.listing = True
    again = cycle.run(force=True)
    assert again.outcome == "succeeded", again.error
    assert cycle.account().state is TradingState.ACTIVE, cycle.account().reason
    assert cycle.fills_by_order() == cycle.filled_by_order()
    assert cycle.book() == cycle.broker_positions() == {"VTI": D(245), "BND": D(551)}


def test_fills_still_unlisted_after_the_window_halt(make_cycle: Callable[[], Cycle]) -> None:
    cycle = make_cycle()
    cycle.run()
    assert cycle.account().state is TradingState.ACTIVE
    clock = cycle.state.clock
    assert isinstance(clock, SteppingClock)
    clock.now += PENDING_FILLS_WINDOW + timedelta(hours=1)  # Monday noon to Wednesday 1 pm
    later = cycle.run()
    assert later.outcome == "succeeded", later.error
    halted = cycle.account()
    assert halted.state is TradingState.HALTED
    assert "BND expected 0 but the broker has 551" in halted.reason
