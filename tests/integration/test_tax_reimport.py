"""The same lot or declared trade again, its numbers written another way (19850 for 19850.00,
100.0 for 100), is recognised as already recorded: the audit's re-saved file tripled a lot."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.core.domain import Side
from daemon.core.errors import DataError
from daemon.store.db import Database
from daemon.store.lot_import import LotImportError, import_lots, parse_lots_csv
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy
from daemon.store.tax_sources import declare_trade
from tests.integration.test_tax_cli import config, day, invoke
from tests.integration.test_tax_ledger import NOW, household

__all__ = ["config"]  # the fixture, shared

D = Decimal
HEADER = "account,symbol,acquired,quantity,cost_basis,note\n"


def test_a_resaved_lot_file_is_already_imported(config: Path, tmp_path: Path) -> None:
    files = {
        "orig": f"main,VOO,{day(900)},100,19850.00,bought at Vanguard\n",
        "resaved": f"main,VOO,{day(900)},100,19850,bought at Vanguard\n",
        "resaved2": f'main,VOO,{day(900)},100.0,"19,850",bought at Vanguard\n',
    }
    for name, row in files.items():
        (tmp_path / f"{name}.csv").write_text(HEADER + row)
    invoke("tax", "import", str(tmp_path / "orig.csv"), "-c", str(config))
    for name in ("resaved", "resaved2"):
        out = invoke("tax", "import", str(tmp_path / f"{name}.csv"), "-c", str(config), code=2)
        assert "line 2: this lot (100" in out
        assert "is already imported" in out
    (lot,) = json.loads(invoke("tax", "lots", "--json", "-c", str(config)))
    assert D(lot["qty"]) == 100


def test_a_lot_imported_under_the_old_key_is_recognised_by_value(database: Database) -> None:
    """Lots imported before the key hashed canonical numbers carry an id hashed from the text
    as written: the comparison is by value, so they are found all the same."""
    with database.transaction() as session:
        TaxLedger(session).add_lot(
            account="brokerage",
            symbol="VTI",
            acquired=date(2021, 3, 15),
            qty=D("100.0"),
            cost=D("19850.00"),
            source="import",
            source_id="import-0123456789abcdef0123",  # hashed from "100.0" and "19850.00"
            order_ref="import-0123456789abcdef0123",
            at=NOW,
            note="x",
        )
    rows = parse_lots_csv(
        HEADER + "brokerage,VTI,2021-03-15,100,19850,x\nbrokerage,VTI,2021-03-15,100,19850,x\n",
        path="lots.csv",
        accounts=["brokerage"],
        today=date(2026, 11, 24),
    )
    with pytest.raises(LotImportError) as caught, database.transaction() as session:
        import_lots(session, rows, path="lots.csv", at=NOW)
    # The first is the lot imported before; the second a second identical lot, as ever.
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 2"]
    with database.transaction() as session:
        assert len(TaxLedger(session).lots()) == 1


def test_a_declared_trade_typed_again_another_way_is_already_declared(
    database: Database,
) -> None:
    settings = household()
    accounts, policy = household_accounts(settings), tax_policy(settings)
    with database.transaction() as session:
        TaxLedger(session).add_lot(  # declared before the key hashed canonical numbers
            account="spouse",
            symbol="VOO",
            acquired=date(2026, 1, 5),
            qty=D("10.0"),
            cost=D("5000.00"),
            source="declared",
            source_id="declared-0123456789abcdef0123",
            order_ref="declared-0123456789abcdef0123",
            at=NOW,
        )
    for qty, amount in (("10", "5000"), ("10.00", "5000.0")):
        with (
            pytest.raises(DataError, match="is already declared"),
            database.transaction() as session,
        ):
            declare_trade(
                session,
                accounts=accounts,
                policy=policy,
                account="spouse",
                symbol="VOO",
                side=Side.BUY,
                on=date(2026, 1, 5),
                qty=D(qty),
                amount=D(amount),
                note="",
                at=NOW,
            )


def test_add_trade_twice_with_the_numbers_written_another_way_is_refused(config: Path) -> None:
    base = ("tax", "add-trade", "-a", "spouse", "--symbol", "VOO", "--side", "buy")
    invoke(*base, "--date", day(9), "--qty", "10", "--amount", "2500.00", "-c", str(config))
    out = invoke(
        *base, "--date", day(9), "--qty", "10.0", "--amount", "2500", "-c", str(config), code=2
    )
    assert "is already declared" in out
    assert len(json.loads(invoke("tax", "lots", "--json", "-c", str(config)))) == 1
