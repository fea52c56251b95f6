"""A large lot import: every row lands in batches, with progress; a second import of the same
file, or of a row whose source id a recorded sale already has, adds nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.store.db import Database
from daemon.store.lot_import import ImportRow, LotImportError, import_lots
from daemon.store.tax_ledger import TaxLedger

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def rows(count: int) -> list[ImportRow]:
    return [
        ImportRow(
            line=n + 2,
            account="brokerage" if n % 3 else "spouse",
            symbol=f"S{n % 40:02d}",
            acquired=date(2020, 1, 2) + timedelta(days=n % 1500),
            qty=Decimal(1 + n % 9),
            cost=Decimal(100 + n) / 4,
            note=f"lot {n}",
        )
        for n in range(count)
    ]


def test_a_large_import_lands_whole_in_batches_and_says_how_far_it_got(
    database: Database,
) -> None:
    many = rows(2500)
    heard: list[tuple[int, int]] = []
    with database.transaction() as session:
        added = import_lots(
            session, many, path="lots.csv", at=NOW, progress=lambda *p: heard.append(p)
        )
    assert added == 2500
    assert heard == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]
    with database.transaction() as session:
        lots = TaxLedger(session).lots()
    assert len(lots) == 2500
    assert {(lot.account, lot.symbol, lot.qty, lot.cost, lot.note) for lot in lots} == {
        (r.account, r.symbol, r.qty, r.cost, r.note) for r in many
    }
    assert {lot.source for lot in lots} == {"import"}
    with (
        pytest.raises(LotImportError, match="already imported") as caught,
        database.transaction() as session,
    ):
        import_lots(session, many, path="lots.csv", at=NOW)
    assert len(caught.value.problems) == 2500
    with database.transaction() as session:
        assert len(TaxLedger(session).lots()) == 2500


def test_a_row_whose_source_id_a_sale_has_is_a_duplicate(database: Database) -> None:
    (row,) = rows(1)
    with database.transaction() as session:
        ledger = TaxLedger(session)
        ledger.add_sale(
            account=row.account,
            symbol=row.symbol,
            sold=date(2025, 1, 2),
            qty=Decimal(0),
            proceeds=Decimal(0),
            source="import",
            source_id=row.source_id(1),
            at=NOW,
            reliefs=[],
        )
    with (
        pytest.raises(LotImportError, match="line 2: this lot"),
        database.transaction() as session,
    ):
        import_lots(session, [row], path="lots.csv", at=NOW)
    with database.transaction() as session:
        assert TaxLedger(session).lots() == []
