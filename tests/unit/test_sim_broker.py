"""What only the simulated broker does: its settings, cash movements, state and safety rails.

The behaviour every broker shares is in `tests/contract/`; this covers the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import structlog
from pydantic import ValidationError

from adapters.base import Broker, BrokerEnvironment, BrokerPlugin, PriceHistory
from adapters.sim import PLUGIN, SimSettings, StaticPrices, SyntheticPrices
from adapters.sim.broker import SimBroker
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import BrokerError, OrderRejected, StateError
from daemon.cycle.retry import ReadRetrying
from daemon.store.db import Database

T0 = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make(
    database: Database,
    tmp_path: Path,
    settings: SimSettings | None = None,
    *,
    prices: StaticPrices | None = None,
    account: str = "paper",
    clock: Clock | None = None,
) -> SimBroker:
    env = BrokerEnvironment(
        account=account, sql_engine=database.engine, state_dir=tmp_path, clock=clock or Clock()
    )
    return SimBroker(settings or SimSettings(), env, prices=prices or StaticPrices())


def intent(
    coid: str,
    symbol: str,
    side: Side,
    qty: str,
    *,
    limit: str | None = None,
    account: str = "paper",
) -> OrderIntent:
    return OrderIntent(
        client_order_id=coid,
        cycle_id="c",
        account=account,
        seq=1,
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        reason="test",
        limit_price=None if limit is None else Decimal(limit),
    )


# -- plugin and settings ------------------------------------------------------------------------


def test_the_entry_point_builds_a_broker_with_synthetic_prices(
    database: Database, tmp_path: Path
) -> None:
    [entry] = [e for e in entry_points(group="trimtab.brokers") if e.name == "sim"]
    plugin = entry.load()
    assert plugin is PLUGIN
    assert isinstance(plugin, BrokerPlugin)
    assert plugin.name == "sim"
    assert plugin.settings_model is SimSettings
    settings = SimSettings.model_validate({"starting_cash": "1000", "prices": {"seed": 1}})
    env = BrokerEnvironment(
        account="paper", sql_engine=database.engine, state_dir=tmp_path, clock=Clock()
    )

    broker = plugin.create(settings, env)

    assert isinstance(broker, Broker)
    snapshot = broker.snapshot(["VTI"])
    assert snapshot.cash == 1000
    assert snapshot.quotes["VTI"].synthetic is True
    assert snapshot.quotes["VTI"].source == "synthetic(seed=1)"
    with pytest.raises(TypeError, match="needs SimSettings"):
        plugin.create(SimSettings.model_construct().prices, env)


def test_every_setting_is_described_and_unknown_keys_are_refused() -> None:
    for name, field in SimSettings.model_fields.items():
        assert field.description, name
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SimSettings.model_validate({"slipage_bps": 5})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"starting_cash": "-1"}, "starting_cash must be zero or more"),
        ({"starting_cash": "10.005"}, "starting_cash must be whole cents"),
        ({"slippage_bps": "-1"}, "slippage_bps must be zero or more"),
        ({"slippage_bps": "5000"}, "slippage_bps 5000 is over 1000"),
        ({"commission_per_order": "-0.01"}, "commission_per_order must be zero or more"),
        ({"commission_per_share": "-0.01"}, "commission_per_share must be zero or more"),
        ({"starting_cash": "inf"}, "finite number"),
    ],
)
def test_settings_refuse_negative_and_implausible_values(
    data: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        SimSettings.model_validate(data)


# -- cash ---------------------------------------------------------------------------------------


def test_starting_cash_is_credited_once(database: Database, tmp_path: Path) -> None:
    make(database, tmp_path, SimSettings(starting_cash=Decimal("500.00"))).close()
    again = make(database, tmp_path, SimSettings(starting_cash=Decimal("9999.00")))

    state = again.state()

    assert state["cash"] == "500.00"
    assert state["cash_movements"] == [
        {"amount": "500.00", "kind": "deposit", "at": T0.isoformat()}
    ]


def test_deposit_and_withdraw_move_cash_and_are_recorded(
    database: Database, tmp_path: Path
) -> None:
    broker = make(database, tmp_path)

    assert broker.deposit(Decimal("1000.00")) == Decimal("1000.00")
    assert broker.withdraw(Decimal("250.50")) == Decimal("749.50")

    kinds = [(m["kind"], m["amount"]) for m in broker.state()["cash_movements"]]
    assert kinds == [("withdrawal", "-250.50"), ("deposit", "1000.00")]
    assert broker.snapshot(()).cash == Decimal("749.50")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal(0), "must be a positive Decimal"),
        (Decimal(-5), "must be a positive Decimal"),
        (Decimal("NaN"), "must be a positive Decimal"),
        (Decimal("1.001"), "must be whole cents"),
    ],
)
def test_unusable_amounts_are_refused(
    database: Database, tmp_path: Path, amount: Decimal, message: str
) -> None:
    broker = make(database, tmp_path)
    with pytest.raises(BrokerError, match=message):
        broker.deposit(amount)
    with pytest.raises(BrokerError, match=message):
        broker.withdraw(amount)


def test_withdraw_never_takes_cash_held_by_open_orders(database: Database, tmp_path: Path) -> None:
    prices = StaticPrices({"VTI": Decimal(100)})
    broker = make(database, tmp_path, prices=prices)
    broker.deposit(Decimal("1000.00"))
    broker.submit(intent("rest", "VTI", Side.BUY, "6", limit="90.00"))  # holds 540.00

    with pytest.raises(BrokerError, match=r"460.00 is free \(1000.00 cash, 540.00 held"):
        broker.withdraw(Decimal("460.01"))
    assert broker.withdraw(Decimal("460.00")) == Decimal("540.00")
    assert broker.state()["cash_committed_to_open_orders"] == "540.00"


# -- orders -------------------------------------------------------------------------------------


def test_refused_orders_are_stored_with_their_reason(database: Database, tmp_path: Path) -> None:
    broker = make(database, tmp_path, prices=StaticPrices({"VTI": Decimal(100)}))

    with pytest.raises(OrderRejected, match="insufficient cash") as caught:
        broker.submit(intent("poor", "VTI", Side.BUY, "1"))

    stored = broker.get_order("poor")
    assert stored is not None
    assert stored.status is OrderStatus.REJECTED
    assert stored.message == caught.value.reason
    assert broker.state()["recent_orders"][0]["status"] == "rejected"


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (intent("a", "VTI", Side.BUY, "1", account="other"), "sent to sim account paper"),
        (intent("b", "VTI", Side.BUY, "0.0000000001"), "more than 9 decimal places"),
        (intent("c", "VTI", Side.BUY, "1", limit="0"), "needs a positive limit price"),
        (intent("d", "VTI", Side.BUY, "1", limit="0.00005"), "not a multiple of the tick 0.0001"),
    ],
)
def test_more_refusals(
    database: Database, tmp_path: Path, order: OrderIntent, message: str
) -> None:
    broker = make(database, tmp_path, prices=StaticPrices({"VTI": Decimal(100)}))
    broker.deposit(Decimal("1000.00"))

    with pytest.raises(OrderRejected, match=message):
        broker.submit(order)

    stored = broker.get_order(order.client_order_id)
    assert stored is not None
    assert stored.status is OrderStatus.REJECTED
    assert broker.snapshot(()).cash == Decimal("1000.00")


def test_market_orders_must_not_carry_a_limit(database: Database, tmp_path: Path) -> None:
    broker = make(database, tmp_path, prices=StaticPrices({"VTI": Decimal(100)}))
    broker.deposit(Decimal("1000.00"))
    order = OrderIntent(
        client_order_id="m",
        cycle_id="c",
        account="paper",
        seq=1,
        symbol="VTI",
        side=Side.BUY,
        qty=Decimal(1),
        order_type=OrderType.MARKET,
        reason="test",
        limit_price=Decimal(100),
    )
    with pytest.raises(OrderRejected, match="must not carry a limit price"):
        broker.submit(order)


def test_trailing_zeros_do_not_count_as_decimal_places(database: Database, tmp_path: Path) -> None:
    broker = make(database, tmp_path, prices=StaticPrices({"VTI": Decimal(100)}))
    broker.deposit(Decimal("1000.00"))
    order = broker.submit(intent("z", "VTI", Side.BUY, "1.000000000000"))
    assert order.status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("coid", "symbol", "qty"),
    [
        ("x" * 129, "VTI", Decimal(1)),
        ("", "VTI", Decimal(1)),
        ("ok", " VTI", Decimal(1)),
        ("ok", "V" * 33, Decimal(1)),
        ("ok", "VTI", 1.5),
        ("ok", "VTI", Decimal("Infinity")),
        ("ok", "VTI", Decimal("1e20")),
    ],
)
def test_malformed_intents_are_refused_without_a_record(
    database: Database, tmp_path: Path, coid: str, symbol: str, qty: Decimal
) -> None:
    broker = make(database, tmp_path, prices=StaticPrices({"VTI": Decimal(100)}))
    broker.deposit(Decimal("1000.00"))
    order = OrderIntent(
        client_order_id=coid,
        cycle_id="c",
        account="paper",
        seq=1,
        symbol=symbol,
        side=Side.BUY,
        qty=qty,
        order_type=OrderType.MARKET,
        reason="test",
    )
    with pytest.raises(OrderRejected):
        broker.submit(order)
    assert broker.state()["recent_orders"] == []


def test_a_sell_whose_commission_exceeds_everything_is_refused(
    database: Database, tmp_path: Path
) -> None:
    prices = StaticPrices({"PENNY": Decimal("0.02")})
    broker = make(database, tmp_path, SimSettings(commission_per_order=Decimal(1)), prices=prices)
    broker.deposit(Decimal("1.02"))
    broker.submit(intent("buy", "PENNY", Side.BUY, "1"))  # 0.02 + 1.00 commission: cash 0.00

    with pytest.raises(OrderRejected, match=r"commission 1\.00 exceeds the proceeds"):
        broker.submit(intent("sell", "PENNY", Side.SELL, "1"))


def test_slippage_commission_and_average_cost(database: Database, tmp_path: Path) -> None:
    settings = SimSettings(
        slippage_bps=Decimal(10),
        commission_per_order=Decimal("0.50"),
        commission_per_share=Decimal("0.0035"),
    )
    prices = StaticPrices({"VTI": Decimal("200.00")})
    broker = make(database, tmp_path, settings, prices=prices)
    broker.deposit(Decimal("10000.00"))

    first = broker.submit(intent("b1", "VTI", Side.BUY, "10"))
    prices.set("VTI", Decimal("210.00"))
    second = broker.submit(intent("b2", "VTI", Side.BUY, "10"))
    sold = broker.submit(intent("s1", "VTI", Side.SELL, "5"))

    assert first.avg_fill_price == Decimal("200.20")  # 200 x 1.001
    assert second.avg_fill_price == Decimal("210.21")
    assert sold.avg_fill_price == Decimal("209.79")  # 210 x 0.999
    # Commissions: 0.50 + 0.035 -> 0.54 (rounded up) twice, 0.50 + 0.0175 -> 0.52 once.
    expected = Decimal(10000) - Decimal("2002.00") - Decimal("2102.10") + Decimal("1048.95")
    assert broker.snapshot(()).cash == expected - Decimal("0.54") * 2 - Decimal("0.52")
    [position] = broker.snapshot(()).positions
    assert position.qty == 15
    assert position.avg_cost == Decimal("205.205")  # a sale leaves the average alone


def test_a_resting_order_that_a_raised_commission_makes_unaffordable_is_cancelled(
    database: Database, tmp_path: Path
) -> None:
    prices = StaticPrices({"VTI": Decimal(100)})
    broker = make(database, tmp_path, prices=prices)
    broker.deposit(Decimal("900.00"))
    broker.submit(intent("rest", "VTI", Side.BUY, "10", limit="90.00"))  # holds all 900.00
    broker.close()
    expensive = make(
        database, tmp_path, SimSettings(commission_per_order=Decimal(5)), prices=prices
    )
    prices.set("VTI", Decimal(90))  # fills at 90.00: 900.00 plus 5.00 commission

    snapshot = expensive.snapshot(())  # must not fail: the account stays usable

    assert snapshot.cash == Decimal("900.00")
    order = expensive.get_order("rest")
    assert order is not None
    assert order.status is OrderStatus.CANCELLED
    assert "cancelled by the sim" in order.message


def test_state_is_json_ready_and_complete(database: Database, tmp_path: Path) -> None:
    prices = StaticPrices({"VTI": Decimal("100.00"), "BND": Decimal("50.00")})
    broker = make(database, tmp_path, prices=prices)
    broker.deposit(Decimal("1000.00"))
    broker.submit(intent("b", "VTI", Side.BUY, "3"))
    broker.submit(intent("r", "BND", Side.BUY, "2", limit="40.00"))
    prices.set("VTI", Decimal("110.00"))

    state = broker.state()

    assert json.loads(json.dumps(state)) == state
    assert state["account"] == "paper"
    assert state["cash"] == "700.00"
    assert state["prices"] == {
        "source": "static",
        "synthetic": False,
        "prices": {"BND": "50.00", "VTI": "110.00"},
    }
    assert state["positions"] == [
        {
            "symbol": "VTI",
            "qty": "3",
            "avg_cost": "100",
            "price": "110.00",
            "price_as_of": T0.isoformat(),
            "market_value": "330.00",
        }
    ]
    assert [o["client_order_id"] for o in state["open_orders"]] == ["r"]
    assert [o["client_order_id"] for o in state["recent_orders"]] == ["r", "b"]
    assert [f["client_order_id"] for f in state["fills"]] == ["b"]
    assert state["fills"][0]["price"] == "100"  # prices as stored; only cash shows cents


# -- time, lifecycle, isolation -----------------------------------------------------------------


def test_a_naive_clock_is_refused(database: Database, tmp_path: Path) -> None:
    clock = Clock()
    broker = make(database, tmp_path, clock=clock)
    clock.now = datetime(2024, 3, 5, 15, 0)
    with pytest.raises(StateError, match="naive datetime"):
        broker.snapshot(())
    with pytest.raises(ValueError, match="timezone-aware"):
        make(database, tmp_path).fills(datetime(2024, 3, 5))


def test_a_closed_broker_refuses_calls(database: Database, tmp_path: Path) -> None:
    broker = make(database, tmp_path)
    broker.close()
    with pytest.raises(BrokerError, match="is closed"):
        broker.snapshot(())


def test_accounts_on_one_database_are_separate(database: Database, tmp_path: Path) -> None:
    prices = StaticPrices({"VTI": Decimal(100)})
    one = make(database, tmp_path, prices=prices, account="one")
    two = make(database, tmp_path, prices=prices, account="two")
    one.deposit(Decimal("1000.00"))
    two.deposit(Decimal("1000.00"))

    one.submit(intent("same-id", "VTI", Side.BUY, "2", account="one"))
    two.submit(intent("same-id", "VTI", Side.BUY, "5", account="two"))

    assert one.snapshot(()).qty("VTI") == 2
    assert two.snapshot(()).qty("VTI") == 5
    assert [f.qty for f in one.fills(T0)] == [2]


def test_concurrent_buyers_never_spend_the_same_cash_twice(
    database: Database, tmp_path: Path
) -> None:
    prices = StaticPrices({"VTI": Decimal(100)})
    make(database, tmp_path, prices=prices).deposit(Decimal("1000.00"))
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(n: int) -> None:
        broker = make(database, tmp_path, prices=prices)
        try:
            broker.submit(intent(f"t{n}", "VTI", Side.BUY, "1"))
            result = "filled"
        except OrderRejected:
            result = "rejected"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["filled"] * 10 + ["rejected"] * 6
    snapshot = make(database, tmp_path, prices=prices).snapshot(())
    assert (snapshot.cash, snapshot.qty("VTI")) == (Decimal(0), Decimal(10))


@pytest.mark.slow
def test_random_trading_keeps_the_books_balanced(database: Database, tmp_path: Path) -> None:
    rng = random.Random(20240305)
    clock = Clock()
    prices = StaticPrices({"VTI": Decimal(100), "BND": Decimal(50)})
    settings = SimSettings(
        slippage_bps=Decimal(3),
        commission_per_order=Decimal("0.35"),
        commission_per_share=Decimal("0.0035"),
    )
    broker = make(database, tmp_path, settings, prices=prices, clock=clock)
    broker.deposit(Decimal("5000.00"))
    for step in range(120):
        clock.now += timedelta(minutes=1)
        symbol = rng.choice(["VTI", "BND"])
        if rng.random() < 0.3:
            move = Decimal(rng.randint(-300, 300)) / 100
            prices.set(symbol, max(Decimal("1.00"), prices.quote(symbol, clock.now).price + move))  # type: ignore[union-attr]
        side = rng.choice([Side.BUY, Side.SELL])
        qty = str(Decimal(rng.randint(1, 4000)) / 1000)
        limit = None
        if rng.random() < 0.4:
            base = prices.quote(symbol, clock.now).price  # type: ignore[union-attr]
            limit = str((base * Decimal(rng.uniform(0.97, 1.03))).quantize(Decimal("0.01")))
        with contextlib.suppress(OrderRejected):  # refusals are part of the random walk
            broker.submit(intent(f"o{step}", symbol, side, qty, limit=limit))
        if rng.random() < 0.1:
            for order in broker.snapshot(()).open_orders:
                broker.cancel(order.client_order_id)

        snapshot = broker.snapshot(())
        assert snapshot.cash >= 0
        assert all(p.qty > 0 for p in snapshot.positions)
        fills = broker.fills(T0)
        ledger = Decimal("5000.00")
        held: dict[str, Decimal] = {}
        for fill in fills:
            gross = fill.qty * fill.price
            if fill.side is Side.BUY:
                ledger -= gross.quantize(Decimal("0.01"), rounding="ROUND_CEILING")
                held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + fill.qty
            else:
                ledger += gross.quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
                held[fill.symbol] = held.get(fill.symbol, Decimal(0)) - fill.qty
            ledger -= fill.commission
        assert snapshot.cash == ledger
        assert {p.symbol: p.qty for p in snapshot.positions} == {
            s: q for s, q in held.items() if q != 0
        }


@pytest.mark.parametrize(
    ("settings", "notional", "words"),
    [
        ({"fractional": False}, "100.00", "trades whole shares only"),
        ({}, "0.50", "at least $1"),
        ({}, "10.005", "whole cents"),
    ],
)
def test_notional_orders_the_sim_cannot_take_are_refused_and_stored_as_rejected(
    database: Database, tmp_path: Path, settings: dict[str, object], notional: str, words: str
) -> None:
    sim_settings = SimSettings.model_validate({"starting_cash": "1000", **settings})
    broker = make(database, tmp_path, sim_settings, prices=StaticPrices({"VTI": Decimal(250)}))
    order = dataclasses.replace(intent("n-1", "VTI", Side.BUY, "0.4"), notional=Decimal(notional))
    with pytest.raises(OrderRejected, match=words.replace("$", r"\$")):
        broker.submit(order)
    stored = broker.get_order("n-1")
    assert stored is not None
    assert (stored.status, stored.filled_qty, stored.notional) == (
        OrderStatus.REJECTED,
        Decimal(0),
        Decimal(notional),
    )
    assert broker.snapshot(()).cash == 1000


def test_daily_closes_come_from_the_price_source_and_never_look_ahead(
    database: Database, tmp_path: Path
) -> None:
    prices = SyntheticPrices(seed=3, start=date(2024, 2, 26))
    clock = Clock(T0)  # 10:00 in New York on Tuesday 5 March: Monday's close is the last
    env = BrokerEnvironment(
        account="paper", sql_engine=database.engine, state_dir=tmp_path, clock=clock
    )
    broker = SimBroker(SimSettings(), env, prices=prices)
    retrying = ReadRetrying(broker, log=structlog.get_logger())
    assert isinstance(broker, PriceHistory)
    assert isinstance(retrying, PriceHistory)

    closes = retrying.daily_closes("VTI", date(2024, 3, 1), date(2024, 3, 8))

    assert closes == prices.closes("VTI", date(2024, 3, 1), date(2024, 3, 4))
    assert [day for day, _close in closes] == [date(2024, 3, 1), date(2024, 3, 4)]
    clock.now = T0 + timedelta(hours=7)  # 17:00 in New York: Tuesday's close is out
    assert broker.daily_closes("VTI", date(2024, 3, 5), date(2024, 3, 8)) == prices.closes(
        "VTI", date(2024, 3, 5), date(2024, 3, 5)
    )
