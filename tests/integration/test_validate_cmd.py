"""`trimtab validate` over real cycles on the simulated broker, checked against numbers
computed here from the sim's own books: fills, partial fills, a rejection, slippage, time
to fill, drift after the cycle, an outside trade and a reconciliation difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from adapters.sim.store import SimFillRow, SimPositionRow
from daemon.bootstrap import App, open_app
from daemon.cli import app as cli
from daemon.cli.validate_cmd import load_validation
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.report.validation import Validation
from daemon.store.models import OrderEventRow
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)
from tests.fakes.feeds import RawFeed

pytestmark = pytest.mark.usefixtures("fresh_logging")

D = Decimal
CENT = D("0.01")
SLIPPAGE_BPS = D(10)
# 15:45 New York on Tuesday 2026-11-24, Wednesday 25th, Monday 30th and Tuesday 1 December.
DAYS = [
    datetime(2026, 11, 24, 20, 45, tzinfo=UTC),
    datetime(2026, 11, 25, 20, 45, tzinfo=UTC),
    datetime(2026, 11, 30, 20, 45, tzinfo=UTC),
    datetime(2026, 12, 1, 20, 45, tzinfo=UTC),
]
SINCE = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


class TickingClock:
    """Each reading is one second after the previous one, so every step takes time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Paper:
    app: App
    clock: TickingClock
    feed: RawFeed
    config: Path

    def sim(self, **faults: object) -> SimBroker:
        """Put a fresh sim broker (same account, same books) with these faults in place."""
        settings = SimSettings.model_validate(
            self.app.settings.accounts["main"].broker_settings | {"faults": faults}
        )
        env = BrokerEnvironment(
            account="main",
            sql_engine=self.app.database.engine,
            state_dir=self.app.settings.state_dir,
            clock=self.clock,
        )
        broker = SimBroker(settings, env, prices=self.feed)
        self.app.brokers["main"] = broker
        return broker

    def cycle(self, day: int, **faults: object) -> CycleReport:
        self.clock.now = DAYS[day]
        self.sim(**faults)
        report = self.app.engine(fill_timeout=0.2).run_once("main")
        assert report.outcome == "succeeded", report.error
        return report

    def validation(self) -> Validation:
        with self.app.database.transaction() as session:
            return load_validation(
                session, ["main"], since=SINCE, until=UNTIL, max_slippage_bps=D(20)
            )


@pytest.fixture
def paper(tmp_path: Path, database_url: str) -> Iterator[Paper]:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f"""
mode = "paper"
database_url = "{database_url}"
[accounts.main]
broker = "sim"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.broker_settings]
starting_cash = "100000"
slippage_bps = "{SLIPPAGE_BPS}"
[accounts.main.bands]
absolute_pp = "5"
[accounts.main.policy]
min_trade_notional = "50"
cash_buffer = "500"
"""
    )
    clock = TickingClock(DAYS[0])
    app = open_app(config, clock=clock)
    feed = RawFeed({"VTI": D("250.00"), "BND": D("70.00")})
    paper = Paper(app, clock, feed, config)
    yield paper
    paper.app.close()  # a test may have reopened it


def fill_price(side: Side, quote: Decimal) -> Decimal:
    """The sim's documented rule: the quote moved by slippage_bps, rounded against us."""
    if side is Side.BUY:
        return (quote * (1 + SLIPPAGE_BPS / 10_000)).quantize(CENT, rounding=ROUND_CEILING)
    return (quote * (1 - SLIPPAGE_BPS / 10_000)).quantize(CENT, rounding=ROUND_FLOOR)


def test_validation_matches_what_the_sim_did(paper: Paper) -> None:
    prices: dict[str, dict[str, Decimal]] = {}
    first = paper.cycle(0)
    prices[first.cycle_id] = dict(paper.feed.prices)
    assert [(o.intent.side, o.status) for o in first.outcomes] == [
        (Side.BUY, OrderStatus.FILLED),
        (Side.BUY, OrderStatus.FILLED),
    ]
    # VTI up 24% and BND down: VTI ends above its band, so the next cycle sells it and buys
    # BND; each order fills half and the rest is cancelled at the end of the fill window.
    paper.feed.prices.update({"VTI": D("310.00"), "BND": D("65.00")})
    second = paper.cycle(1, partial_fill_ratio="0.5")
    prices[second.cycle_id] = dict(paper.feed.prices)
    assert [(o.intent.side, o.status) for o in second.outcomes] == [
        (Side.SELL, OrderStatus.CANCELLED),
        (Side.BUY, OrderStatus.CANCELLED),
    ]
    # A deposit is invested in both; the broker refuses BND.
    paper.sim().deposit(D(20000))
    third = paper.cycle(2, reject_symbols=["BND"])
    prices[third.cycle_id] = dict(paper.feed.prices)
    assert {(o.intent.symbol, o.status) for o in third.outcomes} == {
        ("BND", OrderStatus.REJECTED),
        ("VTI", OrderStatus.FILLED),
    }

    result = paper.validation()
    (summary,) = result.accounts
    reports = [first, second, third]
    sent = [o for r in reports for o in r.outcomes]
    statuses = [o.status for o in sent]
    assert summary.cycles == 3
    assert summary.failed_cycles == 0
    assert summary.planned == sum(len(r.plan.orders) for r in reports if r.plan)
    assert summary.sent == len(sent) == 6
    assert summary.filled == statuses.count(OrderStatus.FILLED) == 3
    assert summary.partially_filled == 2
    assert summary.rejected == 1
    assert summary.unfilled == summary.unresolved == 0

    # Slippage, from the sim's fill rule and the planning prices, independently.
    expected_cost = D(0)
    notional = D(0)
    by_id = {o.client_order_id: o for o in result.orders}
    for outcome in sent:
        order = outcome.order
        filled = order.filled_qty if order is not None else D(0)
        check = by_id[outcome.intent.client_order_id]
        assert check.filled_qty == filled
        if not filled:
            assert check.slippage_bps is None
            continue
        reference = outcome.intent.reference_price
        assert reference is not None
        quote = prices[outcome.intent.cycle_id][outcome.intent.symbol]
        price = fill_price(outcome.intent.side, quote)
        sign = 1 if outcome.intent.side is Side.BUY else -1
        assert check.fill_price == price
        bps = (sign * (price - reference) / reference * 10_000).quantize(CENT)
        assert check.slippage_bps == bps
        assert bps > 0  # slippage costs, buying or selling: positive is worse for us
        expected_cost += sign * (price - reference) * filled
        notional += reference * filled
    assert summary.slippage_cost == expected_cost
    assert summary.slippage_bps == (expected_cost / notional * 10_000).quantize(CENT)
    assert D("9.5") < summary.slippage_bps <= D("10.5")

    # Time to fill: the sim's own fill time against the moment the intent became SUBMITTING.
    with paper.app.database.transaction() as session:
        for outcome in first.outcomes:
            coid = outcome.intent.client_order_id
            filled_at = session.scalars(
                select(SimFillRow.at).where(SimFillRow.client_order_id == coid)
            ).one()
            submitted_at = session.scalars(
                select(OrderEventRow.at).where(
                    OrderEventRow.client_order_id == coid,
                    OrderEventRow.to_status == "submitting",
                )
            ).one()
            seconds = D((filled_at - submitted_at).total_seconds())
            assert seconds > 0
            assert by_id[coid].seconds_to_fill == seconds
    times = [by_id[o.intent.client_order_id].seconds_to_fill for o in sent]
    assert summary.max_seconds_to_fill == max(t for t in times if t is not None)

    # Drift after each cycle, from the sim's positions and cash at the last prices.
    sim = paper.app.brokers["main"]
    snapshot = sim.snapshot(())
    values = {p.symbol: p.qty * paper.feed.prices[p.symbol] for p in snapshot.positions}
    nav = sum(values.values(), snapshot.cash)
    last_cycle = third.cycle_id
    after = {d.symbol: d for d in result.drift_after if d.cycle_id == last_cycle}
    assert set(after) == {"VTI", "BND"}
    for symbol, value in values.items():
        assert abs(after[symbol].weight - value / nav) < D("1e-20")
        assert after[symbol].out_of_band == (
            not after[symbol].low <= after[symbol].weight <= after[symbol].high
        )
    assert summary.cycles_drift_unknown == 0

    kinds = {f.kind: f for f in result.findings}
    assert kinds["rejected"].severity == "problem"
    assert "reject_symbols" in kinds["rejected"].what
    assert kinds["unfilled"].severity == "watch"
    assert "slippage" not in kinds  # 10 bps is under the 20 bps flag
    assert not result.ok


def test_outside_trades_and_position_differences_are_reported(paper: Paper) -> None:
    paper.cycle(0)
    sim = paper.sim()
    # Someone trades by hand at the broker; then a position changes with no fill at all.
    sim.submit(
        OrderIntent(
            client_order_id="by-hand-1",
            cycle_id="",
            account="main",
            seq=1,
            symbol="BND",
            side=Side.SELL,
            qty=D(3),
            order_type=OrderType.MARKET,
            reason="by hand",
        )
    )
    with paper.app.database.transaction() as session:
        row = session.get(SimPositionRow, ("main", "VTI"))
        assert row is not None
        before = row.qty
        row.qty = before - 5
    paper.cycle(1)
    result = paper.validation()
    (summary,) = result.accounts
    assert summary.external_fills == 1
    assert [(m.symbol, m.expected, m.broker) for m in result.mismatches] == [
        ("VTI", before, before - 5)
    ]
    kinds = {f.kind: f for f in result.findings}
    assert kinds["reconciliation"].severity == "problem"
    assert "resume" in kinds["reconciliation"].fix
    assert kinds["external"].severity == "watch"

    output = CliRunner().invoke(
        cli, ["validate", "-c", str(paper.config), "--since", "2026-11-24", "--json"]
    )
    # The command reads the same database with the real clock: up to today it sees it all.
    assert output.exit_code == 1, output.output
    data = json.loads(output.stdout)
    assert data["ok"] is False
    assert data["accounts"][0]["mismatches"] == 1
    assert data["mismatches"][0]["symbol"] == "VTI"
    table = CliRunner().invoke(cli, ["validate", "-c", str(paper.config), "--since", "2026-11-24"])
    assert table.exit_code == 1
    for words in ("reconciliation differences", "PROBLEM", "validation failed", "outside fills"):
        assert words in table.output


def test_a_dry_run_week_plans_sends_nothing_and_ends_where_it_began(
    paper: Paper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIMTAB_MODE", "dry-run")
    paper.app.close()
    paper.app = open_app(paper.config, clock=paper.clock)
    first = paper.cycle(0)
    assert not first.submitted
    result = paper.validation()
    (summary,) = result.accounts
    assert first.plan is not None
    assert (summary.planned, summary.sent, summary.not_sent) == (len(first.plan.orders), 0, 2)
    # All cash against 60/40 targets: both holdings end the cycle outside their bands.
    assert summary.cycles_out_of_band_after == 1
    assert {d.symbol for d in result.drift_after if d.out_of_band} == {"VTI", "BND"}
    assert result.ok
    assert [f.kind for f in result.findings] == ["drift"]


def test_bad_arguments_are_usage_errors(paper: Paper) -> None:
    for args, words in (
        (["--since", "24.11.2026"], "not a date like"),
        (["--max-slippage-bps", "lots"], "not a number"),
        (["--max-slippage-bps", "-1"], "zero or more"),
        (["-a", "nope"], "accounts.nope"),
    ):
        result = CliRunner().invoke(cli, ["validate", "-c", str(paper.config), *args])
        assert result.exit_code == 2, result.output
        assert words in result.output
