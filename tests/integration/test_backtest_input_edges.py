"""`trimtab backtest` at the edges of its input: a --benchmark that is not a price column, a
--report it cannot write, amounts past what the planner can grow into, a dividend given twice.
Each is refused by name (exit 2, audited) or, when it can only fail after the run, reported in
one line (exit 1), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.integration.test_backtest_cli import CONFIG, refusals


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    (tmp_path / "prices.csv").write_text(
        "date,VTI,BND\n2021-01-04,100,50\n2021-01-05,110,50\n2021-01-06,105,45\n2021-02-01,106,46\n"
    )
    return tmp_path


def backtest(home: Path, *args: str) -> Result:
    from daemon.cli import app

    argv = ["backtest", "-c", str(home / "trimtab.toml"), "--prices", str(home / "prices.csv")]
    result = CliRunner().invoke(app, [*argv, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _said(result: Result) -> str:
    return result.output.replace("\n", " ")


def test_cash_as_the_benchmark_is_refused_naming_the_columns(home: Path) -> None:
    """CASH is the account's cash, never a column: the run crashed on it (a traceback)."""
    result = backtest(home, "--benchmark", "CASH", "--json")
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert "--benchmark CASH: CASH is not a price column" in said
    assert "name a symbol of the file as --benchmark" in said
    assert "date,VTI,BND" in said
    (refused,) = refusals(home)
    assert "CASH is not a price column" in refused["detail"]
