"""Pre-trade controls inside whole cycles: market hours, trip rules that halt the account."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.sim.broker import SimBroker
from daemon.core.domain import AccountSnapshot, TradingState
from daemon.store.audit_log import AuditLog
from daemon.store.trading_state import account_state
from tests.integration.test_cycle import make_app

THANKSGIVING = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


def test_nothing_is_sent_while_the_market_is_closed(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, clock=[THANKSGIVING])
    report = app.engine().run_once("main")
    assert report.outcome == "succeeded"
    assert report.review is not None
    assert {d.check for d in report.review.decisions} == {"market_hours"}
    assert not report.outcomes
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    assert sim.state()["recent_orders"] == []
    app.close()


def test_outside_hours_can_be_allowed(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, clock=[THANKSGIVING], extra="outside_hours = true")
    assert app.engine(fill_timeout=1).run_once("main").submitted
    app.close()


@pytest.mark.parametrize(
    ("variable", "value", "check"),
    [
        ("TRIMTAB_RISK__MAX_TURNOVER_PER_CYCLE", "0.5", "turnover_per_cycle"),
        ("TRIMTAB_RISK__MAX_ORDERS_PER_MINUTE", "1", "orders_per_minute"),
    ],
)
def test_a_tripped_limit_halts_the_account_and_sends_nothing(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    check: str,
) -> None:
    monkeypatch.setenv(variable, value)
    app = make_app(tmp_path, database_url)
    report = app.engine().run_once("main")
    assert report.why_not_submitted == "a risk limit tripped: account halted"
    assert not report.outcomes
    with app.database.transaction() as session:
        halted = account_state(session, "main")
        assert halted.state is TradingState.HALTED
        assert halted.reason.startswith(check)
        assert [r.payload["to"] for r in AuditLog(session).records(kinds=["trading_state"])] == [
            "halted"
        ]
    # The halt is durable: a new process (a fresh app on the same state) still refuses.
    app.close()
    monkeypatch.delenv(variable)
    again = make_app(tmp_path, database_url)
    report = again.engine().run_once("main", force=True)
    assert report.review is not None
    assert {d.check for d in report.review.decisions} == {"trading_state"}
    again.close()


class BrokerClockClosed:
    """The calendar says open, but the broker's own clock says closed (an unscheduled
    closure the installed calendar does not know)."""

    def __init__(self, inner: SimBroker) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        return dataclasses.replace(self.inner.snapshot(symbols), market_open=False)


def test_the_broker_clock_can_close_the_market(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url)
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    app.brokers["main"] = BrokerClockClosed(sim)  # type: ignore[assignment]
    report = app.engine().run_once("main")
    assert report.review is not None
    assert {d.check for d in report.review.decisions} == {"market_hours"}
    app.close()


def test_whole_shares_where_the_broker_refuses_fractions() -> None:
    from daemon.config.policy import planning_policy
    from daemon.config.settings import AccountSettings

    account = AccountSettings.model_validate(
        {
            "policy": {"fractional": True, "fractional_increment": "0.001"},
            "strategy_params": {"targets": {"VTI": "1"}},
        }
    )
    policy = planning_policy(account, fractionable=frozenset({"VTI"}), symbols=["VTI", "BND"])
    assert policy.increment_for("VTI") == Decimal("0.001")
    assert policy.increment_for("BND") == 1
    assert planning_policy(account).increment_for("BND") == Decimal("0.001")
