"""Fault injection in the simulated broker: each fault, deterministic, on SQLite and PostgreSQL.

Every test checks the fault itself and that the sim's books stay consistent through it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.base import BrokerEnvironment
from adapters.sim import FaultInjector, FaultSettings, SimSettings, StaticPrices
from adapters.sim.broker import SimBroker
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import (
    DuplicateClientOrderId,
    OrderRejected,
    OutcomeUnknown,
    TransientBrokerError,
)
from daemon.store.db import Database

D = Decimal
T0 = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
PRICES = {"VTI": D(100), "BND": D(50)}


class Crashed(BaseException):
    """What the test's crash hook raises instead of killing pytest."""


class Recorder:
    """Stands in for `time.sleep` and the crash: records calls, never waits, never kills."""

    def __init__(self, on_sleep: Any = None) -> None:
        self.sleeps: list[float] = []
        self.crashes = 0
        self._on_sleep = on_sleep

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self._on_sleep is not None:
            self._on_sleep(seconds)

    def crash(self) -> None:
        self.crashes += 1
        raise Crashed


def settings(cash: str = "10000", fractional: bool = True, **faults: Any) -> SimSettings:
    return SimSettings(
        starting_cash=D(cash),
        fractional=fractional,
        commission_per_order=D("1.00"),
        faults=FaultSettings.model_validate(faults),
    )


def make(
    database: Database,
    tmp_path: Path,
    sim_settings: SimSettings,
    recorder: Recorder | None = None,
) -> SimBroker:
    env = BrokerEnvironment(
        account="paper", sql_engine=database.engine, state_dir=tmp_path, clock=lambda: T0
    )
    recorder = recorder or Recorder()
    faults = FaultInjector(
        sim_settings.faults, account="paper", sleep=recorder.sleep, crash=recorder.crash
    )
    return SimBroker(sim_settings, env, prices=StaticPrices(PRICES), faults=faults)


def order(
    coid: str, symbol: str = "VTI", side: Side = Side.BUY, qty: str = "7", limit: str | None = None
) -> OrderIntent:
    return OrderIntent(
        client_order_id=coid,
        cycle_id="c",
        account="paper",
        seq=1,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        reason="test",
        limit_price=None if limit is None else D(limit),
    )


def books(broker: SimBroker) -> tuple[Decimal, dict[str, Decimal]]:
    """Return (cash, positions) rebuilt from the sim's own fills, to compare with its account."""
    state = broker.state()
    cash = sum((D(m["amount"]) for m in state["cash_movements"]), D(0))
    held: dict[str, Decimal] = {}
    for fill in broker.fills(T0):
        gross = fill.qty * fill.price
        sign = 1 if fill.side is Side.BUY else -1
        rounding = "ROUND_CEILING" if fill.side is Side.BUY else "ROUND_FLOOR"
        cash -= sign * gross.quantize(D("0.01"), rounding=rounding) + fill.commission
        held[fill.symbol] = held.get(fill.symbol, D(0)) + sign * fill.qty
    return cash, {s: q for s, q in held.items() if q}


def assert_consistent(broker: SimBroker) -> None:
    snapshot = broker.snapshot(())
    assert books(broker) == (snapshot.cash, {p.symbol: p.qty for p in snapshot.positions})


# -- settings -----------------------------------------------------------------------------------


def test_faults_are_off_by_default_described_and_closed() -> None:
    assert SimSettings().faults == FaultSettings()
    assert FaultSettings().active == ()
    for name, field in FaultSettings.model_fields.items():
        assert field.description, name
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        FaultSettings.model_validate({"latency": 5})
    on = FaultSettings(latency_ms=5, reject_symbols=("VTI",), crash_after_accept=2)
    assert on.active == ("latency_ms", "reject_symbols", "crash_after_accept")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"latency_ms": -1}, "greater than or equal to 0"),
        ({"latency_ms": 10_000_000}, "less than or equal to 600000"),
        ({"read_errors": -1}, "greater than or equal to 0"),
        ({"partial_fill_ratio": "1.5"}, "less than or equal to 1"),
        ({"partial_fill_ratio": "-0.1"}, "greater than or equal to 0"),
        ({"partial_fill_ratio": "NaN"}, "finite number"),
        ({"crash_after_accept": 0}, "greater than or equal to 1"),
        ({"reject_symbols": [" VTI"]}, "surrounding spaces"),
    ],
)
def test_implausible_fault_settings_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FaultSettings.model_validate(data)


def test_broker_settings_carry_faults_from_a_table() -> None:
    parsed = SimSettings.model_validate(
        {"faults": {"latency_ms": 250, "reject_symbols": ["BND"], "lose_acknowledgements": True}}
    )
    assert parsed.faults.latency_ms == 250
    assert parsed.faults.reject_symbols == ("BND",)
    assert parsed.faults.lose_acknowledgements is True


def test_active_faults_are_logged_and_shown_in_the_state(
    database: Database, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        broker = make(database, tmp_path, settings(reject_symbols=["VTI"]))
    assert [e["event"] for e in logs] == ["sim_faults_enabled"]
    assert logs[0]["faults"] == {"reject_symbols": ["VTI"]}
    assert broker.state()["faults"] == {"reject_symbols": ["VTI"]}
    assert make(database, tmp_path, settings()).state()["faults"] == {}
    described = FaultSettings(partial_fill_ratio=D("0.5"), read_errors=2).describe()
    assert described == {"partial_fill_ratio": "0.5", "read_errors": 2, "read_errors_after": 0}


# -- latency ------------------------------------------------------------------------------------


def test_latency_comes_before_every_call_and_after_it_acted(
    database: Database, tmp_path: Path
) -> None:
    seen: list[tuple[float, bool]] = []
    probe: list[SimBroker] = []

    def look(seconds: float) -> None:
        # Before the call nothing of it is stored; after it, the order is there.
        other = probe[0]
        seen.append(
            (seconds, any(o["client_order_id"] == "a" for o in other.state()["recent_orders"]))
        )

    recorder = Recorder(on_sleep=look)
    broker = make(database, tmp_path, settings(latency_ms=250, latency_after_ms=40), recorder)
    probe.append(make(database, tmp_path, settings()))

    broker.submit(order("a"))
    assert seen == [(0.25, False), (0.04, True)]
    recorder.sleeps.clear()
    broker.snapshot(["VTI"])
    broker.get_order("a")
    broker.fills(T0)
    broker.cancel("a")
    assert recorder.sleeps == [0.25, 0.04] * 4
    recorder.sleeps.clear()
    broker.deposit(D(1))  # the CLI's cash movements are not broker calls
    broker.state()
    assert recorder.sleeps == []


def test_latency_really_sleeps(database: Database, tmp_path: Path) -> None:
    env = BrokerEnvironment(
        account="paper", sql_engine=database.engine, state_dir=tmp_path, clock=lambda: T0
    )
    broker = SimBroker(settings(latency_ms=30), env, prices=StaticPrices(PRICES))
    started = time.monotonic()
    broker.snapshot(())
    assert time.monotonic() - started >= 0.03


# -- read errors --------------------------------------------------------------------------------


def test_read_errors_fail_a_fixed_window_of_reads_counted_per_instance(
    database: Database, tmp_path: Path
) -> None:
    broker = make(database, tmp_path, settings(read_errors=2, read_errors_after=1))
    broker.snapshot(())  # read 1 succeeds
    broker.submit(order("a"))  # writes do not count
    with pytest.raises(TransientBrokerError, match=r"sim get_order failed: read 2 .*read_errors"):
        broker.get_order("a")
    with pytest.raises(TransientBrokerError, match="read 3"):
        broker.fills(T0)
    assert broker.get_order("a") is not None  # read 4: the window has passed
    assert broker.faults.reads == 4
    # A new instance (a new process) counts from the start again.
    again = make(database, tmp_path, settings(read_errors=1))
    with pytest.raises(TransientBrokerError, match="sim snapshot failed: read 1"):
        again.snapshot(())
    assert again.snapshot(()).qty("VTI") == 7
    assert_consistent(again)


# -- rejections ---------------------------------------------------------------------------------


def test_rejected_symbols_are_refused_and_stored_with_a_clear_message(
    database: Database, tmp_path: Path
) -> None:
    broker = make(database, tmp_path, settings(reject_symbols=["VTI"]))
    with pytest.raises(OrderRejected, match="VTI is not accepted") as caught:
        broker.submit(order("a", "VTI"))
    assert "broker_settings.faults.reject_symbols" in caught.value.reason
    stored = broker.get_order("a")
    assert stored is not None
    assert stored.status is OrderStatus.REJECTED
    assert stored.message == caught.value.reason
    assert broker.submit(order("b", "BND")).status is OrderStatus.FILLED
    with pytest.raises(DuplicateClientOrderId):
        broker.submit(order("a", "VTI"))  # the id is taken, as for any refusal
    assert broker.snapshot(()).qty("VTI") == 0
    assert_consistent(broker)


# -- partial fills ------------------------------------------------------------------------------


def test_partial_fill_leaves_the_rest_open_until_cancelled(
    database: Database, tmp_path: Path
) -> None:
    broker = make(database, tmp_path, settings(partial_fill_ratio="0.5"))
    placed = broker.submit(order("a", "VTI", qty="7"))
    assert (placed.status, placed.filled_qty, placed.avg_fill_price) == (
        OrderStatus.PARTIALLY_FILLED,
        D(3),
        D(100),
    )
    snapshot = broker.snapshot(())
    assert snapshot.qty("VTI") == 3
    assert snapshot.cash == D(10000) - D(300) - D(1)  # commission per order, once
    assert [o.client_order_id for o in snapshot.open_orders] == ["a"]
    [fill] = broker.fills(T0)
    assert (fill.qty, fill.commission) == (D(3), D(1))
    # The rest never fills by itself, and blocks the other side like any open order.
    with pytest.raises(OrderRejected, match="potential wash trade"):
        broker.submit(order("b", "VTI", Side.SELL, "1"))

    cancelled = broker.cancel("a")
    assert (cancelled.status, cancelled.filled_qty, cancelled.avg_fill_price) == (
        OrderStatus.CANCELLED,
        D(3),
        D(100),
    )
    assert broker.get_order("a") == cancelled
    assert len(broker.fills(T0)) == 1
    assert broker.snapshot(()).open_orders == ()
    assert broker.snapshot(()).qty("VTI") == 3
    assert broker.cancel("a") == cancelled  # finished: unchanged
    assert_consistent(broker)


def test_a_partially_filled_sell_keeps_its_rest_offered(database: Database, tmp_path: Path) -> None:
    make(database, tmp_path, settings()).submit(order("buy", "VTI", qty="10"))
    broker = make(database, tmp_path, settings(partial_fill_ratio="0.25"))
    placed = broker.submit(order("sell", "VTI", Side.SELL, "10"))
    assert (placed.status, placed.filled_qty) == (OrderStatus.PARTIALLY_FILLED, D(2))
    with pytest.raises(OrderRejected, match=r"0 available \(8 held, 8 in open sell orders\)"):
        broker.submit(order("more", "VTI", Side.SELL, "1"))
    broker.cancel("sell")
    assert broker.submit(order("more-2", "VTI", Side.SELL, "4")).filled_qty == 1
    assert_consistent(broker)


@pytest.mark.parametrize(
    ("qty", "ratio", "filled", "status"),
    [
        ("7", "0.5", "3", OrderStatus.PARTIALLY_FILLED),
        ("2.5", "0.5", "1.2", OrderStatus.PARTIALLY_FILLED),
        ("0.125", "0.5", "0.062", OrderStatus.PARTIALLY_FILLED),
        ("1", "0.5", "0", OrderStatus.ACCEPTED),
        ("7", "0", "0", OrderStatus.ACCEPTED),
        ("7", "1", "7", OrderStatus.FILLED),
    ],
)
def test_partial_fills_round_down_to_the_order_s_own_step(
    database: Database, tmp_path: Path, qty: str, ratio: str, filled: str, status: OrderStatus
) -> None:
    broker = make(database, tmp_path, settings(partial_fill_ratio=ratio))
    placed = broker.submit(order("a", "VTI", qty=qty))
    assert (placed.status, placed.filled_qty) == (status, D(filled))
    assert broker.snapshot(()).qty("VTI") == D(filled)
    assert sum((f.qty for f in broker.fills(T0)), D(0)) == D(filled)
    if status.is_open:
        assert broker.cancel("a").status is OrderStatus.CANCELLED
    assert_consistent(broker)


def test_limit_orders_are_not_split(database: Database, tmp_path: Path) -> None:
    broker = make(database, tmp_path, settings(partial_fill_ratio="0.5"))
    placed = broker.submit(order("a", "VTI", qty="7", limit="101.00"))
    assert (placed.status, placed.filled_qty) == (OrderStatus.FILLED, D(7))


# -- lost acknowledgements ----------------------------------------------------------------------


def test_a_lost_acknowledgement_leaves_the_order_stored_and_filled(
    database: Database, tmp_path: Path
) -> None:
    broker = make(database, tmp_path, settings(lose_acknowledgements=True, reject_symbols=["BND"]))
    with pytest.raises(OutcomeUnknown, match="lost its answer") as caught:
        broker.submit(order("a", "VTI"))
    assert caught.value.client_order_id == "a"
    found = broker.get_order("a")
    assert found is not None
    assert (found.status, found.filled_qty) == (OrderStatus.FILLED, D(7))
    assert [f.client_order_id for f in broker.fills(T0)] == ["a"]
    # A refusal's answer is lost too: only the lookup tells.
    with pytest.raises(OutcomeUnknown):
        broker.submit(order("b", "BND"))
    refused = broker.get_order("b")
    assert refused is not None
    assert refused.status is OrderStatus.REJECTED
    # Sending again is refused by id, so a retry never doubles the order.
    with pytest.raises(DuplicateClientOrderId):
        broker.submit(order("a", "VTI"))
    assert broker.snapshot(()).qty("VTI") == 7
    assert_consistent(broker)


def test_dropped_submissions_store_nothing_and_count_a_window_of_submits(
    database: Database, tmp_path: Path
) -> None:
    broker = make(database, tmp_path, settings(drop_submissions=2, drop_submissions_after=1))
    assert broker.submit(order("a", "VTI", qty="1")).status is OrderStatus.FILLED
    for coid in ("b", "c"):
        with pytest.raises(OutcomeUnknown, match="before the sim took the order") as caught:
            broker.submit(order(coid, "VTI", qty="1"))
        assert caught.value.client_order_id == coid
        assert broker.get_order(coid) is None  # never taken: the id is free, nothing filled
    assert broker.submit(order("d", "VTI", qty="1")).status is OrderStatus.FILLED
    assert broker.snapshot(()).qty("VTI") == 2
    rule = broker.absence_rule()
    assert rule.grace.total_seconds() == 0  # the sim's "not found" is final at once
    assert [o.client_order_id for o in broker.orders_submitted(T0, T0)] == ["a", "d"]
    assert_consistent(broker)


@pytest.mark.parametrize(("race", "ends"), [("canceled", "cancelled"), ("filled", "filled")])
def test_a_raced_cancel_is_pending_then_ends_canceled_or_filled(
    database: Database, tmp_path: Path, race: str, ends: str
) -> None:
    make(database, tmp_path, settings()).submit(order("buy", "VTI", qty="5"))
    broker = make(database, tmp_path, settings(cancel_race=race))
    resting = broker.submit(order("sell", "VTI", Side.SELL, "5", limit="150.00"))
    assert resting.status is OrderStatus.ACCEPTED
    pending = broker.cancel("sell")
    assert pending.status is OrderStatus.ACCEPTED  # Alpaca's pending_cancel: still working
    after = broker.get_order("sell")
    assert after is not None
    assert after.status is OrderStatus(ends)
    assert broker.snapshot(()).qty("VTI") == (0 if race == "filled" else 5)
    if race == "filled":
        assert after.avg_fill_price == D("150.00")  # at its limit: the race was lost there
    assert_consistent(broker)


# -- crash after accept -------------------------------------------------------------------------


def test_crash_after_the_nth_accept_comes_after_the_commit(
    database: Database, tmp_path: Path
) -> None:
    recorder = Recorder()
    broker = make(
        database, tmp_path, settings(crash_after_accept=2, reject_symbols=["BND"]), recorder
    )
    broker.submit(order("a", "VTI", qty="1"))
    with pytest.raises(OrderRejected):
        broker.submit(order("b", "BND"))  # rejected orders do not count
    assert recorder.crashes == 0
    with pytest.raises(Crashed):
        broker.submit(order("c", "VTI", qty="2"))
    assert recorder.crashes == 1
    assert broker.faults.accepted == 2
    # What the crashed process committed is there for the next one.
    after = make(database, tmp_path, settings())
    stored = after.get_order("c")
    assert stored is not None
    assert (stored.status, stored.filled_qty) == (OrderStatus.FILLED, D(2))
    assert after.snapshot(()).qty("VTI") == 3
    assert_consistent(after)
    # Only the Nth: later accepts in the same process go through.
    broker.submit(order("d", "VTI", qty="1"))
    assert recorder.crashes == 1


CRASHING_PROCESS = """
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings, StaticPrices
from adapters.sim.broker import SimBroker
from adapters.sim.plugin import MIGRATIONS
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.store.db import open_database

database = open_database(sys.argv[1], Path(sys.argv[2]), branches=(MIGRATIONS,))
env = BrokerEnvironment(
    account="paper", sql_engine=database.engine, state_dir=Path(sys.argv[2]),
    clock=lambda: datetime(2024, 3, 5, 15, tzinfo=UTC),
)
settings = SimSettings.model_validate({"faults": {"crash_after_accept": 1}})
broker = SimBroker(settings, env, prices=StaticPrices({"VTI": Decimal(100)}))
broker.deposit(Decimal(1000))
broker.submit(OrderIntent(
    client_order_id="crash-1", cycle_id="c", account="paper", seq=1, symbol="VTI",
    side=Side.BUY, qty=Decimal(2), order_type=OrderType.MARKET, reason="drill",
))
print("still alive")
"""


@pytest.mark.slow
def test_crash_after_accept_kills_the_process_with_sigkill(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(CRASHING_PROCESS),
            database_url,
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    assert "still alive" not in done.stdout
    # The drill says what it did before it dies (structlog's default output is stdout).
    assert "crash_after_accept" in done.stdout + done.stderr
    broker = make(database, tmp_path, settings(cash="0"))
    stored = broker.get_order("crash-1")
    assert stored is not None
    assert (stored.status, stored.filled_qty) == (OrderStatus.FILLED, D(2))
    assert broker.snapshot(()).cash == D(800)
