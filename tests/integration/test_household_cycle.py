"""Household cycles on the simulated broker: a taxable account, a traditional IRA and a Roth
planned together, each account trading on its own bands after the split."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.audit.events import CycleFailed, HouseholdSplitMade, TargetsChosen
from daemon.bootstrap import App, open_app
from daemon.config.household import HouseholdSettings
from daemon.core.domain import CASH
from daemon.cycle.engine import Engine
from daemon.report.data import gather
from daemon.report.html import render_html
from daemon.store.audit_log import AuditLog
from tests.fakes.feeds import RawFeed

D = Decimal
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)  # a Tuesday, 15:45 in New York
PRICES = {"VTI": D("250"), "VXUS": D("60"), "BND": D("70"), "VNQ": D("90")}
ACCOUNTS = {"brokerage": ("taxable", 100000), "ira": ("traditional_ira", 40000)}
ACCOUNTS["roth"] = ("roth_ira", 20000)
HOUSEHOLD = """
[household]
targets = { VTI = "0.45", VXUS = "0.20", BND = "0.25", VNQ = "0.08", CASH = "0.02" }
asset_classes = { VTI = "us_equity", VXUS = "intl_equity", BND = "bonds", VNQ = "reit" }
band_pp = 3
location = [
  { assets = "bonds", prefer = ["traditional_ira", "roth_ira", "taxable"] },
  { assets = "reit", prefer = ["traditional_ira", "roth_ira", "taxable"] },
  { assets = "us_equity", prefer = ["roth_ira", "taxable", "traditional_ira"] },
  { assets = "intl_equity", prefer = ["taxable", "roth_ira", "traditional_ira"] },
]
"""


def config_text(database_url: str) -> str:
    text = f'mode = "paper"\ndatabase_url = "{database_url}"\n'
    for name, (kind, cash) in ACCOUNTS.items():
        text += f"""
[accounts.{name}]
broker = "sim"
type = "{kind}"
read_retry_seconds = 0
[accounts.{name}.strategy_params]
targets = {{ VTI = "1" }}
[accounts.{name}.broker_settings]
starting_cash = "{cash}"
fractional = true
[accounts.{name}.policy]
fractional = true
min_trade_notional = "1"
"""
    return text + HOUSEHOLD


def sim(app: App, name: str, **faults: int) -> SimBroker:
    env = BrokerEnvironment(
        account=name,
        sql_engine=app.database.engine,
        state_dir=app.settings.state_dir,
        clock=app.clock,
    )
    table = dict(app.settings.accounts[name].broker_settings) | {"faults": faults}
    return SimBroker(SimSettings.model_validate(table), env, prices=RawFeed(dict(PRICES)))


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    config = tmp_path / "trimtab.toml"
    config.write_text(config_text(database_url))
    app = open_app(config, clock=lambda: NOW)
    for name in ACCOUNTS:
        app.brokers[name] = sim(app, name)
    yield app
    app.close()


def events(app: App, kind: type[object]) -> list[tuple[str | None, object]]:
    with app.database.transaction() as session:
        return [
            (r.account, r.event) for r in AuditLog(session).records() if isinstance(r.event, kind)
        ]


@pytest.mark.slow  # six real cycles over three accounts, then the daily report: over 3 s
def test_three_accounts_trade_to_their_split_and_the_household_is_on_target(app: App) -> None:
    engine = app.engine(fill_timeout=1)
    for name in ACCOUNTS:
        report = engine.run_once(name)
        assert report.outcome == "succeeded", report.error
        assert report.household is not None
    splits = events(app, HouseholdSplitMade)
    assert [account for account, _ in splits] == list(ACCOUNTS)
    first = splits[0][1]
    assert isinstance(first, HouseholdSplitMade)
    assert set(first.sources) == set(ACCOUNTS)
    assert all(source.startswith("broker, ") for source in first.sources.values())
    assert all(p.reason for p in first.split.placements)
    chosen = events(app, TargetsChosen)
    assert all(isinstance(e, TargetsChosen) and e.strategy == "household" for _, e in chosen)

    # The bonds fill the IRA; REITs go to their second choice, the Roth.
    ira = app.brokers["ira"].snapshot(())
    assert ira.qty("BND") * PRICES["BND"] == pytest.approx(D(40000), abs=D(100))
    roth = app.brokers["roth"].snapshot(())
    assert roth.qty("VNQ") > 0
    assert roth.qty("BND") == 0
    values: dict[str, Decimal] = {}
    for name in ACCOUNTS:
        snapshot = app.brokers[name].snapshot(())
        values[CASH] = values.get(CASH, D(0)) + snapshot.cash
        for position in snapshot.positions:
            worth = position.qty * PRICES[position.symbol]
            values[position.symbol] = values.get(position.symbol, D(0)) + worth
    total = sum(values.values())
    assert total == pytest.approx(D(160000), rel=D("0.001"))
    household = app.settings.household
    assert household is not None
    assert household.targets is not None
    for symbol, target in household.targets.items():
        assert abs(values.get(symbol, D(0)) / total - target) <= household.band_pp / 100, symbol

    # A second round finds every account on its split: nothing to trade.
    for name in ACCOUNTS:
        again = engine.run_once(name, force=True)
        assert again.plan is not None
        assert again.plan.orders == (), name

    # The daily report (valuations of the second round's cycles, after the first traded)
    # shows the household against its target, by account type.
    with app.database.transaction() as session:
        daily = gather(session, app.settings, NOW.date(), now=NOW)
    section = daily.household_allocation
    assert section is not None
    assert section.types == ("taxable", "traditional_ira", "roth_ira")
    assert section.missing == ()
    bnd = next(line for line in section.lines if line.symbol == "BND")
    assert bnd.value_in("traditional_ira") == pytest.approx(D(40000), abs=D(100))
    assert not any(line.out_of_band for line in section.lines)
    page = render_html(daily)
    assert 'id="household-location"' in page
    assert "Household allocation" in page


def test_each_household_plan_takes_its_targets_from_the_audited_split(app: App) -> None:
    engine = app.engine(fill_timeout=1)
    reports = {name: engine.plan(name) for name in ACCOUNTS}
    splits = events(app, HouseholdSplitMade)
    chosen = events(app, TargetsChosen)
    assert [a for a, _ in splits] == [a for a, _ in chosen] == list(ACCOUNTS)
    for (name, split), (_, targets) in zip(splits, chosen, strict=True):
        assert isinstance(split, HouseholdSplitMade)
        assert isinstance(targets, TargetsChosen)
        assert name is not None
        assert targets.strategy == "household"
        assert dict(targets.targets) == dict(split.split.targets_for(name))
        report = reports[name]
        assert report.outcome == "planned", report.error
        assert report.household == split.split
    # Nothing held yet: the IRA is to buy the bonds, the Roth the REIT, nothing is sent.
    ira = reports["ira"].plan
    assert ira is not None
    assert {o.symbol for o in ira.orders} == {"BND"}
    assert app.brokers["ira"].snapshot(()).positions == ()


def test_an_unreadable_member_stands_in_with_its_last_audited_snapshot(app: App) -> None:
    engine = app.engine(fill_timeout=1)
    app.brokers["roth"] = sim(app, "roth", read_errors=1000)
    failed = engine.plan("brokerage")
    assert failed.outcome == "failed"
    assert failed.error is not None
    assert "household account roth" in failed.error
    assert "no snapshot of it is recorded" in failed.error

    app.brokers["roth"] = sim(app, "roth")
    assert engine.plan("roth").outcome == "planned"
    app.brokers["roth"] = sim(app, "roth", read_errors=1000)
    report = engine.plan("brokerage")
    assert report.outcome == "planned", report.error
    _, last = events(app, HouseholdSplitMade)[-1]
    assert isinstance(last, HouseholdSplitMade)
    assert last.sources["roth"].startswith("audited snapshot of ")


def test_household_targets_no_account_may_hold_fail_the_cycle_audited_and_send_nothing(
    app: App,
) -> None:
    # The configuration check refuses this (tests/unit/test_household_config.py); a
    # configuration that reaches a cycle anyway fails it, named, before any order.
    household = app.settings.household
    assert household is not None
    impossible = HouseholdSettings.model_validate(
        household.model_dump() | {"targets": {"VTI": "0.5", "QQQ": "0.5"}}
    )
    risk = app.settings.risk.model_copy(update={"restricted_symbols": ("QQQ",)})
    settings = app.settings.model_copy(update={"household": impossible, "risk": risk})
    engine = Engine(
        settings=settings,
        database=app.database,
        broker_for=app.broker,
        strategy_for=app.strategy,
        clock=app.clock,
        fill_timeout=1,
    )
    report = engine.run_once("brokerage")
    assert report.outcome == "failed"
    assert report.error is not None
    assert "household.targets.QQQ" in report.error
    assert "no household account may hold QQQ" in report.error
    [(_, failure)] = events(app, CycleFailed)
    assert isinstance(failure, CycleFailed)
    assert failure.error_type == "ConfigError"
    assert app.brokers["brokerage"].snapshot(()).positions == ()
