"""The valuation history and cash flows in a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings, StaticPrices
from adapters.sim.broker import SimBroker
from daemon.bootstrap import open_app
from daemon.config.settings import Settings
from daemon.core.domain import AccountSnapshot, OrderIntent, OrderType, Position, Quote, Side
from daemon.core.errors import DataError, TransientBrokerError
from daemon.core.movements import CashFlow, FlowKind
from daemon.core.performance import daily_returns, time_weighted_return
from daemon.logs import get_logger
from daemon.monitor.history import record_point
from daemon.monitor.performance_view import performance_view
from daemon.service.day_end import end_of_day
from daemon.store.cash_flows import flows_between, record_flow, sync_flows
from daemon.store.db import Database
from daemon.store.valuations import (
    Valuation,
    ValuationSource,
    benchmark_series,
    daily_series,
    household_series,
    latest_valuation,
    record_benchmark_price,
    record_valuation,
    valuation_from_snapshot,
    valuations,
)
from tests.fakes.broker import HandWrittenBroker
from tests.fakes.feeds import RawFeed
from tests.hypothesis_profiles import scaled

D = Decimal
# Monday 2026-03-02, 15:45 in New York.
T0 = datetime(2026, 3, 2, 20, 45, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _settings(benchmark: str | None = "SPY") -> Settings:
    return Settings.model_validate(
        {
            "accounts": {
                "paper": {
                    "broker": "sim",
                    "strategy": "static",
                    "strategy_params": {"targets": {"VTI": "1"}},
                }
            },
            "performance": {"benchmark": benchmark},
        }
    )


def _sim(database: Database, tmp_path: Path, clock: Clock, prices: StaticPrices) -> SimBroker:
    env = BrokerEnvironment(
        account="paper", sql_engine=database.engine, state_dir=tmp_path, clock=clock
    )
    return SimBroker(SimSettings(starting_cash=D("10000")), env, prices=prices)


def _valuation(at: datetime, equity: str, ref: str = "c1") -> Valuation:
    return Valuation(
        account="paper",
        as_of=at,
        trading_day=at.date(),
        source=ValuationSource.CYCLE,
        ref=ref,
        equity=D(equity),
        cash=D(equity),
        positions_value=D(0),
    )


def test_a_snapshot_is_valued_at_its_quotes_to_the_cent() -> None:
    quotes = {
        "VTI": Quote("VTI", D("250.123"), T0, "static"),
        "BND": Quote("BND", D("70"), T0, "static"),
    }
    snapshot = AccountSnapshot(
        "paper", T0, D("100.50"), (Position("VTI", D("1.5")), Position("BND", D(2))), quotes
    )
    valuation = valuation_from_snapshot(
        snapshot, source=ValuationSource.CYCLE, ref="c1", exchange="XNYS"
    )
    assert dict(valuation.holdings) == {"BND": D("140.00"), "VTI": D("375.18")}
    assert valuation.positions_value == D("515.18")
    assert valuation.equity == D("615.68")
    assert valuation.trading_day == date(2026, 3, 2)
    unquoted = AccountSnapshot("paper", T0, D(1), (Position("XYZ", D(1)),), {})
    with pytest.raises(DataError, match="no quote for held XYZ"):
        valuation_from_snapshot(unquoted, source=ValuationSource.EOD, ref="", exchange="XNYS")


def test_valuations_round_trip_exactly_and_replace_their_own_row(database: Database) -> None:
    exact = Valuation(
        account="paper",
        as_of=T0,
        trading_day=date(2026, 3, 2),
        source=ValuationSource.EOD,
        ref="eod",
        equity=D("123456789.123456789012"),
        cash=D("0.000000000001"),
        positions_value=D("123456789.123456789011"),
        holdings={"VTI": D("123456789.123456789011")},
    )
    with database.transaction() as session:
        record_valuation(session, exact, now=T0)
        record_valuation(session, _valuation(T0 - timedelta(hours=5), "99"), now=T0)
    with database.transaction() as session:
        record_valuation(session, exact, now=T0 + timedelta(minutes=1))
    with database.transaction() as session:
        stored = valuations(session, "paper")
        latest = latest_valuation(session, "paper")
    assert [v.ref for v in stored] == ["c1", "eod"]
    assert latest is not None
    assert latest.equity == exact.equity
    assert latest.cash == exact.cash
    assert dict(latest.holdings) == dict(exact.holdings)
    assert latest.as_of == T0


def test_the_daily_series_takes_each_days_latest_and_the_flows_between(
    database: Database,
) -> None:
    day1, day2, day3 = T0, T0 + timedelta(days=1), T0 + timedelta(days=2)
    with database.transaction() as session:
        record_valuation(session, _valuation(day1 - timedelta(hours=4), "900", "a"), now=T0)
        record_valuation(session, _valuation(day1, "1000", "b"), now=T0)
        record_valuation(session, _valuation(day2, "1610", "c"), now=T0)
        record_valuation(session, _valuation(day3, "1449", "d"), now=T0)
        flows = [
            # Before the first point: part of the starting value.
            (day1 - timedelta(hours=1), "300"),
            (day1 + timedelta(hours=1), "500"),
            # Exactly at the second point's valuation: it counts in that period.
            (day2, "100"),
            (day2 + timedelta(hours=2), "-300"),
            # After the last point: not in any period yet.
            (day3 + timedelta(minutes=1), "50"),
        ]
        for i, (at, amount) in enumerate(flows):
            kind = FlowKind.DEPOSIT if D(amount) > 0 else FlowKind.WITHDRAWAL
            record_flow(
                session,
                CashFlow("paper", at, D(amount), kind, "manual", f"m{i}"),
                exchange="XNYS",
                now=T0,
            )
    with database.transaction() as session:
        series = daily_series(session, "paper")
        household = household_series(session, ["paper"])
    assert [(p.day, p.value, p.flow) for p in series] == [
        (date(2026, 3, 2), D(1000), D(0)),
        (date(2026, 3, 3), D(1610), D(600)),
        (date(2026, 3, 4), D(1449), D(-300)),
    ]
    assert household == series
    # 1000 -> 1010 (+1%), then 1610 -> 1749 before the withdrawal (-10% + ...): by hand.
    returns = daily_returns(series)
    assert returns.tolist() == pytest.approx([0.01, (1449 + 300) / 1610 - 1])


def test_a_flow_is_recorded_once(database: Database) -> None:
    flow = CashFlow("paper", T0, D("250"), FlowKind.DEPOSIT, "alpaca", "act-1")
    with database.transaction() as session:
        assert record_flow(session, flow, exchange="XNYS", now=T0)
        assert not record_flow(session, flow, exchange="XNYS", now=T0)
        # The same id from another source is another flow.
        other = CashFlow("paper", T0, D("250"), FlowKind.DEPOSIT, "manual", "act-1")
        assert record_flow(session, other, exchange="XNYS", now=T0)
    with database.transaction() as session:
        assert len(flows_between(session, "paper")) == 2


def test_flows_must_have_the_sign_of_their_kind() -> None:
    with pytest.raises(ValueError, match="withdrawal must be negative"):
        CashFlow("paper", T0, D("5"), FlowKind.WITHDRAWAL, "manual", "x")
    with pytest.raises(ValueError, match="non-zero"):
        CashFlow("paper", T0, D("0"), FlowKind.DEPOSIT, "manual", "x")


def test_sim_deposits_and_withdrawals_become_flows_once(database: Database, tmp_path: Path) -> None:
    clock = Clock()
    sim = _sim(database, tmp_path, clock, StaticPrices({"VTI": D(100)}))
    clock.now += timedelta(hours=1)
    sim.deposit(D("2500"))
    clock.now += timedelta(hours=1)
    sim.withdraw(D("1000"))
    for _ in range(2):
        sync_flows(database=database, broker=sim, account="paper", exchange="XNYS", clock=clock)
    with database.transaction() as session:
        recorded = flows_between(session, "paper")
    assert [(f.amount, f.kind, f.note) for f in recorded] == [
        (D("10000"), FlowKind.DEPOSIT, "deposit"),
        (D("2500"), FlowKind.DEPOSIT, "deposit"),
        (D("-1000"), FlowKind.WITHDRAWAL, "withdrawal"),
    ]
    assert {f.source for f in recorded} == {"sim"}


def test_cycle_points_keep_returns_free_of_flows(database: Database, tmp_path: Path) -> None:
    """Buy, let the price move, deposit, move again: the TWR is the price moves alone."""
    clock = Clock()
    prices = StaticPrices({"VTI": D(100), "SPY": D(400)})
    sim = _sim(database, tmp_path, clock, prices)
    settings = _settings()
    log = get_logger()

    def point(ref: str) -> None:
        record_point(
            database=database,
            settings=settings,
            account="paper",
            broker=sim,
            snapshot=sim.snapshot(["SPY"]),
            source=ValuationSource.CYCLE,
            ref=ref,
            clock=clock,
            log=log,
        )

    sim.submit(OrderIntent("o1", "c", "paper", 1, "VTI", Side.BUY, D(50), OrderType.MARKET, "test"))
    cash = sim.snapshot([]).cash
    point("day1")
    clock.now += timedelta(days=1)
    prices.set("VTI", D(110))
    prices.set("SPY", D(404))
    sim.deposit(D("5000"))
    point("day2")
    clock.now += timedelta(days=1)
    prices.set("VTI", D(99))
    point("day3")
    with database.transaction() as session:
        series = daily_series(session, "paper")
        spy = benchmark_series(session, "SPY")
    values = [p.value for p in series]
    flows = [p.flow for p in series]
    assert flows == [D(0), D(5000), D(0)]
    assert values[0] == cash + 50 * 100
    assert values[1] == cash + 5000 + 50 * 110
    expected = (
        (float(cash) + 50 * 110) / (float(cash) + 50 * 100) * (float(cash) + 5000 + 50 * 99)
    ) / (float(cash) + 5000 + 50 * 110) - 1
    assert time_weighted_return(daily_returns(series)) == pytest.approx(expected)
    assert [(p.day, p.value) for p in spy] == [
        (date(2026, 3, 2), D(400)),
        (date(2026, 3, 3), D(404)),
        (date(2026, 3, 4), D(404)),
    ]


def test_a_point_that_cannot_be_valued_is_logged_not_raised(
    database: Database, tmp_path: Path
) -> None:
    clock = Clock()
    prices = StaticPrices({"VTI": D(100)})
    sim = _sim(database, tmp_path, clock, prices)
    sim.submit(OrderIntent("o1", "c", "paper", 1, "VTI", Side.BUY, D(1), OrderType.MARKET, "t"))
    prices.remove("VTI")
    with capture_logs() as logs:
        result = record_point(
            database=database,
            settings=_settings(None),
            account="paper",
            broker=sim,
            snapshot=sim.snapshot([]),
            source=ValuationSource.EOD,
            ref="eod",
            clock=clock,
            log=get_logger(),
        )
    assert result.valuation is None
    assert "no quote for held VTI" in result.problems[0]
    assert any(e["event"] == "performance_point_incomplete" for e in logs)
    with database.transaction() as session:
        assert valuations(session, "paper") == []


def test_a_later_benchmark_price_of_the_day_wins(database: Database) -> None:
    day = date(2026, 3, 2)
    with database.transaction() as session:
        record_benchmark_price(session, "SPY", day, D(401), as_of=T0, source="a")
        record_benchmark_price(session, "SPY", day, D(400), as_of=T0 - timedelta(1), source="b")
        record_benchmark_price(session, "SPY", day, D(402), as_of=T0 + timedelta(1), source="c")
    with database.transaction() as session:
        assert benchmark_series(session, "SPY") == benchmark_series(session, "SPY", first=day)
        (point,) = benchmark_series(session, "SPY")
    assert point.value == D(402)


def test_each_cycle_records_the_brokers_valuation_and_flows(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""
mode = "paper"
database_url = "{database_url}"
[performance]
benchmark = "SPY"
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.broker_settings]
starting_cash = "100000"
"""
    )
    # Tuesday 2026-11-24, 15:45 in New York.
    now = [datetime(2026, 11, 24, 20, 45, tzinfo=UTC)]
    app = open_app(config, clock=lambda: now[0])
    try:
        env = BrokerEnvironment(
            account="main", sql_engine=app.database.engine, state_dir=tmp_path, clock=app.clock
        )
        feed = RawFeed({"VTI": D(250), "BND": D(70), "SPY": D(600)})
        settings = SimSettings.model_validate(app.settings.accounts["main"].broker_settings)
        app.brokers["main"] = SimBroker(settings, env, prices=feed)
        report = app.engine(fill_timeout=1).run_once("main", slot="1545")
        assert report.outcome == "succeeded", report.error
        with app.database.transaction() as session:
            (valuation,) = valuations(session, "main")
            recorded = flows_between(session, "main")
            # The cycle asks only for its own symbols; the day's end asks for the benchmark.
            assert benchmark_series(session, "SPY") == []
        now[0] += timedelta(minutes=30)
        (result,) = end_of_day(app)
        assert result.error is None
        with app.database.transaction() as session:
            spy = benchmark_series(session, "SPY")
            eod = latest_valuation(session, "main")
    finally:
        app.close()
    # Valued from the snapshot the cycle planned on: before its orders, all cash.
    assert (valuation.source, valuation.ref) == (ValuationSource.CYCLE, "main:2026-11-24:1545")
    assert valuation.equity == D(100000)
    assert [(f.amount, f.source) for f in recorded] == [(D(100000), "sim")]
    assert [(p.day, p.value) for p in spy] == [(date(2026, 11, 24), D(600))]
    assert eod is not None
    assert (eod.source, eod.ref) == (ValuationSource.EOD, "eod")
    # After the cycle's buys at the quotes (the sim's default has no slippage or commission).
    assert eod.equity == D(100000)
    assert set(eod.holdings) == {"VTI", "BND"}


def _settings_two(benchmark: str = "SPY") -> Settings:
    account = {"broker": "sim", "strategy": "static", "strategy_params": {"targets": {"VTI": "1"}}}
    return Settings.model_validate(
        {"accounts": {"paper": account, "ira": account}, "performance": {"benchmark": benchmark}}
    )


def test_the_view_of_an_account_and_the_household(database: Database) -> None:
    days = [T0 + timedelta(days=n) for n in range(3)]
    rows = [
        ("paper", days[0], "1000", "1000", {}),
        ("paper", days[1], "1610", "610", {"VTI": "1000"}),
        ("paper", days[2], "1771", "671", {"VTI": "1100"}),
        ("ira", days[1], "500", "100", {"VTI": "400"}),
        ("ira", days[2], "450", "90", {"VTI": "360"}),
    ]
    with database.transaction() as session:
        for account, at, equity, cash, holdings in rows:
            record_valuation(
                session,
                Valuation(
                    account=account,
                    as_of=at,
                    trading_day=at.date(),
                    source=ValuationSource.EOD,
                    ref="eod",
                    equity=D(equity),
                    cash=D(cash),
                    positions_value=D(equity) - D(cash),
                    holdings={s: D(v) for s, v in holdings.items()},
                ),
                now=at,
            )
        deposit = CashFlow("paper", days[1] - timedelta(hours=1), D(600), FlowKind.DEPOSIT,
                           "manual", "d1")  # fmt: skip
        record_flow(session, deposit, exchange="XNYS", now=T0)
        for at, price in zip(days, ("400", "404", "398.94"), strict=True):
            record_benchmark_price(session, "SPY", at.date(), D(price), as_of=at, source="t")
    settings = _settings_two()
    with database.transaction() as session:
        paper = performance_view(session, settings, days[2].date(), "paper")
        before = performance_view(session, settings, days[1].date(), "paper")
        household = performance_view(session, settings, days[2].date())
    assert (paper.value, paper.cash, paper.day_change, paper.day_gain) == (
        D(1771), D(671), D(161), D(161)
    )  # fmt: skip
    assert (before.day_change, before.day_gain) == (D(610), D(10))
    assert (paper.flows.month_in, paper.flows.month_out, paper.flows.day_in) == (D(600), D(0), D(0))
    # 1000 -> 1010 before the deposit (+1%), then 1610 -> 1771 (+10%).
    assert paper.summary.returns.since_start == pytest.approx(1.01 * 1.10 - 1)
    assert paper.summary.benchmark is not None
    assert paper.summary.benchmark.since_start == pytest.approx(398.94 / 400 - 1)
    assert paper.summary.benchmark.day == pytest.approx(398.94 / 404 - 1)
    assert paper.concentration is not None
    assert paper.concentration.largest_weight == pytest.approx(1100 / 1771)
    # The IRA's first value joins the household as a flow; then 2110 -> 2221 (flows none).
    assert household.value == D(2221)
    assert household.cash == D(761)
    assert household.summary.returns.since_start == pytest.approx(1.01 * (2221 / 2110) - 1)
    assert household.concentration is not None
    assert household.concentration.herfindahl == pytest.approx((1460 / 2221) ** 2)
    assert household.flows.month_in == D(600)


class Unreachable(HandWrittenBroker):
    def snapshot(self, symbols: object) -> AccountSnapshot:
        raise TransientBrokerError("connection refused")


def test_the_day_end_goes_on_past_an_unreachable_broker(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        + "".join(
            # No read retries: the unreachable broker would hold the test for the whole budget.
            f'[accounts.{a}]\nbroker = "sim"\nstrategy = "static"\nread_retry_seconds = 0\n'
            f'[accounts.{a}.strategy_params]\ntargets = {{ VTI = "1" }}\n'
            f'[accounts.{a}.broker_settings]\nstarting_cash = "1000"\n'
            for a in ("down", "up")
        )
    )
    app = open_app(config, clock=lambda: T0)
    try:
        app.brokers["down"] = Unreachable(D(0), {}, {})
        with capture_logs():
            down, up = end_of_day(app)
        with app.database.transaction() as session:
            assert valuations(session, "down") == []
            (valuation,) = valuations(session, "up")
    finally:
        app.close()
    assert down.point is None
    assert down.error is not None
    assert "connection refused" in down.error
    assert up.error is None
    assert valuation.equity == D(1000)


@settings(
    max_examples=scaled(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 23)), min_size=1, max_size=12),
    st.lists(
        st.tuples(st.integers(-1, 10), st.integers(0, 23), st.integers(-500, 500)), max_size=12
    ),
)
def test_every_flow_counts_in_exactly_the_period_it_falls_in(
    database: Database,
    marks: list[tuple[int, int]],
    moves: list[tuple[int, int, int]],
) -> None:
    account = f"p{uuid.uuid4().hex[:10]}"
    start = datetime(2026, 3, 2, tzinfo=UTC)
    stamps = sorted({start + timedelta(days=d, hours=h) for d, h in marks})
    flows = [(start + timedelta(days=d, hours=h), D(a)) for d, h, a in moves if a != 0]
    with database.transaction() as session:
        for i, at in enumerate(stamps):
            valuation = _valuation(at, str(1000 + i), f"c{i}")
            record_valuation(session, replace(valuation, account=account), now=at)
        for i, (at, amount) in enumerate(flows):
            kind = FlowKind.DEPOSIT if amount > 0 else FlowKind.WITHDRAWAL
            flow = CashFlow(account, at, amount, kind, "manual", str(i))
            record_flow(session, flow, exchange="XNYS", now=at)
    with database.transaction() as session:
        series = daily_series(session, account)
    # By hand: the day's latest stamp is its point; flows between consecutive points' stamps.
    latest: dict[date, datetime] = {}
    for at in stamps:
        latest[at.date()] = at
    ends = [latest[d] for d in sorted(latest)]
    expected = [D(0)] + [
        sum((a for t, a in flows if before < t <= end), D(0)) for before, end in pairwise(ends)
    ]
    assert [p.day for p in series] == sorted(latest)
    assert [p.value for p in series] == [D(1000 + stamps.index(e)) for e in ends]
    assert [p.flow for p in series] == expected


class WrongAccountFlows(HandWrittenBroker):
    def cash_flows(self, since: datetime) -> list[CashFlow]:
        return [CashFlow("someone-else", T0, D(5), FlowKind.DEPOSIT, "odd", "1")]


def test_flows_trimtab_cannot_take_are_left_and_the_value_still_recorded(
    database: Database,
) -> None:
    broker = WrongAccountFlows(D(100), {}, {"VTI": Quote("VTI", D(10), T0, "t")})
    with capture_logs():
        result = record_point(
            database=database,
            settings=_settings(None),
            account="paper",
            broker=broker,
            snapshot=broker.snapshot(["VTI"]),
            source=ValuationSource.CYCLE,
            ref="c1",
            clock=Clock(),
            log=get_logger(),
        )
    assert result.valuation is not None
    assert result.valuation.account == "paper"
    assert result.problems == (
        "cash flows not recorded: the broker of paper reported a flow of account someone-else",
    )
    with database.transaction() as session:
        assert flows_between(session, "paper") == []
        assert [v.equity for v in valuations(session, "paper")] == [D(100)]
