"""`trimtab sim ...` and `trimtab manual ...` act on an account of their broker: a wrong or
missing `--account` exits 2 naming the accounts that use it, before anything is touched."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    config = tmp_path / "trimtab.toml"
    shutil.copy(EXAMPLE, config)
    result = CliRunner().invoke(app, [*args, "-c", str(config)])
    return result.exit_code, " ".join(result.output.split())


def test_two_simulated_accounts_need_one_named(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "sim", "deposit", "5")
    assert code == 2
    assert "name the account with --account: simulated accounts are brokerage, ira" in output


def test_an_account_of_another_broker_is_refused_naming_the_right_ones(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "manual", "tickets", "-a", "brokerage")
    assert code == 2
    assert "account brokerage does not use the manual broker (manual: none; docs/manual.md)" in (
        output
    )
