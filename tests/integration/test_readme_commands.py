"""Every `trimtab` command the README shows, run as a user would on a copy of the demo config.

`shown_commands` reads README.md: each `trimtab ...` line of its `sh` blocks (split at `&&`,
comments dropped), every command in the first column of its tables, and every inline
`trimtab ...` in its prose. `SHOWN` maps each of them to the steps of `WALK` that run it, with
the optional parts (`[--force]`, `[-a A]`, ...) and placeholders (`D`, `FILE`) filled in as a
user would; a README command missing from `SHOWN` (or a `SHOWN` entry the README no longer
shows) fails `test_every_readme_command_is_walked`, so a command cannot be added to the README
without being run here.

`test_the_readme_walk` runs `WALK` in order, each step a real `trimtab` process (the entry point
of this virtual environment) in a temporary directory holding `config.example.toml`, and checks
its exit code (0, or the code the README documents) and that nothing printed a traceback. The
README's `python3 -m uv run --no-dev trimtab ...` is run as `trimtab ...` here;
`test_the_readme_run_command_installs_no_dev_tools` checks what `uv run --no-dev` installs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from daemon.cli import app

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
TRIMTAB = Path(sys.executable).parent / "trimtab"
DEMO = "config.example.toml"
TODAY = datetime.now(ZoneInfo("America/New_York")).date().isoformat()
"""Placeholder `D` of the README: the walk's day (the demo's state starts today), in the demo
exchange's time zone, as the commands read a day: from 00:00 to 05:00 UTC the UTC date is
already tomorrow there, and `audit --since D -f` waited for records of a day not begun."""

UV_RUN = re.compile(r"^(?:python3 -m )?uv run (?:--no-dev )?")
"""How the README's "Try it" starts trimtab; the walk runs the entry point itself."""

EVERY_2_MINUTES = {
    "TRIMTAB_EXCHANGE": "24/7",
    "TRIMTAB_ACCOUNTS__BROKERAGE__SCHEDULE": "every 2 minutes while open",
    "TRIMTAB_ACCOUNTS__IRA__SCHEDULE": "every 2 minutes while open",
}

PRICES_CSV = """date,VTI,VXUS,BND
2026-12-01,250.10,60.20,72.30
2026-12-02,251.00,60.90,72.10
"""
MANUAL_TOML = """# The walk's account at a broker without an API (docs/manual.md).
state_dir = "state-manual"
[accounts.fidelity]
broker = "manual"
type = "roth_ira"
[accounts.fidelity.broker_settings]
environment = "live"
exports = "exports"
preset = "fidelity"
account_number = "X12345678"
[accounts.fidelity.strategy_params]
targets = { VTI = "0.6", VXUS = "0.4" }
"""
MANUAL_EXPORT = """\
Account Number,Account Name,Symbol,Description,Quantity,Last Price,Current Value,Type
X12345678,ROTH IRA,SPAXX**,HELD IN MONEY MARKET,,,"$1,523.45",Cash
X12345678,ROTH IRA,VTI,VANGUARD TOTAL STK MKT ETF,100,$285.12,"$28,512.00",Cash
X12345678,ROTH IRA,VXUS,VANGUARD TOTAL INTL STK ETF,250,$64.10,"$16,025.00",Cash
"""
LOTS_CSV = """account,symbol,acquired,quantity,cost_basis,note
spouse,VXUS,2024-11-04,25.5,1402.55,bought before trimtab
"""
TRADES_CSV = """id,date,account,account_type,symbol,side,qty,price
b1,2026-01-05,brokerage,taxable,VTI,buy,10,250
b2,2026-02-02,brokerage,taxable,VTI,buy,5,240
s1,2026-02-10,brokerage,taxable,VTI,sell,10,230
"""


# -- what the README shows ---------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.replace("\\|", "|").split())


def shown_commands(readme: str) -> set[str]:
    """Every trimtab command README.md shows, whitespace normalised."""
    found: set[str] = set()
    for lang, block in re.findall(r"```(\w*)\n(.*?)```", readme, re.S):
        if lang != "sh":
            continue
        for line in block.splitlines():
            command = re.split(r"\s{2,}#", line)[0]  # the comment after the command
            for part in command.split("&&"):
                if re.search(r"(^|\s)trimtab\s", part):
                    found.add(_normal(part))
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)
    for line in prose.splitlines():
        if line.startswith("| `"):
            # A table row: every command in its first cell (`sim withdraw` is `trimtab sim ...`).
            first = re.split(r"(?<!\\)\|", line)[1]
            for span in re.findall(r"`([^`]+)`", first):
                command = _normal(span)
                if command.split()[0] in ("sim", "trimtab"):
                    found.add(command if command.startswith("trimtab") else f"trimtab {command}")
    for span in re.findall(r"`(trimtab\s[^`]*)`", prose):
        found.add(_normal(span))
    return found


# -- the walk ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One command of the walk: `trimtab *args -c config.example.toml` unless `config=False`."""

    name: str
    args: tuple[str, ...]
    code: int = 0
    expect: str = ""
    """Text the output must contain (stdout and stderr)."""
    env: Mapping[str, str] = field(default_factory=dict)
    config: bool = True
    background: str = ""
    """For a process that runs until stopped (`run`, `audit -f`): the output it must print
    before it is sent SIGTERM; `during` runs meanwhile."""
    during: tuple[Step, ...] = ()
    check: Callable[[str], None] | None = None


def _step(name: str, *args: str, **kw: object) -> Step:
    return Step(name, args, **kw)  # type: ignore[arg-type]


def _json_of_every_sim_account(output: str) -> None:
    assert set(json.loads(output)) == {"brokerage", "ira"}


def _two_backtest_runs(output: str) -> None:
    runs = json.loads(output)
    assert [run["overrides"] for run in runs] == [
        {"bands.absolute_pp": "3"},
        {"bands.absolute_pp": "5"},
    ]
    assert [p["date"] for p in runs[0]["nav"]] == ["2026-12-01", "2026-12-02"]


def _one_account_json(output: str) -> None:
    assert json.loads(output)["account"] == "ira"


WALK: tuple[Step, ...] = (
    _step("config check", "config", "check", expect="configuration OK"),
    _step("config schema", "config", "schema", config=False, expect='"$defs"'),
    _step("config schema -c", "config", "schema", expect='"$defs"'),
    _step("plan", "plan", expect="SYNTHETIC"),
    _step("--version", "--version", config=False, expect="trimtab "),
    _step("strategies", "strategies", expect="hrp"),
    _step("strategies show", "strategies", "show", "momentum", expect="lookback_days"),
    _step("strategy weights --json", "strategy", "weights", "-a", "brokerage", "--json"),
    _step(
        "strategy weights --prices --date",
        *shlex.split("strategy weights -a brokerage --prices prices.csv --date 2026-12-02"),
        expect="static: configured weight",
    ),
    # The example's [household] is commented out: the command says how to get one.
    _step(
        "strategy weights --household",
        "strategy",
        "weights",
        "--household",
        code=2,
        expect="no [household] table",
    ),
    _step(
        "backtest --report",
        *shlex.split("backtest -a brokerage --prices prices.csv --report backtest.html"),
        expect="report written to backtest.html",
    ),
    _step(
        "backtest --vary --json",
        *shlex.split(
            "backtest -a brokerage --prices prices.csv --start 2026-12-01 --end 2026-12-02 "
            "--contribute 500/month --vary bands.absolute_pp=3,5 --jobs 1 --json"
        ),
        check=_two_backtest_runs,
    ),
    _step(
        "prices export",
        *shlex.split("prices export -a ira -o exported.csv --symbol SPY"),
        expect="every symbol has closes from",
    ),
    _step(
        "prices merge",
        *shlex.split("prices merge VTI.csv BND=bnd.us.txt -o merged.csv --json"),
        config=False,
        expect='"all_from": "2026-12-01"',
    ),
    _step("-v plan", "-v", "plan", expect="SYNTHETIC"),
    _step("-vv plan", "-vv", "plan", expect="SYNTHETIC"),
    _step("plan --holdings --json", "plan", "--holdings", "my.json", "-a", "brokerage", "--json"),
    _step("plan --holdings --account", "plan", "--holdings", "my.json", "--account", "brokerage"),
    _step("check", "check"),
    _step("check -a --json", "check", "-a", "ira", "--json"),
    # The README's first command, then its second.
    _step("run --once", "run", "--once", expect="filled"),
    _step("audit", "audit", expect="cycle_finished"),
    _step("run --once again", "run", "--once", expect="--force"),
    # The ira raises its 5,000; the brokerage's sales would realize losses that the IRA's buys
    # of the first run wash for good, so they wait: the command says the cash is not there
    # and exits 1 (a script that moves the money out next must not go ahead).
    _step(
        "run --once --force --withdraw",
        "run",
        "--once",
        "--force",
        "--withdraw",
        "5000",
        code=1,
        expect="--withdraw not raised for brokerage",
    ),
    # With -a, only the account named raises it (the IRA already holds the cash: no sale).
    _step(
        "run --once -a --force --withdraw",
        "run",
        "--once",
        "-a",
        "ira",
        "--force",
        "--withdraw",
        "5000",
        expect="ira",
    ),
    # The demo has no [income] table: the command says so (docs/income.md has one to add).
    _step("income", "income", expect="no income plan is configured"),
    _step("income --json", "income", "--json", expect='"income": null'),
    _step("status", "status"),
    _step("status --json", "status", "--json"),
    # No daemon ran: the heartbeat check fails and says how to check cycles run by --once.
    _step("health", "health", code=1, expect="--no-daemon"),
    _step("health --no-daemon", "health", "--no-daemon"),
    _step("orders", "orders"),
    _step("orders unresolved", "orders", "unresolved", expect="no unresolved orders"),
    _step(
        "orders settle (unknown id)",
        *shlex.split('orders settle no-such-id --as never-reached --reason "looked at it"'),
        code=2,
        expect="no order intent no-such-id",
    ),
    _step("orders --date -a --json", "orders", "--date", TODAY, "-a", "brokerage", "--json"),
    _step("validate", "validate"),
    _step(
        "validate --since -a --max-slippage-bps --json",
        "validate",
        "--since",
        TODAY,
        "-a",
        "brokerage",
        "--max-slippage-bps",
        "20",
        "--json",
    ),
    _step("sim deposit", "sim", "deposit", "5000", "-a", "brokerage", expect="cash now"),
    _step("sim withdraw", "sim", "withdraw", "1000", "-a", "ira", expect="cash now"),
    _step("sim state", "sim", "state", expect="ira (simulated)"),
    _step("sim state --json", "sim", "state", "--json", check=_json_of_every_sim_account),
    _step("sim state -a --json", "sim", "state", "-a", "ira", "--json", check=_one_account_json),
    _step("flows add", "flows", "add", "-a", "ira", "--amount", "-5000", expect="recorded"),
    _step(
        "flows add --date",
        "flows",
        "add",
        "-a",
        "ira",
        "--amount",
        "-5000",
        "--date",
        TODAY,
        "--note",
        "second",
        expect="recorded",
    ),
    _step("flows list", "flows", "list", expect="withdrawal"),
    _step("performance record", "performance", "record"),
    _step("performance show", "performance", "show"),
    _step("alerts --all", "alerts", "--all"),
    _step("tax import", "tax", "import", "lots.csv"),
    _step(
        "tax add-trade",
        *shlex.split(
            "tax add-trade -a spouse --symbol VOO --side buy --date 2026-11-02 --qty 10 "
            "--amount 5012.40"
        ),
        expect="recorded",
    ),
    _step("tax windows", "tax", "windows"),
    _step("tax lots", "tax", "lots", "-a", "brokerage"),
    _step("tax report --csv", "tax", "report", "--year", "2026", "--csv"),
    _step("tax replay", "tax", "replay", "trades.csv", "--json", config=False),
    _step("kill", "kill", "--reason", "README walk", "--cancel-open", expect="engaged"),
    _step("run --once --force under kill", "run", "--once", "--force"),
    _step("resume -a", "resume", "-a", "brokerage"),
    _step("resume --account", "resume", "--account", "ira"),
    _step("audit --kind alert", "audit", "--kind", "alert"),
    _step("audit --kind tax_decision", "audit", "--kind", "tax_decision"),
    _step(
        "audit --date -a -k -s --json",
        "audit",
        "--date",
        TODAY,
        "-a",
        "brokerage",
        "-k",
        "order_result",
        "-s",
        "VTI",
        "--json",
    ),
    _step("audit --since --until", "audit", "--since", TODAY, "--until", TODAY),
    _step("audit verify", "audit", "verify"),
    _step(
        "audit export",
        "audit",
        "export",
        "--since",
        TODAY,
        "--until",
        TODAY,
        "--out",
        "audit.jsonl",
    ),
    _step(
        "audit -f",
        "audit",
        "--since",
        TODAY,
        "-f",
        background="cycle_finished",
        during=(_step("run --once --force while following", "run", "--once", "--force"),),
    ),
    _step("report", "report"),
    _step("report --date", "report", "--date", TODAY),
    _step(
        "report --date -a --out --notify",
        "report",
        "--date",
        TODAY,
        "-a",
        "ira",
        "--out",
        "day.html",
        "--notify",
    ),
    # The daemon as the demo config has it, then on the always-open calendar ("Try it").
    _step(
        "run (daemon)",
        "run",
        background="daemon_started",
        during=(
            _step("health while the daemon runs", "health", "--json"),
            _step("status while the daemon runs", "status"),
        ),
    ),
    _step("run (daemon, 24/7)", "run", env=EVERY_2_MINUTES, background="cycle_finished"),
    # An account at a broker without an API, on a config of its own (docs/manual.md).
    _step(
        "manual show",
        "manual",
        "show",
        "-a",
        "fidelity",
        "-c",
        "manual.toml",
        config=False,
        expect="VTI",
    ),
    _step(
        "manual tickets",
        "manual",
        "tickets",
        "-a",
        "fidelity",
        "-c",
        "manual.toml",
        config=False,
        expect="no open order tickets",
    ),
    _step(
        "manual tickets --all --json",
        "manual",
        "tickets",
        "-a",
        "fidelity",
        "--all",
        "--json",
        "-c",
        "manual.toml",
        config=False,
        expect="[]",
    ),
    _step(
        "manual confirm (unknown ticket)",
        "manual",
        "confirm",
        "tt-nosuch",
        "-a",
        "fidelity",
        "--qty",
        "1",
        "--price",
        "1",
        "-c",
        "manual.toml",
        config=False,
        code=2,
        expect="no order ticket",
    ),
    _step("db init --force", "db", "init", "--force"),
    _step("status after db init", "status"),
    _step("db restored", "db", "restored", expect="new database identity"),
    _step("status after db restored", "status", expect="database restored from a backup"),
)

SHOWN: dict[str, tuple[str, ...]] = {
    "python3 -m uv run --no-dev trimtab run --once -c config.example.toml": ("run --once",),
    "python3 -m uv run --no-dev trimtab audit -c config.example.toml": ("audit",),
    (
        'TRIMTAB_EXCHANGE=24/7 TRIMTAB_ACCOUNTS__BROKERAGE__SCHEDULE="every 2 minutes while open" '
        'TRIMTAB_ACCOUNTS__IRA__SCHEDULE="every 2 minutes while open" python3 -m uv run --no-dev '
        "trimtab run -c config.example.toml"
    ): ("run (daemon, 24/7)",),
    "trimtab run": ("run (daemon)",),
    "trimtab status": ("status",),
    "trimtab audit": ("audit",),
    "trimtab plan": ("plan",),
    "trimtab --version": ("--version",),
    "trimtab orders unresolved [-a A] [--json]": ("orders unresolved",),
    "trimtab orders settle ID --as ... --reason ...": ("orders settle (unknown id)",),
    "trimtab strategies [show NAME]": ("strategies", "strategies show"),
    "trimtab manual show -a A": ("manual show",),
    "trimtab manual tickets -a A [--all] [--json]": (
        "manual tickets",
        "manual tickets --all --json",
    ),
    "trimtab manual tickets": ("manual tickets",),
    "trimtab manual confirm TICKET -a A --qty Q --price P [--rest cancelled]": (
        "manual confirm (unknown ticket)",
    ),
    "trimtab manual confirm": ("manual confirm (unknown ticket)",),
    "trimtab strategy weights -a A [--prices P.csv] [--date D] [--json]": (
        "strategy weights --json",
        "strategy weights --prices --date",
    ),
    "trimtab strategy weights --household": ("strategy weights --household",),
    (
        "trimtab backtest -a A --prices P.csv [--start D] [--end D] [--contribute 500/month] "
        "[--json] [--report OUT.html] [--vary KEY=V1,V2]"
    ): ("backtest --report", "backtest --vary --json"),
    "trimtab prices export -a A -o P.csv [--start D] [--end D] [--symbol SYM]": ("prices export",),
    "trimtab prices merge [SYM=]FILE.csv... -o P.csv [--column NAME]": ("prices merge",),
    "trimtab -v plan": ("-v plan",),
    "trimtab -vv ...": ("-vv plan",),
    "trimtab plan --holdings my.json -a brokerage --json": ("plan --holdings --json",),
    "trimtab plan --holdings FILE.json [--account NAME] [--json]": (
        "plan --holdings --json",
        "plan --holdings --account",
    ),
    "trimtab run --once [--force] [-a ACCOUNT --withdraw 5000]": (
        "run --once",
        "run --once again",
        "run --once --force --withdraw",
        "run --once -a --force --withdraw",
    ),
    "trimtab run --once": ("run --once",),
    "trimtab income [--json]": ("income", "income --json"),
    "trimtab run --once --force": ("run --once --force under kill",),
    "trimtab health [--json] [--no-daemon]": (
        "health",
        "health --no-daemon",
        "health while the daemon runs",
    ),
    "trimtab health": ("health",),
    "trimtab status [--json]": ("status", "status --json"),
    'trimtab kill --reason "..." [--cancel-open]': ("kill",),
    "trimtab kill": ("kill",),
    "trimtab kill --cancel-open": ("kill",),
    "trimtab resume [-a A]": ("resume -a",),
    "trimtab resume": ("resume -a",),
    "trimtab resume [--account A]": ("resume --account",),
    "trimtab orders [--date D] [-a A] [--json]": ("orders", "orders --date -a --json"),
    "trimtab check [-a A] [--json]": ("check", "check -a --json"),
    "trimtab validate [--since D] [-a A] [--max-slippage-bps 20] [--json]": (
        "validate",
        "validate --since -a --max-slippage-bps --json",
    ),
    "trimtab audit [--date D | --since D --until D] [-a A] [-k KIND] [-s SYMBOL] [-f] [--json]": (
        "audit",
        "audit --date -a -k -s --json",
        "audit --since --until",
        "audit -f",
    ),
    "trimtab audit verify": ("audit verify",),
    "trimtab audit export --since D [--until D] [--out FILE]": ("audit export",),
    "trimtab audit --kind alert": ("audit --kind alert",),
    "trimtab audit --kind tax_decision": ("audit --kind tax_decision",),
    "trimtab report [--date D] [-a A] [--out FILE.html] [--notify]": (
        "report",
        "report --date -a --out --notify",
    ),
    "trimtab report --date D": ("report --date",),
    "trimtab sim deposit 5000 -a brokerage": ("sim deposit",),
    "trimtab sim deposit": ("sim deposit",),
    "trimtab sim withdraw 1000 -a ira": ("sim withdraw",),
    "trimtab sim state [-a A] [--json]": ("sim state", "sim state --json", "sim state -a --json"),
    "trimtab config check": ("config check",),
    "trimtab config schema": ("config schema", "config schema -c"),
    "trimtab db init --force": ("db init --force",),
    "trimtab db restored": ("db restored",),
    "trimtab flows add -a ira --amount -5000 [--date D]": ("flows add", "flows add --date"),
    "trimtab performance show": ("performance show",),
    "trimtab performance record": ("performance record",),
    "trimtab flows list": ("flows list",),
    "trimtab alerts --all": ("alerts --all",),
    "trimtab tax import lots.csv": ("tax import",),
    (
        "trimtab tax add-trade -a spouse --symbol VOO --side buy --date 2026-11-02 --qty 10 "
        "--amount 5012.40"
    ): ("tax add-trade",),
    "trimtab tax windows": ("tax windows",),
    "trimtab tax lots -a brokerage": ("tax lots",),
    "trimtab tax report --year 2026 --csv": ("tax report --csv",),
    "trimtab tax replay trades.csv --json": ("tax replay",),
}


def _all_steps() -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for step in WALK:
        for one in (step, *step.during):
            assert one.name not in steps, f"two steps are named {one.name!r}"
            steps[one.name] = one
    return steps


def _as_written(command: str) -> tuple[dict[str, str], tuple[str, ...]] | None:
    """The environment and arguments of a README command with nothing left to fill in."""
    if re.search(r"\[|\.\.\.|\b(D|A|FILE|NAME|KIND|SYMBOL)\b", command):
        return None
    words = shlex.split(UV_RUN.sub("", command))
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if words[0] == "python3":
        words = shlex.split(UV_RUN.sub("", shlex.join(words)))
    assert words[0] == "trimtab", command
    args = words[1:]
    if args[-2:] == ["-c", DEMO]:
        args = args[:-2]
    return env, tuple(args)


def test_every_readme_command_is_walked() -> None:
    shown = shown_commands(README.read_text())
    assert shown - set(SHOWN) == set(), "README commands the walk does not run (add to SHOWN)"
    assert set(SHOWN) - shown == set(), "SHOWN entries the README no longer shows"
    steps = _all_steps()
    for command, names in SHOWN.items():
        assert names, command
        for name in names:
            assert name in steps, f"{command!r} names no step {name!r}"
        written = _as_written(command)
        if written is not None:
            # A command with nothing to fill in runs as the README writes it (one named in
            # prose without its required options, such as `trimtab kill --cancel-open`, with
            # them added).
            env, args = written
            assert any(
                dict(steps[n].env) == env and _in_order(args, steps[n].args) for n in names
            ), f"no step runs {command!r} as written"


def _in_order(words: tuple[str, ...], args: tuple[str, ...]) -> bool:
    """Tell whether `args` has the same first word as `words` and all of them, in order."""
    remaining = iter(args)
    return args[:1] == words[:1] and all(word in remaining for word in words)


def test_the_readme_holdings_example_plans_on_the_demo_config(tmp_path: Path) -> None:
    """The quick part of the walk: the README's holdings file, in-process."""
    _workspace(tmp_path)
    holdings, config = str(tmp_path / "my.json"), str(tmp_path / DEMO)
    result = CliRunner().invoke(
        app, ["plan", "--holdings", holdings, "-a", "brokerage", "--json", "-c", config]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert {row["symbol"] for row in plan["drift"]} >= {"VTI", "VXUS", "BND"}
    assert plan["orders"], "the example holds only VTI: the plan buys the other targets"


def _readme_holdings() -> str:
    """The JSON example of README's "Offline planning" section."""
    blocks = re.findall(r"```json\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "README shows one holdings file"
    return str(blocks[0])


def _workspace(directory: Path) -> None:
    shutil.copy(REPO / DEMO, directory / DEMO)
    (directory / "my.json").write_text(_readme_holdings())
    (directory / "lots.csv").write_text(LOTS_CSV)
    (directory / "trades.csv").write_text(TRADES_CSV)
    (directory / "prices.csv").write_text(PRICES_CSV)
    # Downloads as Yahoo Finance and Stooq write them, for `prices merge`.
    (directory / "VTI.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n2026-12-01,1,1,1,300,299.5,1\n"
        "2026-12-02,1,1,1,301,300.5,1\n"
    )
    (directory / "bnd.us.txt").write_text("Date,Close\n2026-12-01,72.5\n2026-12-02,72.6\n")
    (directory / "manual.toml").write_text(MANUAL_TOML)
    (directory / "exports").mkdir()
    (directory / "exports" / "Portfolio_Positions.csv").write_text(MANUAL_EXPORT)


def _environment(step: Step, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env.update(HOME=str(home), COLUMNS="120", **step.env)
    return env


def _argv(step: Step) -> list[str]:
    return [str(TRIMTAB), *step.args, *(("-c", DEMO) if step.config else ())]


def _checked(step: Step, code: int, output: str, stdout: str) -> None:
    where = f"`trimtab {shlex.join(step.args)}`"
    assert "Traceback" not in output, f"{where} printed a traceback:\n{output}"
    assert code == step.code, f"{where} exited {code}, not {step.code}:\n{output}"
    assert step.expect in output, f"{where} did not say {step.expect!r}:\n{output}"
    if step.check is not None:
        step.check(stdout)


def _run(step: Step, cwd: Path) -> None:
    if step.background:
        _run_until_stopped(step, cwd)
        return
    result = subprocess.run(
        _argv(step),
        cwd=cwd,
        env=_environment(step, cwd),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    _checked(step, result.returncode, result.stdout + result.stderr, result.stdout)


def _run_until_stopped(step: Step, cwd: Path) -> None:
    """Start the step, wait for its `background` text, run `during`, then SIGTERM it."""
    log = cwd / f"{step.name.replace(' ', '_').replace('/', '_')}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            _argv(step), cwd=cwd, env=_environment(step, cwd), stdout=out, stderr=out, text=True
        )
        try:
            deadline = time.monotonic() + 90
            while step.background not in log.read_text():
                assert process.poll() is None, f"{step.name} exited early:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"{step.name}: no {step.background!r}"
                time.sleep(0.2)
            for inner in step.during:
                _run(inner, cwd)
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = log.read_text()
    _checked(Step(step.name, step.args, expect=step.background), code, output, output)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 60 processes; each may take 20 s on a loaded machine
def test_the_readme_walk(tmp_path: Path) -> None:
    """Every README command, in the order a user would run them, on one demo state."""
    _workspace(tmp_path)
    for step in WALK:
        started = time.monotonic()
        _run(step, tmp_path)
        # Shown with -s or on failure: which command is slow.
        print(f"{time.monotonic() - started:5.1f} s  {step.name}")
    assert (tmp_path / "audit.jsonl").read_text().count("\n") > 10
    assert "<html" in (tmp_path / "day.html").read_text().lower()


@pytest.mark.slow
def test_the_readme_run_command_installs_no_dev_tools(tmp_path: Path) -> None:
    """`uv run --no-dev` (the README's run command) into a fresh environment: runtime only."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (.ci/run installs it)")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIMTAB_", "VIRTUAL_ENV"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    result = subprocess.run(
        [uv, "run", "--no-dev", "--frozen", "trimtab", "config", "check", "-c", DEMO],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration OK" in result.stdout
    installed = {
        p.name.split("-")[0].lower() for p in venv.glob("lib/python*/site-packages/*.dist-info")
    }
    assert "trimtab" in installed
    assert "alpaca_py" in installed
    dev = {"pytest", "hypothesis", "ruff", "mypy", "import_linter", "time_machine"}
    assert installed & dev == set()
