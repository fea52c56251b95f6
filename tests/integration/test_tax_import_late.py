"""Lots imported after the facts they belong with: after a sale that had shares without a
lot (the report's warning says to import them), after a recorded split (a broker's cost-basis
export gives split-adjusted shares), and a file that is not UTF-8."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from daemon.bootstrap import open_app
from daemon.core.calendar import exchange_timezone
from daemon.store.models import FillRow
from daemon.store.tax_ledger import household_accounts, tax_policy
from daemon.store.tax_sources import record_fills
from tests.integration.test_tax_cli import TODAY, config, day, invoke, tax_audit

__all__ = ["config"]  # the fixture, shared

D = Decimal
HEADER = "account,symbol,acquired,quantity,cost_basis,note\n"


def _sell_at_the_broker(config: Path, qty: str, price: str, days_ago: int) -> Decimal:
    """Record a sale of VOO in the managed account as a cycle does: a fill, then the ledger."""
    app = open_app(config, credentials=False)
    at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC)
    at += timedelta(hours=16)
    try:
        with app.database.transaction() as session:
            session.add(
                FillRow(
                    account="main",
                    fill_id="f1",
                    client_order_id="outside",
                    broker_order_id="b-f1",
                    symbol="VOO",
                    side="sell",
                    qty=D(qty),
                    price=D(price),
                    commission=D(1),
                    at=at,
                    external=True,
                    recorded_at=at,
                )
            )
            session.flush()
            (sale,) = record_fills(
                session,
                account="main",
                accounts=household_accounts(app.settings),
                policy=tax_policy(app.settings),
                timezone=exchange_timezone(app.settings.exchange),
                at=at,
            )
        return sale.unmatched
    finally:
        app.close()


def test_lots_imported_after_a_sale_without_them_are_relieved_by_it(
    config: Path, tmp_path: Path
) -> None:
    """The audit's case: 10 held, the broker sells 15; importing the 5 it lacked (as the
    warning says) makes the sale whole, and leaves no lot open for shares already sold."""
    (tmp_path / "a.csv").write_text(HEADER + f"main,VOO,{day(400)},10,2000.00,\n")
    invoke("tax", "import", str(tmp_path / "a.csv"), "-c", str(config))
    assert _sell_at_the_broker(config, "15", "250", 10) == 5
    year = (TODAY - timedelta(days=10)).year
    report = ("tax", "report", "--year", str(year), "-c", str(config))
    assert "import their lots" in invoke(*report)
    (tmp_path / "b.csv").write_text(HEADER + f"main,VOO,{day(700)},5,600.00,older\n")
    out = invoke("tax", "import", str(tmp_path / "b.csv"), "-c", str(config))
    assert "the lots of 1 recorded sale(s) with shares that had no lot were relieved again" in out
    assert json.loads(invoke("tax", "lots", "--json", "-c", str(config))) == []
    rows = list(csv.DictReader(io.StringIO(invoke(*report, "--csv"))))
    assert sorted((r["description"], r["date_acquired"], r["proceeds"]) for r in rows) == [
        ("10 sh. VOO", day(400), "2499.33"),
        ("5 sh. VOO", day(700), "1249.67"),
    ]  # 15 x 250 less the 1.00 commission, every share reported
    assert json.loads(invoke(*report, "--json"))["unmatched"] == []
    assert "import their lots" not in invoke(*report)


def test_a_lot_imported_after_a_recorded_split_is_not_split_again(
    config: Path, tmp_path: Path
) -> None:
    """The audit's case: 10 XYZ bought, a 2:1 split recorded, then an older lot imported from
    the broker's export, which shows the 20 shares still held after the split."""
    invoke(
        "tax", "add-trade", "-a", "spouse", "--symbol", "XYZ", "--side", "buy", "--date",
        day(300), "--qty", "10", "--amount", "1000", "-c", str(config),
    )  # fmt: skip
    invoke("tax", "split", "XYZ", "2:1", "--date", day(200), "-c", str(config))
    (tmp_path / "later.csv").write_text(HEADER + f"spouse,XYZ,{day(500)},20,1500.00,export\n")
    out = invoke("tax", "import", str(tmp_path / "later.csv"), "-c", str(config))
    assert f"line 2: 20 XYZ held today are 10 as bought on {day(500)}, before the split" in out
    held = json.loads(invoke("tax", "lots", "--json", "-c", str(config)))
    assert [(lot["acquired"], D(lot["qty"]), D(lot["cost"])) for lot in held] == [
        (day(500), 20, 1500),
        (day(300), 20, 1000),
    ]
    # The same export again is the same lot.
    again = invoke("tax", "import", str(tmp_path / "later.csv"), "-c", str(config), code=2)
    assert "is already imported" in again


def test_a_file_that_is_not_utf8_names_the_line_and_the_fix(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + f"main,VOO,{day(9)},1,500,ok\nmain,VOO,{day(9)},1,500,Café\n").encode("latin-1")
    )
    out = invoke("tax", "import", str(path), "-c", str(config), code=2)
    assert f"{path}: line 3: byte 0xe9 is not UTF-8" in out
    assert "save the file as UTF-8" in out
    (record,) = tax_audit(config)
    assert "line 3: byte 0xe9" in str(record["rejected"])
