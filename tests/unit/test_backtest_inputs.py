"""The backtest's bad input: the price file, the range, flows, dividends and `--vary`."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.flows import monthly_days, parse_monthly, parse_withdrawal, read_dividends
from daemon.backtest.prices import read_prices
from daemon.backtest.vary import combinations, configure, parse_vary
from tests.unit.backtest_helpers import run, write_config


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(text)
    return path


def test_a_gap_names_the_file_row_and_symbol(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"VTI": "0.6", "BND": "0.4"})
    path = _file(tmp_path, "date,VTI,BND\n2024-01-02,10,20\n2024-01-03,,20\n2024-01-04,11,21\n")
    with pytest.raises(BacktestInputError) as caught:
        run(config, read_prices(path))
    message = str(caught.value)
    assert str(path) in message
    assert "row 3" in message
    assert "(VTI): no close (a gap)" in message


def test_a_gap_before_the_start_or_in_an_unused_column_is_allowed(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"VTI": "1"})
    path = _file(tmp_path, "date,VTI,XYZ\n2024-01-02,,\n2024-01-03,10,\n2024-01-04,11,\n")
    done = run(config, read_prices(path), start=date(2024, 1, 3))
    assert [p["date"] for p in done.json()["nav"]] == ["2024-01-03", "2024-01-04"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("date,VTI\n2024-01-03,10\n2024-01-02,11\n", "row 3, column 1 (date): 2024-01-02 does not"),
        ("date,VTI\n2024-01-02,10\n2024-01-02,11\n", "row 3, column 1 (date): 2024-01-02 does not"),
        ("date,VTI\n2024-01-02,10\n2024-01-03,0\n", "row 3, column 2 (VTI): a close must be"),
        ("date,VTI\n2024-01-02,-4\n", "row 2, column 2 (VTI): a close must be a positive"),
        ("date,VTI\n2024-01-02,ten\n", "row 2, column 2 (VTI): 'ten' is not a number"),
        ("date,VTI\n2024-13-02,10\n", "row 2, column 1 (date): '2024-13-02' is not a date"),
        ("day,VTI\n2024-01-02,10\n", "the header must start with 'date'"),
        ("date,VTI\n", "has a header but no rows"),
        ("date,VTI,VTI\n2024-01-02,1,1\n", "names VTI twice"),
        ("date,VTI\n2024-01-02,1,2\n", "row 2 has 3 cells but the header has 2"),
        # The first bad row is named, whichever kind its fault and the later one's are.
        ("date,VTI\n2024-01-02,ten\n2024-01-01,1\n", "row 2, column 2 (VTI): 'ten' is not"),
        ("date,VTI\n2024-01-02,0\nnope,1\n", "row 2, column 2 (VTI): a close must be"),
        (
            "date,VTI\n2024-01-02,inf\n2024-01-03,1,2\n",
            "row 2, column 2 (VTI): 'inf' is not a number",
        ),
        ("date,A,B\n2024-01-02,,nan\n", "row 2, column 3 (B): 'nan' is not a number"),
        ("date,A,B\n2024-01-02,1,\n2024-01-03,1,-1\n", "row 3, column 3 (B): a close must"),
        # A quoted close with a comma is named, after any earlier row's or cell's fault.
        ('date,A,B\n2024-01-02,1,"1,2"\n', "row 2, column 3 (B): '1,2' is not a plain decimal"),
        ('date,A,B\n2024-01-02,ten,"1,2"\n', "row 2, column 2 (A): 'ten' is not a number"),
        ('date,A\n2024-01-02,0\n2024-01-03,"1,200"\n', "row 2, column 2 (A): a close must"),
        ('date,A,B\n2024-01-02,1,1\n2024-01-03,"1,200",\n', "row 3, column 2 (A): '1,200' is"),
    ],
)
def test_a_malformed_price_file_names_the_place(tmp_path: Path, text: str, expected: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(BacktestInputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_prices(path)


def test_a_symbol_the_strategy_needs_must_have_a_column(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"VTI": "0.6", "BND": "0.4"})
    path = _file(tmp_path, "date,VTI\n2024-01-02,10\n")
    with pytest.raises(
        BacktestInputError,
        match=r"has no column BND, needed because account \w+'s strategy targets it "
        r"\(the header is date,VTI",
    ):
        run(config, read_prices(path))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"start": date(2023, 12, 1)}, "--start 2023-12-01 is before the first day"),
        ({"start": date(2024, 2, 1)}, "--start 2024-02-01 is after the last day"),
        ({"end": date(2024, 2, 1)}, "--end 2024-02-01 is after the last day"),
        ({"end": date(2023, 1, 1)}, "--end 2023-01-01 is before the first day"),
        (
            {"start": date(2024, 1, 3), "end": date(2024, 1, 2)},
            "--end 2024-01-02 is before --start 2024-01-03",
        ),
    ],
)
def test_a_range_outside_the_file_names_the_range_it_holds(
    tmp_path: Path, options: dict[str, date], expected: str
) -> None:
    config = write_config(tmp_path, {"VTI": "1"})
    path = _file(tmp_path, "date,VTI\n2024-01-02,10\n2024-01-03,10\n2024-01-04,10\n")
    with pytest.raises(BacktestInputError) as caught:
        run(config, read_prices(path), **options)
    assert expected in str(caught.value)
    if "before --start" not in expected:
        assert "holds closes from 2024-01-02 to 2024-01-04" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("2000/month", "2000"), ("$1500.50 / month", "1500.50"), ("250/mo", "250"), ("2.5/m", "2.5")],
)
def test_monthly_amounts(text: str, amount: str) -> None:
    assert parse_monthly(text, "--contribute") == Decimal(amount)


@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("--contribute", "2,50/month"),
        ("--contribute", "1,000/month"),
        ("--contribute", "$1,500.50 / month"),
        ("--contribute", "1_000/month"),
        ("--contribute", "1 000/month"),
        ("--contribute", "1'000/month"),
        ("--withdraw", "1,5/month"),
        ("--withdraw", "4,5%/year"),
        ("--withdraw", "1.000,50/month"),
    ],
)
def test_an_amount_with_a_separator_is_refused_naming_the_fix(option: str, text: str) -> None:
    """`2,50/month` was read as 250 a month and `1,5/month` as 15: a decimal comma is not a
    thousands separator, and which one a comma is cannot be told. Refused, as `--cash`, the
    price file and the dividends file refuse separators."""
    parse = parse_withdrawal if option == "--withdraw" else partial(parse_monthly, option=option)
    with pytest.raises(BacktestInputError) as caught:
        parse(text)
    message = str(caught.value)
    assert message.startswith(f"{option} {text!r}: ")
    assert "no thousands separators or decimal commas" in message
    assert "2.50/month" in message


@pytest.mark.parametrize("text", ["2000", "-5/month", "0/month", "x/month", "1.001/month"])
def test_a_bad_monthly_amount_names_the_option(text: str) -> None:
    with pytest.raises(BacktestInputError, match="--withdraw"):
        parse_monthly(text, "--withdraw")


def test_flows_land_on_the_first_row_of_each_later_month() -> None:
    days = [date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 2), date(2024, 2, 5)]
    assert monthly_days(days) == {2}


def test_a_bad_dividends_file_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "div.csv"
    path.write_text("date,symbol,amount\n2024-01-02,VTI,0.5\n2024-01-03,BND,-1\n")
    with pytest.raises(BacktestInputError, match="row 3, column 3 \\(BND\\)"):
        read_dividends(path)
    path.write_text("when,what\n")
    with pytest.raises(BacktestInputError, match="date,symbol,amount"):
        read_dividends(path)


def test_vary_parses_every_combination_in_order() -> None:
    parsed = parse_vary(["bands.absolute_pp=3,5,10", "tax.harvest.enabled=true,false"])
    assert parsed == [
        ("bands.absolute_pp", ["3", "5", "10"]),
        ("tax.harvest.enabled", [True, False]),
    ]
    runs = combinations(parsed)
    assert len(runs) == 6
    assert runs[0] == (("bands.absolute_pp", "3"), ("tax.harvest.enabled", True))
    assert runs[1] == (("bands.absolute_pp", "3"), ("tax.harvest.enabled", False))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bands.absolut_pp=3", "bands has no key 'absolut_pp'; the keys there are absolute_pp"),
        ("band.absolute_pp=3", "the account has no key 'band'"),
        ("bands=3", "is a table; vary one of its keys: bands.absolute_pp"),
        ("strategy.x=1", "strategy is a value, not a table"),
        ("bands.absolute_pp", "must be KEY=V1,V2"),
        ("bands.absolute_pp=3,,5", "must be KEY=V1,V2"),
    ],
)
def test_a_bad_vary_names_the_valid_keys(text: str, expected: str) -> None:
    with pytest.raises(BacktestInputError) as caught:
        parse_vary([text])
    assert expected in str(caught.value)


def test_vary_overrides_the_account_and_checks_the_value(tmp_path: Path) -> None:
    settings = write_config(tmp_path, {"VTI": "1"})
    path = tmp_path / "config.toml"
    [(_, changed)] = configure(
        path, settings, "main", [(("bands.absolute_pp", "3"), ("tax.lot_method", "hifo"))]
    )
    assert changed.account("main").bands.absolute_pp == Decimal(3)
    assert changed.account("main").tax.lot_method == "hifo"
    assert settings.account("main").bands.absolute_pp == Decimal(5)
    with pytest.raises(BacktestInputError, match=r"tax\.lot_method"):
        configure(path, settings, "main", [(("tax.lot_method", "newest"),)])
    [(_, free)] = configure(path, settings, "main", [(("strategy_params.targets.VTI", "1"),)])
    # The static strategy's own model read it, as it reads the file's targets.
    assert free.account("main").strategy_params["targets"]["VTI"] == Decimal(1)


def test_a_quoted_and_a_plain_file_read_the_same(tmp_path: Path) -> None:
    # Two readers: plain lines split on commas, and the csv module's when the file quotes.
    # Blank lines, CRLF endings, spaces around cells and a byte-order mark read alike.
    plain = tmp_path / "plain.csv"
    plain.write_bytes(
        b"\xef\xbb\xbfdate,VTI,BND\r\n2024-01-02, 100.10 ,80\r\n\r\n2024-01-03,,81.5\r\n"
    )
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('date,"VTI",BND\n2024-01-02,"100.10",80\n\n2024-01-03,,"81.5"\n')
    old_mac = tmp_path / "cr.csv"
    old_mac.write_text("date,VTI,BND\r2024-01-02,100.10,80\r\r2024-01-03,,81.5\r", newline="")
    for table in (read_prices(plain), read_prices(quoted), read_prices(old_mac)):
        assert table.days == (date(2024, 1, 2), date(2024, 1, 3))
        assert table.symbols == ("VTI", "BND")
        assert table.rows == (2, 4)
        assert table.floats.tolist()[0] == [100.1, 80.0]
        assert table.floats[1, 1] == 81.5
        assert math.isnan(table.floats[1, 0])  # the gap
        rows = table.decimals(("BND", "VTI"), 0, 2)
        assert (rows[0], rows[1]) == ((Decimal(80), Decimal("100.10")), (Decimal("81.5"), 0))
        assert str(rows[0][1]) == "100.10"  # as written: the exact close
