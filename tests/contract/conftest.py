"""Harnesses for the broker contract: one per broker double, all behind `BrokerHarness`.

The suite in `test_broker_contract.py` talks to a broker only through a harness: the sim,
Alpaca (against the fake Alpaca) and IB (against the fake TWS) each have a factory in
`HARNESSES` (a harness may poll in `settle` and skip what its double cannot do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial
from pathlib import Path
from typing import Protocol

import pytest

from adapters.base import Broker, BrokerEnvironment
from adapters.sim import SimSettings, StaticPrices
from adapters.sim.broker import SimBroker
from adapters.sim.faults import FaultInjector
from daemon.bootstrap import broker_migrations
from daemon.core.domain import BrokerOrder, OrderIntent, OrderStatus, OrderType, Side
from daemon.store.db import Database, open_database
from tests.contract.ibkr_harness import IbkrHarness
from tests.fakes.alpaca_server.harness import AlpacaHarness

ACCOUNT = "contract"
CENT = Decimal("0.01")


class BrokerHarness(Protocol):
    """A broker under test plus the levers a test needs.

    | member | what it does |
    |---|---|
    | `broker` | the `Broker` under test (replaced by `restart`) |
    | `account` | the account name orders must carry |
    | `fractional` | whether the account accepts fractional quantities |
    | `unknown_symbol` | a symbol the broker has no price for |
    | `holds_open_buys` | whether the snapshot's cash is net of what open buys hold (Alpaca: the cash they leave to spend) |
    | `fund(cash)` | add cash to the account |
    | `set_price(symbol, price)` | make `price` the current quote of `symbol` |
    | `give_position(symbol, qty)` | buy `qty` at the current price, funding it first |
    | `expected_fill_price(side, quote)` | the market fill price at `quote`, `None` if unknowable |
    | `expected_commission(qty)` | the commission of an order of `qty`, `None` if unknowable |
    | `settle()` | wait (with a deadline) until the broker has acted on what it was sent |
    | `now()` | the broker's current time |
    | `restart()` | close the broker and build a new one on the same stored state |
    | `lose_next_submission(taken, how)` | the next submit raises `OutcomeUnknown`: a 504 or a dropped connection (`how`), after the broker took the order (`taken`) or before |
    | `advance(by)` | move the broker's (and the test's) time on by `by` |
    | `race_cancels(outcome)` | cancels answer "pending" first, then the order ends canceled or filled |
    | `hold_market_buys(fraction)` | make the broker check and hold market buys `fraction` above the price, as Alpaca does (a cash account) |
    """  # noqa: E501 (a table row per lever reads better than wrapped cells)

    broker: Broker
    account: str
    fractional: bool
    unknown_symbol: str
    holds_open_buys: bool

    def fund(self, cash: Decimal) -> None: ...

    def set_price(self, symbol: str, price: Decimal) -> None: ...

    def give_position(self, symbol: str, qty: Decimal) -> None: ...

    def expected_fill_price(self, side: Side, quote: Decimal) -> Decimal | None: ...

    def expected_commission(self, qty: Decimal) -> Decimal | None: ...

    def settle(self) -> None: ...

    def now(self) -> datetime: ...

    def restart(self) -> None: ...

    def lose_next_submission(self, *, taken: bool, how: str) -> None: ...

    def race_cancels(self, outcome: str) -> None: ...

    def advance(self, by: timedelta) -> None: ...
    def hold_market_buys(self, fraction: Decimal) -> None: ...


class SteppingClock:
    """A clock that moves one second each time it is read: monotonic, and no sleeping."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def __call__(self) -> datetime:
        now = self._now
        self._now += timedelta(seconds=1)
        return now

    def advance(self, by: timedelta) -> None:
        self._now += by


class SimHarness:
    """The simulated broker on a real database, priced by `StaticPrices`."""

    fractional: bool
    unknown_symbol = "NOSUCHSYMBOL"
    holds_open_buys = False
    account = ACCOUNT

    def __init__(self, settings: SimSettings, database: Database, state_dir: Path) -> None:
        self.settings = settings
        self.fractional = settings.fractional
        self.clock = SteppingClock(datetime(2024, 3, 5, 15, 0, tzinfo=UTC))
        self.prices = StaticPrices()
        self._database = database
        self._state_dir = state_dir
        self._reopened: list[Database] = []
        self._orders = 0
        self.broker: Broker = self._build()

    def _build(self) -> SimBroker:
        env = BrokerEnvironment(
            account=ACCOUNT,
            sql_engine=self._database.engine,
            state_dir=self._state_dir,
            clock=self.clock,
        )
        return SimBroker(self.settings, env, prices=self.prices)

    @property
    def sim(self) -> SimBroker:
        assert isinstance(self.broker, SimBroker)
        return self.broker

    def fund(self, cash: Decimal) -> None:
        self.sim.deposit(cash)

    def set_price(self, symbol: str, price: Decimal) -> None:
        self.prices.set(symbol, price)

    def give_position(self, symbol: str, qty: Decimal) -> None:
        quote = self.prices.quote(symbol, self.now())
        assert quote is not None, f"set a price for {symbol} first"
        price = self.expected_fill_price(Side.BUY, quote.price)
        cost = (qty * price).quantize(CENT, rounding=ROUND_CEILING) + self.expected_commission(qty)
        self.fund(cost)
        self._orders += 1
        order = self.broker.submit(
            OrderIntent(
                client_order_id=f"harness-{self._orders}",
                cycle_id="harness",
                account=ACCOUNT,
                seq=self._orders,
                symbol=symbol,
                side=Side.BUY,
                qty=qty,
                order_type=OrderType.MARKET,
                reason="contract harness: give a position",
            )
        )
        assert order.status is OrderStatus.FILLED, order

    def expected_fill_price(self, side: Side, quote: Decimal) -> Decimal:
        # Written from the sim's rules, not its code: slippage against the trader, then the
        # tick (0.01 from $1 up), rounded against the trader too.
        factor = self.settings.slippage_bps / 10_000
        raw = quote * (1 + factor) if side is Side.BUY else quote * (1 - factor)
        tick = CENT if raw >= 1 else Decimal("0.0001")
        return raw.quantize(tick, rounding=ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)

    def expected_commission(self, qty: Decimal) -> Decimal:
        raw = self.settings.commission_per_order + self.settings.commission_per_share * qty
        return raw.quantize(CENT, rounding=ROUND_CEILING)

    def settle(self) -> None:
        return None  # the sim acts inside each call

    def now(self) -> datetime:
        return self.clock()

    def restart(self) -> None:
        # A new engine and a new broker on the same database: nothing survives in memory.
        self.broker.close()
        self._database = open_database(
            self._database.url, self._state_dir, branches=broker_migrations()
        )
        self._reopened.append(self._database)
        self.broker = self._build()

    def lose_next_submission(self, *, taken: bool, how: str) -> None:
        # The sim has no HTTP: a 504 and a dropped connection are the same lost answer to it.
        del how
        faults = self.settings.faults.model_copy(
            update={"lose_acknowledgements": True} if taken else {"drop_submissions": 1}
        )
        self.sim.faults = _OneShot(FaultInjector(faults, account=ACCOUNT), self.sim)

    def race_cancels(self, outcome: str) -> None:
        faults = self.settings.faults.model_copy(update={"cancel_race": outcome})
        self.sim.faults = FaultInjector(faults, account=ACCOUNT)

    def advance(self, by: timedelta) -> None:
        self.clock.advance(by)

    def hold_market_buys(self, fraction: Decimal) -> None:
        self.settings = self.settings.model_copy(update={"market_buy_hold_fraction": fraction})
        self.restart()

    def close(self) -> None:
        self.broker.close()
        for database in self._reopened:
            database.close()


class _OneShot(FaultInjector):
    """A fault injector whose faults last for one submit, then the sim's own come back."""

    def __init__(self, injector: FaultInjector, sim: SimBroker) -> None:
        super().__init__(injector.settings, account=ACCOUNT)
        self._sim = sim
        self._before = sim.faults

    def answered(self, order: BrokerOrder) -> None:
        self._sim.faults = self._before
        super().answered(order)

    def dropped(self, client_order_id: str) -> None:
        if not self.settings.drop_submissions:
            return
        self._sim.faults = self._before
        super().dropped(client_order_id)


SIM_VARIANTS = {
    # Frictionless, fractional: the default settings.
    "sim": SimSettings(),
    # Costs and whole shares: slippage and commission rounding show in every cash check.
    "sim-costs": SimSettings(
        slippage_bps=Decimal(5),
        commission_per_order=Decimal("1.00"),
        commission_per_share=Decimal("0.005"),
        fractional=False,
    ),
}

HarnessFactory = Callable[[Database, Path], "SimHarness | AlpacaHarness | IbkrHarness"]
HARNESSES: dict[str, HarnessFactory] = {
    name: partial(SimHarness, settings) for name, settings in SIM_VARIANTS.items()
}
# The Alpaca adapter through alpaca-py against the fake Alpaca server on loopback.
HARNESSES["alpaca"] = lambda _database, _state_dir: AlpacaHarness(ACCOUNT)
# The IB adapter through ib_async against the fake TWS on loopback.
HARNESSES["ibkr"] = lambda _database, _state_dir: IbkrHarness(ACCOUNT)


DATABASE_FREE = frozenset({"alpaca", "ibkr"})
"""Harnesses whose broker keeps its state at the fake server, never in trimtab's database:
their contract runs on SQLite only. On PostgreSQL it would run the same broker code again;
the order edges' intents and statuses on PostgreSQL are run by the sim harnesses."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL copies of the database-free harnesses' contract tests."""
    again = [item for item in items if _database_free_on_postgres(item)]
    if again:
        config.hook.pytest_deselected(items=again)
        items[:] = [item for item in items if not _database_free_on_postgres(item)]


def _database_free_on_postgres(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get("harness") in DATABASE_FREE and params.get("database_url") == "postgres"


@pytest.fixture(params=sorted(HARNESSES))
def harness(
    request: pytest.FixtureRequest, database: Database, tmp_path: Path
) -> Iterator[BrokerHarness]:
    """Each broker double, on each database, with a fresh account."""
    made = HARNESSES[request.param](database, tmp_path / "state")
    yield made
    made.close()


def order_intent(
    harness: BrokerHarness,
    client_order_id: str,
    symbol: str,
    side: Side,
    qty: Decimal,
    *,
    limit: Decimal | None = None,
) -> OrderIntent:
    """Build an intent as the engine would: market unless a limit is given."""
    return OrderIntent(
        client_order_id=client_order_id,
        cycle_id="contract",
        account=harness.account,
        seq=1,
        symbol=symbol,
        side=side,
        qty=qty,
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        reason="contract test",
        limit_price=limit,
    )


def open_ids(harness: BrokerHarness) -> set[str]:
    """Return the client order ids of the account's open orders."""
    return {o.client_order_id for o in harness.broker.snapshot(()).open_orders}


def fills_of(harness: BrokerHarness, order: BrokerOrder, since: datetime) -> list[Decimal]:
    """Return the quantities of the fills of `order` since `since`."""
    fills = harness.broker.fills(since)
    return [f.qty for f in fills if f.client_order_id == order.client_order_id]
