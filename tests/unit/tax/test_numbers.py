"""Numbers in the tax CSV files: a comma only between thousands, never a decimal comma read
as grouping (the audit's '25,5' imported as 255 shares, '1402,55' as $140,255.00)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.tax.numbers import parse_number
from daemon.core.tax.replay import ReplayError, parse_trades
from daemon.store.lot_import import LotImportError, parse_lots_csv

D = Decimal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1402.55", D("1402.55")),
        ("1,402.55", D("1402.55")),
        ("19,850", D(19850)),
        ("1,234,567.5", D("1234567.5")),
        ("-3", D(-3)),
        (".5", D("0.5")),
        ("1.5e2", D(150)),
    ],
)
def test_plain_and_grouped_numbers(text: str, value: Decimal) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["25,5", "1402,55", "1,2,3", ",5", "1,23", "1234,567", "1,234,56", "1_0", "NaN", ""]
)
def test_anything_else_with_a_comma_is_not_a_number(text: str) -> None:
    assert parse_number(text) is None


# Four decimal places: a decimal comma before exactly three digits ("123,456") cannot be told
# from a thousands separator, and is read as one.
@given(st.decimals(min_value=0, max_value=10**12, places=4, allow_nan=False))
@example(D("25.5"))
@example(D("1402.55"))
def test_a_number_with_thousands_separators_reads_back_and_its_decimal_comma_is_refused(
    value: Decimal,
) -> None:
    grouped = f"{value:,f}"
    assert parse_number(grouped) == value
    if value != value.to_integral_value():
        # The same number with a decimal comma (and points between thousands, or none).
        european = grouped.replace(",", " ").replace(".", ",").replace(" ", "")
        assert parse_number(european) is None


def test_an_import_with_a_decimal_comma_names_the_line_and_the_fix() -> None:
    text = (
        "account,symbol,acquired,quantity,cost_basis,note\n"
        'spouse,VXUS,2024-11-02,"25,5","1402,55",decimal comma\n'
        'spouse,VTI,2024-11-02,"1,2,3",",5",grouping nonsense\n'
        'spouse,VTI,2024-11-02,"1,000","19,850.00",thousands\n'
    )
    with pytest.raises(LotImportError) as caught:
        parse_lots_csv(text, path="lots.csv", accounts=["spouse"], today=date(2026, 11, 24))
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 2", "line 3", "line 3"]
    assert problems[0] == (
        "line 2: quantity '25,5' is not a number above 0: a comma only separates thousands "
        "(1,234.56): use a point for decimals"
    )
    assert problems[1].startswith("line 2: cost_basis '1402,55' is not a number at least 0")
    assert problems[1].endswith("use a point for decimals")
    rows = parse_lots_csv(
        text.splitlines()[0] + "\n" + text.splitlines()[3],
        path="lots.csv",
        accounts=["spouse"],
        today=date(2026, 11, 24),
    )
    assert [(r.qty, r.cost) for r in rows] == [(D(1000), D(19850))]


def test_replay_refuses_a_decimal_comma(tmp_path: Path) -> None:
    text = (
        "id,date,account,account_type,symbol,side,qty,price\n"
        'b1,2026-01-02,x,taxable,VTI,buy,"2,5",100\n'
    )
    with pytest.raises(ReplayError) as caught:
        parse_trades(text)
    assert str(caught.value) == (
        "row 1 (line 2), column qty: '2,5' is not a number: a comma only separates thousands "
        "(1,234.56): use a point for decimals"
    )
    path = tmp_path / "replay.csv"
    path.write_text(text)
    result = CliRunner().invoke(app, ["tax", "replay", str(path), "--json"])
    assert result.exit_code == 2
    assert "use a point for decimals" in result.output
    (trade,), _ = parse_trades(text.replace('"2,5"', '"2,500"'))
    assert trade.qty == 2500
