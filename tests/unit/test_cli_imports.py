"""First contact is fast: `trimtab --help`, a command's `--help` and `trimtab config check`
import no heavy library (the command modules import theirs in the command's body).

Each case runs in a fresh interpreter, so what an earlier test imported cannot hide a
regression; the command's own output is checked too, so a case cannot pass by failing early.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HEAVY = (
    "alembic",
    "alpaca",
    "apprise",
    "apscheduler",
    "exchange_calendars",
    "ib_async",
    "jinja2",
    "matplotlib",
    "numpy",
    "pandas",
    "sqlalchemy",
    "structlog",
)

# Runs the real `trimtab` app, then prints, as its last line, the exit code and which heavy
# top-level packages ended up in sys.modules.
_PROBE = """
import json, sys
from daemon.cli import app
try:
    app(args=sys.argv[2:], prog_name="trimtab")
    code = 0
except SystemExit as exc:
    code = exc.code
heavy = json.loads(sys.argv[1])
loaded = sorted(name for name in heavy if name in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _trimtab(*args: str, cwd: Path) -> tuple[int, list[str], str]:
    """Run `trimtab *args` in a fresh interpreter; return its exit code, the heavy packages
    it imported, and what it printed."""
    # The test environment's own TRIMTAB_ variables must not leak into the configuration.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.splitlines()
    probe = json.loads(last)
    return probe["code"], probe["loaded"], "\n".join(printed) + done.stderr


def test_help_lists_the_commands_without_heavy_imports(tmp_path: Path) -> None:
    code, loaded, out = _trimtab("--help", cwd=tmp_path)
    assert code == 0
    for command in ("plan", "run", "kill", "audit", "config", "tax", "validate"):
        assert command in out
    assert loaded == []


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (("plan",), "--holdings"),
        (("audit",), "--follow"),
        (("audit", "export"), "--out"),  # past the group's callback, which reads records
        (("tax", "lots"), "--account"),
        (("validate",), "--max-slippage-bps"),
        (("strategy", "weights"), "--prices"),
        (("strategies", "show"), "module:attr"),
    ],
)
def test_a_commands_help_shows_its_options_without_heavy_imports(
    tmp_path: Path, command: tuple[str, ...], option: str
) -> None:
    code, loaded, out = _trimtab(*command, "--help", cwd=tmp_path)
    assert code == 0
    assert option in out
    assert loaded == []


def test_config_check_validates_the_example_without_heavy_imports(example: Path) -> None:
    code, loaded, out = _trimtab("config", "check", "--config", str(example), cwd=example.parent)
    assert code == 0
    assert "configuration OK" in out
    assert loaded == []


def test_config_check_still_reports_a_problem_without_heavy_imports(example: Path) -> None:
    example.write_text(example.read_text().replace('broker = "sim"', 'broker = "nowhere"', 1))
    code, loaded, out = _trimtab("config", "check", "--config", str(example), cwd=example.parent)
    assert code == 2
    assert "nowhere" in out
    assert loaded == []


def test_a_backtest_and_its_page_need_neither_pandas_nor_the_database(example: Path) -> None:
    """The backtest keeps everything in memory: its metrics are numpy, its page's charts
    matplotlib; pandas (a third of a second), SQLAlchemy and the notifier are not loaded."""
    prices = example.parent / "prices.csv"
    prices.write_text(
        "date,VTI,VXUS,BND,ITOT,IXUS\n"
        "2026-12-01,300,60,72,130,70\n2026-12-02,303,59,72.1,131,69\n"
        "2026-12-03,299,61,72.2,129,71\n"
    )
    page = example.parent / "page.html"
    code, loaded, out = _trimtab(
        "backtest", "-c", str(example), "-a", "brokerage", "--prices", str(prices),
        "--report", str(page), cwd=example.parent,
    )  # fmt: skip
    assert code == 0, out
    assert page.read_text().startswith("<!doctype html>")
    assert not {"pandas", "sqlalchemy", "apprise", "alembic", "jinja2"} & set(loaded)
