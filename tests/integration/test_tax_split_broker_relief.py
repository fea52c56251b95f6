"""A HIFO sale relieves the lot the planner previewed when the split is recorded elsewhere.

A split is the security's: the broker of an account that sold out before it still counts its
buy-backs in new shares (`TaxBook.broker_lots` replays every account's splits of the symbol).
The ledger's relief (`tax_sources.broker_book`) must rank the account's lots on the same
basis, or the guard previews one lot and the fill is recorded against another.

The case: main bought 10 XYZ at $100 and sold them at $50 before a 2:1 split ($500 loss on
10 old shares), so main has no row of the split (a ledger recorded before splits were the
security's, or `tax split -a spouse`). It buys back L2 (10 new at $40) and L3 (10 new at $60):
20 new shares, the 10 old sold, so each absorbs $250 (L2 $650, L3 $850). Counting no split,
L2 would absorb the whole $500 ($900) and HIFO would sell it instead of L3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from daemon.config.settings import Settings
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.relief import broker_view, rank
from daemon.core.tax.types import LotMethod
from daemon.store.db import Database
from daemon.store.models import FillRow
from daemon.store.tax_ledger import TaxLedger, household_accounts, lot_trade_id, tax_policy
from daemon.store.tax_sources import broker_book, record_fills, relieve

D = Decimal
NY = ZoneInfo("America/New_York")
AT = datetime(2024, 7, 1, tzinfo=UTC)
SOLD = date(2024, 6, 20)
SETTINGS = Settings.model_validate(
    {
        "accounts": {"main": {"tax": {"lot_method": "hifo"}}},
        "tax": {"outside_accounts": {"spouse": {"owner": "spouse"}}},
    }
)


def _household(database: Database) -> dict[str, str]:
    """Record the case; return main's buy-back lots' trade ids by name."""
    with database.transaction() as session:
        ledger = TaxLedger(session)
        l1 = ledger.add_lot(
            account="main",
            symbol="XYZ",
            acquired=date(2024, 4, 1),
            qty=D(10),
            cost=D(1000),
            source="fill",
            source_id="f1",
            order_ref="o1",
            at=AT,
        )
        assert l1 is not None
        ledger.add_sale(
            account="main",
            symbol="XYZ",
            sold=date(2024, 5, 15),
            qty=D(10),
            proceeds=D(500),
            source="fill",
            source_id="f2",
            reliefs=[(l1.id, D(10))],
            at=AT,
        )
        ledger.add_lot(
            account="spouse",
            symbol="XYZ",
            acquired=date(2024, 4, 1),
            qty=D(4),
            cost=D(400),
            source="declared",
            source_id="d1",
            order_ref="d1",
            at=AT,
        )
        ledger.add_split(
            account="spouse", symbol="XYZ", effective=date(2024, 5, 31), new=2, old=1, at=AT
        )
        lots = {}
        for name, on, cost in (("L2", date(2024, 6, 3), 400), ("L3", date(2024, 6, 10), 600)):
            lot = ledger.add_lot(
                account="main",
                symbol="XYZ",
                acquired=on,
                qty=D(10),
                cost=D(cost),
                source="fill",
                source_id=name,
                order_ref=name,
                at=AT,
            )
            assert lot is not None
            lots[name] = lot_trade_id(lot.id)
        return lots


def test_the_ledger_ranks_lots_as_the_preview_does(database: Database) -> None:
    lots = _household(database)
    accounts, policy = household_accounts(SETTINGS), tax_policy(SETTINGS)
    with database.transaction() as session:
        ledger = TaxLedger(session)
        book = replay_trades(ledger.trades(accounts), policy)
        expected = {lots["L2"]: D(650), lots["L3"]: D(850)}
        previewed = book.broker_lots("main", "XYZ")
        assert {lot.source_id: lot.adjusted_basis for lot in previewed} == expected
        own = broker_book(ledger, accounts, policy, "main").lots("main", "XYZ")
        assert {lot.source_id: lot.adjusted_basis for lot in own} == expected

        first = rank(previewed, LotMethod.HIFO, SOLD, D(70))[0].source_id
        assert first == lots["L3"]
        picks, unmatched, method = relieve(
            ledger,
            accounts=accounts,
            policy=policy,
            account="main",
            symbol="XYZ",
            qty=D(10),
            on=SOLD,
            proceeds=D(700),
        )
        assert ([lot_trade_id(i) for i, _ in picks], unmatched, method) == ([first], 0, "hifo")


def test_a_filled_sale_is_recorded_against_the_previewed_lot(database: Database) -> None:
    lots = _household(database)
    accounts, policy = household_accounts(SETTINGS), tax_policy(SETTINGS)
    with database.transaction() as session:
        session.add(
            FillRow(
                account="main",
                fill_id="f5",
                client_order_id="outside",
                broker_order_id="b-f5",
                symbol="XYZ",
                side="sell",
                qty=D(10),
                price=D(70),
                commission=D(0),
                at=datetime(2024, 6, 20, 16, tzinfo=UTC),
                external=True,
                recorded_at=AT,
            )
        )
        (sale,) = record_fills(
            session, account="main", accounts=accounts, policy=policy, timezone=NY, at=AT
        )
        assert [lot_trade_id(i) for i, _ in sale.lots] == [lots["L3"]]
        # The household's Form 8949 line: the $150 loss the planner expected, not a $50 gain.
        book = replay_trades(TaxLedger(session).trades(accounts), policy)
        (realized,) = [s for s in book.sales if s.trade.date == SOLD]
        assert realized.gain == D(-150)
        broker = replay_trades(TaxLedger(session).trades(accounts), broker_view(policy))
        assert {lot.source_id for lot in broker.lots("main", "XYZ")} == {lots["L2"]}
