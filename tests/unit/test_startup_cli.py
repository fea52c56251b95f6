"""`trimtab COMMAND` builds an app with only that command (`daemon.cli.app_for`): each command
answers as it does in the whole app, `--help` still lists every command, an unknown command
errors as before, and the other command modules are not imported.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from daemon.cli import COMMANDS, app, app_for

REPO = Path(__file__).resolve().parents[2]
NAMES = [name for name, _, _ in COMMANDS]


def _commands(cli: Any) -> list[str]:
    group: Any = get_command(cli)
    return list(group.list_commands(None))


def _run(cli: Any, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, prog_name="trimtab")
    return result.exit_code, result.output


def test_the_whole_app_has_every_command_in_the_table_in_order() -> None:
    assert _commands(app) == NAMES
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_named_command_gets_an_app_of_that_command_alone(name: str) -> None:
    assert _commands(app_for([name, "--json"])) == [name]
    assert _commands(app_for(["-v", name])) == [name]
    assert _commands(app_for(["-vv", "--verbose", name, "x"])) == [name]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["--version"],
        ["nosuch"],
        ["backtes"],  # close to a command: click suggests it from the whole list
        ["-x", "backtest"],
        ["--", "backtest"],
        ["-v"],
        ["-vx", "plan"],
    ],
)
def test_anything_but_a_named_command_gets_the_whole_app(args: list[str]) -> None:
    assert app_for(args) is app


def test_shell_completion_gets_the_whole_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TRIMTAB_COMPLETE", "bash_complete")
    assert app_for(["backtest"]) is app


def _help_cases() -> list[list[str]]:
    cases = [[name, "--help"] for name in NAMES]
    # A group's subcommands, its unknown subcommand, and a command's bad option.
    cases += [
        ["tax", "lots", "--help"],
        ["audit", "export", "--help"],
        ["tax", "nosuch"],
        ["tax"],
        ["backtest", "--no-such-option"],
        ["plan", "--holdings"],
        ["-v", "config", "--help"],
    ]
    return cases


@pytest.mark.parametrize("args", _help_cases(), ids=" ".join)
def test_a_command_answers_as_in_the_whole_app(args: list[str]) -> None:
    lazy = app_for(args)
    assert lazy is not app
    assert _run(lazy, args) == _run(app, args)


def test_help_lists_every_command_and_an_unknown_one_errors() -> None:
    code, out = _run(app_for(["--help"]), ["--help"])
    assert code == 0
    for name in NAMES:
        assert f" {name} " in out, name
    code, out = _run(app_for(["nosuch"]), ["nosuch"])
    assert code == 2
    assert "No such command 'nosuch'" in out
    code, out = _run(app_for(["backtes"]), ["backtes"])
    assert code == 2
    assert "No such command 'backtes'" in out


# The entry point in a fresh interpreter: its output, exit code, which command modules it
# imported and how many objects it froze (the last line).
_PROBE = """
import gc, json, sys
sys.argv = ["trimtab", *sys.argv[1:]]
from daemon.cli import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m.startswith("daemon.cli.") and m.endswith("_cmd"))
print(json.dumps({"code": code, "loaded": loaded, "frozen": gc.get_freeze_count()}))
"""


def _probe(*args: str, cwd: Path = REPO) -> tuple[dict[str, Any], str, str]:
    """Run `trimtab *args` in a fresh interpreter; return what `_PROBE` saw, what the command
    printed and its standard error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env["COLUMNS"] = "100"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.splitlines()
    return json.loads(last), "\n".join(printed), done.stderr


def _trimtab(*args: str) -> tuple[int, list[str], str]:
    probe, out, err = _probe(*args)
    return probe["code"], probe["loaded"], out + err


def test_the_entry_point_imports_the_named_commands_module_only() -> None:
    code, loaded, out = _trimtab("backtest", "--help")
    assert code == 0
    assert "--prices" in out
    assert loaded == ["daemon.cli.backtest_cmd"]
    code, loaded, out = _trimtab("-v", "tax", "lots", "--help")
    assert code == 0
    assert "--account" in out
    assert "daemon.cli.tax_cmd" in loaded
    assert "daemon.cli.backtest_cmd" not in loaded


def test_the_entry_points_help_and_unknown_command_use_every_command() -> None:
    code, loaded, out = _trimtab("--help")
    assert code == 0
    for name in NAMES:
        assert f" {name} " in out, name
    assert {f"daemon.cli.{module}" for _, module, _ in COMMANDS} <= set(loaded)
    code, _, out = _trimtab("nosuch")
    assert code == 2
    assert "No such command 'nosuch'" in out


_PRICES = (
    "date,VTI,VXUS,BND,ITOT,IXUS\n"
    "2026-12-01,300,60,72,130,70\n2026-12-02,303,59,72.1,131,69\n"
    "2026-12-03,299,61,72.2,129,71\n"
)


def test_the_entry_point_freezes_what_it_loaded_once(example: Path) -> None:
    prices = example.parent / "prices.csv"
    prices.write_text(_PRICES)
    args = ["backtest", "-c", str(example), "-a", "brokerage", "--prices", str(prices), "--json"]
    probe, printed, err = _probe(*args, cwd=example.parent)
    assert probe["code"] == 0, err
    assert probe["frozen"] > 10_000  # the modules, classes and configuration loaded
    # The same output as in-process, where nothing is frozen.
    before = gc.get_freeze_count()
    code, out = _run(app, args)
    assert code == 0
    assert gc.get_freeze_count() == before
    assert json.loads(printed) == json.loads(out)
