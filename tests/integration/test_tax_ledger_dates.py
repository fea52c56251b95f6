"""A sale relieves only lots acquired on or before its day, and nothing recorded leaves the
ledger unable to be replayed (every cycle of every taxable account would fail)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.core.domain import Side
from daemon.core.errors import DataError
from daemon.core.tax.engine import replay_trades
from daemon.store.db import Database
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy
from daemon.store.tax_sources import declare_trade, record_fills
from daemon.store.tax_splits import record_split
from tests.integration.test_tax_cli import config, day, invoke, tax_audit
from tests.integration.test_tax_ledger import NOW, NY, fill, household

__all__ = ["config"]  # the fixture, shared

D = Decimal


def test_a_sale_dated_before_its_only_lot_is_refused(config: Path) -> None:
    """The audit's case: buy 10 VTI, then a sell of 10 typed with a date before the buy."""
    base = ("tax", "add-trade", "-a", "spouse", "--symbol", "VTI", "-c", str(config))
    invoke(*base, "--side", "buy", "--date", day(20), "--qty", "10", "--amount", "2500")
    out = invoke(
        *base, "--side", "sell", "--date", day(50), "--qty", "10", "--amount", "2400", code=2
    )
    assert f"spouse holds only 0 VTI on {day(50)} in the ledger, not 10" in out
    assert "check the sale's date" in out
    # Nothing recorded: the ledger still replays and holds the lot.
    (lot,) = json.loads(invoke("tax", "lots", "--json", "-c", str(config)))
    assert (lot["symbol"], lot["qty"]) == ("VTI", "10")
    assert "no taxable sales" in invoke("tax", "report", "--year", day(50)[:4], "-c", str(config))
    refused = tax_audit(config)[-1]
    assert "holds only 0 VTI" in str(refused["rejected"])


def test_a_late_split_relieves_a_sale_again_without_a_lot_bought_after_it(
    database: Database,
) -> None:
    """The audit's second route: 5 XYZ held, 20 sold after a 2:1 split not yet recorded (15
    without a lot), 10 bought later; the split recorded late must not relieve the sale with
    the lot bought after it."""
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        lot = TaxLedger(session).add_lot(
            account="brokerage",
            symbol="XYZ",
            acquired=date(2026, 1, 5),
            qty=D(5),
            cost=D(500),
            source="import",
            source_id="i1",
            order_ref="i1",
            at=NOW,
        )
        assert lot is not None
        fill(session, "s1", "sell", "20", "60", datetime(2026, 2, 10, 15, tzinfo=UTC), symbol="XYZ")
        fill(session, "b1", "buy", "10", "55", datetime(2026, 3, 1, 15, tzinfo=UTC), symbol="XYZ")
    with database.transaction() as session:
        (sale,) = record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=NOW
        )
        assert sale.unmatched == 15
    with database.transaction() as session:
        (done,) = record_split(
            session,
            accounts=accounts,
            policy=policy,
            symbol="XYZ",
            new=2,
            old=1,
            effective=date(2026, 2, 2),
            today=date(2026, 11, 24),
            account=None,
            at=NOW,
        )
        assert done.relieved_again == (sale.sale_id,)
    with database.transaction() as session:
        ledger = TaxLedger(session)
        (recorded,) = ledger.sales()
        book = replay_trades(ledger.trades(accounts), policy)
    assert recorded.reliefs == ((lot.id, D(10)),)  # the 5 old shares, now 10; not the buy's
    assert [(held.source_id, held.qty) for held in book.lots("brokerage", "XYZ")] == [
        ("lot-2", D(10))
    ]


def _broken(database: Database) -> None:
    """A ledger a bug (or a hand edit) left unable to be replayed: a sale relieving a lot
    bought after it."""
    with database.transaction() as session:
        ledger = TaxLedger(session)
        lot = ledger.add_lot(
            account="spouse",
            symbol="VTI",
            acquired=date(2026, 6, 1),
            qty=D(10),
            cost=D(2500),
            source="declared",
            source_id="d1",
            order_ref="d1",
            at=NOW,
        )
        assert lot is not None
        ledger.add_sale(
            account="spouse",
            symbol="VTI",
            sold=date(2026, 5, 1),
            qty=D(10),
            proceeds=D(2400),
            source="declared",
            source_id="d2",
            reliefs=[(lot.id, D(10))],
            at=NOW,
        )


def test_a_trade_or_split_the_ledger_cannot_replay_is_refused(database: Database) -> None:
    _broken(database)
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with (
        pytest.raises(DataError, match="unable to be replayed") as caught,
        database.transaction() as session,
    ):
        declare_trade(
            session,
            accounts=accounts,
            policy=policy,
            account="spouse",
            symbol="VOO",
            side=Side.BUY,
            on=date(2026, 7, 1),
            qty=D(1),
            amount=D(500),
            note="",
            at=NOW,
        )
    assert "this buy of 1 VOO on 2026-07-01 in spouse" in str(caught.value)
    assert "sells 10 but only 0 are held" in str(caught.value)
    with (
        pytest.raises(DataError, match="sells 10 but only 0 are held"),
        database.transaction() as session,
    ):
        record_split(
            session,
            accounts=accounts,
            policy=policy,
            symbol="VTI",
            new=2,
            old=1,
            effective=date(2026, 7, 1),
            today=date(2026, 11, 24),
            account="spouse",
            at=NOW,
        )
    with database.transaction() as session:
        ledger = TaxLedger(session)
        assert [lot.symbol for lot in ledger.lots()] == ["VTI"]
        assert ledger.splits() == []
