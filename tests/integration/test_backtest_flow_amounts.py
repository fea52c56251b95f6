"""`trimtab backtest --contribute/--withdraw` refuse an amount with a separator (exit 2,
audited): `2,50/month` was read as 250 a month, `1,5/month` as 15."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.integration.test_backtest_cli import CONFIG, backtest, refusals
from tests.unit.backtest_helpers import weekdays


@pytest.mark.parametrize(
    "args",
    [
        ("--contribute", "2,50/month"),
        ("--withdraw", "1,5/month"),
        ("--withdraw", "4,5%/year"),
        ("--contribute", "1_000/month"),
    ],
)
def test_a_separator_in_a_flow_exits_2_naming_the_option_and_the_fix(
    tmp_path: Path, args: tuple[str, str]
) -> None:
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    rows = [f"{d},100.00,50.00" for d in weekdays(date(2020, 1, 2), 40)]
    (tmp_path / "prices.csv").write_text("date,VTI,BND\n" + "\n".join(rows) + "\n")
    result = backtest(tmp_path, *args, "--json")
    assert result.exit_code == 2, result.output
    out = result.output.replace("\n", "")
    option, text = args
    assert f"{option} {text!r}: " in out
    assert "no thousands separators or decimal commas" in out
    (refused,) = refusals(tmp_path)
    assert f"{option} {text!r}" in refused["detail"]
