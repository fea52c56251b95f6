"""What a new user trips over on the demo config: each fix, in-process and quick.

`tests/integration/test_readme_commands.py` walks every README command with real processes;
these pin the behaviour behind the ones that failed: `sim state` without `--account`,
`config schema -c`, `tax add-trade` for the demo's outside account, `flows add` before the
account's history, the holdings file's missing price, the weekend demo's schedule, and the
files the docs name.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.main import get_command
from typer.testing import CliRunner

from daemon.bootstrap import broker_migrations
from daemon.cli import app
from daemon.config.settings import load_config
from daemon.core.schedule import parse_schedule
from daemon.core.sessions import next_slot
from daemon.store.cash_flows import flows_between
from daemon.store.db import Database, open_database
from daemon.store.valuations import Valuation, ValuationSource, record_valuation

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, code: int = 0) -> tuple[str, str]:
    """Run the CLI in-process; return (stdout, everything printed)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout, result.output


def test_sim_state_without_an_account_shows_every_simulated_account(example: Path) -> None:
    stdout, _ = invoke("sim", "state", "-c", str(example), "--json")
    states = json.loads(stdout)
    assert set(states) == {"brokerage", "ira"}
    assert states["brokerage"]["cash"] == "100000.00"
    assert states["ira"]["cash"] == "40000.00"
    one, _ = invoke("sim", "state", "-c", str(example), "-a", "ira", "--json")
    assert json.loads(one)["account"] == "ira"
    _, text = invoke("sim", "state", "-c", str(example))
    assert "brokerage (simulated) cash $100,000.00" in text
    assert "ira (simulated) cash $40,000.00" in text
    _, wrong = invoke("sim", "state", "-c", str(example), "-a", "nope", code=2)
    assert "simulated: brokerage, ira" in wrong


def test_config_schema_takes_the_config_and_adds_the_plugins_it_names(
    example: Path, tmp_path: Path
) -> None:
    plain, _ = invoke("config", "schema")
    with_demo, _ = invoke("config", "schema", "-c", str(example))
    assert json.loads(with_demo) == json.loads(plain)  # the demo names installed plugins only

    named = tmp_path / "plugin.toml"
    named.write_text(
        '[accounts.main]\nstrategy = "tests.fakes.slow:SLOW_STRATEGY"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    schema = json.loads(invoke("config", "schema", "-c", str(named))[0])
    table = schema["$defs"]["strategy_params.tests.fakes.slow:SLOW_STRATEGY"]
    assert "seconds" in table["properties"]
    assert "strategy_params.tests.fakes.slow:SLOW_STRATEGY" not in json.loads(plain)["$defs"]

    named.write_text('[accounts.main]\nstrategy = "no.such.module:THING"\n')
    _, output = invoke("config", "schema", "-c", str(named), code=2)
    assert "accounts.main" in output
    assert "no.such.module:THING" in output
    _, missing = invoke("config", "schema", "-c", str(tmp_path / "absent.toml"), code=2)
    assert "config file not found" in missing


def test_every_command_takes_the_config_but_those_that_read_none() -> None:
    """README: "Every command takes `--config PATH` (`-c`), except `tax replay` and `prices
    merge`"."""
    without: list[str] = []

    def walk(command: Any, path: str) -> None:
        # typer's own click: a group has `commands`, a command its `params` with their `opts`.
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        elif not any("-c" in getattr(p, "opts", ()) for p in command.params):
            without.append(path)

    walk(get_command(app), "")
    assert sorted(without) == ["prices merge", "tax replay"]


def test_the_demo_declares_the_readme_outside_account(example: Path) -> None:
    args = [
        "--symbol",
        "VOO",
        "--side",
        "buy",
        "--date",
        "2026-11-02",
        "--qty",
        "10",
        "--amount",
        "5012.40",
    ]
    _, output = invoke("tax", "add-trade", "-a", "spouse", *args, "-c", str(example))
    assert "recorded buy of 10 VOO in spouse on 2026-11-02" in output
    assert load_config(example).tax.outside_accounts["spouse"].owner == "spouse"


def _database(example: Path) -> Database:
    """The demo's state database (SQLite in `state/` beside the config)."""
    state = example.parent / "state"
    return open_database(f"sqlite:///{state / 'trimtab.db'}", state, branches=broker_migrations())


def _valuation(example: Path, account: str, at: datetime) -> None:
    database = _database(example)
    try:
        with database.transaction() as session:
            record_valuation(
                session,
                Valuation(
                    account=account,
                    as_of=at,
                    trading_day=at.date(),
                    source=ValuationSource.CYCLE,
                    ref=f"{account}:{at.date()}:manual",
                    equity=Decimal(40000),
                    cash=Decimal(40000),
                    positions_value=Decimal(0),
                ),
                now=at,
            )
    finally:
        database.close()


def _flows(example: Path, account: str) -> list[tuple[date, Decimal]]:
    database = _database(example)
    try:
        with database.transaction() as session:
            return [(f.at.date(), f.amount) for f in flows_between(session, account)]
    finally:
        database.close()


def test_flows_add_refuses_a_day_before_the_account_history_and_defaults_to_today(
    example: Path,
) -> None:
    config = str(example)
    # Nothing recorded yet: returns will start at the first cycle; the flow is kept.
    invoke("flows", "add", "-a", "ira", "--amount", "1000", "--date", "2026-03-02", "-c", config)
    _valuation(example, "ira", datetime(2026, 6, 1, 20, 0, tzinfo=UTC))
    _, refused = invoke(
        "flows",
        "add",
        "-a",
        "ira",
        "--amount",
        "-5000",
        "--date",
        "2026-03-02",
        "-c",
        config,
        code=2,
    )
    assert "ira's returns start at its first recorded valuation, 2026-06-01 20:00 UTC" in refused
    assert "a flow dated 2026-03-02" in refused
    # The day of the first valuation, counted at 16:00 New York = 20:00 UTC: not after it.
    invoke(
        "flows",
        "add",
        "-a",
        "ira",
        "--amount",
        "-5000",
        "--date",
        "2026-06-01",
        "-c",
        config,
        code=2,
    )
    invoke("flows", "add", "-a", "ira", "--amount", "-5000", "--date", "2026-06-02", "-c", config)
    _, today = invoke("flows", "add", "-a", "ira", "--amount", "-250", "-c", config)
    assert "withdrawal $250.00 on" in today
    recorded = _flows(example, "ira")
    assert [amount for _, amount in recorded] == [Decimal(1000), Decimal(-5000), Decimal(-250)]
    assert recorded[-1][0] >= date(2026, 6, 2)


def test_a_missing_price_in_a_holdings_file_names_the_file_and_the_fix(
    example: Path, tmp_path: Path
) -> None:
    holdings = tmp_path / "my.json"
    holdings.write_text(
        '{"cash": "1200.50", "positions": [{"symbol": "VTI", "qty": "10", "price": "250.10"}],'
        ' "prices": {"BND": "72.30"}}'
    )
    args = ("plan", "-c", str(example), "-a", "brokerage", "--holdings", str(holdings))
    _, output = invoke(*args, code=2)
    assert f'{holdings}: price of VXUS is missing; add it under "prices"' in output
    assert '"VXUS": "100.00"' in output
    holdings.write_text('{"positions": [{"symbol": "VTI", "qty": "10"}], "prices": {}}')
    _, none = invoke(*args, code=2)
    assert 'price of BND is missing; add it under "prices"' in none
    assert "2 more symbol(s) too: VTI, VXUS" in none
    holdings.write_text(
        '{"positions": [{"symbol": "VTI", "qty": "10"}], "prices": {"BND": "70", "VXUS": "60"}}'
    )
    _, held = invoke(*args, code=2)
    assert 'price of VTI is missing; give its position a "price"' in held


def test_the_weekend_demo_runs_a_slot_within_minutes(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README "Try it": the 24/7 calendar and a two-minute schedule, from the environment."""
    saturday_evening = datetime(2026, 12, 5, 23, 17, 30, tzinfo=UTC)
    demo = load_config(example)
    for account in ("brokerage", "ira"):
        spec = parse_schedule(demo.account(account).schedule)
        # On XNYS the next slot is on a weekday: Monday at the earliest.
        assert next_slot(spec, demo.exchange, saturday_evening).at.weekday() < 5
    monkeypatch.setenv("TRIMTAB_EXCHANGE", "24/7")
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__BROKERAGE__SCHEDULE", "every 2 minutes while open")
    monkeypatch.setenv("TRIMTAB_ACCOUNTS__IRA__SCHEDULE", "every 2 minutes while open")
    weekend = load_config(example)
    assert weekend.exchange == "24/7"
    for account in ("brokerage", "ira"):
        spec = parse_schedule(weekend.account(account).schedule)
        slot = next_slot(spec, weekend.exchange, saturday_evening)
        assert slot.at == datetime(2026, 12, 5, 23, 18, tzinfo=UTC)
        assert next_slot(spec, weekend.exchange, slot.at).at == slot.at + timedelta(minutes=2)


DOC_PATH = re.compile(
    r"(?<![\w/.-])((?:daemon|adapters|strategies|tests|bench|deploy|docs|\.ci)/[\w./-]*)"
)
LINK = re.compile(r"\]\(([^)#\s]+)")
FILE_NAME = re.compile(r"`([\w.-]+\.(?:py|md|toml|yml|yaml|service|timer|json|csv|html|lock|sh))`")
USER_FILES = {
    "trimtab.toml": "the default config file a user writes (`./trimtab.toml`)",
    "trimtab-secrets.toml": "the secrets file systemd passes in $CREDENTIALS_DIRECTORY",
    "database.json": "a file `trimtab db` backups write, not part of the repository",
    "audit_head.json": "the audit log's head file, written in the state directory",
    "trimtab.lock": "the state directory's lock file, which a running trimtab holds",
    "trimtab.db.lock": "the lock file trimtab holds beside a SQLite database it runs on",
    "my.json": "the holdings file of the README's offline planning example",
    "paper_json_broker.py": "the module docs/broker-plugins.md has a plugin author save",
    "prices.csv": "the price file of docs/broker-plugins.md's example, which its user edits",
}
"""File names the docs mention that a user or trimtab creates, not the repository."""


def test_every_path_the_docs_name_exists() -> None:
    names = {p.name for p in REPO.rglob("*") if not {".venv", ".git"} & set(p.parts)}
    wrong: list[str] = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text()
        where = doc.relative_to(REPO)
        for path in DOC_PATH.findall(text):
            if not (REPO / path.rstrip("./")).exists():
                wrong.append(f"{where}: {path}")
        for target in LINK.findall(text):
            web = target.startswith(("http://", "https://"))
            if not web and not (doc.parent / target).exists():
                wrong.append(f"{where}: link {target}")
        for name in FILE_NAME.findall(text):
            if name not in names and name not in USER_FILES:
                wrong.append(f"{where}: {name}")
        for outside in re.findall(r"`(/work/[^`]*|shared/[^`]*)`", text):
            wrong.append(f"{where}: {outside} (outside the repository)")
    assert wrong == []


def test_a_flow_added_after_a_cycle_that_ran_after_the_close_counts_from_now(
    example: Path,
) -> None:
    """The README's walk run in the evening: the first cycle valued the account at 16:07 New
    York, and then `flows add` with no date. Counted at 16:00 the flow came before that
    valuation and was refused; counted now (after the close, at the time it is added), it is
    kept, after the valuation, given as today's date too. Another day's date counts at that
    day's close."""
    first = datetime(2026, 12, 7, 21, 7, tzinfo=UTC)  # a Monday, 16:07 in New York
    _valuation(example, "ira", first)
    with time_machine.travel(datetime(2026, 12, 7, 21, 30, tzinfo=UTC), tick=False):
        _, added = invoke("flows", "add", "-a", "ira", "--amount", "-5000", "-c", str(example))
        assert "withdrawal $5,000.00 on 2026-12-07 recorded" in added
        # Today given as a date is today: the same rule.
        invoke(
            "flows", "add", "-a", "ira", "--amount", "-5", "--date", "2026-12-07",
            "-c", str(example),
        )  # fmt: skip
    with time_machine.travel(datetime(2026, 12, 8, 15, 0, tzinfo=UTC), tick=False):
        # The next day, that date counts at its close again: before the valuation.
        invoke(
            "flows", "add", "-a", "ira", "--amount", "-7", "--date", "2026-12-07",
            "-c", str(example), code=2,
        )  # fmt: skip
    database = _database(example)
    try:
        with database.transaction() as session:
            flows = flows_between(session, "ira")
    finally:
        database.close()
    assert [(f.amount, f.at) for f in flows] == [
        (Decimal(-5000), datetime(2026, 12, 7, 21, 30, tzinfo=UTC)),
        (Decimal(-5), datetime(2026, 12, 7, 21, 30, tzinfo=UTC)),
    ]
    assert all(f.at > first for f in flows)
