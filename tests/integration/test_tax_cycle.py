"""Whole cycles on the simulated broker with the tax ledger: guards block, lots are recorded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.sim.broker import SimBroker
from daemon.bootstrap import App
from daemon.core.domain import Side
from daemon.store.audit_log import AuditLog
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy
from daemon.store.tax_sources import declare_trade
from tests.fakes.feeds import RawFeed
from tests.integration.test_cycle import NOW, make_app

D = Decimal
PRICES = {"VTI": D("250.00"), "BND": D("70.00"), "ITOT": D("120.00")}
HOUSEHOLD = """
[tax]
substantially_identical = [["VTI", "VTSAX"]]
[tax.outside_accounts.spouse]
owner = "spouse"
"""


def spouse_sold_at_a_loss(app: App, symbol: str = "VTSAX") -> None:
    """The spouse sold the group at a loss four days before the cycle."""
    with app.database.transaction() as session:
        args = {
            "accounts": household_accounts(app.settings),
            "policy": tax_policy(app.settings),
            "account": "spouse",
            "symbol": symbol,
            "note": "",
            "at": NOW,
        }
        declare_trade(session, side=Side.BUY, on=date(2025, 6, 2), qty=D(100),
                      amount=D(15000), **args)  # type: ignore[arg-type]  # fmt: skip
        declare_trade(session, side=Side.SELL, on=date(2026, 11, 20), qty=D(100),
                      amount=D(12000), **args)  # type: ignore[arg-type]  # fmt: skip


def audit(app: App, kind: str) -> list[dict[str, Any]]:
    with app.database.transaction() as session:
        return [dict(r.payload) for r in AuditLog(session).records(kinds=[kind])]


AppFactory = Callable[[str], App]
"""The `app_factory` fixture: extra TOML for the household to an open app."""


@pytest.fixture
def app_factory(tmp_path: Path, database_url: str) -> Iterator[AppFactory]:
    apps: list[App] = []

    def build(tax: str) -> App:
        app = make_app(tmp_path, database_url, prices=RawFeed(dict(PRICES)), extra=tax + HOUSEHOLD)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


def test_a_buy_inside_a_spouse_loss_window_is_blocked_and_audited(app_factory: AppFactory) -> None:
    app = app_factory("")
    spouse_sold_at_a_loss(app)
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "succeeded", report.error
    assert [(o.intent.side, o.intent.symbol) for o in report.outcomes] == [(Side.BUY, "BND")]
    sim = app.brokers["main"]
    assert isinstance(sim, SimBroker)
    assert sim.snapshot(()).qty("VTI") == 0
    (record,) = audit(app, "tax_decision")
    (decision,) = record["decisions"]
    assert decision["action"] == "blocked"
    assert decision["symbol"] == "VTI"
    assert decision["until"] == "2026-12-20"
    assert "VTSAX was sold at a loss of $3,000 in spouse" in decision["reason"]
    assert report.plan is not None
    assert any("VTI buy blocked" in note for note in report.plan.notes)
    vti = next(row for row in report.plan.drift if row.symbol == "VTI")
    note = "tax: buy blocked, wash-sale window until 2026-12-20"
    assert (vti.qty_after, vti.weight_after, vti.note) == (0, 0, note)
    cash = next(row for row in report.plan.drift if row.symbol == "CASH")
    assert cash.qty_after == report.plan.cash_after == D(100000) - 571 * D(70)


def test_redirect_buys_the_alternate_and_it_stands_in_next_cycle(app_factory: AppFactory) -> None:
    app = app_factory(
        '[accounts.main.tax]\nalternates = { VTI = "ITOT" }\n'
        '[accounts.main.tax.wash_sale]\nbuys = "redirect"\n'
    )
    spouse_sold_at_a_loss(app)
    report = app.engine(fill_timeout=1).run_once("main")
    assert report.outcome == "succeeded", report.error
    bought = {o.intent.symbol: o.intent.qty for o in report.outcomes}
    assert bought == {"BND": D(571), "ITOT": D(500)}  # $60,000 of VTI as ITOT at $120
    again = app.engine(fill_timeout=1).run_once("main", force=True)
    assert again.plan is not None
    assert again.plan.orders == ()  # ITOT counts towards VTI's target: nothing to sell or buy
    assert any("ITOT stands in for VTI" in note for note in again.plan.notes)


def test_fills_become_lots_and_a_sale_audits_the_lots_it_relieved(app_factory: AppFactory) -> None:
    app = app_factory("")
    first = app.engine(fill_timeout=1).run_once("main")
    assert first.outcome == "succeeded", first.error
    with app.database.transaction() as session:
        lots = TaxLedger(session).lots("main")
    assert sorted((lot.symbol, lot.qty, lot.cost, lot.source) for lot in lots) == [
        ("BND", D(571), D(39970), "fill"),
        ("VTI", D(240), D(60000), "fill"),
    ]
    second = app.engine(fill_timeout=1).run_once("main", force=True, withdrawal=D(20000))
    assert second.outcome == "succeeded", second.error
    sold = [o for o in second.outcomes if o.intent.side is Side.SELL]
    assert sold
    (record,) = audit(app, "tax_lots")
    sales = record["sales"]
    assert sorted(s["symbol"] for s in sales) == sorted(o.intent.symbol for o in sold)
    by_symbol = {lot.symbol: lot.id for lot in lots}
    for sale in sales:
        assert sale["method"] == "fifo"
        assert sale["lots"] == [{"lot_id": by_symbol[sale["symbol"]], "qty": sale["qty"]}]
        assert sale["unmatched"] == "0"
    previews = audit(app, "tax_decision")
    assert json.dumps(previews[-1]["preview"])  # the sells' preview was audited with the plan
    with app.database.transaction() as session:
        remaining = TaxLedger(session).held("main")
    assert remaining == {"BND": D(571) - _sold(second, "BND"), "VTI": D(240) - _sold(second, "VTI")}


def _sold(report: object, symbol: str) -> Decimal:
    return sum(
        (o.intent.qty for o in report.outcomes if o.intent.symbol == symbol),  # type: ignore[attr-defined]
        D(0),
    )


def test_a_harvest_sells_the_loss_buys_the_alternate_and_is_tracked(
    tmp_path: Path, database_url: str
) -> None:
    clock = [NOW]
    feed = RawFeed(dict(PRICES))
    app = make_app(
        tmp_path,
        database_url,
        prices=feed,
        clock=clock,
        extra='[accounts.main.tax]\nalternates = { VTI = "ITOT" }\n'
        '[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = "0.05"\n'
        'min_loss_amount = "200"\n' + HOUSEHOLD,
    )
    try:
        assert app.engine(fill_timeout=1).run_once("main").outcome == "succeeded"
        clock[0] = NOW + timedelta(days=42)  # a Tuesday in January, 15:45 in New York
        feed.prices["VTI"] = D("215.00")  # 240 sh: $8,400 below their $60,000 cost
        report = app.engine(fill_timeout=1).run_once("main")
        assert report.outcome == "succeeded", report.error
        assert [(o.intent.side, o.intent.symbol, o.intent.qty) for o in report.outcomes] == [
            (Side.SELL, "VTI", D(240)),
            (Side.BUY, "ITOT", D(430)),
        ]
        with app.database.transaction() as session:
            (harvest,) = TaxLedger(session).harvested(2027, "main")
        assert (harvest.symbol, harvest.qty, harvest.proceeds) == ("VTI", D(240), D(51600))
        decision = audit(app, "tax_decision")[-1]["decisions"][0]
        assert decision["action"] == "harvest"
        assert "harvested a $8,400 loss on 240 VTI" in decision["reason"]
    finally:
        app.close()
