"""Every command exits 2 on a bad input file, as the README documents, and names the file.

Bad input files: the configuration (every command that reads it), a CSV price file it names,
a holdings file (`plan --holdings`), a tax import CSV and a trade list (`tax replay`). In
every case: exit 2, the file named, no traceback, nothing written to a database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daemon.cli import app

CONFIG = """
mode = "paper"
[accounts.main]
broker = "sim"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.broker_settings]
starting_cash = "10000"
[accounts.main.broker_settings.prices]
source = "csv"
path = "closes.csv"
"""
CLOSES = "date,VTI,BND\n2026-11-02,300,72\n2026-11-03,301,72.5\n"

# Every command that reads the configuration, with the arguments it needs besides -c.
COMMANDS = [
    ["plan"],
    ["run", "--once"],
    ["status"],
    ["kill"],
    ["resume"],
    ["orders"],
    ["health"],
    ["report"],
    ["check"],
    ["validate"],
    ["alerts"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "export", "--since", "2026-11-01"],
    ["config", "check"],
    ["sim", "deposit", "1"],
    ["sim", "withdraw", "1"],
    ["sim", "state"],
    ["db", "init"],
    ["tax", "import", "lots.csv"],
    ["tax", "lots"],
    ["tax", "windows"],
    ["tax", "report", "--year", "2026"],
    ["performance", "show"],
    ["performance", "record"],
    ["flows", "list"],
    ["backtest", "--prices", "closes.csv"],
]


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    # A traceback would surface as an exception other than the exit itself.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "trimtab.toml").write_text(CONFIG)
    (tmp_path / "closes.csv").write_text(CLOSES)
    return tmp_path


def assert_bad_input(result: Result, named: str) -> None:
    assert result.exit_code == 2, result.output
    assert named in result.output.replace("\n", "")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("defect", ["not toml", "bad value", "missing file", "bad price csv"])
def test_a_bad_config_or_price_file_exits_2_in_every_command(
    home: Path, command: list[str], defect: str
) -> None:
    config = home / "trimtab.toml"
    if defect == "not toml":
        config.write_text("mode = \n")
        named = str(config)
    elif defect == "bad value":
        config.write_text(CONFIG.replace('"paper"', '"papre"'))
        named = "mode"
    elif defect == "missing file":
        config = home / "nowhere.toml"
        named = str(config)
    else:
        (home / "closes.csv").write_text("date,VTI,BND\n2026-11-02,300,seventy\n")
        named = str(home / "closes.csv")
    assert_bad_input(run(*command, "-c", str(config)), named)
    assert not (home / "state" / "trimtab.db").exists()


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"cash": "x", "positions": [], "prices": {}}', '{"cash": "1", "positions": 3}'],
)
def test_a_bad_holdings_file_exits_2(home: Path, content: str) -> None:
    holdings = home / "holdings.json"
    holdings.write_text(content)
    result = run("plan", "--holdings", str(holdings), "-c", str(home / "trimtab.toml"))
    assert_bad_input(result, str(holdings))


def test_a_bad_tax_import_file_exits_2(home: Path) -> None:
    lots = home / "lots.csv"
    lots.write_text("account,symbol,acquired,quantity,cost_basis\nmain,VTI,2026-01-05,five,10\n")
    assert_bad_input(run("tax", "import", str(lots), "-c", str(home / "trimtab.toml")), str(lots))
    unreadable = home / "a-directory.csv"
    unreadable.mkdir()
    result = run("tax", "import", str(unreadable), "-c", str(home / "trimtab.toml"))
    assert_bad_input(result, str(unreadable))


def test_a_bad_trade_list_exits_2(home: Path) -> None:
    trades = home / "trades.csv"
    trades.write_text("this,is,not\nthe,trade,format\n")
    assert_bad_input(run("tax", "replay", str(trades)), str(trades))
