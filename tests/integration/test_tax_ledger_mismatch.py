"""The ledger's lots against the broker's positions, through whole cycles on the sim broker.

A split, a spin-off or a transfer changes the broker's position without a fill, so the
ledger's lots no longer describe the shares held. The cycle must then plan the symbol
without its lots (no harvest, no gains estimate), audit the mismatch and alert once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from adapters.sim.store import SimPositionRow
from daemon.bootstrap import App
from daemon.core.cycle_report import CycleReport
from daemon.core.domain import Side, TradingState
from daemon.monitor.alerting import check_alerts
from daemon.monitor.notify import Message
from daemon.store.audit_log import AuditLog
from daemon.store.tax_ledger import TaxLedger
from daemon.store.trading_state import set_trading_state
from tests.fakes.feeds import RawFeed
from tests.integration.test_cycle import NOW, make_app

D = Decimal
PRICES = {"VTI": D("250.00"), "BND": D("70.00"), "ITOT": D("120.00")}
HARVEST = (
    '[accounts.main.tax]\nalternates = { VTI = "ITOT" }\n'
    '[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = "0.05"\n'
    'min_loss_amount = "200"\n'
    '[accounts.main.tax.gains_budget]\nshort_term = "1000"\n'
)
LATER = NOW + timedelta(days=42)  # a Tuesday in January, 15:45 in New York


@dataclass
class Account:
    """An app on the sim broker whose first cycle bought 240 VTI at $250 and 571 BND."""

    app: App
    clock: list[datetime]
    feed: RawFeed

    def run(self) -> CycleReport:
        return self.app.engine(fill_timeout=1).run_once("main", force=True)

    def broker_holds(self, symbol: str, qty: Decimal) -> None:
        """Change the sim's position without a fill: a split or a transfer."""
        with self.app.database.transaction() as session:
            session.execute(
                update(SimPositionRow).where(SimPositionRow.symbol == symbol).values(qty=qty)
            )

    def resume(self) -> None:
        """The operator looks at the reconciliation's halt and resumes the account."""
        with self.app.database.transaction() as session:
            set_trading_state(
                session, "main", TradingState.ACTIVE, reason="split", actor="test", at=LATER
            )

    def audit(self, kind: str) -> list[dict[str, Any]]:
        with self.app.database.transaction() as session:
            return [dict(r.payload) for r in AuditLog(session).records(kinds=[kind])]


@pytest.fixture
def account(tmp_path: Path, database_url: str) -> Iterator[Account]:
    clock = [NOW]
    feed = RawFeed(dict(PRICES))
    app = make_app(tmp_path, database_url, prices=feed, clock=clock, extra=HARVEST)
    first = Account(app, clock, feed)
    assert first.run().outcome == "succeeded"
    with app.database.transaction() as session:
        assert sorted((lot.symbol, lot.qty) for lot in TaxLedger(session).lots("main")) == [
            ("BND", D(571)),
            ("VTI", D(240)),
        ]
    clock[0] = LATER
    yield first
    app.close()


def test_after_a_split_the_ledgers_old_basis_is_not_harvested(account: Account) -> None:
    # 2-for-1: the broker holds 480 VTI at $125; the ledger still has 240 at $250 ($60,000).
    account.broker_holds("VTI", D(480))
    account.feed.prices["VTI"] = D("125.00")
    halted = account.run()  # reconciliation: no fill explains 480, the account halts
    assert halted.outcome == "succeeded", halted.error
    assert not halted.outcomes
    account.resume()
    report = account.run()
    assert report.outcome == "succeeded", report.error
    # No phantom $30,000 "loss": VTI is worth what it cost, nothing is harvested or bought.
    assert not [o for o in report.outcomes if o.intent.symbol in ("VTI", "ITOT")]
    decisions = [d for r in account.audit("tax_decision") for d in r["decisions"]]
    harvests = {d["reason"] for d in decisions if d["action"] == "harvest"}
    assert harvests == {
        "not harvested: the ledger's lots hold 240 VTI, the broker 480: its lots' basis is not "
        "trusted (no gains estimate, no wash-sale check of its sells, no harvest)"
    }
    (mismatch,) = account.audit("ledger_mismatch")[-1]["mismatches"]
    assert (mismatch["symbol"], mismatch["ledger"], mismatch["broker"]) == ("VTI", "240", "480")
    assert "trimtab tax import" in mismatch["fix"]
    # The alert fires once, and not again while the condition lasts.
    sent: list[Message] = []
    first = check_alerts(
        database=account.app.database,
        settings=account.app.settings,
        account="main",
        clock=lambda: account.clock[0],
        notify=sent.append,
    )
    assert [a.key for a in first.fired if a.key.startswith("ledger")] == ["ledger_mismatch:VTI"]
    assert any("VTI" in m.body and "480" in m.body for m in sent)
    account.clock[0] += timedelta(days=1)
    assert account.run().outcome == "succeeded"
    again = check_alerts(
        database=account.app.database,
        settings=account.app.settings,
        account="main",
        clock=lambda: account.clock[0],
        notify=sent.append,
    )
    assert not [a for a in again.fired if a.key.startswith("ledger")]
    # The shares agree again: one empty record says so, and the alert's episode ends.
    account.broker_holds("VTI", D(240))
    account.feed.prices["VTI"] = D("250.00")
    account.clock[0] += timedelta(days=1)
    assert account.run().outcome == "succeeded"
    assert account.run().outcome == "succeeded"
    records = account.audit("ledger_mismatch")
    assert [len(r["mismatches"]) for r in records[-2:]] == [1, 0]
    over = check_alerts(
        database=account.app.database,
        settings=account.app.settings,
        account="main",
        clock=lambda: account.clock[0],
        notify=sent.append,
    )
    assert [s.key for s in over.cleared] == ["ledger_mismatch:VTI"]


def test_after_a_transfer_out_the_ledgers_extra_shares_are_not_sold_as_lots(
    account: Account,
) -> None:
    # 140 VTI and 333 BND moved to another broker: the broker holds 100 VTI and 238 BND, the
    # ledger still 240 VTI at $250 and 571 BND. VTI stays near its target: no rebalance.
    account.broker_holds("VTI", D(100))
    account.broker_holds("BND", D(238))
    account.feed.prices["VTI"] = D("225.00")  # $25 under cost: the ledger's lots look harvestable
    assert account.run().outcome == "succeeded"
    account.resume()
    report = account.run()
    assert report.outcome == "succeeded", report.error
    assert report.plan is not None
    assert report.review is not None
    # No harvest of lots the broker does not hold: the ledger's 240 VTI of the 100 held were
    # planned, and refused as a short sale.
    assert not [o for o in report.plan.orders if o.symbol == "VTI"], report.plan.orders
    assert not report.review.denied
    mismatches = account.audit("ledger_mismatch")[-1]["mismatches"]
    assert [(m["symbol"], m["ledger"], m["broker"]) for m in mismatches] == [
        ("BND", "571", "238"),
        ("VTI", "240", "100"),
    ]


def test_after_a_reverse_split_a_sell_is_not_cut_by_a_gain_that_does_not_exist(
    account: Account,
) -> None:
    # 1-for-2: the broker holds 120 VTI; the ledger still 240 at $250. At $700 VTI is over
    # its band and the plan sells some: at the ledger's basis each share sold gains $450,
    # and the $1,000 short-term budget would cut the sell to 2 shares.
    account.broker_holds("VTI", D(120))
    account.feed.prices["VTI"] = D("700.00")
    assert account.run().outcome == "succeeded"
    account.resume()
    report = account.run()
    assert report.outcome == "succeeded", report.error
    assert report.plan is not None
    (sell,) = [o for o in report.plan.orders if o.side is Side.SELL]
    assert (sell.symbol, sell.qty) == ("VTI", D(13))  # the planner's sell, whole
    decisions = account.audit("tax_decision")[-1]["decisions"]
    assert [(d["action"], d["symbol"]) for d in decisions] == [("unknown_basis", "VTI")]
    assert decisions[0]["reason"].startswith("the ledger's lots hold 240 VTI, the broker 120")
    assert "reverse split" in decisions[0]["reason"]
    preview = account.audit("tax_decision")[-1]["preview"]
    assert preview["short_term_gain"] == "0"  # no estimate from lots that do not match
