"""The income plan on the demo's accounts and the simulated broker: a month raised once, held
across cycles and restarts, never raised twice; a plan too large is refused with nothing sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.audit.events import IncomeHeld, IncomePlanned, IncomeRaised, IncomeRefused
from daemon.bootstrap import App, open_app
from daemon.core.domain import Side
from daemon.store.audit_log import AuditLog

D = Decimal
REPO = Path(__file__).resolve().parents[2]
BEFORE = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)  # no window open (Nov paid on the 13th)
IN_WINDOW = datetime(2026, 12, 10, 20, 45, tzinfo=UTC)  # Dec 15 pays, raised from Dec 10
NEXT_DAY = datetime(2026, 12, 11, 20, 45, tzinfo=UTC)
INCOME = """
[income]
account = "brokerage"
monthly_amount = "{amount}"
payout_day = 15
lead_days = 3
"""


def _config(tmp_path: Path, database_url: str, amount: str) -> Path:
    demo = (REPO / "config.example.toml").read_text()
    path = tmp_path / "trimtab.toml"
    path.write_text(f'database_url = "{database_url}"\n' + demo + INCOME.format(amount=amount))
    return path


class Household:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.now = [BEFORE]
        self.app = self._open()

    def _open(self) -> App:
        return open_app(self.config, clock=lambda: self.now[0])

    def restart(self) -> None:
        self.app.close()
        self.app = self._open()

    def run(self, account: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.app.engine(fill_timeout=1).run_once(account, **kwargs)  # type: ignore[arg-type]

    def events(self, kind: type[object]) -> list[object]:
        with self.app.database.transaction() as session:
            return [r.event for r in AuditLog(session).records() if isinstance(r.event, kind)]

    def free_cash(self, account: str) -> Decimal:
        buffer = self.app.settings.account(account).policy.cash_buffer
        return self.app.broker(account).snapshot(()).cash - buffer


@pytest.fixture
def household(tmp_path: Path, database_url: str) -> Iterator[Household]:
    h = Household(_config(tmp_path, database_url, "6000"))
    for account in ("brokerage", "ira"):
        assert h.run(account).outcome == "succeeded"  # invested, outside any window
    assert h.events(IncomePlanned) == []
    yield h
    h.app.close()


def test_a_month_is_raised_once_across_cycles_and_restarts(household: Household) -> None:
    h = household
    h.now[0] = IN_WINDOW
    reports = {account: h.run(account) for account in ("brokerage", "ira")}
    assert all(r.outcome == "succeeded" for r in reports.values()), reports
    sold = [o for r in reports.values() if r.plan for o in r.plan.orders if o.side is Side.SELL]
    assert sold, "the cash on hand is not enough: the month needs sales"
    (plan,) = h.events(IncomePlanned)
    assert isinstance(plan, IncomePlanned)
    assert plan.month == "2026-12"
    assert str(plan.payout) == "2026-12-15"
    assert sum(plan.withdrawals.values()) >= D(6000)
    assert sum(plan.withdrawals.values()) <= D(6000) + D("0.01") * len(plan.withdrawals)
    # Each account ended its cycle with its share in cash, above its buffer.
    for account, share in plan.withdrawals.items():
        assert h.free_cash(account) >= share, account
    raised = h.events(IncomeRaised)
    assert {r.amount for r in raised if isinstance(r, IncomeRaised)} == set(
        plan.withdrawals.values()
    )
    # Cash outside the payout account is a transfer the owner makes, and the plan says so.
    assert {t.from_account for t in plan.transfers} == set(plan.withdrawals) - {"brokerage"}

    # A second cycle the same day, then a restart and the next day: nothing more is sold.
    again = h.run("brokerage", force=True)
    assert again.outcome == "succeeded"
    assert again.plan is not None
    assert not [o for o in again.plan.orders if o.side is Side.SELL]
    h.restart()
    h.now[0] = NEXT_DAY
    for account in ("brokerage", "ira"):
        report = h.run(account)
        assert report.outcome == "succeeded"
        assert report.plan is not None
        assert not [o for o in report.plan.orders if o.side is Side.SELL], account
    assert len(h.events(IncomePlanned)) == 1
    held = [e for e in h.events(IncomeHeld) if isinstance(e, IncomeHeld)]
    assert "never raising it again" in held[-1].reason


def test_cash_moved_out_early_is_not_raised_again(household: Household) -> None:
    h = household
    h.now[0] = IN_WINDOW
    assert h.run("brokerage").outcome == "succeeded"
    (plan,) = h.events(IncomePlanned)
    assert isinstance(plan, IncomePlanned)
    share = plan.withdrawals["brokerage"]
    h.app.broker("brokerage").withdraw(share)  # type: ignore[attr-defined]
    h.now[0] = NEXT_DAY
    report = h.run("brokerage")
    assert report.outcome == "succeeded"
    assert report.plan is not None
    assert not [o for o in report.plan.orders if o.side is Side.SELL]


def test_a_plan_larger_than_the_household_is_refused_and_nothing_sent(
    tmp_path: Path, database_url: str
) -> None:
    h = Household(_config(tmp_path, database_url, "900000"))
    try:
        assert h.run("brokerage").outcome == "succeeded"
        sent_before = len(h.app.broker("brokerage").fills(BEFORE.replace(year=2020)))
        h.now[0] = IN_WINDOW
        report = h.run("brokerage")
        assert report.outcome == "failed"
        assert report.error is not None
        assert "income" in report.error
        assert "lower income.monthly_amount" in report.error
        assert report.outcomes == ()
        assert len(h.app.broker("brokerage").fills(BEFORE.replace(year=2020))) == sent_before
        (refused,) = h.events(IncomeRefused)
        assert isinstance(refused, IncomeRefused)
        assert refused.amount == D(900000)
        assert refused.can_raise < refused.amount
        assert h.events(IncomePlanned) == []
    finally:
        h.app.close()


def test_a_share_the_cash_already_covers_is_raised_without_an_order(
    tmp_path: Path, database_url: str
) -> None:
    h = Household(_config(tmp_path, database_url, "300"))
    try:
        assert h.run("brokerage").outcome == "succeeded"
        h.now[0] = IN_WINDOW
        report = h.run("brokerage")
        assert report.outcome == "succeeded"
        assert report.plan is not None
        assert not [o for o in report.plan.orders if o.side is Side.SELL]
        (plan,) = h.events(IncomePlanned)
        assert isinstance(plan, IncomePlanned)
        assert dict(plan.withdrawals) == {"brokerage": D(300)}
        assert dict(plan.from_cash) == {"brokerage": D(300)}
        assert [e.amount for e in h.events(IncomeRaised) if isinstance(e, IncomeRaised)] == [D(300)]
    finally:
        h.app.close()
