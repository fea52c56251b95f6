"""A dividend reinvested in shares at the broker explains those shares, as a fill does.

An account at the fake Alpaca (the real alpaca-py client) holds 100 VTI bought by hand. After
its first cycle, a dividend buys 0.02 VTI (Alpaca's `DIVREINV`). The next cycle's
reconciliation reads the reinvestment with the fills, expects 100.02 and agrees with the
broker: no halt, and its `reconciliation` record lists the reinvestment. A later cycle does not
count it again, so 0.02 VTI that no fill or reinvestment explains still halts the account.
Taxable accounts and IRAs alike: the broker reports reinvestments for both.

When the broker's dividend activities cannot be read, a difference halts as before, and the
reason says the reinvestments could not be read. The book then holds the broker's positions,
the reinvestment's shares among them: once read, it is booked as a lot but explains nothing
again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from daemon.audit.events import AuditKind, Reconciled
from daemon.bootstrap import open_app
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import TradingState
from daemon.store.audit_log import AuditLog
from daemon.store.db import Transaction
from daemon.store.tax_ledger import TaxLedger
from daemon.store.trading_state import AccountState, account_state, set_trading_state
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca, Refusal
from tests.fakes.alpaca_server.client import (
    ENV_PREFIX,
    household,
)
from tests.integration.test_plan_unbooked_reinvestments import bought_by_hand

D = Decimal
T = TypeVar("T")

CONFIG = """
mode = "dry-run"
database_url = "{database_url}"
[log]
level = "error"
[accounts.main]
broker = "alpaca"
type = "{kind}"
strategy = "static"
read_retry_seconds = 0
[accounts.main.broker_settings]
environment = "paper"
base_url = "{url}"
data_url = "{url}"
read_timeout_seconds = 2
rate_limit_max_wait_seconds = 0
[accounts.main.strategy_params]
targets = {{ VTI = "0.3", BND = "0.7" }}
"""


class DividendsDown(FakeAlpaca):
    """Alpaca answering 503 to every read of non-trade activities (its dividends) only."""

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/v2/account/activities" and query.get("category") == "non_trade_activity":
            raise Refusal(503, 50300000, "service unavailable")
        return super().route(method, path, query, body)


@dataclass
class Account:
    state: AlpacaState
    kind: str
    config: Path
    database_url: str

    def run(self, slot: str, *, dividends_down: bool = False) -> CycleReport:
        """Run one cycle (dry-run: reconciled, nothing sent); return its report."""
        fake = (DividendsDown if dividends_down else FakeAlpaca)(self.state).start()
        try:
            self.config.write_text(
                CONFIG.format(database_url=self.database_url, url=fake.url, kind=self.kind)
            )
            app = open_app(self.config, clock=self.state.now)
            try:
                report = app.engine(fill_timeout=1).run_once("main", slot=slot)
            finally:
                app.close()
        finally:
            fake.close()
        assert report.outcome == "succeeded", report.error
        return report

    def read(self, what: Callable[[Transaction], T]) -> T:
        """Return `what` of the account's database (the broker is not asked)."""
        self.config.write_text(
            CONFIG.format(database_url=self.database_url, url="http://127.0.0.1:9", kind=self.kind)
        )
        app = open_app(self.config, clock=self.state.now)
        try:
            with app.database.transaction() as session:
                return what(session)
        finally:
            app.close()


@pytest.fixture(params=["taxable", "traditional_ira"])
def account(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Account:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    state = household("60000")
    bought_by_hand(state, days_ago=60, qty="100", price="300")
    return Account(state, str(request.param), tmp_path / "trimtab.toml", database_url)


def reinvested(state: AlpacaState, amount: str, qty: str, *, days_ago: int = 0) -> str:
    """A dividend on VTI paid and bought back into VTI (DIV, then DIVREINV); return the
    reinvestment's activity id."""
    on = (state.now() - timedelta(days=days_ago)).date()
    state.add_dividend("VTI", amount, on=on, qty="100")
    state.add_dividend("VTI", f"-{amount}", on=on, kind="DIVREINV", qty=qty)
    with state.lock:
        held, cost = state.positions["VTI"]
        state.positions["VTI"] = (held + D(qty), cost)
        return str(state.activities[-1]["id"])


def appeared(state: AlpacaState, qty: str) -> None:
    """VTI shares that neither a fill nor a reinvestment explains (a transfer in)."""
    with state.lock:
        held, cost = state.positions["VTI"]
        state.positions["VTI"] = (held + D(qty), cost)


def reconciled(account: Account, report: CycleReport) -> Reconciled:
    """The cycle's reconciliation before it planned (the first of its records)."""
    records = account.read(
        lambda session: AuditLog(session).records(
            account="main", kinds=[str(AuditKind.RECONCILIATION)]
        )
    )
    found = [r.event for r in records if r.cycle_id == report.cycle_id]
    assert found, records
    event = found[0]
    assert isinstance(event, Reconciled)
    return event


def trading(account: Account) -> AccountState:
    return account.read(lambda session: account_state(session, "main"))


def reinvestment_lots(account: Account) -> list[tuple[str, Decimal]]:
    lots = account.read(lambda session: TaxLedger(session).lots("main"))
    return [(lot.source_id, lot.qty) for lot in lots if lot.source == "reinvestment"]


def test_a_reinvestment_explains_its_shares_once(account: Account) -> None:
    first = account.run("first")
    activity = reinvested(account.state, "5.00", "0.02")

    second = account.run("second")
    event = reconciled(account, second)
    assert trading(account).state is TradingState.ACTIVE, trading(account).reason
    assert event.mismatches == {}
    assert [(r.activity_id, r.symbol, r.qty) for r in event.reinvestments] == [
        (activity, "VTI", D("0.02"))
    ]
    assert event.positions["VTI"] == D("100.02")
    # The read reconciliation counted is the one the tax ledger books: one lot, once.
    assert reinvestment_lots(account) == [(activity, D("0.02"))]

    # Read again (the window starts a week before the mark): counted once only.
    third = account.run("third")
    assert reconciled(account, third).reinvestments == ()
    assert trading(account).state is TradingState.ACTIVE, trading(account).reason

    appeared(account.state, "0.02")
    fourth = account.run("fourth")
    event = reconciled(account, fourth)
    assert event.reinvestments == ()
    assert {s: (m.expected, m.broker) for s, m in event.mismatches.items()} == {
        "VTI": (D("100.02"), D("100.04"))
    }
    state = trading(account)
    assert state.state is TradingState.HALTED
    assert state.reason == (
        "positions no recorded fill or dividend reinvestment explains: "
        "VTI expected 100.02 but the broker has 100.04"
    )
    assert reinvestment_lots(account) == [(activity, D("0.02"))]
    assert first.outcome == "succeeded"


def test_reinvestments_that_cannot_be_read_halt_and_say_so(account: Account) -> None:
    account.run("first")
    activity = reinvested(account.state, "5.00", "0.02")

    second = account.run("second", dividends_down=True)
    state = trading(account)
    assert state.state is TradingState.HALTED
    assert state.reason.startswith(
        "positions no recorded fill explains: VTI expected 100 but the broker has 100.02 "
        "(the broker's dividend reinvestments could not be read: "
    ), state.reason
    event = reconciled(account, second)
    assert event.reinvestments == ()
    assert event.reinvestments_unread is not None

    account.read(
        lambda session: set_trading_state(
            session,
            "main",
            TradingState.ACTIVE,
            reason="looked",
            actor="operator",
            at=account.state.now(),
        )
    )

    # The book took the broker's 100.02 at the halt: the reinvestment, read now, is booked
    # as a lot but explains nothing again (else 100.04 would be expected).
    third = account.run("third")
    event = reconciled(account, third)
    assert event.mismatches == {}
    assert event.reinvestments == ()
    assert trading(account).state is TradingState.ACTIVE, trading(account).reason
    assert reinvestment_lots(account) == [(activity, D("0.02"))]
