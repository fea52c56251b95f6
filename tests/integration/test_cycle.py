"""Whole cycles on the simulated broker: trades, idempotent slots, modes, kill switch, bad input."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.bootstrap import App, open_app
from daemon.core.domain import BrokerOrder, OrderIntent, OrderStatus, OrderType, Quote, Side
from daemon.core.errors import OutcomeUnknown
from daemon.cycle.engine import SlotAlreadyRan
from daemon.store.audit_log import AuditLog
from daemon.store.intents import IntentStore, client_order_id, database_identity
from daemon.store.killswitch import set_kill_switch
from daemon.store.models import CycleRow
from tests.fakes.broker import HandWrittenBroker
from tests.fakes.clocks import Ticks
from tests.fakes.feeds import RawFeed

D = Decimal
# Tuesday 2026-11-24, 15:45 in New York.
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
PRICES = {"VTI": D("250.00"), "BND": D("70.00")}


def config_text(mode: str, database_url: str, *, extra: str = "", strategy: str = "") -> str:
    strategy = strategy or (
        'strategy = "static"\n[accounts.main.strategy_params]\n'
        'targets = { VTI = "0.6", BND = "0.4" }\n'
    )
    return f"""
mode = "{mode}"
database_url = "{database_url}"
[accounts.main]
broker = "sim"
{strategy}
[accounts.main.broker_settings]
starting_cash = "100000"
[accounts.main.policy]
min_trade_notional = "50"
{extra}
"""


class Harness:
    def __init__(self, app: App, prices: object) -> None:
        self.app = app
        self.sim = app.brokers["main"]

    def run(self, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.app.engine(fill_timeout=1).run_once("main", **kwargs)  # type: ignore[arg-type]

    def kinds(self) -> list[str]:
        with self.app.database.transaction() as session:
            return [r.kind for r in AuditLog(session).records()]

    def sim_orders(self) -> list[dict[str, object]]:
        assert isinstance(self.sim, SimBroker)
        return list(self.sim.state()["recent_orders"])


def make_app(
    tmp_path: Path,
    database_url: str,
    mode: str = "paper",
    *,
    prices: object = None,
    extra: str = "",
    strategy: str = "",
    clock: list[datetime] | None = None,
    broker: dict[str, object] | None = None,
) -> App:
    config = tmp_path / "trimtab.toml"
    config.write_text(config_text(mode, database_url, extra=extra, strategy=strategy))
    now = clock if clock is not None else [NOW]
    app = open_app(config, clock=lambda: now[0])
    env = BrokerEnvironment(
        account="main",
        sql_engine=app.database.engine,
        state_dir=app.settings.state_dir,
        clock=app.clock,
    )
    broker_settings = {**app.settings.accounts["main"].broker_settings, **(broker or {})}
    settings = SimSettings.model_validate(broker_settings)
    feed = prices if prices is not None else RawFeed(dict(PRICES))
    app.brokers["main"] = SimBroker(settings, env, prices=feed)  # type: ignore[arg-type]
    return app


@pytest.fixture
def paper(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    app = make_app(tmp_path, database_url)
    yield Harness(app, None)
    app.close()


def test_first_cycle_trades_to_target_and_the_next_plans_nothing(paper: Harness) -> None:
    report = paper.run()
    assert report.outcome == "succeeded", report.error
    assert report.submitted
    assert [(o.intent.side, o.intent.symbol, o.intent.qty, o.status) for o in report.outcomes] == [
        (Side.BUY, "BND", D(571), OrderStatus.FILLED),
        (Side.BUY, "VTI", D(240), OrderStatus.FILLED),
    ]
    snapshot = paper.sim.snapshot(())
    assert snapshot.qty("VTI") == 240
    assert snapshot.qty("BND") == 571
    assert snapshot.cash == D(100000) - 240 * D(250) - 571 * D(70)
    assert paper.kinds() == [
        "cycle_started",
        "reconciliation",
        "snapshot",
        "targets",
        "plan",
        "risk_decision",
        "order_intent",
        "order_result",
        "order_intent",
        "order_result",
        "reconciliation",
        "cycle_finished",
    ]
    with pytest.raises(SlotAlreadyRan, match="--force"):
        paper.run()
    again = paper.run(force=True)
    assert again.outcome == "succeeded"
    assert again.cycle_id.endswith(":manual.2")
    assert again.plan is not None
    assert again.plan.orders == ()
    assert len(paper.sim_orders()) == 2


def test_dry_run_is_the_default_and_submits_nothing(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, mode="dry-run")
    report = app.engine().run_once("main")
    assert report.outcome == "succeeded"
    assert not report.submitted
    assert report.why_not_submitted == "dry-run mode"
    assert report.plan is not None
    assert len(report.plan.orders) == 2
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    assert sim.state()["recent_orders"] == []
    app.close()


def test_kill_switch_plans_and_audits_but_submits_nothing(paper: Harness) -> None:
    with paper.app.database.transaction() as session:
        set_kill_switch(session, engaged=True, reason="test", actor="t", at=NOW)
    report = paper.run()
    assert report.outcome == "succeeded"
    assert not report.submitted
    assert report.why_not_submitted == "kill switch engaged"
    assert report.review is not None
    assert {d.check for d in report.review.decisions} == {"kill_switch"}
    assert paper.sim_orders() == []
    with paper.app.database.transaction() as session:
        set_kill_switch(session, engaged=False, reason="test", actor="t", at=NOW)
    assert paper.run(force=True).submitted


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (D(0), "price of BND is 0, not a positive number"),
        (D(-3), "price of BND is -3, not a positive number"),
        (D("NaN"), "price of BND is NaN"),
        (None, "no price for BND from the broker"),
    ],
)
def test_bad_prices_fail_the_cycle_naming_the_symbol(
    tmp_path: Path, database_url: str, price: Decimal | None, message: str
) -> None:
    prices = dict(PRICES)
    if price is None:
        del prices["BND"]
    else:
        prices["BND"] = price
    app = make_app(tmp_path, database_url, prices=RawFeed(prices))
    report = app.engine().run_once("main")
    assert report.outcome == "failed"
    assert report.error is not None
    assert message in report.error
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    assert sim.state()["recent_orders"] == []
    with app.database.transaction() as session:
        failed = AuditLog(session).records(kinds=["cycle_failed"])
        assert len(failed) == 1
        assert message in failed[0].payload["error"]
        assert session.get(CycleRow, report.cycle_id).outcome == "failed"  # type: ignore[union-attr]
    app.close()


def test_stale_quotes_fail_the_cycle(tmp_path: Path, database_url: str) -> None:
    feed = RawFeed(dict(PRICES), as_of=NOW - timedelta(days=10))
    app = make_app(tmp_path, database_url, prices=feed)
    report = app.engine().run_once("main")
    assert report.outcome == "failed"
    assert "quote for BND is 240.0 hours old" in (report.error or "")
    app.close()


def test_negative_position_from_the_broker_fails_the_cycle(
    tmp_path: Path, database_url: str
) -> None:
    app = make_app(tmp_path, database_url)
    quotes = {s: Quote(s, p, NOW, "test") for s, p in PRICES.items()}
    app.brokers["main"] = HandWrittenBroker(cash=D(1000), positions={"VTI": D(-3)}, quotes=quotes)
    report = app.engine().run_once("main")
    assert report.outcome == "failed"
    assert "quantity of VTI is negative (-3)" in (report.error or "")
    app.close()


def test_targets_not_summing_to_one_at_run_time_fail_the_cycle(
    tmp_path: Path, database_url: str
) -> None:
    strategy = (
        'strategy = "tests.fakes.feeds:UNCHECKED_STRATEGY"\n'
        '[accounts.main.strategy_params]\nweights = { VTI = "0.5", BND = "0.4" }\n'
    )
    app = make_app(tmp_path, database_url, strategy=strategy)
    report = app.engine().run_once("main")
    assert report.outcome == "failed"
    assert "targets sum to 0.9, not 1" in (report.error or "")
    app.close()


def _order_id(app: App, cycle_id: str, seq: int) -> str:
    """The id the executor gives the order `seq` of `cycle_id` in the app's database."""
    with app.database.transaction() as session:
        return client_order_id(cycle_id, seq, database_identity(session))


def _crashed_intent(app: App, seq: int, symbol: str, qty: str) -> OrderIntent:
    cycle_id = "main:2026-11-23:manual"
    intent = OrderIntent(
        client_order_id=_order_id(app, cycle_id, seq),
        cycle_id=cycle_id,
        account="main",
        seq=seq,
        symbol=symbol,
        side=Side.BUY,
        qty=D(qty),
        order_type=OrderType.MARKET,
        reason="from a run that crashed",
    )
    with app.database.transaction() as session:
        if session.get(CycleRow, cycle_id) is None:
            session.add(
                CycleRow(
                    cycle_id=cycle_id,
                    account="main",
                    trading_day=NOW.date(),
                    slot="manual",
                    mode="paper",
                    started_at=NOW,
                    outcome="running",
                )
            )
            session.flush()
        store = IntentStore(session)
        store.add(intent, NOW)
        store.move(intent.client_order_id, OrderStatus.SUBMITTING, NOW)
    return intent


def test_crashed_intents_are_resolved_by_lookup_never_resent(paper: Harness) -> None:
    sent = _crashed_intent(paper.app, 1, "VTI", "10")  # reached the broker before the crash
    lost = _crashed_intent(paper.app, 2, "BND", "10")  # crashed before it was sent
    paper.sim.submit(sent)
    report = paper.run()
    assert report.outcome == "succeeded", report.error
    with paper.app.database.transaction() as session:
        store = IntentStore(session)
        assert store.get(sent.client_order_id).status is OrderStatus.FILLED
        assert store.get(lost.client_order_id).status is OrderStatus.NEVER_REACHED
        assert "never reached the broker" in store.get(lost.client_order_id).message
    ids = [o["client_order_id"] for o in paper.sim_orders()]
    assert ids.count(sent.client_order_id) == 1
    assert lost.client_order_id not in ids


class LostAnswers:
    """Forwards to the simulated broker but loses the answer to every submit, the way a
    timeout or a dropped connection does; with `retry`, it also resends once, the way
    alpaca-py retries a POST after a 504."""

    def __init__(self, inner: SimBroker, *, retry: bool) -> None:
        self.inner = inner
        self.retry = retry

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        self.inner.submit(intent)
        if self.retry:
            return self.inner.submit(intent)  # raises DuplicateClientOrderId
        raise OutcomeUnknown(intent.client_order_id, "read timed out")


@pytest.mark.parametrize("retry", [False, True], ids=["timeout", "retried-post"])
def test_a_lost_answer_is_resolved_by_lookup_not_resent(paper: Harness, retry: bool) -> None:
    assert isinstance(paper.sim, SimBroker)
    paper.app.brokers["main"] = LostAnswers(paper.sim, retry=retry)  # type: ignore[assignment]
    report = paper.run()
    assert report.outcome == "succeeded", report.error
    assert [o.status for o in report.outcomes] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert all("adopted" in o.detail for o in report.outcomes)
    assert len(paper.sim_orders()) == 2


def test_an_id_taken_by_a_different_order_is_not_adopted(paper: Harness) -> None:
    cycle_id = "main:2026-11-24:manual"
    other = OrderIntent(
        client_order_id=_order_id(paper.app, cycle_id, 1),
        cycle_id=cycle_id,
        account="main",
        seq=1,
        symbol="BND",
        side=Side.BUY,
        qty=D(571),
        order_type=OrderType.MARKET,
        reason="elsewhere",
    )
    paper.sim.submit(other)
    report = paper.run()
    assert report.outcome == "failed"
    assert "not adopted, nothing sent" in (report.error or "")
    assert len(paper.sim_orders()) == 1
    with paper.app.database.transaction() as session:
        assert IntentStore(session).get(other.client_order_id).intent.symbol == "VTI"
        assert IntentStore(session).get(other.client_order_id).status is OrderStatus.REJECTED


def test_withdrawal_raises_cash_by_selling(paper: Harness) -> None:
    paper.run()
    report = paper.run(force=True, withdrawal=D(20000))
    assert report.outcome == "succeeded", report.error
    assert report.plan is not None
    assert all(o.side is Side.SELL for o in report.plan.orders)
    assert paper.sim.snapshot(()).cash >= D(20000)


def test_buys_leave_the_withdrawal_when_sells_fill_below_their_plan(
    tmp_path: Path, database_url: str
) -> None:
    """The sim fills 1% against the account, so the sells raise less than planned; the buys
    after them are sized to the cash less the withdrawal, which stays there (before, they
    were sized to the cash less the buffer alone and spent part of it)."""
    feed = RawFeed(dict(PRICES))
    # No hold on market buys: the buys are sized at the sim's slipped price.
    app = make_app(tmp_path, database_url, prices=feed, broker={"slippage_bps": 100})
    try:
        paper = Harness(app, None)
        assert paper.run().outcome == "succeeded"
        feed.prices["VTI"] = D("330.00")  # VTI from 60% to about 66%: out of its band
        report = paper.run(force=True, withdrawal=D(5000))
        assert report.outcome == "succeeded", report.error
        assert report.plan is not None
        sides = {(o.side, o.symbol) for o in report.plan.orders}
        assert sides == {(Side.SELL, "VTI"), (Side.BUY, "BND")}
        assert paper.sim.snapshot(()).cash >= D(5000)
    finally:
        app.close()


def test_buys_that_spend_the_cash_fit_the_sims_slippage_and_commission(
    tmp_path: Path, database_url: str
) -> None:
    """Day 0 spends nearly all the cash on whole shares. The sim fills buys 1% above the
    quote and charges $1 an order plus a cent a share, with no hold on market buys: every
    buy is sized at the price and charge the sim declares, so none is refused (before, the
    VTI buy sized at the quote was refused: "insufficient cash ... with commission")."""
    broker = {
        "slippage_bps": 100,
        "commission_per_order": "1.00",
        "commission_per_share": "0.01",
    }
    app = make_app(tmp_path, database_url, broker=broker)
    try:
        report = Harness(app, None).run()
        assert report.outcome == "succeeded", report.error
        assert [(o.intent.symbol, o.status) for o in report.outcomes] == [
            ("BND", OrderStatus.FILLED),
            ("VTI", OrderStatus.FILLED),
        ]
        vti = report.outcomes[1].intent
        assert "reduced from 240" in vti.reason  # shrunk to what the cash pays, not refused
        cash = app.brokers["main"].snapshot(()).cash
        assert D(0) <= cash < D("252.50") + D("1.01")  # less than one more VTI share costs
    finally:
        app.close()


def test_a_withdrawal_is_raised_net_of_the_sales_slippage_and_commission(
    tmp_path: Path, database_url: str
) -> None:
    """Fractional shares, 10 bps of slippage and $4.95 plus a cent a share per order: the
    sales that raise a 5,000 withdrawal lose about 15 to them, so the cycle raises that as
    well and the cash is there after it (before, 4,984.67 was)."""
    broker = {
        "slippage_bps": 10,
        "commission_per_order": "4.95",
        "commission_per_share": "0.01",
        "fractional": True,
    }
    extra = 'fractional = true\nfractional_increment = "0.000000001"'
    app = make_app(tmp_path, database_url, broker=broker, extra=extra)
    try:
        paper = Harness(app, None)
        assert paper.run().outcome == "succeeded"
        assert paper.sim.snapshot(()).cash < D(1)  # day 0 invested the cash to the cent
        report = paper.run(force=True, withdrawal=D(5000))
        assert report.outcome == "succeeded", report.error
        assert report.plan is not None
        assert {o.side for o in report.plan.orders} == {Side.SELL}
        assert any("for what the sales lose" in note for note in report.plan.notes)
        assert D(5000) <= paper.sim.snapshot(()).cash < D(5001)
    finally:
        app.close()


class NeverFills:
    """Accepts every order but, as a thin market might, fills none of it."""

    def __init__(self, inner: SimBroker) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        resting = dataclasses.replace(intent, order_type=OrderType.LIMIT, limit_price=D("1.00"))
        return self.inner.submit(resting)


def test_orders_unfilled_at_the_end_of_the_window_are_cancelled(paper: Harness) -> None:
    assert isinstance(paper.sim, SimBroker)
    paper.app.brokers["main"] = NeverFills(paper.sim)  # type: ignore[assignment]
    report = paper.app.engine(fill_timeout=0.2).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert [o.status for o in report.outcomes] == [OrderStatus.CANCELLED] * 2
    assert all("cancelled the rest" in o.detail for o in report.outcomes)
    assert paper.sim.snapshot(()).open_orders == ()


def test_partial_fills_keep_their_part_and_the_rest_is_cancelled(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__FAULTS__PARTIAL_FILL_RATIO", "0.5")
    app = make_app(tmp_path, database_url)
    report = app.engine(fill_timeout=0.3).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert [(o.intent.symbol, o.status) for o in report.outcomes] == [
        ("BND", OrderStatus.CANCELLED),
        ("VTI", OrderStatus.CANCELLED),
    ]
    assert [o.order.filled_qty for o in report.outcomes if o.order] == [D(285), D(120)]
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    assert sim.snapshot(()).qty("VTI") == 120
    app.close()


def test_the_broker_refusing_fractions_means_whole_shares(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__MAIN__BROKER_SETTINGS__FRACTIONAL", "false")
    app = make_app(tmp_path, database_url, extra='fractional = true\nfractional_increment = "0.01"')
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert all(o.intent.qty == o.intent.qty.to_integral_value() for o in report.outcomes)
    assert all(o.status is OrderStatus.FILLED for o in report.outcomes)
    app.close()


def test_a_stopping_daemon_sends_no_further_order_and_records_the_rest_as_not_sent(
    paper: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM during a cycle: the order already sent keeps its recorded fate, the others
    are recorded as not sent, and nothing is left submitting or unknown."""
    sent: list[str] = []
    submit = paper.sim.submit

    def record_submit(intent: OrderIntent) -> BrokerOrder:
        sent.append(intent.symbol)
        return submit(intent)

    monkeypatch.setattr(paper.sim, "submit", record_submit)

    def should_stop() -> bool:
        # The signal arrives once the broker has the first order.
        return bool(sent)

    report = paper.app.engine(fill_timeout=1, should_stop=should_stop).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert [(o.intent.symbol, o.status) for o in report.outcomes] == [
        ("BND", OrderStatus.FILLED),
        ("VTI", OrderStatus.CANCELLED),
    ]
    assert "trimtab is stopping" in report.outcomes[1].detail
    assert sent == ["BND"]
    assert [o["symbol"] for o in paper.sim_orders()] == ["BND"]
    with paper.app.database.transaction() as session:
        assert IntentStore(session).unresolved("main") == []


def test_notional_buys_are_sent_as_dollar_amounts_and_filled_in_fractions(
    tmp_path: Path, database_url: str
) -> None:
    app = make_app(tmp_path, database_url, extra="fractional = true\nnotional_buys = true")
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "succeeded", report.error
    buys = [o for o in report.outcomes if o.intent.side is Side.BUY]
    assert {o.intent.symbol for o in buys} == {"VTI", "BND"}
    held = app.brokers["main"].snapshot(())
    with app.database.transaction() as session:
        store = IntentStore(session)
        for outcome in buys:
            intent = outcome.intent
            assert intent.reference_price is not None
            assert intent.notional == (intent.qty * intent.reference_price).quantize(
                Decimal("0.01"), rounding="ROUND_DOWN"
            )
            assert outcome.status is OrderStatus.FILLED
            assert outcome.order is not None
            assert outcome.order.notional == intent.notional
            # The broker decided the shares: whatever the amount bought at the fill price.
            assert outcome.order.filled_qty == held.qty(intent.symbol)
            assert store.get(intent.client_order_id).intent.notional == intent.notional
        results = [
            r.payload
            for r in AuditLog(session).records(kinds=["order_result"])
            if r.payload["status"] == "filled"
        ]
    assert sorted(r["notional"] for r in results) == sorted(str(o.intent.notional) for o in buys)
    app.close()


def test_the_wait_for_fills_runs_on_the_clock_it_is_given(
    tmp_path: Path, database_url: str
) -> None:
    extra = '[accounts.main.broker_settings.faults]\npartial_fill_ratio = "0.5"\n'
    app = make_app(tmp_path, database_url, extra=extra)
    clock = Ticks()
    try:
        engine = app.engine(fill_timeout=60, poll_sleep=clock.sleep, monotonic=clock.monotonic)
        report = engine.run_once("main")
    finally:
        app.close()
    assert report.outcome == "succeeded", report.error
    # A minute of polling at the executor's pace, none of it real: the pause doubles from
    # 0.5 s to 4 s while the orders rest, and never runs past the deadline.
    assert clock.now >= 60
    assert clock.waits[:4] == [0.5, 1, 2, 4]
    assert max(clock.waits) == 4
    assert len(clock.waits) < 25, "resting orders are not read twice a second"
    assert [(o.status, o.detail) for o in report.outcomes] == [
        (OrderStatus.CANCELLED, "unfilled after 60s: cancelled the rest")
    ] * len(report.outcomes)
    assert all(o.order is not None and o.order.filled_qty > 0 for o in report.outcomes)
