"""Reconciliation against the simulated broker: fills recorded once, outside trades seen,
unexplained positions halt the account, unreadable brokers abort the cycle."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from adapters.sim.broker import SimBroker
from adapters.sim.store import SimPositionRow
from daemon.bootstrap import App
from daemon.core.domain import BrokerOrder, Fill, OrderIntent, OrderType, Side, TradingState
from daemon.core.errors import OrderRejected, TransientBrokerError
from daemon.store.audit_log import AuditLog
from daemon.store.models import FillRow
from daemon.store.trading_state import account_state, set_trading_state
from tests.integration.test_cycle import NOW, make_app

D = Decimal


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    application = make_app(tmp_path, database_url)
    yield application
    application.close()


def run(app: App, **kwargs: object):  # type: ignore[no-untyped-def]
    engine = app.engine(fill_timeout=1, sleep=SLEEPS.append)
    return engine.run_once("main", force=True, **kwargs)  # type: ignore[arg-type]


SLEEPS: list[float] = []


def sim(app: App) -> SimBroker:
    broker = app.brokers["main"]
    assert isinstance(broker, SimBroker)
    return broker


def recorded_fills(app: App) -> list[FillRow]:
    with app.database.transaction() as session:
        return list(session.scalars(select(FillRow).order_by(FillRow.at)))


def state(app: App) -> TradingState:
    with app.database.transaction() as session:
        return account_state(session, "main").state


def test_fills_are_recorded_once_and_positions_agree(app: App) -> None:
    assert run(app).outcome == "succeeded"
    run(app)
    run(app)
    fills = recorded_fills(app)
    assert sorted(f.fill_id for f in fills) == sorted(
        f.fill_id for f in sim(app).fills(NOW.replace(year=2000))
    )
    assert {f.symbol for f in fills} == {"VTI", "BND"}
    assert not any(f.external for f in fills)
    assert state(app) is TradingState.ACTIVE


def test_a_trade_made_outside_trimtab_is_recorded_as_external(app: App) -> None:
    run(app)
    outside = OrderIntent(
        client_order_id="placed-in-the-broker-ui",
        cycle_id="-",
        account="main",
        seq=1,
        symbol="VTI",
        side=Side.SELL,
        qty=D(10),
        order_type=OrderType.MARKET,
        reason="the owner's own trade",
    )
    sim(app).submit(outside)
    report = run(app)
    assert report.outcome == "succeeded", report.error
    external = [f for f in recorded_fills(app) if f.external]
    assert [(f.client_order_id, f.qty) for f in external] == [("placed-in-the-broker-ui", D(10))]
    # The fill explains the position: no mismatch, the account keeps trading.
    assert state(app) is TradingState.ACTIVE


def test_a_position_no_fill_explains_halts_the_account(app: App) -> None:
    run(app)
    with app.database.transaction() as session:
        session.execute(
            update(SimPositionRow).where(SimPositionRow.symbol == "VTI").values(qty=D(200))
        )
    sim(app).deposit(D(20000))  # something to trade, which the halt must stop
    report = run(app)
    assert report.outcome == "succeeded"
    assert state(app) is TradingState.HALTED
    assert report.review is not None
    assert {d.check for d in report.review.decisions} == {"trading_state"}
    assert not report.outcomes
    with app.database.transaction() as session:
        [record] = AuditLog(session).records(kinds=["trading_state"])
        assert "VTI expected 240 but the broker has 200" in record.payload["reason"]
        # It survives a restart: the state is in the database, not in memory.
        set_trading_state(
            session, "main", TradingState.ACTIVE, reason="operator checked", actor="test", at=NOW
        )
    assert run(app).submitted


def test_reducing_lets_only_sales_through(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, extra="")
    run(app)
    with app.database.transaction() as session:
        set_trading_state(session, "main", TradingState.REDUCING, reason="test", actor="t", at=NOW)
    sim(app).deposit(D(5000))
    report = run(app, withdrawal=D(30000))
    assert report.plan is not None
    assert report.review is not None
    sides = {d.side for d in report.review.decisions if d.allowed}
    assert sides == {Side.SELL}
    app.close()


class Unreadable:
    """A broker whose fill history cannot be read."""

    def __init__(self, inner: SimBroker) -> None:
        self.inner = inner
        self.submitted = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def fills(self, since: datetime) -> list[Fill]:
        raise TransientBrokerError("503 Service Unavailable")

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        self.submitted += 1
        return self.inner.submit(intent)


def test_reconciliation_that_cannot_read_aborts_with_nothing_sent(app: App) -> None:
    broken = Unreadable(sim(app))
    app.brokers["main"] = broken  # type: ignore[assignment]
    SLEEPS.clear()
    report = run(app)
    assert report.outcome == "failed"
    assert re.search(
        r"fills failed \d+ time\(s\) .*retry budget 30s.*last: 503", report.error or ""
    )
    # Jittered backoff between the attempts, all of it inside the read's budget.
    assert len(SLEEPS) >= 3
    assert sum(SLEEPS) <= 30
    assert broken.submitted == 0


class Flaky(Unreadable):
    """Fails the first two reads of fills, then answers."""

    failures = 2

    def fills(self, since: datetime) -> list[Fill]:
        if self.failures:
            self.failures -= 1
            raise TransientBrokerError("connection reset")
        return list(self.inner.fills(since))


def test_a_read_that_fails_twice_is_retried_and_the_cycle_goes_on(app: App) -> None:
    flaky = Flaky(sim(app))
    app.brokers["main"] = flaky  # type: ignore[assignment]
    report = run(app)
    assert report.outcome == "succeeded", report.error
    assert flaky.submitted == 2


class RejectsEverything(Unreadable):
    def fills(self, since: datetime) -> list[Fill]:
        return list(self.inner.fills(since))

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        raise OrderRejected(intent.client_order_id, "insufficient buying power")


def test_three_rejections_in_a_cycle_halt_the_account(tmp_path: Path, database_url: str) -> None:
    strategy = (
        'strategy = "static"\n[accounts.main.strategy_params]\n'
        'targets = { VTI = "0.4", BND = "0.3", VXUS = "0.3" }\n'
    )
    from tests.fakes.feeds import RawFeed

    prices = RawFeed({"VTI": D(250), "BND": D(70), "VXUS": D(60)})
    app = make_app(tmp_path, database_url, strategy=strategy, prices=prices)
    app.brokers["main"] = RejectsEverything(sim(app))  # type: ignore[assignment]
    report = run(app)
    assert report.outcome == "succeeded"
    assert [o.status for o in report.outcomes] == ["rejected"] * 3
    assert state(app) is TradingState.HALTED
    with app.database.transaction() as session:
        assert "3 orders rejected in one cycle" in account_state(session, "main").reason
        assert session.scalar(select(func.count()).select_from(FillRow)) == 0
    app.close()


class RejectsBnd(RejectsEverything):
    def submit(self, intent: OrderIntent) -> BrokerOrder:
        if intent.symbol == "BND":
            raise OrderRejected(intent.client_order_id, "asset BND is not tradable")
        return self.inner.submit(intent)


def test_a_rejection_leaves_the_other_orders_going(app: App) -> None:
    app.brokers["main"] = RejectsBnd(sim(app))  # type: ignore[assignment]
    report = run(app)
    assert report.outcome == "succeeded", report.error
    assert [(o.intent.symbol, o.status) for o in report.outcomes] == [
        ("BND", "rejected"),
        ("VTI", "filled"),
    ]
    assert report.outcomes[0].detail == "asset BND is not tradable"
    assert state(app) is TradingState.ACTIVE


class CountsFills(Unreadable):
    """Counts fills reads; when armed, an outside trade fills right after the next one."""

    def __init__(self, inner: SimBroker) -> None:
        super().__init__(inner)
        self.reads = 0
        self.armed = False

    def fills(self, since: datetime) -> list[Fill]:
        self.reads += 1
        found = list(self.inner.fills(since))
        if self.armed:
            self.armed = False
            self.inner.submit(
                OrderIntent(
                    client_order_id="owner-trade-mid-read",
                    cycle_id="-",
                    account="main",
                    seq=1,
                    symbol="BND",
                    side=Side.SELL,
                    qty=D(5),
                    order_type=OrderType.MARKET,
                    reason="the owner's own trade",
                )
            )
        return found


def test_fills_that_explain_the_account_are_read_once(app: App) -> None:
    run(app)  # the baseline reconciliation reads fills twice; this test is about later ones
    broker = sim(app)
    broker.deposit(D(5000))
    counting = CountsFills(broker)
    app.brokers["main"] = counting  # type: ignore[assignment]
    report = run(app)
    assert report.outcome == "succeeded", report.error
    assert report.outcomes  # it traded, so the second reconciliation had new fills to read
    assert counting.reads == 2  # one per reconciliation: before and after trading
    assert state(app) is TradingState.ACTIVE


def test_a_fill_arriving_between_the_reads_is_read_again_not_taken_for_a_mismatch(
    app: App,
) -> None:
    run(app)
    counting = CountsFills(sim(app))
    counting.armed = True
    app.brokers["main"] = counting  # type: ignore[assignment]
    report = run(app)
    assert report.outcome == "succeeded", report.error
    # Fills, account (with the owner's sale), fills again (it differs), then a clean pair.
    assert counting.reads >= 3
    assert state(app) is TradingState.ACTIVE
    external = [f for f in recorded_fills(app) if f.external]
    assert [(f.client_order_id, f.qty) for f in external] == [("owner-trade-mid-read", D(5))]
