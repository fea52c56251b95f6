"""A split is recorded on one day in every account: two rows of it on nearby days are refused.

Wash matching counts each day's split of a symbol once, whichever account recorded it
(`LedgerState.scale`). The same 2:1 recorded for the spouse on one day and for the joint
account on the next (each broker's date) was two splits there, a 4:1: 20 new shares bought
back replaced 5 of the 10 old ones sold, and half of a $1000 wash was claimed deductible.
`tax split` refuses a split of a symbol fewer than 30 days from one already recorded (two such
splits could both fall between a loss sale and its replacement) and names the day to use.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.test_tax_cli import TODAY, day, invoke, tax_audit


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
targets = {{ VOO = "1" }}
"""
    )
    return path


def _trade(config: Path, account: str, side: str, days: int, qty: str, amount: str) -> None:
    invoke(
        "tax",
        "add-trade",
        "-a",
        account,
        "--symbol",
        "XYZ",
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


def _split(config: Path, ratio: str, days: int, *account: str, code: int = 0) -> str:
    args = ("-a", *account) if account else ()
    return invoke(
        "tax", "split", "XYZ", ratio, "--date", day(days), *args, "-c", str(config), code=code
    )


def _adjustments(config: Path) -> list[str]:
    year = (TODAY - timedelta(days=45)).year
    out = invoke("tax", "report", "--year", str(year), "--csv", "-c", str(config))
    return [r["adjustment"] for r in csv.DictReader(io.StringIO(out)) if r["account"] == "spouse"]


@pytest.mark.parametrize("account", [("joint",), ()])
def test_the_same_split_on_the_next_day_is_refused_and_the_day_to_use_named(
    config: Path, account: tuple[str, ...]
) -> None:
    _trade(config, "spouse", "buy", 80, "20", "4000")
    _trade(config, "joint", "buy", 80, "10", "2000")
    _trade(config, "spouse", "sell", 45, "10", "1000")  # a $1000 loss on 10 old shares
    _split(config, "2:1", 31, "spouse")
    out = " ".join(_split(config, "2:1", 30, *account, code=2).split())
    assert f"a 2:1 split of XYZ on {day(31)} is already recorded in spouse" in out, out
    assert f"record it on {day(31)}" in out, out
    refused = [r for r in tax_audit(config) if "split" in r][-1]
    assert f"record it on {day(31)}" in str(refused["rejected"])

    # Recorded on the spouse's day, the joint account's row is the same split: 2:1, once.
    _split(config, "2:1", 31, *account)
    _trade(config, "spouse", "buy", 25, "20", "1000")  # 20 new shares = the 10 old sold
    assert _adjustments(config) == ["1000.00"]


def test_another_ratio_on_a_nearby_day_in_the_same_account_is_refused(config: Path) -> None:
    _trade(config, "spouse", "buy", 80, "20", "4000")
    _split(config, "2:1", 40, "spouse")
    out = " ".join(_split(config, "1:4", 11, "spouse", code=2).split())
    assert f"a 2:1 split of XYZ on {day(40)} is already recorded in spouse" in out, out


def test_a_split_30_days_after_another_is_recorded(config: Path) -> None:
    _trade(config, "spouse", "buy", 80, "20", "4000")
    _split(config, "2:1", 60, "spouse")
    out = _split(config, "1:4", 30, "spouse")
    assert "recorded" in out, out
    held = invoke("tax", "lots", "--json", "-a", "spouse", "-c", str(config))
    assert '"qty": "10"' in held, held
