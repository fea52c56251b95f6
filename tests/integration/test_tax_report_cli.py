"""`trimtab tax report` and `tax lots`: shares reported nowhere are said in every format, and
an account that is not the household's is refused rather than shown empty."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app
from tests.integration.test_tax_cli import TODAY, config, day, invoke
from tests.integration.test_tax_import_late import HEADER, _sell_at_the_broker

__all__ = ["config"]  # the fixture, shared


def test_report_csv_warns_on_stderr_and_exits_1_when_shares_are_not_reported(
    config: Path, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text(HEADER + f"main,VOO,{day(400)},10,2000.00,\n")
    invoke("tax", "import", str(tmp_path / "a.csv"), "-c", str(config))
    _sell_at_the_broker(config, "15", "250", 10)
    year = str((TODAY - timedelta(days=10)).year)
    result = CliRunner().invoke(app, ["tax", "report", "--year", year, "--csv", "-c", str(config)])
    assert result.exit_code == 1, result.output
    (row,) = list(csv.DictReader(io.StringIO(result.stdout)))  # the CSV stays clean
    assert row["description"] == "10 sh. VOO"
    assert result.stderr == (
        f"warning: 5 of 15 VOO sold in main on {day(10)} had no recorded lot and are not "
        "reported: import their lots (trimtab tax import; the sale then relieves them)\n"
    )


def test_report_csv_of_a_whole_year_exits_0_and_says_nothing_on_stderr(config: Path) -> None:
    result = CliRunner().invoke(
        app, ["tax", "report", "--year", str(TODAY.year), "--csv", "-c", str(config)]
    )
    assert (result.exit_code, result.stderr) == (0, "")


def test_an_unknown_account_is_refused_naming_the_known_ones(config: Path) -> None:
    for command in (("report", "--year", str(TODAY.year)), ("lots",)):
        out = invoke("tax", *command, "--account", "spuose", "-c", str(config), code=2)
        assert "--account 'spuose' is not a household account (known: main, spouse)" in out
    invoke("tax", "report", "--year", str(TODAY.year), "--account", "spouse", "-c", str(config))
