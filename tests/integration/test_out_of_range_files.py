"""Input files with a number trimtab cannot plan with: a close or price of 1e999 (a finite
Decimal, an infinite float), 1e-400 (a float of 0) or `_1_0` (a number to Python, not a plain
decimal). Every command refuses the file, exit 2, naming the file, its row and column (or the
field) and the fix, and sends or writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.price_files import write_price_file
from daemon.cli import app as cli
from tests.integration.test_bad_input_exit_codes import CLOSES, CONFIG

BAD = ["1e999", "1e-400", "_1_0", "1_0", "１２"]
"""Too large, too small, and three a Python float or Decimal reads but a price file may not."""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.replace("\n", "")


def expected(cell: str) -> str:
    if cell == "1e999":
        return "the close is too large (1E+999); a price must be from 0.000001 to"
    if cell == "1e-400":
        return "the close is too small (1E-400); a price must be from 0.000001 to"
    return f"{cell!r} is not a number; write plain decimals like 412.37"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    (tmp_path / "closes.csv").write_text(CLOSES)
    return tmp_path


def test_an_offline_plan_refuses_a_price_of_1e999_naming_the_symbol(home: Path) -> None:
    holdings = home / "holdings.json"
    holdings.write_text(
        '{"cash": "10000", "positions": [{"symbol": "VTI", "qty": "10", "price": "250.10"}], '
        '"prices": {"BND": "1e999"}}'
    )
    code, output = invoke("plan", "--holdings", str(holdings), "-c", str(home / "trimtab.toml"))
    assert code == 2, output
    assert f"{holdings}: prices.BND is too large (1E+999); a price must be from" in output
    assert "BUY" not in output


@pytest.mark.parametrize("cell", BAD)
def test_the_sim_refuses_a_csv_close_at_config_check_and_run(home: Path, cell: str) -> None:
    closes = home / "closes.csv"
    closes.write_text(CLOSES + f"2026-11-04,{cell},73\n")
    for command in (["config", "check"], ["run", "--once"]):
        code, output = invoke(*command, "-c", str(home / "trimtab.toml"))
        assert code == 2, output
        assert f"{closes}: row 4, column 2 (VTI): {expected(cell)}" in output
    assert not (home / "state" / "trimtab.db").exists()


@pytest.mark.parametrize("cell", BAD)
def test_prices_merge_refuses_a_close_and_writes_nothing(tmp_path: Path, cell: str) -> None:
    download = tmp_path / "big.csv"
    download.write_text(f"Date,Close\n2024-01-02,230.5\n2024-01-03,{cell}\n")
    out = tmp_path / "merged.csv"
    code, output = invoke("prices", "merge", f"VTI={download}", "-o", str(out), "--column", "Close")
    assert code == 2, output
    assert f"{download}: row 3, column Close: {expected(cell)}" in output
    assert not out.exists()


@pytest.mark.parametrize("cell", BAD)
def test_a_backtest_refuses_a_close_naming_file_row_and_column(home: Path, cell: str) -> None:
    prices = home / "prices.csv"
    prices.write_text(f"date,VTI,BND\n2026-11-02,300,72\n2026-11-03,{cell},72.5\n")
    code, output = invoke(
        "backtest", "-c", str(home / "trimtab.toml"), "--prices", str(prices), "--json"
    )
    assert code == 2, output
    assert f"{prices}: row 3, column 2 (VTI): {expected(cell)}" in output
    assert "AssertionError" not in output


def test_config_check_refuses_a_synthetic_base_price_out_of_range(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        CONFIG.replace('source = "csv"\npath = "closes.csv"', 'base_prices = { VTI = "1e999" }')
    )
    code, output = invoke("config", "check", "-c", str(config))
    assert code == 2, output
    assert "base_prices.VTI is too large (1E+999); a price must be from 0.000001" in output


@pytest.mark.parametrize("close", [Decimal("1e999"), Decimal("1e-400"), Decimal("NaN")])
def test_a_price_file_is_not_written_with_a_close_out_of_range(
    tmp_path: Path, close: Decimal
) -> None:
    # `prices export` writes a broker's history: one bad tick there refuses the whole file.
    out = tmp_path / "prices.csv"
    series = {
        "VTI": [(date(2024, 1, 2), Decimal("230.5")), (date(2024, 1, 3), close)],
        "BND": [(date(2024, 1, 2), Decimal("72.5"))],
    }
    with pytest.raises(BacktestInputError) as caught:
        write_price_file(out, series)
    assert f"the close of VTI on 2024-01-03 is {'NaN' if close.is_nan() else 'too'}" in str(
        caught.value
    )
    assert f"nothing written to {out}" in str(caught.value)
    assert not out.exists()
