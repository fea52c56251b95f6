"""`trimtab tax split` after a harvest, and across the household's accounts.

A split is a fact about the security (Treas. Reg. §1.1091-1(c), IRS Pub. 550): it is recorded
for a symbol the ledger traded even when no account holds it that day (a harvest sold every
share), and shares bought after it replace loss shares sold before it in proportion, in any
account: 10 bought after a 3-for-1 split are 3 1/3 of the shares sold before.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.test_tax_cli import TODAY, day, invoke, tax_audit

D = Decimal


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f"""
database_url = "{database_url}"
[tax.outside_accounts.spouse]
owner = "spouse"
[tax.outside_accounts.joint]
owner = "self"
[accounts.main]
[accounts.main.strategy_params]
targets = {{ VOO = "0.6", BND = "0.4" }}
"""
    )
    return path


def _trade(
    config: Path, account: str, symbol: str, side: str, days: int, qty: str, amount: str
) -> None:
    out = invoke(
        "tax",
        "add-trade",
        "-a",
        account,
        "--symbol",
        symbol,
        "--side",
        side,
        "--date",
        day(days),
        "--qty",
        qty,
        "--amount",
        amount,
        "-c",
        str(config),
    )
    assert "recorded" in out


def _report(config: Path, days: int) -> list[dict[str, str]]:
    year = (TODAY - timedelta(days=days)).year
    out = invoke("tax", "report", "--year", str(year), "--csv", "-c", str(config))
    return list(csv.DictReader(io.StringIO(out)))


def _lots(config: Path, account: str) -> list[tuple[str, Decimal, Decimal]]:
    held = json.loads(invoke("tax", "lots", "--json", "-a", account, "-c", str(config)))
    return [(lot["symbol"], D(lot["qty"]), D(lot["adjusted_basis"])) for lot in held]


def test_a_forward_split_after_a_harvest_is_recorded_and_a_third_of_the_loss_deferred(
    config: Path,
) -> None:
    # Every share sold at a $300 loss, a 3-for-1 split, 10 new shares bought back.
    _trade(config, "spouse", "SCHD", "buy", 60, "10", "3000")
    _trade(config, "spouse", "SCHD", "sell", 45, "10", "2700")
    out = invoke("tax", "split", "SCHD", "3:1", "--date", day(30), "-c", str(config))
    assert f"3:1 split of SCHD on {day(30)} in spouse recorded" in out
    assert "0 shares held before, 0 after" in out
    _trade(config, "spouse", "SCHD", "buy", 25, "10", "900")
    (row,) = _report(config, 45)
    assert (row["code"], row["adjustment"], row["gain"]) == ("W", "100.00", "-200.00")
    assert _lots(config, "spouse") == [("SCHD", D(10), D(1000))]
    (recorded,) = [r for r in tax_audit(config) if "split" in r]
    assert recorded["recorded_as"] == "split"
    assert recorded["split"]["accounts"] == ["spouse"]  # type: ignore[index]


def test_a_reverse_split_after_a_harvest_defers_the_whole_loss(config: Path) -> None:
    # 100 old shares sold at a $200 loss, 1-for-10: 10 new shares are all 100 of them.
    _trade(config, "spouse", "XYZ", "buy", 60, "100", "1000")
    _trade(config, "spouse", "XYZ", "sell", 45, "100", "800")
    invoke("tax", "split", "XYZ", "1:10", "--date", day(30), "-c", str(config))
    _trade(config, "spouse", "XYZ", "buy", 25, "10", "800")
    (row,) = _report(config, 45)
    assert (row["adjustment"], row["gain"]) == ("200.00", "0.00")
    assert _lots(config, "spouse") == [("XYZ", D(10), D(1000))]


def test_a_replacement_in_an_account_without_the_split_counts_in_new_shares(
    config: Path,
) -> None:
    # The split is recorded for the spouse's account (it still holds a share); the
    # replacement is bought in the joint account, which held none that day.
    _trade(config, "spouse", "XYZ", "buy", 60, "101", "1010")
    _trade(config, "spouse", "XYZ", "sell", 45, "100", "800")
    out = json.loads(
        invoke("tax", "split", "XYZ", "1:10", "--date", day(30), "--json", "-c", str(config))
    )
    assert [(r["account"], r["shares_before"], r["shares_after"]) for r in out] == [
        ("spouse", "1", "0.1")
    ]
    _trade(config, "joint", "XYZ", "buy", 25, "10", "800")
    (row,) = _report(config, 45)
    assert (row["account"], row["adjustment"], row["gain"]) == ("spouse", "200.00", "0.00")
    assert _lots(config, "joint") == [("XYZ", D(10), D(1000))]
    assert _lots(config, "spouse") == [("XYZ", D("0.1"), D(10))]


def test_every_account_that_traded_the_symbol_before_the_day_records_it_once(
    config: Path,
) -> None:
    # The joint account sold out before the split, the spouse's holds: both record it, the
    # spouse's lots scale once, and the joint account's sale stays in old shares.
    _trade(config, "joint", "XYZ", "buy", 80, "10", "2000")
    _trade(config, "joint", "XYZ", "sell", 45, "10", "1500")  # a $500 loss
    _trade(config, "spouse", "XYZ", "buy", 80, "4", "800")
    out = json.loads(
        invoke("tax", "split", "XYZ", "2:1", "--date", day(30), "--json", "-c", str(config))
    )
    assert [(r["account"], r["shares_before"], r["shares_after"]) for r in out] == [
        ("joint", "0", "0"),
        ("spouse", "4", "8"),
    ]
    _trade(config, "spouse", "XYZ", "buy", 25, "10", "800")  # 5 old shares
    rows = _report(config, 45)
    assert [(r["account"], r["adjustment"], r["gain"]) for r in rows] == [
        ("joint", "250.00", "-250.00")
    ]
    assert _lots(config, "spouse") == [("XYZ", D(8), D(800)), ("XYZ", D(10), D(1050))]
    again = json.loads(
        invoke("tax", "split", "XYZ", "2:1", "--date", day(30), "--json", "-c", str(config))
    )
    assert [r["recorded"] for r in again] == [False, False]
    assert _lots(config, "spouse") == [("XYZ", D(8), D(800)), ("XYZ", D(10), D(1050))]


def test_another_ratio_recorded_in_another_account_that_day_is_refused(config: Path) -> None:
    _trade(config, "spouse", "XYZ", "buy", 80, "10", "1000")
    _trade(config, "joint", "XYZ", "buy", 80, "10", "1000")
    invoke("tax", "split", "XYZ", "2:1", "--date", day(30), "-a", "spouse", "-c", str(config))
    out = invoke(
        "tax", "split", "XYZ", "3:1", "--date", day(30), "-a", "joint", "-c", str(config), code=2
    )
    assert f"a 2:1 split of XYZ on {day(30)} is already recorded in spouse" in " ".join(out.split())
    assert _lots(config, "joint") == [("XYZ", D(10), D(1000))]


def test_a_symbol_first_bought_after_the_day_is_refused(config: Path) -> None:
    _trade(config, "spouse", "XYZ", "buy", 20, "10", "1000")
    out = invoke("tax", "split", "XYZ", "2:1", "--date", day(30), "-c", str(config), code=2)
    assert "no XYZ acquired before" in " ".join(out.split())
