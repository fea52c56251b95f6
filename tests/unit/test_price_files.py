"""The backtest's price file made from closes by symbol (`daemon.backtest.price_files`):
downloaded per-symbol CSVs as Yahoo Finance and Stooq write them, the written file, and the
backtest reading it back."""

from __future__ import annotations

import os
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.price_files import (
    Coverage,
    SymbolFile,
    parse_symbol_file_arg,
    read_symbol_file,
    write_price_file,
)
from daemon.backtest.prices import read_prices

D = Decimal
YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,237.50,238.00,236.10,237.10,230.5512,3000000
2024-01-03,null,null,null,null,null,null
2024-01-04,235.00,236.00,234.00,235.02,228.5301,2800000
"""
STOOQ = """Date,Open,High,Low,Close,Volume
2024-01-02,72.1,72.5,72.0,72.41,100
2024-01-03,72.4,72.6,72.3,72.55,100
2024-01-04,72.5,72.7,72.4,72.60,100
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("VTI.csv", SymbolFile("VTI", Path("VTI.csv"))),
        ("data/vti.us.txt", SymbolFile("VTI", Path("data/vti.us.txt"))),
        ("BRK.B=brk-b.csv", SymbolFile("BRK.B", Path("brk-b.csv"))),
        ("brk-b.csv", SymbolFile("BRK-B", Path("brk-b.csv"))),
    ],
)
def test_the_symbol_is_the_name_before_its_first_dot_unless_given(
    argument: str, expected: SymbolFile
) -> None:
    assert parse_symbol_file_arg(argument) == expected


@pytest.mark.parametrize("argument", ["=VTI.csv", "VTI=", ".csv"])
def test_an_argument_without_a_symbol_is_refused(argument: str) -> None:
    with pytest.raises(BacktestInputError, match="SYM="):
        parse_symbol_file_arg(argument)


def test_yahoo_gives_its_adjusted_close_and_skips_null_rows(tmp_path: Path) -> None:
    closes = read_symbol_file(write(tmp_path / "VTI.csv", YAHOO))
    assert closes == [(date(2024, 1, 2), D("230.5512")), (date(2024, 1, 4), D("228.5301"))]


def test_column_picks_another_close(tmp_path: Path) -> None:
    closes = read_symbol_file(write(tmp_path / "VTI.csv", YAHOO), column="close")
    assert closes == [(date(2024, 1, 2), D("237.10")), (date(2024, 1, 4), D("235.02"))]


def test_stooq_without_an_adjusted_close_gives_its_close(tmp_path: Path) -> None:
    closes = read_symbol_file(write(tmp_path / "bnd.us.txt", STOOQ))
    assert [c for _, c in closes] == [D("72.41"), D("72.55"), D("72.60")]


def test_rows_may_come_in_any_order_and_timestamps_count_by_their_day(tmp_path: Path) -> None:
    text = "timestamp,close\n2024-01-03 00:00:00,11\n2024-01-02 00:00:00,10\n"
    closes = read_symbol_file(write(tmp_path / "X.csv", text))
    assert closes == [(date(2024, 1, 2), D(10)), (date(2024, 1, 3), D(11))]


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", None, "is empty"),
        ("Open,Close\n1,2\n", None, r"has no Date column"),
        ("Date,Open\n2024-01-02,2\n", None, r"has no an Adj Close or Close column.*--column"),
        ("Date,Close\n2024-01-02,2\n", "Adj Close", r"has no column 'Adj Close'"),
        ("Date,Close\n2024-01-02,abc\n", None, r"row 2, column Close: 'abc' is not a number"),
        ("Date,Close\n2024-01-02,1\n2024-01-03,-2\n", None, r"row 3, column Close: .*positive"),
        ("Date,Close\n2024-01-02,0\n", None, r"row 2, column Close: .*positive"),
        ("Date,Close\n02/01/2024,1\n", None, r"row 2: date '02/01/2024' is not a date"),
        ("Date,Close\n2024-01-02,1\n2024-01-02,2\n", None, r"row 3: 2024-01-02 is given twice"),
        ("Date,Open,Close\n2024-01-02,1\n", None, r"row 2 has 2 cells but the header has 3"),
    ],
)
def test_bad_files_are_refused_naming_file_and_row(
    tmp_path: Path, text: str, column: str | None, message: str
) -> None:
    path = write(tmp_path / "X.csv", text)
    with pytest.raises(BacktestInputError, match=message) as caught:
        read_symbol_file(path, column)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BacktestInputError, match=r"X\.csv does not exist"):
        read_symbol_file(tmp_path / "X.csv")


def test_the_file_has_a_row_per_day_any_symbol_has_and_empty_cells_elsewhere(
    tmp_path: Path,
) -> None:
    out = tmp_path / "prices.csv"
    d1, d2, d3, d4 = (date(2024, 1, day) for day in (2, 3, 4, 5))
    covered = write_price_file(
        out,
        {
            "VTI": [(d1, D("237.10")), (d3, D("235.02")), (d4, D(236))],
            "BND": [(d2, D("72.55")), (d3, D("72.60"))],
            "GLD": [],
        },
    )
    assert out.read_text().splitlines() == [
        "date,VTI,BND,GLD",
        "2024-01-02,237.10,,",
        "2024-01-03,,72.55,",
        "2024-01-04,235.02,72.60,",
        "2024-01-05,236,,",
    ]
    assert covered == [
        Coverage("VTI", d1, d4, 3, 1),
        Coverage("BND", d2, d3, 2, 0),
        Coverage("GLD", None, None, 0, 0),
    ]
    # The backtest reads it, and names the gap its range would trade through.
    table = read_prices(out)
    table.require({"BND"}, 1, 3, why="the test")
    with pytest.raises(BacktestInputError, match=r"row 3 \(2024-01-03\), column 2 \(VTI\)"):
        table.require({"VTI"}, 0, 4, why="the test")


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    out = write(tmp_path / "prices.csv", "keep me\n")
    series = {"VTI": [(date(2024, 1, 2), D(1))]}
    with pytest.raises(BacktestInputError, match=r"exists; .* --force"):
        write_price_file(out, series)
    assert out.read_text() == "keep me\n"
    write_price_file(out, series, force=True)
    assert out.read_text() == "date,VTI\n2024-01-02,1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["prices.csv"]  # no temporary file left


def test_nothing_is_written_without_a_close(tmp_path: Path) -> None:
    out = tmp_path / "prices.csv"
    with pytest.raises(BacktestInputError, match="no closes for VTI, BND"):
        write_price_file(out, {"VTI": [], "BND": []})
    assert not out.exists()


def test_a_folder_that_does_not_exist_is_named(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "prices.csv"
    with pytest.raises(BacktestInputError, match="missing is not a directory"):
        write_price_file(out, {"VTI": [(date(2024, 1, 2), D(1))]})


def test_the_file_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    """As any file the user makes (0666 less the umask), not a temporary file's 0600: the
    file is written whole through `out_file.write_whole`, as the --report page is."""
    out = tmp_path / "prices.csv"
    series = {"VTI": [(date(2024, 1, 2), D(1))]}
    mask = os.umask(0o022)
    try:
        write_price_file(out, series)
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        out.chmod(0o640)
        write_price_file(out, series, force=True)
    finally:
        os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["prices.csv"]
