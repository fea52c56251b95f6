"""`trimtab tax import | add-trade | lots | windows | report`, driven as a user would."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.store.audit_log import AuditLog

TODAY = date.today()


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f"""
database_url = "{database_url}"
[tax]
substantially_identical = [["VOO", "IVV"]]
[tax.outside_accounts.spouse]
owner = "spouse"
description = "spouse brokerage at another broker"
[accounts.main]
[accounts.main.strategy_params]
targets = {{ VOO = "0.6", BND = "0.4" }}
"""
    )
    return path


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def tax_audit(config: Path) -> list[dict[str, object]]:
    application = open_app(config)
    try:
        with application.database.transaction() as session:
            return [dict(r.payload) for r in AuditLog(session).records(kinds=["tax_lots"])]
    finally:
        application.close()


def test_import_then_report_a_washed_spouse_loss(config: Path, tmp_path: Path) -> None:
    lots = tmp_path / "lots.csv"
    lots.write_text(
        "account,symbol,acquired,quantity,cost_basis,note\n"
        f"main,IVV,{day(5)},5,2000,bought before trimtab\n"
        f"main,BND,{day(900)},100,7000,\n"
    )
    assert "imported 2 lot(s)" in invoke("tax", "import", str(lots), "-c", str(config))
    for args in (
        ("--side", "buy", "--date", day(40), "--qty", "10", "--amount", "5000"),
        ("--side", "sell", "--date", day(10), "--qty", "10", "--amount", "4000"),
    ):
        out = invoke(
            "tax", "add-trade", "-a", "spouse", "--symbol", "voo", *args, "-c", str(config)
        )
        assert "recorded" in out

    windows = json.loads(invoke("tax", "windows", "--json", "-c", str(config)))
    kinds = {(w["kind"], w["account"], w["symbol"]) for w in windows}
    assert ("purchase", "main", "IVV") not in kinds  # its 5 shares already replaced the loss
    loss = next(w for w in windows if w["kind"] == "loss sale")
    assert (loss["account"], loss["symbol"], loss["ends"]) == ("spouse", "VOO", day(-20))
    assert loss["shares"] == "5"

    held = json.loads(invoke("tax", "lots", "--json", "-a", "main", "-c", str(config)))
    ivv = next(lot for lot in held if lot["symbol"] == "IVV")
    assert [Decimal(ivv[k]) for k in ("cost", "adjusted_basis", "wash_adjustment")] == [
        2000,
        2500,
        500,
    ]

    year = TODAY.year if (TODAY - timedelta(days=10)).year == TODAY.year else TODAY.year - 1
    out = invoke("tax", "report", "--year", str(year), "--csv", "-c", str(config))
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["account"] == "spouse"
    assert [row[k] for k in ("proceeds", "basis", "adjustment", "gain")] == [
        "4000.00",
        "5000.00",
        "500.00",
        "-500.00",
    ], "money is written with cents"
    assert row["code"] == "W"
    assert row["term"] == "short"
    broker = invoke(
        "tax", "report", "--year", str(year), "--csv", "--view", "broker", "-c", str(config)
    )
    (row,) = list(csv.DictReader(io.StringIO(broker)))
    assert (row["code"], row["adjustment"], row["gain"]) == ("", "0.00", "-1000.00")
    text = invoke("tax", "report", "--year", str(year), "-c", str(config))
    assert "short-term: 1 row(s)" in text
    assert "harvested losses: 0.00" in text


def test_a_bad_import_names_each_line_imports_nothing_and_is_audited(
    config: Path, tmp_path: Path
) -> None:
    lots = tmp_path / "lots.csv"
    lots.write_text(
        "account,symbol,acquired,quantity,cost_basis\n"
        f"main,VOO,{day(5)},5,2000\n"
        f"elsewhere,VOO,{day(5)},5,2000\n"
        f"main,VOO,{day(5)},five,2000\n"
    )
    out = invoke("tax", "import", str(lots), "-c", str(config), code=2)
    # Whole lines, whatever the terminal's width or the temporary path's length: an error
    # printed to a pipe is never wrapped.
    lines = out.splitlines()
    assert lines[0] == f"error: {lots}: 2 problem(s), nothing imported:"
    assert lines[1].startswith("  line 3: account 'elsewhere' is not a household account")
    assert lines[2] == "  line 4: quantity 'five' is not a number above 0"
    assert json.loads(invoke("tax", "lots", "--json", "-c", str(config))) == []
    (record,) = tax_audit(config)
    assert record["import"] == str(lots)
    assert len(record["rejected"]) == 2  # type: ignore[arg-type]


def test_add_trade_refuses_a_managed_account_and_a_future_date(config: Path) -> None:
    base = ("--symbol", "VOO", "--side", "buy", "--qty", "1", "--amount", "500")
    out = invoke(
        "tax", "add-trade", "-a", "main", *base, "--date", day(1), "-c", str(config), code=2
    )
    assert "is not an outside account" in out
    out = invoke(
        "tax", "add-trade", "-a", "spouse", *base, "--date", day(-3), "-c", str(config), code=2
    )
    assert "is in the future" in out
    out = invoke(
        "tax", "add-trade", "-a", "spouse", *base, "--date", "yesterday", "-c", str(config), code=2
    )
    assert "is not a date" in out
    assert [r["rejected"] != "" for r in tax_audit(config)] == [True, True, True]


def test_windows_and_report_on_an_empty_ledger(config: Path) -> None:
    assert "no open wash-sale windows" in invoke("tax", "windows", "-c", str(config))
    assert "no taxable sales in 2026" in invoke(
        "tax", "report", "--year", "2026", "-c", str(config)
    )
    assert "no open lots" in invoke("tax", "lots", "-c", str(config))
