"""`trimtab backtest` at the edges of its input: a --benchmark that is not a price column, a
--report it cannot write, amounts past what the planner can grow into, a dividend given twice.
Each is refused by name (exit 2, audited) or, when it can only fail after the run, reported in
one line (exit 1), never a traceback."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.integration.test_backtest_cli import CONFIG, refusals


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    # Every weekday to 2021-02-01 (no session missing), the closes of 01-06 held until then.
    january = (date(2021, 1, day) for day in range(7, 30))
    held = "".join(f"{day},105,45\n" for day in january if day.weekday() < 5)
    (tmp_path / "prices.csv").write_text(
        "date,VTI,BND\n2021-01-04,100,50\n2021-01-05,110,50\n2021-01-06,105,45\n"
        f"{held}2021-02-01,106,46\n"
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


def _files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} - {"state"}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_report_in_a_folder_that_takes_no_new_file_is_refused_before_running(
    home: Path,
) -> None:
    """/proc lists but creates nothing: the run used to finish, then die with a traceback."""
    result = backtest(home, "--report", "/proc/nope.html")
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert "--report /proc/nope.html: cannot create a file in /proc" in said
    assert "Traceback" not in said
    (refused,) = refusals(home)
    assert "--report /proc/nope.html" in refused["detail"]


def test_checking_the_report_path_leaves_nothing_behind(home: Path) -> None:
    """The check creates a file beside the page and removes it; a later refusal (here a
    column the strategy needs) leaves the folder as it was."""
    before = _files(home)
    (home / "prices.csv").write_text("date,VTI\n2021-01-04,100\n2021-01-05,110\n")
    result = backtest(home, "--report", str(home / "out.html"))
    assert result.exit_code == 2, result.output
    assert "has no column BND" in _said(result)
    assert _files(home) == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_report_that_fails_after_the_run_says_so_in_one_line(home: Path) -> None:
    """/dev/full opens for writing and fails on the write: only the run's end can know."""
    result = backtest(home, "--report", "/dev/full")
    assert result.exit_code == 1, result.output
    assert "error: cannot write the report /dev/full: No space left on device" in _said(result)
    assert "Traceback" not in result.output
    assert refusals(home) == []  # the input was good: trimtab could not write


def test_a_report_is_replaced_whole_or_not_at_all(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is written beside the old one and renamed over it: a failure (the disk, the
    rename: faked here as the OS refusing the rename) keeps the old page and no stray file."""
    page = home / "out.html"
    page.write_text("the old page")
    before = _files(home)

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    result = backtest(home, "--report", str(page))
    assert result.exit_code == 1, result.output
    assert f"error: cannot write the report {page}: No space left on device" in _said(result)
    assert page.read_text() == "the old page"
    assert _files(home) == before


def test_a_new_report_gets_the_usual_permissions_and_an_old_one_keeps_its_own(
    home: Path,
) -> None:
    """A renamed temporary file must not make the page private (0600) or change its mode."""
    page = home / "out.html"
    result = backtest(home, "--report", str(page))
    assert result.exit_code == 0, result.output
    umask = os.umask(0)
    os.umask(umask)
    assert page.stat().st_mode & 0o777 == 0o666 & ~umask
    assert "<svg" in page.read_text()
    page.chmod(0o640)
    assert backtest(home, "--report", str(page)).exit_code == 0
    assert page.stat().st_mode & 0o777 == 0o640
    assert _files(home) == {"trimtab.toml", "prices.csv", "out.html"}


@pytest.mark.parametrize("cash", ["1e999", "20000000000000", "9000000000000", "10000000000.01"])
def test_starting_cash_past_what_the_run_can_grow_into_is_refused_naming_the_option(
    home: Path, cash: str
) -> None:
    """The planner takes account values up to 1e13: above it --cash was called 'cash reported
    by the broker', and a little below it the run failed part way, naming nothing."""
    result = backtest(home, "--cash", cash, "--json")
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert f"--cash {cash!r}: give at most 10000000000 (1e10)" in said
    assert "room to grow" in said
    assert "broker" not in said
    (refused,) = refusals(home)
    assert "--cash" in refused["detail"]


def test_the_largest_starting_cash_runs(home: Path) -> None:
    result = backtest(home, "--cash", "10000000000", "--json")
    assert result.exit_code == 0, result.output
    assert Decimal(json.loads(result.stdout)["nav"][0]["value"]) == Decimal("1e10")


@pytest.mark.parametrize("cash", ["0.001", "1e-9", "100.005"])
def test_starting_cash_is_in_whole_cents_as_the_monthly_amounts_are(home: Path, cash: str) -> None:
    result = backtest(home, "--cash", cash)
    assert result.exit_code == 2, result.output
    assert f"--cash {cash!r}: give the amount in whole cents" in _said(result)


@pytest.mark.parametrize("option", ["--contribute", "--withdraw"])
@pytest.mark.parametrize("amount", ["10000000001", "100000000000000000000000000000000"])
def test_a_monthly_amount_past_the_bound_is_refused_naming_the_option(
    home: Path, option: str, amount: str
) -> None:
    """The 33-digit amount was a decimal.InvalidOperation traceback (its cents did not fit)."""
    result = backtest(home, option, f"{amount}/month")
    assert result.exit_code == 2, result.output
    assert f"{option} '{amount}/month': give at most 10000000000 (1e10)" in _said(result)


def test_cash_and_contributions_together_are_bounded_over_the_run(home: Path) -> None:
    """The file's range has one flow day (2021-02-01): 9,500,000,000 + 600,000,000 is past
    1e10, each alone is not."""
    result = backtest(home, "--cash", "9500000000", "--contribute", "600000000/month")
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert "--cash 9500000000 and --contribute 600000000/month for the run's 1 month" in said
    assert "put in 10100000000.00, more than 10000000000 (1e10)" in said
    ok = backtest(home, "--cash", "9400000000", "--contribute", "600000000/month", "--json")
    assert ok.exit_code == 0, ok.output


def test_a_dividend_given_twice_is_refused_naming_both_rows(home: Path) -> None:
    """The same (date, symbol) twice was paid twice, silently: 100.00 where 50.00 was due."""
    from daemon.backtest.errors import BacktestInputError
    from daemon.backtest.flows import read_dividends

    dividends = home / "dividends.csv"
    dividends.write_text(
        "date,symbol,amount\n2021-01-05,VTI,0.5\n2021-01-05,BND,1\n\n2021-01-05, VTI ,0.5\n"
    )
    expected = (
        f"{dividends}: rows 2 and 5 both give the same dividend of VTI on 2021-01-05 (0.5 a "
        "share), which would pay it twice; delete one of them"
    )
    with pytest.raises(BacktestInputError) as raised:
        read_dividends(dividends)
    assert expected in str(raised.value)
    result = backtest(home, "--dividends", str(dividends), "--json")
    assert result.exit_code == 2, result.output
    assert expected in _said(result)
    (refused,) = refusals(home)
    assert "rows 2 and 5" in refused["detail"]


def test_the_same_day_for_two_symbols_or_two_days_for_one_are_paid(home: Path) -> None:
    dividends = home / "dividends.csv"
    dividends.write_text(
        "date,symbol,amount\n2021-01-05,VTI,1\n2021-01-05,BND,1\n2021-01-06,VTI,1\n"
    )
    result = backtest(home, "--cash", "10000", "--dividends", str(dividends), "--json")
    assert result.exit_code == 0, result.output
    # 60 VTI and 80 BND on 2021-01-05, 60 VTI (bought on day 0, none sold by then) on 01-06.
    assert json.loads(result.stdout)["metrics"]["dividends"] == "200.00"


def test_two_distributions_of_one_day_are_both_paid(home: Path) -> None:
    """An income dividend and a capital-gain distribution paid together are two rows."""
    dividends = home / "dividends.csv"
    dividends.write_text("date,symbol,amount\n2021-01-05,VTI,0.5\n2021-01-05,VTI,1.25\n")
    result = backtest(home, "--cash", "10000", "--dividends", str(dividends), "--json")
    assert result.exit_code == 0, result.output
    # 60 VTI on 2021-01-05: 30.00 and 75.00.
    assert json.loads(result.stdout)["metrics"]["dividends"] == "105.00"


@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("--cash", "1_000"),
        ("--cash", "1,000"),
        ("--cash", "nan"),
        ("--short-term-rate", "0_3"),
        ("--risk-free", "0,02"),
    ],
)
def test_amounts_with_a_separator_are_refused_as_the_monthly_ones_are(
    home: Path, option: str, text: str
) -> None:
    """Python reads `1_000` as 1000; a separator is refused in every amount, as in the price
    file and in --contribute/--withdraw, rather than read one way here and another there."""
    result = backtest(home, option, text, "--json")
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert f"{option} {text!r}" in said
    assert "digits and a decimal point only" in said
    (refused,) = refusals(home)
    assert option in refused["detail"]
