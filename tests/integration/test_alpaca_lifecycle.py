"""Alpaca's order lifecycle through the real executor, reconciliation and `AlpacaBroker`,
alpaca-py on loopback against the fake Alpaca (`tests.fakes.alpaca_server.state`'s table):

- `accepted -> new`: a routed order that rests is working, polled until it fills;
- `accepted -> rejected` after the POST took it: recorded REJECTED with what Alpaca says, its
  hold released, and the cycle's other orders go on;
- a `day` order partly filled, then expired at the close: recorded PARTIALLY_FILLED then
  EXPIRED with the filled shares (and only theirs) in the cash; one left open past the close
  (its cancel failed) is settled by the next day's reconciliation from its lookup.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import structlog

from daemon.core.cycle_report import OrderOutcome
from daemon.core.domain import OrderStatus, OrderType, Side, TradingState
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import OrderTerms
from daemon.cycle.execution import Executor
from daemon.cycle.reconcile import Reconciliation, reconcile
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.intents import IntentStore, StoredIntent
from daemon.store.models import CycleRow
from tests.fakes.alpaca_server import FakeOrder, Fault
from tests.fakes.alpaca_server.__main__ import dump, load
from tests.fakes.alpaca_server.harness import AlpacaHarness
from tests.fakes.clocks import Ticks

D = Decimal
LOG = structlog.get_logger("alpaca-lifecycle")
LIMIT = OrderTerms(order_type=OrderType.LIMIT, limit_collar=D("0.005"))


@pytest.fixture
def harness() -> Iterator[AlpacaHarness]:
    made = AlpacaHarness("main")
    made.set_price("VTI", D(100))
    made.set_price("BND", D("72.50"))
    made.fund(D(10_000))
    yield made
    made.close()


def execute(
    database: Database,
    harness: AlpacaHarness,
    cycle_id: str,
    orders: list[PlannedOrder],
    *,
    between: Callable[[int], None] = lambda _round: None,
    terms: OrderTerms = LIMIT,
    fill_timeout: float = 60.0,
    cancel_timeout: float = 30.0,
) -> list[OrderOutcome]:
    """Run the real executor; each pause moves the fake's time on as far, then `between(n)`
    (the n-th pause) acts on the market and the fake does what it would have by then."""
    started = harness.now()
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=cycle_id, account=harness.account, trading_day=started.date(),
                slot=cycle_id, mode="paper", started_at=started, outcome="running",
            )
        )  # fmt: skip
    ticks = Ticks()

    def pause(seconds: float) -> None:
        ticks.sleep(seconds)
        harness.advance(timedelta(seconds=seconds))
        between(len(ticks.waits))
        harness.settle()

    executor = Executor(
        database=database, broker=harness.broker, clock=harness.now, log=LOG,
        fill_timeout=fill_timeout, cancel_timeout=cancel_timeout, sleep=pause,
        monotonic=ticks.monotonic,
    )  # fmt: skip
    return executor.execute(
        cycle_id=cycle_id,
        account=harness.account,
        orders=orders,
        terms=terms,
        increment_for=lambda _symbol: D(1),
    )


def reconciled(database: Database, harness: AlpacaHarness) -> Reconciliation:
    return reconcile(
        database=database, broker=harness.broker, account=harness.account, symbols=["VTI"],
        clock=harness.now, log=LOG, on_mismatch=TradingState.HALTED, cycle_id=None,
        exchange="XNYS",
    )  # fmt: skip


def stored(database: Database, coid: str) -> StoredIntent:
    with database.transaction() as session:
        return IntentStore(session).get(coid)


def moves(database: Database, coid: str) -> list[OrderStatus]:
    with database.transaction() as session:
        return [c.to_status for c in IntentStore(session).changes([coid], list(OrderStatus))]


def at_alpaca(harness: AlpacaHarness, coid: str) -> FakeOrder:
    found = harness.state.find(coid)
    assert found is not None, coid
    return found


def buy(symbol: str, qty: int, price: str) -> PlannedOrder:
    return PlannedOrder(symbol, Side.BUY, D(qty), D(price), D(qty) * D(price), "lifecycle")


# -- accepted -> new ------------------------------------------------------------------------


def test_a_routed_order_that_rests_is_working_until_it_fills(
    database: Database, harness: AlpacaHarness
) -> None:
    """Alpaca answers the POST `accepted`, routes the order (`new`), and it rests below its
    limit; `new` is working: polled, never cancelled, until the price comes to it."""
    harness.give_position("VTI", D(5))
    sell = PlannedOrder("VTI", Side.SELL, D(5), D(120), D(600), "lifecycle")
    seen: list[str] = []

    def market(n: int) -> None:
        [order] = harness.state.orders
        seen.append(order.status)
        if n == 4:
            harness.set_price("VTI", D(121))  # reaches the limit (119.40)

    [outcome] = execute(database, harness, "life:new", [sell], between=market)

    assert outcome.status is OrderStatus.FILLED, outcome.detail
    coid = outcome.intent.client_order_id
    assert at_alpaca(harness, coid).history == ["accepted", "new", "filled"]
    assert seen[:4] == ["new"] * 4  # resting and routed while the executor polled
    assert moves(database, coid) == [
        OrderStatus.PLANNED,
        OrderStatus.SUBMITTING,
        OrderStatus.ACCEPTED,
        OrderStatus.FILLED,
    ]
    assert harness.fake.count("DELETE") == 0
    assert stored(database, coid).filled_qty == 5


def test_an_order_queued_while_the_market_is_closed_stays_accepted_until_the_open(
    harness: AlpacaHarness,
) -> None:
    with harness.state.lock:
        harness.state.market_open, harness.state.auto_fill = False, False
    harness.state.place(
        {"symbol": "VTI", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day",
         "client_order_id": "queued"}
    )  # fmt: skip
    harness.settle()
    assert at_alpaca(harness, "queued").status == "accepted"
    with harness.state.lock:
        harness.state.market_open = True
    order = harness.broker.get_order("queued")
    assert order is not None
    assert order.status is OrderStatus.ACCEPTED  # `new` is working too
    assert at_alpaca(harness, "queued").history == ["accepted", "new"]


# -- rejected after the POST accepted it ------------------------------------------------------


def test_an_order_rejected_after_it_was_accepted_is_recorded_rejected_and_the_rest_go_on(
    database: Database, harness: AlpacaHarness
) -> None:
    harness.reject_when_routed("VTI")
    before = harness.state.cash

    vti, bnd = execute(
        database, harness, "life:rejected", [buy("VTI", 5, "100"), buy("BND", 10, "72.50")]
    )

    assert vti.status is OrderStatus.REJECTED, vti.detail
    order = at_alpaca(harness, vti.intent.client_order_id)
    assert order.history == ["accepted", "rejected"]
    assert order.failed_at is not None
    # Alpaca's order carries no reason: what it does say (who, and when) is recorded.
    assert "rejected by Alpaca" in vti.detail
    assert order.failed_at.isoformat().replace("+00:00", "Z")[:19] in vti.detail
    assert stored(database, vti.intent.client_order_id).message == vti.detail
    assert moves(database, vti.intent.client_order_id) == [
        OrderStatus.PLANNED,
        OrderStatus.SUBMITTING,
        OrderStatus.ACCEPTED,
        OrderStatus.REJECTED,
    ]
    with database.transaction() as session:
        results = AuditLog(session).records(account="main", kinds=["order_result"])
    assert any(r.payload["status"] == "rejected" and r.payload["detail"] == vti.detail
               for r in results)  # fmt: skip
    assert bnd.status is OrderStatus.FILLED, bnd.detail
    # Only BND's shares were paid for; the rejected buy holds nothing any more.
    assert harness.state.cash == before - 10 * D("72.50")
    assert harness.state.buying_power() == harness.state.cash


# -- a day order at the close -----------------------------------------------------------------


def test_a_partial_fill_then_the_close_is_recorded_partially_filled_then_expired(
    database: Database, harness: AlpacaHarness
) -> None:
    """A limit buy placed 30 s before the close fills 2 of 5, then Alpaca expires the rest at
    16:00: the executor records both, keeps the 2 shares and their cash, cancels nothing."""
    harness.follow_the_calendar(before_close=timedelta(seconds=30))
    close = harness.state.session_close_after(harness.now())
    with harness.state.lock:
        harness.state.auto_fill = False  # the market takes 2 shares, then nothing more
    before = harness.state.cash

    def market(n: int) -> None:
        if n == 1:
            [order] = harness.state.orders
            harness.fill(order.client_order_id, D(2), D("99.90"))

    [outcome] = execute(database, harness, "life:expired", [buy("VTI", 5, "100")], between=market)

    coid = outcome.intent.client_order_id
    assert outcome.status is OrderStatus.EXPIRED, outcome.detail
    assert moves(database, coid) == [
        OrderStatus.PLANNED,
        OrderStatus.SUBMITTING,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.EXPIRED,
    ]
    order = at_alpaca(harness, coid)
    assert order.history == ["accepted", "new", "partially_filled", "expired"]
    assert order.expired_at == close
    assert "expired" in outcome.detail
    assert "2 of 5" in outcome.detail
    mine = stored(database, coid)
    assert (mine.filled_qty, mine.avg_fill_price) == (2, D("99.90"))
    assert harness.fake.count("DELETE") == 0  # Alpaca ended it: nothing to cancel
    # The 2 shares are paid for, and the 3 that expired hold no buying power any more.
    assert harness.broker.funds(()).cash == before - D("199.80")
    assert harness.state.buying_power() == harness.state.cash
    assert harness.broker.snapshot(()).open_orders == ()


def test_an_order_left_open_past_the_close_is_settled_by_the_next_days_reconciliation(
    database: Database, harness: AlpacaHarness
) -> None:
    """The cancel at the fill deadline fails (Alpaca answers 500s), so the partly filled
    order is still open when the cycle ends; it expires at 16:00. The next morning a fresh
    process reconciles: the lookup by client order id adopts EXPIRED with the 2 shares, the
    fill is booked once, positions agree, and VTI may be planned again."""
    assert reconciled(database, harness).baseline  # the account as it was before
    harness.follow_the_calendar(before_close=timedelta(minutes=5))
    with harness.state.lock:
        harness.state.auto_fill = False
    before = harness.state.cash
    harness.fake.add_fault(Fault("DELETE", "/v2/orders/", status=500, times=10))

    def market(n: int) -> None:
        if n == 1:
            [order] = harness.state.orders
            harness.fill(order.client_order_id, D(2))

    [outcome] = execute(
        database, harness, "life:overnight", [buy("VTI", 5, "100")], between=market,
        fill_timeout=20.0, cancel_timeout=10.0,
    )  # fmt: skip

    coid = outcome.intent.client_order_id
    assert outcome.status is OrderStatus.PARTIALLY_FILLED, outcome.detail  # left open
    assert at_alpaca(harness, coid).status == "partially_filled"
    # Overnight: the session closes (the order expires), and trimtab starts afresh.
    harness.advance(timedelta(hours=18))
    harness.restart()

    result = reconciled(database, harness)

    assert at_alpaca(harness, coid).status == "expired"
    mine = stored(database, coid)
    assert mine.status is OrderStatus.EXPIRED
    assert (mine.filled_qty, mine.avg_fill_price) == (2, D(100))
    # The lookup keeps Alpaca's account of how the order ended.
    assert mine.message.startswith("resolved by lookup: expired at Alpaca at "), mine.message
    assert moves(database, coid)[-2:] == [OrderStatus.PARTIALLY_FILLED, OrderStatus.EXPIRED]
    assert result.mismatches == {}
    assert "VTI" not in result.busy_symbols
    assert [(f.client_order_id, f.qty) for f in result.new_fills] == [(coid, D(2))]
    assert result.snapshot.cash == before - D(200)
    assert {p.symbol: p.qty for p in result.snapshot.positions} == {"VTI": D(2)}
    # A second reconciliation finds nothing new to settle or book.
    again = reconciled(database, harness)
    assert again.new_fills == ()
    assert stored(database, coid).status is OrderStatus.EXPIRED


def test_a_day_order_placed_after_the_close_lives_until_the_next_sessions_close(
    harness: AlpacaHarness,
) -> None:
    harness.follow_the_calendar(before_close=timedelta(minutes=-30))  # 16:30: closed
    with harness.state.lock:
        harness.state.auto_fill = False
    harness.state.place(
        {"symbol": "VTI", "qty": "1", "side": "buy", "type": "limit", "limit_price": "90",
         "time_in_force": "day", "client_order_id": "late"}
    )  # fmt: skip
    placed: datetime = at_alpaca(harness, "late").created_at
    harness.advance(timedelta(hours=17))  # 09:30 the next day: open, routed
    harness.settle()
    assert at_alpaca(harness, "late").history == ["accepted", "new"]
    harness.advance(timedelta(hours=6, minutes=30))  # 16:00: that session's close
    order = harness.broker.get_order("late")
    assert order is not None
    assert order.status is OrderStatus.EXPIRED
    assert at_alpaca(harness, "late").expired_at == harness.state.session_close_after(placed)


def test_the_standalone_fakes_state_file_keeps_the_lifecycle(harness: AlpacaHarness) -> None:
    """`python -m tests.fakes.alpaca_server --state FILE` writes the account after each change:
    an open buy's hold, and an expired order's time and history, survive a reload."""
    with harness.state.lock:
        harness.state.auto_fill = False
    for coid in ("resting", "ends"):
        harness.state.place(
            {"symbol": "VTI", "qty": "3", "side": "buy", "type": "limit", "limit_price": "90",
             "time_in_force": "day", "client_order_id": coid}
        )  # fmt: skip
    harness.fill("ends", D(1), D(90))
    harness.state.find("ends").move("expired", harness.now())  # type: ignore[union-attr]

    again = load(json.loads(json.dumps(dump(harness.state))))

    assert again.buying_power() == harness.state.buying_power() == harness.state.cash - 3 * 90
    [resting, ends] = again.orders
    assert resting.history == ["accepted"]
    assert ends.history == ["accepted", "new", "partially_filled", "expired"]
    assert ends.expired_at == at_alpaca(harness, "ends").expired_at
    assert ends.to_json() == at_alpaca(harness, "ends").to_json()


def test_a_forced_open_market_closes_when_the_test_says(harness: AlpacaHarness) -> None:
    """The harness's market is open whatever the time: its close is `close_session()`, which
    expires the open `day` orders and leaves a `gtc` one working."""
    with harness.state.lock:
        harness.state.auto_fill = False
    for coid, tif in (("day", "day"), ("gtc", "gtc")):
        harness.state.place(
            {"symbol": "VTI", "qty": "1", "side": "buy", "type": "limit", "limit_price": "90",
             "time_in_force": tif, "client_order_id": coid}
        )  # fmt: skip
    harness.advance(timedelta(days=1))
    harness.settle()
    assert [o.status for o in harness.state.orders] == ["new", "new"]
    harness.state.close_session()
    statuses = {c: o.status for c in ("day", "gtc") if (o := harness.broker.get_order(c))}
    assert statuses == {"day": OrderStatus.EXPIRED, "gtc": OrderStatus.ACCEPTED}
