"""Whole trimtab cycles with `broker = "alpaca"` against the fake Alpaca: the configured
plugin, the engine, reconciliation and the executor, and alpaca-py on real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.bootstrap import App, open_app
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import OrderStatus, Side
from daemon.core.errors import ConfigError
from daemon.store.models import FillRow, OrderIntentRow
from tests.fakes.alpaca_server import (
    KEY_ID,
    LIVE_KEY_ID,
    LIVE_SECRET,
    SECRET,
    AlpacaState,
    FakeAlpaca,
    Fault,
)
from tests.fakes.alpaca_server.client import ENV_PREFIX, account_toml, household
from tests.fakes.clocks import Ticks

D = Decimal
ENV = ENV_PREFIX


def config_text(url: str, database_url: str, targets: str, policy: str = "") -> str:
    settings = "read_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0"
    head = f'mode = "paper"\ndatabase_url = "{database_url}"\n'
    return head + account_toml(url, targets, settings=settings, policy=policy)


@dataclass
class Cycle:
    fake: FakeAlpaca
    state: AlpacaState
    app: App
    ticks: Ticks = field(default_factory=Ticks)
    """The fill wait's pauses: the fake fills (or not) on each request, not with time, so they
    move this clock, not the test's."""

    def run(self, **kwargs: object) -> CycleReport:
        engine = self.app.engine(
            fill_timeout=2, poll_sleep=self.ticks.sleep, monotonic=self.ticks.monotonic
        )
        return engine.run_once("main", **kwargs)  # type: ignore[arg-type]

    def intents(self) -> dict[str, OrderStatus]:
        with self.app.database.transaction() as session:
            rows = session.scalars(select(OrderIntentRow).where(OrderIntentRow.account == "main"))
            return {row.client_order_id: OrderStatus(row.status) for row in rows}


MakeCycle = Callable[..., Cycle]
"""The `make_cycle` fixture: a household state (and targets, policy, keys) to a ready cycle."""


@pytest.fixture
def make_cycle(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeCycle]:
    opened: list[tuple[FakeAlpaca, App]] = []

    def make(
        state: AlpacaState,
        targets: str = 'VTI = "0.6", BND = "0.4"',
        policy: str = "",
        keys: tuple[str, str] = (KEY_ID, SECRET),
    ) -> Cycle:
        monkeypatch.setenv(ENV + "API_KEY_ID", keys[0])
        monkeypatch.setenv(ENV + "API_SECRET_KEY", keys[1])
        fake = FakeAlpaca(state).start()
        config = tmp_path / f"trimtab{len(opened)}.toml"
        config.write_text(config_text(fake.url, database_url, targets, policy))
        app = open_app(config, clock=state.now)
        opened.append((fake, app))
        return Cycle(fake, state, app)

    yield make
    for fake, app in opened:
        app.close()
        fake.close()


def filled_household() -> AlpacaState:
    state = household("100000")
    state.auto_fill = True
    return state


def test_a_cycle_trades_to_target_topping_up_after_the_hold_and_the_next_plans_nothing(
    make_cycle: MakeCycle,
) -> None:
    cycle: Cycle = make_cycle(filled_household())
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert report.plan is not None
    first = [(o.intent.side, o.intent.symbol, o.status) for o in report.outcomes[:2]]
    assert first == [(Side.BUY, "BND", OrderStatus.FILLED), (Side.BUY, "VTI", OrderStatus.FILLED)]
    # BND takes whole shares only at Alpaca: the planner was told so by the snapshot.
    bnd = next(o for o in report.outcomes if o.intent.symbol == "BND")
    assert bnd.intent.qty == bnd.intent.qty.to_integral_value()
    assert set(cycle.intents().values()) == {OrderStatus.FILLED}
    # Alpaca holds buying power 2.5% to 4% above the price for each open market buy, so the
    # buys were sized to fit that hold; once they filled the hold was released and the rest
    # was bought in the same cycle, never more than the plan approved.
    top_ups = report.outcomes[2:]
    assert top_ups, "the hold left cash that no top-up bought"
    assert all(o.intent.side is Side.BUY and o.status is OrderStatus.FILLED for o in top_ups)
    for planned in report.plan.orders:
        sent = [o.intent.qty for o in report.outcomes if o.intent.symbol == planned.symbol]
        assert sum(sent, D(0)) <= planned.qty
    whole_shares = D("250.00") + D("72.50")  # rounding down to whole shares: < 1 of each
    assert cycle.state.cash <= D("100000") * D("0.04") ** 3 + whole_shares
    again = cycle.run(force=True)
    assert again.outcome == "succeeded", again.error
    assert again.plan is not None
    assert again.plan.orders == ()
    assert len(cycle.state.orders) == len(report.outcomes)


def test_an_open_order_on_the_other_side_keeps_the_symbol_out_of_the_plan(
    make_cycle: MakeCycle,
) -> None:
    # A resting sell placed by hand: a buy of BND now would be a "potential wash trade".
    state = filled_household()
    state.set_position("BND", "100")
    order = {"symbol": "BND", "qty": "10", "side": "sell", "type": "limit", "limit_price": "99"}
    state.place({**order, "time_in_force": "day", "client_order_id": "by-hand"})
    cycle: Cycle = make_cycle(state)
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert "BND" not in {o.intent.symbol for o in report.outcomes}
    posted = [r.body["symbol"] for r in cycle.fake.requests if r.method == "POST"]
    assert posted == ["VTI"]
    assert all(r.status != 403 for r in cycle.fake.requests)


def test_a_504_after_accepting_is_adopted_and_sent_once(make_cycle: MakeCycle) -> None:
    cycle: Cycle = make_cycle(filled_household())
    cycle.fake.add_fault(Fault("POST", "/v2/orders", status=504, after=True))
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    # Two planned buys, and the rest of those the hold shrank: each sent once.
    assert len(report.outcomes) > 2
    assert {o.status for o in report.outcomes} == {OrderStatus.FILLED}
    assert cycle.fake.count("POST", "/v2/orders") == len(report.outcomes)
    assert len({o.client_order_id for o in cycle.state.orders}) == len(report.outcomes)


def test_a_duplicate_id_answer_adopts_the_order_already_there(make_cycle: MakeCycle) -> None:
    cycle: Cycle = make_cycle(filled_household())
    first = cycle.app.engine(fill_timeout=2).plan("main")
    assert first.plan is not None
    # As if a retried POST had placed the first order already (what alpaca-py's retries do).
    taken = '{"code":40010001,"message":"client_order_id must be unique"}'
    cycle.fake.add_fault(Fault("POST", "/v2/orders", status=422, after=True, body=taken))
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert {o.status for o in report.outcomes} == {OrderStatus.FILLED}
    assert "adopted" in report.outcomes[0].detail
    assert len(cycle.state.orders) == len(report.outcomes)


def test_wrong_keys_fail_the_cycle_naming_the_account_and_the_fix(make_cycle: MakeCycle) -> None:
    keys = ("PKWRONG", "nope")
    cycle: Cycle = make_cycle(filled_household(), keys=keys)
    report = cycle.run()
    assert report.outcome == "failed"
    assert "account main: Alpaca paper" in str(report.error)
    assert "HTTP 401" in str(report.error)
    assert "fix:" in str(report.error)
    assert keys[0] not in str(report.error)
    assert keys[1] not in str(report.error)
    assert cycle.fake.count("POST") == 0


def test_live_keys_under_a_paper_environment_are_refused_before_anything_is_asked(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The audit's case: mode and environment "paper", base_url on a server that plays
    # Alpaca live, live (AK) keys. Behind a base_url that is not Alpaca's host the key's
    # prefix is the guard: before, the cycle sent and filled its orders on the live account.
    monkeypatch.setenv(ENV + "API_KEY_ID", LIVE_KEY_ID)
    monkeypatch.setenv(ENV + "API_SECRET_KEY", LIVE_SECRET)
    state = filled_household()
    with FakeAlpaca(state, environment="live") as live:
        config = tmp_path / "trimtab.toml"
        config.write_text(config_text(live.url, database_url, 'VTI = "0.6", BND = "0.4"'))
        with pytest.raises(ConfigError) as caught:
            open_app(config, clock=state.now)
        assert live.requests == []
    [problem] = caught.value.problems
    assert problem.path == "accounts.main.broker_settings.api_key_id"
    assert "Alpaca's prefix for live keys" in problem.problem
    assert "starting with PK" in problem.fix
    assert LIVE_KEY_ID not in str(caught.value)
    assert LIVE_SECRET not in str(caught.value)
    assert state.orders == []


def test_a_blocked_account_sends_nothing_and_says_so(make_cycle: MakeCycle) -> None:
    state = filled_household()
    state.trading_blocked = True
    cycle: Cycle = make_cycle(state)
    report = cycle.run()
    assert cycle.fake.count("POST") == 0
    assert report.outcomes
    for outcome in report.outcomes:
        assert outcome.status is OrderStatus.REJECTED
        assert "account main: Alpaca has blocked trading (fix:" in outcome.detail


def test_an_unknown_target_symbol_fails_the_cycle_before_anything_is_sent(
    make_cycle: MakeCycle,
) -> None:
    cycle: Cycle = make_cycle(filled_household(), targets='VTI = "0.6", VTIX = "0.4"')
    report = cycle.run()
    assert report.outcome == "failed"
    assert "no price for VTIX" in str(report.error)
    assert cycle.fake.count("POST") == 0


def test_rate_limited_reads_are_retried_and_the_cycle_goes_on(make_cycle: MakeCycle) -> None:
    cycle: Cycle = make_cycle(filled_household())
    cycle.fake.add_fault(Fault("GET", "/v2/positions", status=429, times=2))
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert len(report.outcomes) >= 2  # the two planned buys, and the rest after the hold
    assert len(cycle.state.orders) == len(report.outcomes)


def test_partial_fills_are_polled_to_the_end_and_each_recorded_once(make_cycle: MakeCycle) -> None:
    state = filled_household()
    state.partial_fill_share = D("0.5")
    cycle: Cycle = make_cycle(state)
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert {o.status for o in report.outcomes} == {OrderStatus.FILLED}
    fills = [a for a in state.activities if a["activity_type"] == "FILL"]
    # Each order (two planned buys, and the rest of those the hold shrank) filled in parts.
    kinds = [a["type"] for a in fills]
    assert kinds.count("fill") == len(report.outcomes)
    assert kinds.count("partial_fill") >= 2
    with cycle.app.database.transaction() as session:
        recorded = sorted(session.scalars(select(FillRow.fill_id)))
    assert recorded == sorted(a["id"] for a in fills)


def test_orders_unfilled_at_the_deadline_are_cancelled_at_alpaca(make_cycle: MakeCycle) -> None:
    state = household("100000")  # no fills: the market never takes the orders
    cycle: Cycle = make_cycle(state)
    report = cycle.run()
    assert report.outcome == "succeeded", report.error
    assert [o.status for o in report.outcomes] == [OrderStatus.CANCELLED, OrderStatus.CANCELLED]
    assert cycle.fake.count("DELETE", "/v2/orders/") == 2
    assert {o.status for o in state.orders} == {"canceled"}


def test_notional_buys_go_to_alpaca_as_dollar_amounts_where_the_symbol_allows(
    make_cycle: MakeCycle,
) -> None:
    cycle: Cycle = make_cycle(filled_household(), policy="fractional = true\nnotional_buys = true")
    with cycle.fake.counting() as made:
        report = cycle.run()
    assert report.outcome == "succeeded", report.error
    posted = {
        r.body["symbol"]: r.body for r in made if (r.method, r.path) == ("POST", "/v2/orders")
    }
    vti = next(o for o in report.outcomes if o.intent.symbol == "VTI")
    bnd = next(o for o in report.outcomes if o.intent.symbol == "BND")
    # VTI is fractionable: a dollar amount, no share count; BND trades whole shares only.
    assert vti.intent.notional is not None
    assert "qty" not in posted["VTI"]
    assert D(str(posted["VTI"]["notional"])) == vti.intent.notional
    assert bnd.intent.notional is None
    assert D(str(posted["BND"]["qty"])) == bnd.intent.qty
    assert "notional" not in posted["BND"]
    assert vti.status is OrderStatus.FILLED
    assert vti.order is not None
    assert vti.order.notional == vti.intent.notional
    assert vti.order.avg_fill_price is not None
    assert vti.order.filled_qty == (vti.intent.notional / vti.order.avg_fill_price).quantize(
        D("0.000000001"), rounding="ROUND_FLOOR"
    )
    again = cycle.run(force=True)
    assert again.outcome == "succeeded", again.error
    assert set(cycle.intents().values()) == {OrderStatus.FILLED}
