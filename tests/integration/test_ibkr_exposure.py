"""IB's buying-power check with open buys of other symbols, end to end: the real executor,
`IbkrBroker`, ib_async and the fake TWS.

Every open buy holds cash at its own symbol's price. A working buy of a cheap symbol leaves
room for a buy of a pricey one that fits; a working buy of a pricey one (left by an earlier
run) keeps a cheap buy beyond the free cash from going out, where IB would lend on margin;
an open market buy with no price refuses the buy, naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import structlog

from daemon.core.cycle_report import OrderOutcome
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import OrderTerms
from daemon.cycle.execution import Executor
from daemon.store.db import Database
from daemon.store.models import CycleRow
from tests.contract.ibkr_harness import IbkrHarness
from tests.fakes.clocks import Ticks
from tests.fakes.tws import Hold

ACCOUNT = "ira"
LOG = structlog.get_logger("ibkr_exposure")


@pytest.fixture
def harness() -> Iterator[IbkrHarness]:
    made = IbkrHarness(ACCOUNT)
    made.set_price("CHEAP", Decimal(20))
    made.set_price("PRICEY", Decimal(1000))
    yield made
    made.close()


def buy(symbol: str, qty: int, price: int) -> PlannedOrder:
    return PlannedOrder(
        symbol=symbol,
        side=Side.BUY,
        qty=Decimal(qty),
        price=Decimal(price),
        notional=Decimal(qty * price),
        reason=f"buy {symbol}",
    )


def execute(
    database: Database, harness: IbkrHarness, cycle_id: str, orders: list[PlannedOrder]
) -> dict[str, OrderOutcome]:
    """Run the real executor on `orders` in a new cycle (whole shares, no real waiting)."""
    started = harness.now()
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=cycle_id,
                account=ACCOUNT,
                trading_day=started.date(),
                slot=cycle_id,
                mode="paper",
                started_at=started,
                outcome="running",
            )
        )
    ticks = Ticks()

    def pause(seconds: float) -> None:
        ticks.sleep(seconds)
        harness.settle()

    executor = Executor(
        database=database,
        broker=harness.broker,
        clock=harness.now,
        log=LOG,
        fill_timeout=2.0,
        sleep=pause,
        monotonic=ticks.monotonic,
    )
    outcomes = executor.execute(
        cycle_id=cycle_id,
        account=ACCOUNT,
        orders=orders,
        terms=OrderTerms(),
        increment_for=lambda _symbol: Decimal(1),
    )
    return {o.intent.symbol: o for o in outcomes}


def leave_working(harness: IbkrHarness, symbol: str, qty: int) -> None:
    """An earlier run's market buy, still working at IB when this process starts."""
    harness.fake.queue(Hold())
    placed = harness.broker.submit(
        OrderIntent(
            client_order_id=f"{ACCOUNT}:earlier:{symbol}",
            cycle_id=f"{ACCOUNT}:earlier",
            account=ACCOUNT,
            seq=1,
            symbol=symbol,
            side=Side.BUY,
            qty=Decimal(qty),
            order_type=OrderType.MARKET,
            reason="an earlier run",
            reference_price=None,
        )
    )
    assert placed.status is OrderStatus.ACCEPTED
    harness.restart()  # known to the new process through ib_async's start-up sync


def test_a_cheap_open_buy_leaves_room_for_a_pricey_buy_that_fits(
    database: Database, harness: IbkrHarness
) -> None:
    harness.fund(Decimal(5000))
    harness.fake.queue(Hold())  # the CHEAP buy works (say, before the open)
    # 100 CHEAP hold 2020 (1% above 20), 2 PRICEY cost 2020 and a dollar: 4041 of 5000.
    done = execute(database, harness, "c1", [buy("CHEAP", 100, 20), buy("PRICEY", 2, 1000)])
    assert done["PRICEY"].status is OrderStatus.FILLED, done["PRICEY"].detail
    assert done["PRICEY"].order is not None
    assert done["PRICEY"].order.filled_qty == 2
    assert harness.fake.count("placeOrder") == 2


def test_a_pricey_open_buy_keeps_a_cheap_buy_beyond_the_free_cash_from_going_out(
    database: Database, harness: IbkrHarness
) -> None:
    harness.fund(Decimal(2500))
    harness.fake.check_buying_power = False  # a margin account: IB itself would lend
    leave_working(harness, "PRICEY", 2)  # holds 2020: 480 of the 2500 are free
    done = execute(database, harness, "c2", [buy("CHEAP", 100, 20)])
    cheap = done["CHEAP"]
    assert cheap.status is OrderStatus.REJECTED
    assert cheap.detail == (
        f"account {ACCOUNT}: buying 100 CHEAP costs about 2020.00, more than the 480.00 cash "
        "not held by open buys; IB would lend on margin (fix: wait for the open buys to "
        "finish, or add cash)"
    )
    assert harness.fake.count("placeOrder") == 1  # the earlier PRICEY buy alone


def test_an_open_market_buy_without_a_price_refuses_the_buy_naming_it(
    database: Database, harness: IbkrHarness
) -> None:
    harness.fund(Decimal(100_000))
    leave_working(harness, "PRICEY", 2)
    state = harness.fake.state
    with state.lock:
        # IB sends no tick for PRICEY (halted, no close): its open buy holds an unknown sum.
        # (Without any market data the cycle stops before it: the snapshot refuses.)
        pricey = next(i for i in state.instruments if i.symbol == "PRICEY")
        state.quotes.pop(pricey.con_id)
    done = execute(database, harness, "c3", [buy("CHEAP", 1, 20)])
    cheap = done["CHEAP"]
    assert cheap.status is OrderStatus.REJECTED
    assert cheap.detail.startswith(
        f"account {ACCOUNT}: an open market buy of 2 PRICEY ({ACCOUNT}:earlier:PRICEY) holds "
        "cash at a price trimtab could not read"
    )
    assert "fix: subscribe to market data for PRICEY" in cheap.detail
    assert harness.fake.count("placeOrder") == 1
