"""`trimtab backtest` checks its options before the run: a report it could not write, a
count of workers joblib would refuse (exit 2, naming the option)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_backtest_cli import CONFIG, refusals
from tests.integration.test_backtest_cli import backtest as _backtest
from tests.integration.test_backtest_cli_refusals import _home


def test_a_report_into_a_missing_directory_is_refused_before_running(tmp_path: Path) -> None:
    home = _home(tmp_path, CONFIG)
    result = _backtest(home, "--report", str(home / "no" / "such" / "out.html"))
    assert result.exit_code == 2, result.output
    out = result.output.replace("\n", " ")
    assert "--report" in out
    assert "no" in out
    assert "does not exist" in out
    (refused,) = refusals(home)
    assert "--report" in refused["detail"]


def test_a_report_naming_a_directory_is_refused_before_running(tmp_path: Path) -> None:
    home = _home(tmp_path, CONFIG)
    result = _backtest(home, "--report", str(home))
    assert result.exit_code == 2, result.output
    assert "is a directory" in result.output


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_must_be_a_count_of_workers(tmp_path: Path, jobs: str) -> None:
    home = _home(tmp_path, CONFIG)
    result = _backtest(home, "--vary", "bands.absolute_pp=2,3", "--jobs", jobs)
    assert result.exit_code == 2, result.output
    assert "--jobs" in result.output
