"""A sale with shares that had no recorded lot enters the engine with its matched shares'
proceeds in cents, and they and the unmatched shares' add up to the sale's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from daemon.config.settings import Settings
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.form8949 import form8949_rows
from daemon.store.db import Database
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy

D = Decimal
NOW = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)


def test_the_matched_shares_proceeds_are_whole_cents(database: Database) -> None:
    """1 of 3 sh sold for $1,000.00 had a lot: $333.33 enters the engine, not $333.333..."""
    settings = Settings.model_validate({"accounts": {"brokerage": {}}})
    with database.transaction() as session:
        ledger = TaxLedger(session)
        lot = ledger.add_lot(
            account="brokerage",
            symbol="VTI",
            acquired=date(2025, 1, 2),
            qty=D(1),
            cost=D("200.00"),
            source="import",
            source_id="i1",
            order_ref="i1",
            at=NOW,
        )
        assert lot is not None
        ledger.add_sale(
            account="brokerage",
            symbol="VTI",
            sold=date(2026, 3, 2),
            qty=D(3),
            proceeds=D("1000.00"),
            source="fill",
            source_id="f1",
            reliefs=[(lot.id, D(1))],
            at=NOW,
        )
    with database.transaction() as session:
        ledger = TaxLedger(session)
        (recorded,) = ledger.sales()
        trades = ledger.trades(household_accounts(settings))
    book = replay_trades(trades, tax_policy(settings))
    (row,) = form8949_rows(book.sales)
    assert (row.proceeds, row.gain) == (D("333.33"), D("133.33"))
    assert recorded.matched_proceeds == D("333.33")
    unmatched = recorded.proceeds - recorded.matched_proceeds
    assert (unmatched, recorded.matched_proceeds + unmatched) == (D("666.67"), D("1000.00"))
