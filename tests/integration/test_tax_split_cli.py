"""`trimtab tax split`, driven as a user would, on a real SQLite or PostgreSQL ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.bootstrap import open_app
from daemon.core.domain import Side
from daemon.store.tax_ledger import TaxLedger, household_accounts, tax_policy
from daemon.store.tax_sources import declare_trade, relieve
from tests.integration.test_tax_cli import TODAY, config, day, invoke, tax_audit

__all__ = ["config"]  # the fixture, shared

D = Decimal


def _declare(config: Path, *args: str) -> None:
    out = invoke("tax", "add-trade", "-a", "spouse", "--symbol", "VTI", *args, "-c", str(config))
    assert "recorded" in out


def _lots(config: Path, account: str = "spouse") -> list[tuple[str, Decimal, Decimal, str]]:
    held = json.loads(invoke("tax", "lots", "--json", "-a", account, "-c", str(config)))
    return [
        (lot["symbol"], D(lot["qty"]), D(lot["adjusted_basis"]), lot["holding_period_start"])
        for lot in held
    ]


def test_a_forward_split_scales_the_lots_and_a_later_sale_gains_what_it_did(
    config: Path,
) -> None:
    _declare(config, "--side", "buy", "--date", day(500), "--qty", "240", "--amount", "60000")
    out = invoke("tax", "split", "vti", "2:1", "--date", day(30), "-c", str(config))
    assert f"2:1 split of VTI on {day(30)} in spouse recorded" in out
    assert "240 shares held before, 480 after" in out
    assert _lots(config) == [("VTI", D(480), D(60000), day(500))]
    # The sale after the split relieves 480 new shares at the old total basis.
    _declare(config, "--side", "sell", "--date", day(10), "--qty", "480", "--amount", "62400")
    assert _lots(config) == []
    year = (TODAY - timedelta(days=10)).year
    report = invoke("tax", "report", "--year", str(year), "--csv", "-c", str(config))
    (row,) = list(csv.DictReader(io.StringIO(report)))
    assert (row["description"], row["basis"], row["gain"], row["term"]) == (
        "480 sh. VTI",
        "60000.00",
        "2400.00",
        "long",
    )
    (recorded,) = [r for r in tax_audit(config) if "split" in r]
    assert recorded["recorded_as"] == "split"
    assert recorded["split"] == {
        "symbol": "VTI",
        "ratio": "2:1",
        "date": day(30),
        "accounts": ["spouse"],
        "relieved_again": [],
    }


def test_the_same_split_twice_records_once(config: Path) -> None:
    _declare(config, "--side", "buy", "--date", day(500), "--qty", "100", "--amount", "10000")
    invoke("tax", "split", "VTI", "2:1", "--date", day(30), "-c", str(config))
    again = invoke("tax", "split", "VTI", "4:2", "--date", day(30), "--json", "-c", str(config))
    (result,) = json.loads(again)
    assert (result["recorded"], result["ratio"], result["shares_after"]) == (False, "2:1", "200")
    assert _lots(config) == [("VTI", D(200), D(10000), day(500))]
    assert [r["recorded_as"] for r in tax_audit(config) if "split" in r] == [
        "split",
        "already recorded",
    ]


def test_a_reverse_split_keeps_the_fraction_until_its_cash_in_lieu_is_recorded(
    config: Path,
) -> None:
    _declare(config, "--side", "buy", "--date", day(500), "--qty", "25", "--amount", "2500")
    out = invoke("tax", "split", "VTI", "1:10", "--date", day(30), "-c", str(config))
    assert "25 shares held before, 2.5 after" in out
    assert "0.5 of a share is left in the lots" in out
    assert "--cash-in-lieu AMOUNT" in out
    assert _lots(config) == [("VTI", D("2.5"), D(2500), day(500))]
    out = invoke(
        "tax",
        "split",
        "VTI",
        "1:10",
        "--date",
        day(30),
        "-a",
        "spouse",
        "--cash-in-lieu",
        "480",
        "-c",
        str(config),
    )
    assert "recorded the sale of 0.5 share(s) paid in cash" in out
    assert _lots(config) == [("VTI", D(2), D(2000), day(500))]
    year = (TODAY - timedelta(days=30)).year
    report = json.loads(invoke("tax", "report", "--year", str(year), "--json", "-c", str(config)))
    (row,) = report["rows"]
    assert (row["proceeds"], row["basis"], row["gain"]) == ("480", "500.00", "-20.00")


def test_a_sale_recorded_before_its_split_is_relieved_again_in_new_shares(
    config: Path,
) -> None:
    # The brief's case: a cycle recorded the sale of 480 after a 2-for-1 split no one had
    # recorded yet: 240 lot shares at the old basis and 240 with no lot.
    _declare(config, "--side", "buy", "--date", day(500), "--qty", "240", "--amount", "60000")
    application = open_app(config)
    try:
        with application.database.transaction() as session:
            ledger = TaxLedger(session)
            settings = application.settings
            picks, unmatched, _ = relieve(
                ledger,
                accounts=household_accounts(settings),
                policy=tax_policy(settings),
                account="spouse",
                symbol="VTI",
                qty=D(480),
                on=TODAY - timedelta(days=10),
                proceeds=D(62400),
            )
            assert unmatched == 240
            ledger.add_sale(
                account="spouse",
                symbol="VTI",
                sold=TODAY - timedelta(days=10),
                qty=D(480),
                proceeds=D(62400),
                source="fill",
                source_id="f1",
                reliefs=picks,
                at=application.clock(),
                note="240 shares had no recorded lot",
            )
    finally:
        application.close()
    out = invoke("tax", "split", "VTI", "2:1", "--date", day(30), "-c", str(config))
    assert "the lots of 1 sale(s)" in out
    assert _lots(config) == []
    year = (TODAY - timedelta(days=10)).year
    report = json.loads(invoke("tax", "report", "--year", str(year), "--json", "-c", str(config)))
    (row,) = report["rows"]
    assert (row["basis"], row["gain"]) == ("60000", "2400")
    assert report["unmatched"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("QQQ", "2:1", "--date", day(30)), "no lot of QQQ in any account"),
        (("VTI", "2:1", "--date", day(30), "-a", "main"), "no lot of VTI in main"),
        (("VTI", "2:1", "--date", day(-1)), "is in the future"),
        (("VTI", "2", "--date", day(30)), "is not NEW:OLD"),
        (("VTI", "2:0", "--date", day(30)), "must be above 0"),
        (("VTI", "1.5:1", "--date", day(30)), "is not NEW:OLD"),
        (("VTI", "3:3", "--date", day(30)), "changes no share"),
        (("VTI", "2:1", "--date", "30/11/2026"), "is not a date"),
        (("VTI", "2:1", "--date", day(600)), "no VTI acquired before"),
        (("VTI", "3:1", "--date", day(60)), "a 2:1 split of VTI on"),
        (("VTI", "2:1", "--date", day(30), "--cash-in-lieu", "5"), "a reverse ratio"),
    ],
)
def test_refusals_name_the_problem_record_nothing_and_are_audited(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    _declare(config, "--side", "buy", "--date", day(500), "--qty", "100", "--amount", "10000")
    invoke("tax", "split", "VTI", "2:1", "--date", day(60), "-c", str(config))
    out = invoke("tax", "split", *args, "-c", str(config), code=2)
    assert message in " ".join(out.split()), out
    assert _lots(config) == [("VTI", D(200), D(10000), day(500))]
    refused = [r for r in tax_audit(config) if "split" in r][-1]
    assert message in str(refused["rejected"])


def test_every_account_holding_the_symbol_splits_unless_one_is_named(
    config: Path, tmp_path: Path
) -> None:
    lots = tmp_path / "lots.csv"
    lots.write_text(f"account,symbol,acquired,quantity,cost_basis\nmain,VTI,{day(400)},10,2000\n")
    invoke("tax", "import", str(lots), "-c", str(config))
    _declare(config, "--side", "buy", "--date", day(500), "--qty", "5", "--amount", "1000")
    _declare(config, "--side", "buy", "--date", day(5), "--qty", "3", "--amount", "330")
    out = json.loads(
        invoke("tax", "split", "VTI", "2:1", "--date", day(30), "--json", "-c", str(config))
    )
    assert [(r["account"], r["shares_before"], r["shares_after"]) for r in out] == [
        ("main", "10", "20"),
        ("spouse", "5", "10"),
    ]
    assert [q for _, q, _, _ in _lots(config, "spouse")] == [D(10), D(3)]  # bought after
    assert [q for _, q, _, _ in _lots(config, "main")] == [D(20)]
    application = open_app(config)
    try:
        with application.database.transaction() as session:
            # A declared sale in new shares relieves the split lot first (FIFO), in new shares.
            declared = declare_trade(
                session,
                accounts=household_accounts(application.settings),
                policy=tax_policy(application.settings),
                account="spouse",
                symbol="VTI",
                side=Side.SELL,
                on=TODAY,
                qty=D(12),
                amount=D(1300),
                note="",
                at=application.clock(),
            )
    finally:
        application.close()
    assert [q for _, q in declared.lots] == [D(10), D(2)]
