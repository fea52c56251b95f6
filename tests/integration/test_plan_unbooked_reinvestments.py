"""`trimtab plan` decides tax on the book `run --once` would, dividend reinvestments included.

A taxable account at the fake Alpaca (the real alpaca-py client) holds 100 VTI bought at $300
60 days ago; VTI is at $250 and overweight. Ten days ago a dividend bought 0.02 VTI (a DRIP
buy, Alpaca's `DIVREINV`): a purchase within 30 days, so selling VTI at a loss washes and is
deferred (`loss_sales = "defer"`). A cycle that may trade books the reinvestment as a lot
before it plans (its reconciliation, `book_reinvestments`); a plan records nothing, so it
must read the reinvestment and replay it in memory, or its lots (100) differ from the
broker's (100.02), the VTI lots are not trusted, and the loss sale is approved with no wash
check.

A cash dividend (not reinvested) only adds cash, which the plan and the run both read from
the broker: no ledger fact, the same sizing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemon.audit.events import AuditKind, TaxDecisions
from daemon.bootstrap import App, open_app
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import Side
from daemon.store.audit_log import AuditLog
from daemon.store.tax_ledger import TaxLedger
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca, Refusal
from tests.fakes.alpaca_server.client import (
    ENV_PREFIX,
    MONDAY_MIDDAY,
    SteppingClock,
    household,
)

D = Decimal
DRIP_DAY = date(2026, 11, 20)
"""Ten days before the cycles (Monday 2026-11-30): inside the wash window."""

CONFIG = """
mode = "{mode}"
database_url = "{database_url}"
[log]
level = "error"
[accounts.main]
broker = "alpaca"
type = "taxable"
strategy = "static"
[accounts.main.broker_settings]
environment = "paper"
base_url = "{url}"
data_url = "{url}"
read_timeout_seconds = 2
rate_limit_max_wait_seconds = 0
[accounts.main.strategy_params]
targets = {{ VTI = "0.3", BND = "0.7" }}
[accounts.main.bands]
absolute_pp = 2
[accounts.main.policy]
min_trade_notional = "50"
[accounts.main.tax]
lot_method = "fifo"
[accounts.main.tax.wash_sale]
loss_sales = "defer"
"""


@dataclass
class Account:
    state: AlpacaState
    fake: FakeAlpaca
    config: Path
    database_url: str

    def open(self, mode: str, *, retry_seconds: int | None = None) -> App:
        text = CONFIG.format(mode=mode, database_url=self.database_url, url=self.fake.url)
        if retry_seconds is not None:
            text = text.replace(
                'strategy = "static"\n',
                f'strategy = "static"\nread_retry_seconds = {retry_seconds}\n',
            )
        self.config.write_text(text)
        return open_app(self.config, clock=self.state.now)


@pytest.fixture
def account(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Account]:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    state = household("60000")
    fake = FakeAlpaca(state).start()
    try:
        yield Account(state, fake, tmp_path / "trimtab.toml", database_url)
    finally:
        fake.close()


def bought_by_hand(state: AlpacaState, days_ago: int, qty: str, price: str) -> None:
    """The owner's purchase of VTI at the broker `days_ago` before the cycles (a FILL)."""
    now = state.clock
    state.clock = SteppingClock(MONDAY_MIDDAY - timedelta(days=days_ago))
    try:
        order = state.place(
            {
                "symbol": "VTI",
                "qty": qty,
                "side": "buy",
                "type": "market",
                "time_in_force": "day",
                "client_order_id": f"by-hand-{days_ago}",
            }
        )
        state.fill(order.id, price=price)
    finally:
        state.clock = now


def reinvested(state: AlpacaState, on: date, amount: str, qty: str) -> None:
    """A dividend on VTI paid and bought back into VTI (DIV, then DIVREINV) on `on`."""
    state.add_dividend("VTI", amount, on=on, qty="100")
    state.add_dividend("VTI", f"-{amount}", on=on, kind="DIVREINV", qty=qty)
    with state.lock:
        held, cost = state.positions["VTI"]
        state.positions["VTI"] = (held + D(qty), cost)


def tax_rows(app: App, report: CycleReport) -> TaxDecisions:
    with app.database.transaction() as session:
        records = AuditLog(session).records(account="main", kinds=[str(AuditKind.TAX_DECISION)])
    found = [r.event for r in records if r.cycle_id == report.cycle_id]
    assert len(found) == 1, found
    event = found[0]
    assert isinstance(event, TaxDecisions)
    return event


def lot_count(app: App) -> int:
    with app.database.transaction() as session:
        return len(TaxLedger(session).lots())


def approved(report: CycleReport) -> list[tuple[str, Side, Decimal]]:
    assert report.review is not None
    return [(o.symbol, o.side, o.qty) for o in report.review.approved]


def test_a_plan_defers_the_loss_sale_a_recent_reinvestment_washes_as_the_run_does(
    account: Account,
) -> None:
    state = account.state
    bought_by_hand(state, 60, "100", "300")
    state.add_dividend("VTI", "40.00", on=date(2026, 11, 2), qty="100")  # cash, kept
    reinvested(state, DRIP_DAY, "5.00", "0.02")

    app = account.open("dry-run")
    try:
        before = lot_count(app)
        plan = app.engine().plan("main")
        after_plan = lot_count(app)
        run = app.engine(fill_timeout=1).run_once("main")
        assert plan.outcome == "planned", plan.error
        assert run.outcome == "succeeded", run.error
        planned_tax, ran_tax = tax_rows(app, plan), tax_rows(app, run)
        with app.database.transaction() as session:
            sources = sorted(lot.source for lot in TaxLedger(session).lots("main"))
    finally:
        app.close()

    # The run booked the reinvestment and deferred the sale it washes.
    assert sources == ["fill", "reinvestment"]
    assert ("VTI", Side.SELL) not in [(s, d) for s, d, _ in approved(run)]
    assert any(d.symbol == "VTI" and "defer" in d.action for d in ran_tax.decisions)
    # The plan decided the same, on the same book, and wrote no lot.
    assert approved(plan) == approved(run)
    assert planned_tax.decisions == ran_tax.decisions
    assert planned_tax.preview == ran_tax.preview
    assert plan.plan is not None
    assert run.plan is not None
    assert plan.plan.notes == run.plan.notes
    assert (before, after_plan) == (0, 0)


def test_a_plan_after_a_cycle_folds_the_reinvestment_since_it(account: Account) -> None:
    """A reinvestment after the last cycle: the run's reconciliation counts its shares (no
    halt: docs/alpaca.md) and books the lot before deciding; the plan decides tax as that run
    does."""
    state = account.state
    bought_by_hand(state, 60, "100", "300")
    app = account.open("dry-run")
    try:
        first = app.engine(fill_timeout=1).run_once("main", slot="first")
        assert first.outcome == "succeeded", first.error
    finally:
        app.close()
    reinvested(state, DRIP_DAY, "5.00", "0.02")

    app = account.open("dry-run")
    try:
        before = lot_count(app)
        plan = app.engine().plan("main")
        after_plan = lot_count(app)
        run = app.engine(fill_timeout=1).run_once("main", slot="second")
        planned_tax, ran_tax = tax_rows(app, plan), tax_rows(app, run)
    finally:
        app.close()
    assert plan.outcome == "planned", plan.error
    assert run.outcome == "succeeded", run.error
    assert any(d.symbol == "VTI" and "defer" in d.action for d in ran_tax.decisions)
    assert planned_tax.decisions == ran_tax.decisions
    assert planned_tax.preview == ran_tax.preview
    assert ("VTI", Side.SELL) not in [(s, d) for s, d, _ in approved(plan)]
    assert (before, after_plan) == (1, 1)


class DividendsDown(FakeAlpaca):
    """Alpaca answering 503 to every read of non-trade activities (its dividends) only."""

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/v2/account/activities" and query.get("category") == "non_trade_activity":
            raise Refusal(503, 50300000, "service unavailable")
        return super().route(method, path, query, body)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plan_that_cannot_read_the_reinvestments_says_its_tax_figures_are_not_current(
    account: Account,
) -> None:
    state = account.state
    bought_by_hand(state, 60, "100", "300")
    reinvested(state, DRIP_DAY, "5.00", "0.02")
    down = DividendsDown(state).start()
    try:
        app = replace(account, fake=down).open("dry-run", retry_seconds=0)
        try:
            plan = app.engine().plan("main")
            planned_tax = tax_rows(app, plan)
        finally:
            app.close()
    finally:
        down.close()
    assert plan.outcome == "planned", plan.error
    assert plan.plan is not None
    notes = [n for n in plan.plan.notes if n.startswith("tax: not current")]
    assert len(notes) == 1, plan.plan.notes
    assert "dividend reinvestments since the last cycle could not be read" in notes[0]
    # The fill was read and folded (its 100 shares), the reinvestment is what is missing.
    reasons = [d.reason for d in planned_tax.decisions if d.symbol == "VTI"]
    assert any("lots hold 100 VTI, the broker 100.02" in r for r in reasons), reasons
