"""Orders refused before they left (`NotSent`), and the wait for fills, at the brokers' edges.

Through the real executor (and the real engine, for the rejection trip rule) against the fake
TWS and the fake Alpaca:
- a link to IB lost in the middle of a batch, and Alpaca's 429s on submissions: the order the
  adapter refused and every later order of the cycle are recorded `cancelled` ("not sent:
  ..."), nothing is sent again, none is a broker rejection, and the account is not halted;
- a status the merge ignores (one trimtab does not know) is no change: a bounded number of
  `order_result` records, and the pause between reads grows;
- a fill that beats the deadline's cancel is recorded as such, not as "cancelled the rest".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
import structlog

from adapters.base import Broker
from daemon.bootstrap import App, broker_migrations, open_app
from daemon.core.cycle_report import OrderOutcome
from daemon.core.domain import BrokerOrder, OrderStatus, Side, TradingState
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import OrderTerms
from daemon.cycle.execution import Executor
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database, open_database
from daemon.store.intents import IntentStore
from daemon.store.models import CycleRow
from daemon.store.trading_state import account_state
from tests.contract.ibkr_harness import IbkrHarness
from tests.fakes.alpaca_server import KEY_ID, SECRET, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, account_toml, household
from tests.fakes.alpaca_server.harness import AlpacaHarness
from tests.fakes.alpaca_server.server import rate_limited
from tests.fakes.clocks import Ticks
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import DropAfterAccept, FakeTws, two_accounts

LOG = structlog.get_logger("not_sent")
Harness = IbkrHarness | AlpacaHarness


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(
        f"sqlite:///{tmp_path / 't.db'}", tmp_path / "state", branches=broker_migrations()
    )
    yield db
    db.close()


def _executor(
    database: Database,
    harness: Harness,
    ticks: Ticks,
    *,
    fill_timeout: float,
    broker: Broker | None = None,
) -> Executor:
    def pause(seconds: float) -> None:
        ticks.sleep(seconds)
        harness.settle()

    _cycle(database, harness, "c1")
    return Executor(
        database=database, broker=broker or harness.broker, clock=harness.now, log=LOG,
        fill_timeout=fill_timeout, sleep=pause, monotonic=ticks.monotonic,
    )  # fmt: skip


def _cycle(database: Database, harness: Harness, cycle_id: str) -> None:
    now = harness.now()
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=cycle_id, account=harness.account, trading_day=now.date(),
                slot=cycle_id, mode="paper", started_at=now, outcome="running",
            )
        )  # fmt: skip


def _run(executor: Executor, harness: Harness, orders: list[PlannedOrder]) -> list[OrderOutcome]:
    return executor.execute(
        cycle_id="c1", account=harness.account, orders=orders, terms=OrderTerms(),
        increment_for=lambda _symbol: Decimal(1),
    )  # fmt: skip


def _not_sent(outcomes: list[OrderOutcome]) -> list[OrderOutcome]:
    return [o for o in outcomes if o.status is OrderStatus.CANCELLED]


# -- a link to IB lost in the middle of a batch -----------------------------------------------


def test_a_link_lost_mid_batch_records_the_rest_not_sent_and_sends_nothing_again(
    database: Database,
) -> None:
    harness = IbkrHarness("acct")
    try:
        for symbol in ("AAA", "BBB", "CCC"):
            harness.set_price(symbol, Decimal(50))
            harness.give_position(symbol, Decimal(10))
        harness.set_price("EEE", Decimal(10))
        harness.fund(Decimal(100))
        harness.fake.queue(DropAfterAccept(fill=True))  # IB's nightly reset, say
        sells = [
            PlannedOrder(s, Side.SELL, Decimal(5), Decimal(50), Decimal(250), f"sell {s}")
            for s in ("AAA", "BBB", "CCC")
        ]
        buy = PlannedOrder("EEE", Side.BUY, Decimal(10), Decimal(10), Decimal(100), "buy EEE")

        executor = _executor(database, harness, Ticks(), fill_timeout=3.0)
        outcomes = _run(executor, harness, [*sells, buy])

        first, *rest = outcomes
        assert first.status is OrderStatus.FILLED, first.detail  # looked up: IB had it
        assert [o.status for o in rest] == [OrderStatus.CANCELLED] * 3, [o.detail for o in rest]
        assert "not sent: " in rest[0].detail
        assert "the link to IB was lost" in rest[0].detail
        for later in rest[1:]:
            assert later.detail.startswith("not sent: an earlier order of this cycle was not sent")
        assert harness.fake.count("placeOrder") == 1  # nothing sent after the loss, or again
        with database.transaction() as session:
            store = IntentStore(session)
            for outcome in rest:
                stored = store.get(outcome.intent.client_order_id)
                assert stored.status is OrderStatus.CANCELLED
                assert stored.message == outcome.detail
    finally:
        harness.close()


def _not_halted(app: App) -> None:
    with app.database.transaction() as session:
        state = account_state(session, "main")
        assert state.state is TradingState.ACTIVE, state.reason
        assert AuditLog(session).records(kinds=["trading_state"]) == []


def test_a_link_lost_mid_cycle_does_not_halt_the_account(tmp_path: Path, database_url: str) -> None:
    """Two sells and two buys; the link drops while the first sell is in flight: three orders
    are not sent, as many as `risk.trip_rejections_per_cycle` (3) broker rejections."""
    with FakeTws(two_accounts()) as tws:
        config = tmp_path / "trimtab.toml"
        config.write_text(
            ib_config(
                database_url,
                tws.port,
                'VTI = "0.1", BND = "0.05", VXUS = "0.45", AAPL = "0.4"',
                policy='cash_buffer = "200"\n',
            )
        )
        app = open_app(config)
        try:
            tws.queue(DropAfterAccept(fill=True))
            report = app.engine(fill_timeout=5).run_once("main")
            assert report.outcome == "succeeded", report.error
            _not_halted(app)
            statuses = [o.status for o in report.outcomes]
            assert statuses[1:] == [OrderStatus.CANCELLED] * 3, [o.detail for o in report.outcomes]
            assert OrderStatus.REJECTED not in statuses
            assert all(o.detail.startswith("not sent: ") for o in report.outcomes[1:])
            assert tws.count("placeOrder") == 1
        finally:
            app.close()


# -- Alpaca's rate limit on submissions ---------------------------------------------------------


@pytest.fixture
def alpaca_app(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeAlpaca, App]]:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    state = household("100000")
    state.auto_fill = True
    fake = FakeAlpaca(state).start()
    config = tmp_path / "trimtab.toml"
    settings = "read_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0"
    targets = 'VTI = "0.4", BND = "0.3", SCHD = "0.3"'
    config.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\n'
        + account_toml(fake.url, targets, settings=settings)
    )
    app = open_app(config, clock=state.now)
    yield fake, app
    app.close()
    fake.close()


def test_429s_on_submissions_do_not_halt_the_account_and_nothing_is_resent(
    alpaca_app: tuple[FakeAlpaca, App],
) -> None:
    """Three buys, Alpaca answers each POST with 429: as many as the trip limit (3)."""
    fake, app = alpaca_app
    fake.add_fault(rate_limited("POST", "/v2/orders", retry_after="1", times=3))
    report = app.engine(fill_timeout=2).run_once("main")
    assert report.outcome == "succeeded", report.error
    _not_halted(app)
    assert len(report.outcomes) == 3
    assert [o.status for o in report.outcomes] == [OrderStatus.CANCELLED] * 3
    assert "not sent: Alpaca's rate limit refused it" in report.outcomes[0].detail
    for later in report.outcomes[1:]:
        assert later.detail.startswith("not sent: an earlier order of this cycle was not sent")
    assert fake.count("POST", "/v2/orders") == 1  # the rest waits for the next cycle
    assert fake.state.orders == []


# -- polling ----------------------------------------------------------------------------------


def test_a_status_the_merge_ignores_is_no_change_and_the_pause_grows(database: Database) -> None:
    harness = AlpacaHarness("acct")
    try:
        harness.set_price("VTI", Decimal(100))
        harness.fund(Decimal(1000))
        harness.state.auto_fill = False  # the order rests
        ticks = Ticks()

        def pause(seconds: float) -> None:
            ticks.sleep(seconds)
            with harness.state.lock:  # Alpaca reports a status value new to trimtab
                for order in harness.state.orders:
                    order.raw_status = "pending_settlement"

        _cycle(database, harness, "c1")
        executor = Executor(
            database=database, broker=harness.broker, clock=harness.now, log=LOG,
            fill_timeout=60.0, cancel_timeout=30.0, sleep=pause, monotonic=ticks.monotonic,
        )  # fmt: skip
        buy = PlannedOrder("VTI", Side.BUY, Decimal(3), Decimal(100), Decimal(300), "buy")
        [outcome] = _run(executor, harness, [buy])

        assert outcome.status is OrderStatus.ACCEPTED  # still open: the next cycle looks it up
        assert ticks.waits[:5] == [0.5, 1, 2, 4, 4]
        assert max(ticks.waits) == 4
        assert len(ticks.waits) < 30, "a status trimtab ignores reset the pause every round"
        with database.transaction() as session:
            results = AuditLog(session).records(account="acct", kinds=["order_result"])
        assert len(results) == 2  # the submission's answer, the deadline's cancel
    finally:
        harness.close()


# -- the deadline's cancel --------------------------------------------------------------------


class _FillsFirst:
    """The harness's broker at which the order fills just before each cancel arrives."""

    def __init__(self, harness: AlpacaHarness) -> None:
        self._harness = harness
        self._inner = harness.broker

    def __getattr__(self, name: str) -> Callable[..., object]:
        return getattr(self._inner, name)  # type: ignore[no-any-return]

    def cancel(self, client_order_id: str) -> BrokerOrder:
        self._harness.state.fill(client_order_id)
        return self._inner.cancel(client_order_id)


def _resting_sell(harness: AlpacaHarness) -> PlannedOrder:
    harness.set_price("VTI", Decimal(100))
    harness.give_position("VTI", Decimal(5))
    harness.state.auto_fill = False
    return PlannedOrder("VTI", Side.SELL, Decimal(5), Decimal(100), Decimal(500), "sell VTI")


def test_a_fill_that_beats_the_deadline_cancel_is_not_recorded_as_cancelled(
    database: Database,
) -> None:
    harness = AlpacaHarness("acct")
    try:
        sell = _resting_sell(harness)
        broker = cast("Broker", _FillsFirst(harness))
        executor = _executor(database, harness, Ticks(), broker=broker, fill_timeout=3.0)

        [outcome] = _run(executor, harness, [sell])

        assert outcome.status is OrderStatus.FILLED
        expected = "not filled within 3s; filled before the cancel took effect"
        assert outcome.detail == expected
        with database.transaction() as session:
            assert IntentStore(session).get(outcome.intent.client_order_id).message == expected
    finally:
        harness.close()


def test_a_pending_cancel_says_so_and_its_end_is_recorded(database: Database) -> None:
    harness = AlpacaHarness("acct")
    try:
        sell = _resting_sell(harness)
        harness.race_cancels("canceled")
        executor = _executor(database, harness, Ticks(), fill_timeout=3.0)

        [outcome] = _run(executor, harness, [sell])

        assert outcome.status is OrderStatus.CANCELLED
        assert outcome.detail == "unfilled after 3s: cancelled the rest"
        with database.transaction() as session:
            details = [
                r.payload["detail"]
                for r in AuditLog(session).records(account="acct", kinds=["order_result"])
            ]
        assert details[1:] == [
            "unfilled after 3s: cancel requested, pending at the broker (filled 0 so far)",
            "unfilled after 3s: cancelled the rest",
        ]
    finally:
        harness.close()
