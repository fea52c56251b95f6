"""HIFO and min_tax sales relieve the lots the broker picks, on the basis the broker knows.

The audit's case (tax rules §1.8, §1.9): the brokerage account holds VOO L1 (10 sh at $430,
2024-01-02) and L2 (10 sh at $420, 2024-03-01). The spouse sold VOO at a $900 loss on
2024-02-20, so in the household view L2 absorbs the loss (basis $5,100). The broker cannot see
the spouse's sale: its HIFO sells L1 on 2024-06-03 at $450 (+$200), and so does its
minimum-tax method (L1 gains $20 a share, L2 $30 on the broker's basis). The ledger records L1,
the planner's preview names L1, and the household's washes still count in what is reported.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from daemon.config.settings import Settings
from daemon.core.domain import AccountType, Side
from daemon.core.tax.engine import TaxBook, replay_trades
from daemon.core.tax.guards import sale_preview, sale_what_if
from daemon.core.tax.plan_types import TaxContext
from daemon.core.tax.relief import broker_view
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.types import View
from daemon.store.db import Database
from daemon.store.models import FillRow
from daemon.store.tax_ledger import TaxLedger, household_accounts, lot_trade_id, tax_policy
from daemon.store.tax_sources import declare_trade, record_fills

D = Decimal
NY = ZoneInfo("America/New_York")
SOLD = date(2024, 6, 3)


def _settings(method: str) -> Settings:
    return Settings.model_validate(
        {
            "accounts": {"brokerage": {"tax": {"lot_method": method}}},
            "tax": {"outside_accounts": {"spouse": {"owner": "spouse"}}},
        }
    )


def _fill(session: object, fill_id: str, side: str, qty: str, price: str, at: datetime) -> None:
    session.add(  # type: ignore[attr-defined]
        FillRow(
            account="brokerage",
            fill_id=fill_id,
            client_order_id="outside",
            broker_order_id=f"b-{fill_id}",
            symbol="VOO",
            side=side,
            qty=D(qty),
            price=D(price),
            commission=D(0),
            at=at,
            external=True,
            recorded_at=at,
        )
    )


def _audit_household(database: Database, settings: Settings) -> dict[str, int]:
    """Record the audit's lots and the spouse's loss; return the brokerage lots' ids."""
    accounts, policy = household_accounts(settings), tax_policy(settings)
    at = datetime(2024, 3, 1, 22, tzinfo=UTC)
    with database.transaction() as session:
        _fill(session, "L1", "buy", "10", "430", datetime(2024, 1, 2, 16, tzinfo=UTC))
        _fill(session, "L2", "buy", "10", "420", datetime(2024, 3, 1, 16, tzinfo=UTC))
        record_fills(
            session, account="brokerage", accounts=accounts, policy=policy, timezone=NY, at=at
        )
        for side, on, amount in (
            (Side.BUY, date(2023, 6, 1), 5000),
            (Side.SELL, date(2024, 2, 20), 4100),
        ):
            declare_trade(
                session,
                accounts=accounts,
                policy=policy,
                account="spouse",
                symbol="VOO",
                side=side,
                on=on,
                qty=D(10),
                amount=D(amount),
                note="",
                at=at,
            )
        return {lot.source_id: lot.id for lot in TaxLedger(session).lots("brokerage")}


def _book(database: Database, settings: Settings, view: View = View.HOUSEHOLD) -> TaxBook:
    with database.transaction() as session:
        trades = TaxLedger(session).trades(household_accounts(settings))
    policy = tax_policy(settings)
    return replay_trades(trades, policy if view is View.HOUSEHOLD else broker_view(policy))


def _context(book: TaxBook, method: str) -> TaxContext:
    return TaxContext(
        account="brokerage",
        account_type=AccountType.TAXABLE,
        today=SOLD,
        settings=TaxSettings(lot_method=method),
        identical=book.policy.identical,
        book=book,
        loss_windows=book.loss_windows(SOLD),
        purchase_windows=book.purchase_windows(SOLD),
        realized={},
        prices={"VOO": D(450)},
    )


@pytest.mark.parametrize("method", ["hifo", "min_tax"])
def test_the_sale_relieves_the_lot_the_broker_sells(database: Database, method: str) -> None:
    settings = _settings(method)
    lots = _audit_household(database, settings)
    l1, l2 = lot_trade_id(lots["L1"]), lot_trade_id(lots["L2"])
    before = _book(database, settings)
    assert {lot.source_id: lot.adjusted_basis for lot in before.lots("brokerage", "VOO")} == {
        l1: 4300,
        l2: 5100,
    }
    assert {
        lot.source_id: lot.adjusted_basis for lot in before.broker_lots("brokerage", "VOO")
    } == {
        l1: 4300,
        l2: 4200,
    }

    # The planner's preview names L1, the what-if too.
    ctx = _context(before, method)
    preview = sale_preview(ctx, "VOO", D(10))
    assert preview is not None
    assert [(p.source_id, p.qty, p.basis, p.gain) for p in preview.pieces] == [(l1, 10, 4300, 200)]
    what_if = sale_what_if(ctx, "VOO", D(10))
    assert what_if is not None
    assert what_if.previews() == (preview,)

    # The broker's fill is recorded against L1.
    with database.transaction() as session:
        _fill(session, "S1", "sell", "10", "450", datetime(2024, 6, 3, 16, tzinfo=UTC))
        (sale,) = record_fills(
            session,
            account="brokerage",
            accounts=household_accounts(settings),
            policy=tax_policy(settings),
            timezone=NY,
            at=datetime(2024, 6, 3, 22, tzinfo=UTC),
        )
    assert sale.lots == ((lots["L1"], D(10)),)
    assert sale.method == method

    # The household's Form 8949 row is the broker's 1099-B row; L2 stays open with the
    # spouse's washed loss in its basis.
    for view in View:
        after = _book(database, settings, view)
        (realized,) = [s for s in after.sales if s.trade.account == "brokerage"]
        assert [
            (p.source_id, p.acquired, p.basis, p.proceeds, p.gain) for p in realized.pieces
        ] == [(l1, date(2024, 1, 2), 4300, 4500, 200)]
        (held,) = after.lots("brokerage", "VOO")
        assert held.source_id == l2
        assert held.adjusted_basis == (5100 if view is View.HOUSEHOLD else 4200)


def test_specific_without_picks_is_trimtabs_own_choice_on_the_household_basis(
    database: Database,
) -> None:
    """`specific`: trimtab names the lots, so it picks them for the household's tax (min_tax)."""
    settings = _settings("specific")
    lots = _audit_household(database, settings)
    preview = sale_preview(_context(_book(database, settings), "specific"), "VOO", D(10))
    assert preview is not None
    assert [p.source_id for p in preview.pieces] == [lot_trade_id(lots["L2"])]
    assert preview.gain == -600
