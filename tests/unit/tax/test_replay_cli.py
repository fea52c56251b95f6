"""`trimtab tax replay`: CSV parsing, errors naming row and column, and the command end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.tax.replay import ReplayError, parse_trades

TRIMTAB = Path(sys.executable).parent / "trimtab"

HEADER = "id,date,account,account_type,symbol,side,qty,price,amount,lot,owner\n"
PUB550 = HEADER + (
    "b1,2021-09-24,brokerage,taxable,M,buy,100,,5000,,\n"
    "b2,2021-12-21,brokerage,taxable,M,buy,50,55,,,\n"
    "b3,2021-12-28,spouse,taxable,M,buy,25,,1125,,spouse\n"
    "s1,2022-01-04,brokerage,taxable,M,sell,100,40,,b1,\n"
)


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_replay_json_through_a_real_subprocess(tmp_path: Path) -> None:
    path = _csv(tmp_path, PUB550)
    done = subprocess.run(
        [str(TRIMTAB), "tax", "replay", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no trimtab.toml here: replay needs none
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["sales"] == [
        {
            "id": "s1",
            "account": "brokerage",
            "symbol": "M",
            "date": "2022-01-04",
            "qty": "100",
            "proceeds": "4000.00",
            "basis": "5000.00",
            "gain": "-250.00",
            "disallowed": "750.00",
            "term": "short",
            "lots": [
                {
                    "source_id": "b1",
                    "qty": "100",
                    "acquired": "2021-09-24",
                    "holding_period_start": "2021-09-24",
                    "term": "short",
                    "proceeds": "4000.00",
                    "basis": "5000.00",
                    "disallowed": "750.00",
                    "gain": "-250.00",
                }
            ],
        }
    ]
    assert result["lots"] == [
        {
            "source_id": "b2",
            "account": "brokerage",
            "symbol": "M",
            "qty": "50",
            "cost": "2750.00",
            "adjusted_basis": "3250.00",
            "acquired": "2021-12-21",
            "holding_period_start": "2021-09-10",
        },
        {
            "source_id": "b3",
            "account": "spouse",
            "symbol": "M",
            "qty": "25",
            "cost": "1125.00",
            "adjusted_basis": "1375.00",
            "acquired": "2021-12-28",
            "holding_period_start": "2021-09-17",
        },
    ]


def test_a_partial_wash_shows_the_lot_twice_with_one_source_id(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,date,account,account_type,symbol,side,qty,amount\n"
        "b1,2024-01-02,a,taxable,X,buy,30,3000\n"
        "s1,2024-03-01,a,taxable,X,sell,30,2400\n"
        "b2,2024-03-20,a,taxable,X,buy,100,8000\n",
    )
    result = CliRunner().invoke(app, ["tax", "replay", str(path), "--json"])
    assert result.exit_code == 0, result.output
    lots = json.loads(result.stdout)["lots"]
    assert [(lot["source_id"], lot["qty"], lot["adjusted_basis"]) for lot in lots] == [
        ("b2", "30", "3000.00"),
        ("b2", "70", "5600.00"),
    ]


def test_a_sale_of_mixed_terms_shows_each_relieved_piece_with_its_term_and_gain(
    tmp_path: Path,
) -> None:
    path = _csv(
        tmp_path,
        "id,date,account,account_type,symbol,side,qty,amount\n"
        "b1,2022-01-03,a,taxable,X,buy,10,1000\n"
        "b2,2024-02-01,a,taxable,X,buy,10,1200\n"
        "s1,2024-03-01,a,taxable,X,sell,20,2200\n"
        "b3,2024-03-10,a,taxable,X,buy,10,1050\n",
    )
    result = CliRunner().invoke(app, ["tax", "replay", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (sale,) = json.loads(result.stdout)["sales"]
    assert (sale["term"], sale["gain"], sale["disallowed"]) == ("mixed", "100.00", "100.00")
    assert [
        {k: piece[k] for k in ("source_id", "term", "proceeds", "basis", "disallowed", "gain")}
        for piece in sale["lots"]
    ] == [
        {
            "source_id": "b1",
            "term": "long",
            "proceeds": "1100.00",
            "basis": "1000.00",
            "disallowed": "0.00",
            "gain": "100.00",
        },
        {
            "source_id": "b2",
            "term": "short",
            "proceeds": "1100.00",
            "basis": "1200.00",
            "disallowed": "100.00",
            "gain": "0.00",
        },
    ]
    for total in ("proceeds", "basis", "disallowed", "gain"):
        assert sum(Decimal(p[total]) for p in sale["lots"]) == Decimal(sale[total])


def test_same_day_replacements_option(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,date,account,account_type,symbol,side,qty,amount\n"
        "b1,2024-01-02,a,taxable,X,buy,10,1000\n"
        "s1,2024-03-15,a,taxable,X,sell,10,800\n"
        "b2,2024-03-15,a,taxable,X,buy,10,810\n"
        "s2,2024-03-15,a,taxable,X,sell,10,830\n",
    )
    runner = CliRunner()
    by_default = json.loads(runner.invoke(app, ["tax", "replay", str(path), "--json"]).stdout)
    excluded = json.loads(
        runner.invoke(
            app, ["tax", "replay", str(path), "--json", "--same-day-replacements", "exclude"]
        ).stdout
    )
    assert [s["disallowed"] for s in by_default["sales"]] == ["200.00", "0.00"]
    assert [s["gain"] for s in by_default["sales"]] == ["0.00", "-180.00"]
    assert [s["disallowed"] for s in excluded["sales"]] == ["0.00", "0.00"]
    assert [s["gain"] for s in excluded["sales"]] == ["-200.00", "20.00"]


def test_identical_groups_and_lot_method_options(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,date,account,account_type,symbol,side,qty,price\n"
        "b1,2023-01-02,a,taxable,VOO,buy,10,400\n"
        "b2,2023-06-01,a,taxable,VOO,buy,10,300\n"
        "s1,2024-03-01,a,taxable,VOO,sell,10,350\n"
        "b3,2024-03-05,ira,roth_ira,IVV,buy,10,355\n",
    )
    runner = CliRunner()
    plain = json.loads(runner.invoke(app, ["tax", "replay", str(path), "--json"]).stdout)
    assert plain["sales"][0]["disallowed"] == "0.00"
    grouped = runner.invoke(
        app,
        ["tax", "replay", str(path), "--json", "--identical", "VOO,IVV", "--lot-method", "lifo"],
    )
    sale = json.loads(grouped.stdout)["sales"][0]
    assert (sale["lots"][0]["source_id"], sale["gain"], sale["disallowed"]) == (
        "b2",
        "500.00",
        "0.00",
    )
    fifo = json.loads(
        runner.invoke(app, ["tax", "replay", str(path), "--json", "--identical", "voo,ivv"]).stdout
    )["sales"][0]
    assert (fifo["gain"], fifo["disallowed"]) == ("0.00", "500.00")


def test_without_json_prints_tables(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tax", "replay", str(_csv(tmp_path, PUB550))])
    assert result.exit_code == 0
    assert "Open lots" in result.stdout
    assert "750.00" in result.stdout


BAD_ROWS = [
    ("b9,2024-13-01,a,taxable,X,buy,1,,1,,", "date", "'2024-13-01' is not a date"),
    ("b9,2024-01-01,a,brokerage,X,buy,1,,1,,", "account_type", "'brokerage' is not one of"),
    ("b9,2024-01-01,a,taxable,X,hold,1,,1,,", "side", "'hold' is not buy or sell"),
    ("b9,2024-01-01,a,taxable,X,buy,ten,,1,,", "qty", "'ten' is not a number"),
    ("b9,2024-01-01,a,taxable,X,buy,-1,,1,,", "qty", "must be positive"),
    ("b9,2024-01-01,a,taxable,X,buy,1,2,3,,", "amount", "give a price or an amount, not both"),
    ("b9,2024-01-01,a,taxable,X,buy,1,,,,", "price", "give a price or an amount"),
    ("b1,2024-01-01,a,taxable,X,buy,1,,1,,", "id", "b1 is also the id of row 1"),
    (",2024-01-01,a,taxable,X,buy,1,,1,,", "id", "is empty"),
    ("s9,2024-01-01,a,taxable,X,sell,1,,1,b7,", "lot", "b7 is not the id of a buy"),
    ("s9,2022-01-05,brokerage,taxable,M,sell,1,,1,b3,", "lot", "b3 bought M in spouse, not M"),
    ("s9,2022-01-05,brokerage,taxable,M,sell,60,,1,,", "qty", "trade s9 sells 60 but only 50"),
    (
        "b9,2022-01-05,brokerage,roth_ira,M,buy,1,,1,,",
        "account_type",
        "trade b9 names account brokerage, which is taxable",
    ),
]


@pytest.mark.parametrize(("row", "column", "problem"), BAD_ROWS)
def test_bad_rows_name_row_and_column_and_exit_2(
    tmp_path: Path, row: str, column: str, problem: str
) -> None:
    path = _csv(tmp_path, PUB550 + row + "\n")
    result = CliRunner().invoke(app, ["tax", "replay", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"row 5 (line 6), column {column}: {problem}" in " ".join(result.stderr.split())


def test_bad_header_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["tax", "replay", str(_csv(tmp_path, "id,date,account,symbol,side,qty,price,colour\n"))],
    )
    assert result.exit_code == 2
    assert "column colour: unknown column" in " ".join(result.stderr.split())


def test_parse_checks_required_columns_and_keeps_file_order() -> None:
    with pytest.raises(ReplayError, match="column account_type: missing from the header"):
        parse_trades("id,date,account,symbol,side,qty,price\n")
    trades, rows = parse_trades(PUB550)
    assert [t.id for t in trades] == ["b1", "b2", "b3", "s1"]
    assert rows == {"b1": 1, "b2": 2, "b3": 3, "s1": 4}
    assert trades[1].amount == 2750
    assert trades[2].owner == "spouse"
    assert trades[3].lots[0].source_id == "b1"


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tax", "replay", str(tmp_path / "none.csv")])
    assert result.exit_code == 2
    assert "cannot read the file: No such file" in " ".join(result.stderr.split())


def test_a_row_with_more_fields_than_the_header_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, PUB550 + "b9,2024-01-01,a,taxable,X,buy,1,,1,,,extra\n")
    result = CliRunner().invoke(app, ["tax", "replay", str(path)])
    assert result.exit_code == 2
    assert "row 5 (line 6), has more fields than the header" in " ".join(result.stderr.split())


def test_a_header_only_file_replays_to_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tax", "replay", str(_csv(tmp_path, HEADER)), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"sales": [], "lots": []}
