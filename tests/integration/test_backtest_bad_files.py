"""A price or dividends file the backtest cannot use is refused by name (exit 2, audited),
never a traceback: a quoted close with a comma, a dividend amount outside the price range
or not written as a plain decimal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.integration.test_backtest_cli import CONFIG, refusals


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    (tmp_path / "prices.csv").write_text(
        "date,VTI,BND\n2021-01-04,100,50\n2021-01-05,110,50\n2021-01-06,105,45\n"
    )
    return tmp_path


def backtest(home: Path, *args: str) -> Result:
    from daemon.cli import app

    argv = ["backtest", "-c", str(home / "trimtab.toml"), "--cash", "10000", "--json"]
    result = CliRunner().invoke(app, [*argv, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_a_quoted_close_with_a_comma_is_refused_naming_its_cell(home: Path) -> None:
    prices = home / "quoted.csv"
    prices.write_text(
        'date,VTI,BND\n2021-01-04,100,50\n2021-01-05,"1,200",50\n2021-01-06,105,"4,5"\n'
    )
    result = backtest(home, "--prices", str(prices))
    assert result.exit_code == 2, result.output
    out = result.output.replace("\n", "")
    assert f"{prices}: row 3, column 2 (VTI): '1,200' is not a plain decimal" in out
    assert "without thousands separators or decimal commas" in out
    (refused,) = refusals(home)
    assert "row 3, column 2 (VTI)" in refused["detail"]


@pytest.mark.parametrize(
    ("amount", "named"),
    [
        ("1e30", "the amount per share is too large (1E+30)"),
        ("1e-30", "the amount per share is too small (1E-30)"),
        ("1_0", "'1_0' is not a plain decimal"),
        ('"1,000"', "'1,000' is not a plain decimal"),
        ("$1", "'$1' is not a plain decimal"),
        ("Infinity", "'Infinity' is not a plain decimal"),
        ("nan", "'nan' is not a plain decimal"),
        ("0", "must be a positive cash amount per share, got '0'"),
        ("-1", "must be a positive cash amount per share, got '-1'"),
    ],
)
def test_a_dividend_amount_the_backtest_cannot_use_is_refused(
    home: Path, amount: str, named: str
) -> None:
    dividends = home / "dividends.csv"
    dividends.write_text(f"date,symbol,amount\n2021-01-04,BND,0.5\n2021-01-05,VTI,{amount}\n")
    result = backtest(home, "--prices", str(home / "prices.csv"), "--dividends", str(dividends))
    assert result.exit_code == 2, result.output
    out = result.output.replace("\n", "")
    assert f"{dividends}: row 3, column 3 (VTI): " in out
    assert named in out
    (refused,) = refusals(home)
    assert named in refused["detail"]
