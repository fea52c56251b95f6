"""The income plan inside a [household]: the holdings it sells first are those overweight
against the household split (the targets each account is planned on), not against the
account's own strategy; and `annual_pct` is a share of the household members' value only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.bootstrap import App, open_app
from daemon.config.household import income_accounts
from daemon.cycle.income import Household, plan_month, read_household
from daemon.report.data import gather

D = Decimal
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
ACCOUNTS = """
mode = "paper"
exchange = "XNYS"
database_url = "sqlite:///{db}"

[accounts.brokerage]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.brokerage.broker_settings]
starting_cash = "100000"
fractional = true
[accounts.brokerage.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "180", BND = "80" }}
[accounts.brokerage.strategy_params]
targets = {{ VTI = "0.98", CASH = "0.02" }}

[accounts.ira]
broker = "sim"
type = "traditional_ira"
strategy = "static"
[accounts.ira.broker_settings]
starting_cash = "50000"
fractional = true
[accounts.ira.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "180", BND = "80" }}
[accounts.ira.strategy_params]
targets = {{ BND = "0.98", CASH = "0.02" }}

[accounts.spare]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.spare.broker_settings]
starting_cash = "850000"
[accounts.spare.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "180", BND = "80" }}
[accounts.spare.strategy_params]
targets = {{ CASH = "1" }}
[accounts.spare.policy]
cash_buffer = "850000"  # none of its cash is free for the income

[income]
account = "brokerage"
{amount}
payout_day = 15
"""
# Each account on its own holds its strategy's targets exactly: nothing is overweight. The
# household wants two thirds in bonds, so against the split the brokerage's VTI is.
HOUSEHOLD = """
[household]
accounts = ["brokerage", "ira"]
targets = { VTI = "0.33", BND = "0.65", CASH = "0.02" }
asset_classes = { VTI = "us_equity", BND = "bonds" }
location = [
  { assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] },
  { assets = "us_equity", prefer = ["taxable", "roth_ira", "traditional_ira"] },
]
"""


def _open(path: Path) -> App:
    return open_app(path, clock=lambda: NOW)


def _household(app: App) -> Household:
    return read_household(
        app.settings,
        database=app.database,
        broker_for=app.broker,
        strategy_for=app.strategy,
        now=NOW,
    )


@pytest.fixture
def invested(tmp_path: Path) -> Path:
    """A config whose accounts each hold their own strategy's targets (one cycle each)."""
    config = tmp_path / "trimtab.toml"
    config.write_text(ACCOUNTS.format(db=tmp_path / "trimtab.db", amount='monthly_amount = "6000"'))
    app = _open(config)
    try:
        for account in ("brokerage", "ira"):
            report = app.engine(fill_timeout=1).run_once(account)
            assert report.outcome == "succeeded", report
    finally:
        app.close()
    return config


def _overweight_sales(app: App) -> list[tuple[str, str]]:
    household = _household(app)
    plan = plan_month(app.settings, household, D(6000))
    assert plan.shortfall == 0, plan
    assert plan.sales, plan
    return [(s.candidate.account, s.candidate.symbol) for s in plan.sales if s.candidate.overweight]


def test_the_holdings_sold_first_are_overweight_against_the_household_split(
    invested: Path,
) -> None:
    alone = _open(invested)
    try:
        # On their own strategies nothing is overweight: the sales are "below target".
        assert _overweight_sales(alone) == []
    finally:
        alone.close()
    invested.write_text(invested.read_text() + HOUSEHOLD)
    together = _open(invested)
    try:
        household = _household(together)
        brokerage = next(a for a in household.accounts if a.name == "brokerage")
        # The split moves the bonds the IRA has no room for into the taxable account...
        assert brokerage.targets["BND"] > D("0.4")
        assert brokerage.targets["VTI"] < D("0.6")
        # ...so the brokerage's VTI (98% of it) is overweight, and sold first.
        sold = _overweight_sales(together)
        assert sold
        assert set(sold) == {("brokerage", "VTI")}
        plan = plan_month(together.settings, household, D(6000))
        assert all("overweight" in s.reason for s in plan.sales), plan.sales
    finally:
        together.close()


def test_a_percentage_income_is_a_share_of_the_household_members_only(invested: Path) -> None:
    text = invested.read_text().replace('monthly_amount = "6000"', "annual_pct = 0.04")
    invested.write_text(text + HOUSEHOLD)
    app = _open(invested)
    try:
        assert income_accounts(app.settings) == ("brokerage", "ira")
        household = _household(app)
        # The spare account's 850,000 is outside the [household]: not valued, not sold.
        assert {a.name for a in household.accounts} == {"brokerage", "ira"}
        assert D(140000) < household.value < D(160000)
        # The daily report's income months are the same share of the same value.
        assert app.engine(fill_timeout=1).run_once("spare").outcome == "succeeded"
        with app.database.transaction() as session:
            daily = gather(session, app.settings, NOW.date(), now=NOW)
        assert daily.income is not None
        planned = {m.planned for m in daily.income.months if m.status == "planned"}
        assert len(planned) == 1
        assert abs(planned.pop() - household.value * D("0.04") / 12) < D(1)
    finally:
        app.close()


def test_an_income_account_outside_the_household_is_refused_naming_the_fix(
    tmp_path: Path,
) -> None:
    from daemon.config.settings import check_config

    config = tmp_path / "trimtab.toml"
    text = ACCOUNTS.format(db=tmp_path / "t.db", amount='monthly_amount = "6000"')
    config.write_text(text.replace('account = "brokerage"', 'account = "spare"') + HOUSEHOLD)
    problems = check_config(config)
    assert [p.path for p in problems] == ["income.account"]
    assert "not in household.accounts" in problems[0].problem
    assert "brokerage, ira" in problems[0].fix


def test_an_account_outside_the_household_neither_keeps_nor_fixes_the_income(
    invested: Path,
) -> None:
    from daemon.audit.events import IncomeHeld, IncomePlanned
    from daemon.store.audit_log import AuditLog

    invested.write_text(invested.read_text() + HOUSEHOLD)
    in_window = datetime(2026, 12, 10, 20, 45, tzinfo=UTC)  # Dec 15 pays, raised from Dec 10
    app = open_app(invested, clock=lambda: in_window)
    try:
        report = app.engine(fill_timeout=1).run_once("spare")
        assert report.outcome == "succeeded", report
        with app.database.transaction() as session:
            events = [r.event for r in AuditLog(session).records()]
        assert not [e for e in events if isinstance(e, IncomePlanned | IncomeHeld)]
        report = app.engine(fill_timeout=1).run_once("brokerage")
        assert report.outcome == "succeeded", report
        with app.database.transaction() as session:
            events = [r.event for r in AuditLog(session).records()]
        (planned,) = [e for e in events if isinstance(e, IncomePlanned)]
        assert set(planned.withdrawals) <= {"brokerage", "ira"}
    finally:
        app.close()


def test_a_household_strategys_split_is_the_one_the_income_plan_judges_against(
    invested: Path,
) -> None:
    # The same weights, chosen by a household strategy instead of fixed targets.
    chosen = HOUSEHOLD.replace(
        'targets = { VTI = "0.33", BND = "0.65", CASH = "0.02" }',
        'strategy = "static"\n'
        'strategy_params = { targets = { VTI = "0.33", BND = "0.65", CASH = "0.02" } }',
    )
    assert chosen != HOUSEHOLD
    invested.write_text(invested.read_text() + chosen)
    app = _open(invested)
    try:
        household = _household(app)
        brokerage = next(a for a in household.accounts if a.name == "brokerage")
        assert brokerage.targets["BND"] > D("0.4")
        assert set(_overweight_sales(app)) == {("brokerage", "VTI")}
    finally:
        app.close()
