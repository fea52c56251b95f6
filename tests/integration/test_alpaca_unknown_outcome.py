"""An order whose submission's answer was lost (a 504 after Alpaca took it) and that Alpaca's
reads do not show yet (eventual consistency), through the real executor, reconciliation and
`AlpacaBroker`, alpaca-py on loopback against the fake Alpaca:

- the executor looks it up again by its client order id during the fill wait, and never
  sends it again: found working, it is cancelled at the fill deadline like every other order;
  found filled, it is recorded filled;
- found only after the wait, it is cancelled by the reconciliation that finds it working:
  the cycle's own after trading, or the next cycle's. Left alone, a limit order would rest
  all day at a stale price and keep its symbol out of every plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings, StaticPrices
from adapters.sim.broker import SimBroker
from adapters.sim.faults import FaultSettings
from daemon.core.cycle_report import OrderOutcome
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side, TradingState
from daemon.core.errors import StateError
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import OrderTerms
from daemon.cycle.execution import Executor
from daemon.cycle.reconcile import Reconciliation, reconcile
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.intents import client_order_id, database_identity
from daemon.store.models import CycleRow
from tests.fakes.alpaca_server import Fault
from tests.fakes.alpaca_server.harness import AlpacaHarness
from tests.fakes.clocks import Ticks
from tests.integration.test_alpaca_lifecycle import execute, moves, stored

D = Decimal
LOG = structlog.get_logger("alpaca-unknown-outcome")
SELL = PlannedOrder("VTI", Side.SELL, D(10), D(100), D(1000), "unknown outcome")
"""A limit sell at the quote less the collar (99.50): it rests while the price is lower."""


@pytest.fixture
def alpaca() -> Iterator[AlpacaHarness]:
    made = AlpacaHarness("main")
    made.set_price("VTI", D(100))
    made.fund(D(10_000))
    made.give_position("VTI", D(10))
    yield made
    made.close()


def reconciled(database: Database, alpaca: AlpacaHarness, cycle_id: str) -> Reconciliation:
    return reconcile(
        database=database, broker=alpaca.broker, account=alpaca.account, symbols=["VTI"],
        clock=alpaca.now, log=LOG, on_mismatch=TradingState.HALTED, cycle_id=cycle_id,
        exchange="XNYS",
    )  # fmt: skip


def lose_the_answer(alpaca: AlpacaHarness, *, hidden_for: timedelta, fills: bool) -> None:
    """The next POST takes the order and answers 504; reads miss it for `hidden_for`."""
    with alpaca.state.lock:
        alpaca.state.auto_fill = fills
        alpaca.state.visibility_lag = hidden_for
    alpaca.fake.add_fault(Fault("POST", "/v2/orders", status=504, after=True))


def finish(database: Database, alpaca: AlpacaHarness, cycle_id: str) -> None:
    """Record the cycle as the engine does when it ends well."""
    with database.transaction() as session:
        row = session.get(CycleRow, cycle_id)
        assert row is not None
        row.outcome = "succeeded"
        row.finished_at = alpaca.now()


def sell_unknown_past_the_wait(
    database: Database, alpaca: AlpacaHarness, hidden_for: timedelta
) -> OrderOutcome:
    lose_the_answer(alpaca, hidden_for=hidden_for, fills=False)
    [outcome] = execute(database, alpaca, "c1", [SELL], fill_timeout=60)
    assert outcome.status is OrderStatus.UNKNOWN, outcome.detail
    return outcome


def test_an_order_found_during_the_fill_wait_is_cancelled_at_its_deadline(
    database: Database, alpaca: AlpacaHarness
) -> None:
    lose_the_answer(alpaca, hidden_for=timedelta(seconds=2), fills=False)

    [outcome] = execute(database, alpaca, "c1", [SELL], fill_timeout=60)

    coid = outcome.intent.client_order_id
    assert outcome.status is OrderStatus.CANCELLED, outcome.detail
    assert "unfilled after 60s" in outcome.detail
    found = alpaca.state.find(coid)
    assert found is not None
    assert found.status == "canceled"
    assert alpaca.fake.count("POST", "/v2/orders") == 1  # looked up, never sent again
    assert alpaca.fake.count("DELETE") == 1
    assert moves(database, coid)[-3:] == [
        OrderStatus.UNKNOWN,
        OrderStatus.ACCEPTED,
        OrderStatus.CANCELLED,
    ]


def test_an_order_found_filled_during_the_fill_wait_is_recorded_filled(
    database: Database, alpaca: AlpacaHarness
) -> None:
    lose_the_answer(alpaca, hidden_for=timedelta(seconds=2), fills=True)

    [outcome] = execute(database, alpaca, "c1", [SELL], fill_timeout=60)

    coid = outcome.intent.client_order_id
    assert outcome.status is OrderStatus.FILLED, outcome.detail
    assert stored(database, coid).filled_qty == D(10)
    assert alpaca.fake.count("POST", "/v2/orders") == 1
    assert alpaca.fake.count("DELETE") == 0


def test_an_order_found_only_by_the_next_cycle_is_cancelled_there(
    database: Database, alpaca: AlpacaHarness
) -> None:
    """Hidden past the fill wait and the cycle's own reconciliation: the cycle ends with the
    order unknown, so no executor ever asked to cancel it. The next cycle does."""
    outcome = sell_unknown_past_the_wait(database, alpaca, timedelta(minutes=10))
    coid = outcome.intent.client_order_id
    after = reconciled(database, alpaca, "c1")
    assert stored(database, coid).status is OrderStatus.UNKNOWN
    assert after.busy_symbols == {"VTI"}
    finish(database, alpaca, "c1")
    alpaca.advance(timedelta(hours=1))  # the next slot, the same day; the order shows now

    following = reconciled(database, alpaca, "c2")

    found = alpaca.state.find(coid)
    assert found is not None
    assert found.status == "canceled"
    mine = stored(database, coid)
    assert mine.status is OrderStatus.CANCELLED
    assert "never saw it working" in mine.message
    assert not following.busy_symbols
    assert alpaca.fake.count("POST", "/v2/orders") == 1
    with database.transaction() as session:
        details = [
            r.payload.get("detail", "")
            for r in AuditLog(session).records(kinds=["order_result"])
            if r.payload.get("client_order_id") == coid
        ]
    assert any("never saw it working" in str(d) for d in details), details


def test_the_cycles_own_reconciliation_cancels_an_order_it_finds_working(
    database: Database, alpaca: AlpacaHarness
) -> None:
    """Hidden past the fill wait only: the reconciliation after trading finds it working and
    cancels it, as the executor would have had it seen the order."""
    outcome = sell_unknown_past_the_wait(database, alpaca, timedelta(seconds=90))
    coid = outcome.intent.client_order_id
    alpaca.advance(timedelta(minutes=2))

    after = reconciled(database, alpaca, "c1")

    found = alpaca.state.find(coid)
    assert found is not None
    assert found.status == "canceled"
    assert stored(database, coid).status is OrderStatus.CANCELLED
    assert not after.busy_symbols
    assert alpaca.fake.count("POST", "/v2/orders") == 1


def test_an_order_of_a_finished_cycle_the_executor_cancelled_is_not_cancelled_again(
    database: Database, alpaca: AlpacaHarness
) -> None:
    """The executor saw this one working and asked to cancel it; the cancel stays pending
    (Alpaca's `pending_cancel`): the next cycle waits for it and sends no second cancel."""
    with alpaca.state.lock:
        alpaca.state.auto_fill = False
        alpaca.state.cancel_race = "canceled"
        alpaca.state.pending_cancel_requests = 10_000
    [outcome] = execute(database, alpaca, "c1", [SELL], fill_timeout=5, cancel_timeout=5)
    assert outcome.status is OrderStatus.ACCEPTED, outcome.detail
    finish(database, alpaca, "c1")
    deletes = alpaca.fake.count("DELETE")

    following = reconciled(database, alpaca, "c2")

    assert alpaca.fake.count("DELETE") == deletes
    assert following.busy_symbols == {"VTI"}


def test_an_id_found_holding_another_order_during_the_wait_is_not_adopted(
    database: Database, alpaca: AlpacaHarness
) -> None:
    """The id already holds another order at Alpaca (a database restored from an old backup),
    hidden from reads for a moment: the POST is refused as a duplicate, the lookup misses,
    and the order the wait then finds is not this intent's. It is not adopted, never
    cancelled, and the cycle stops with the operator's instructions."""
    with database.transaction() as session:
        coid = client_order_id("c1", 1, database_identity(session))
    other = OrderIntent(
        client_order_id=coid, cycle_id="old", account=alpaca.account, seq=1, symbol="VTI",
        side=Side.SELL, qty=D(3), order_type=OrderType.MARKET, reason="before the restore",
    )  # fmt: skip
    with alpaca.state.lock:
        alpaca.state.auto_fill = False
    alpaca.broker.submit(other)
    with alpaca.state.lock:
        alpaca.state.visibility_lag = timedelta(seconds=2)

    with pytest.raises(StateError, match="not adopted"):
        execute(database, alpaca, "c1", [SELL], fill_timeout=60)

    mine = stored(database, coid)
    assert mine.status is OrderStatus.REJECTED
    assert "3 sh VTI" in mine.message
    assert alpaca.fake.count("DELETE") == 0


def test_no_wait_for_a_lost_order_the_brokers_rule_settles_at_once(
    database: Database, tmp_path: Path
) -> None:
    """The sim stores an order before it answers: "not found" is final at once, so the
    fill wait has nothing to look for and the cycle goes on without pausing."""
    now = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)
    settings = SimSettings(faults=FaultSettings(drop_submissions=1))
    prices = StaticPrices()
    prices.set("VTI", D(100))
    env = BrokerEnvironment(
        account="main", sql_engine=database.engine, state_dir=tmp_path / "state",
        clock=lambda: now,
    )  # fmt: skip
    sim = SimBroker(settings, env, prices=prices)
    sim.deposit(D(1000))
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id="c1", account="main", trading_day=now.date(), slot="c1", mode="paper",
                started_at=now, outcome="running",
            )
        )  # fmt: skip
    ticks = Ticks()
    executor = Executor(
        database=database, broker=sim, clock=lambda: now, log=LOG, fill_timeout=60,
        sleep=ticks.sleep, monotonic=ticks.monotonic,
    )  # fmt: skip
    buy = PlannedOrder("VTI", Side.BUY, D(3), D(100), D(300), "unknown outcome")
    try:
        [outcome] = executor.execute(
            cycle_id="c1", account="main", orders=[buy], terms=OrderTerms(),
            increment_for=lambda _symbol: D(1),
        )  # fmt: skip
    finally:
        sim.close()

    assert outcome.status is OrderStatus.UNKNOWN, outcome.detail
    assert ticks.waits == []
