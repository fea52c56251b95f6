"""Client order ids after a restore from a backup: never one the broker already has.

Found by an audit: after the documented restore (the database and its audit head file put
back from a backup), the same day's cycle made the client order ids the lost cycle had sent
after the backup: the restored database keeps its identity and does not know the slot ran.
The broker refused them ("belongs at the broker to buy 12 sh BND, not to this buy 11 sh BND")
and the cycle failed; with the same plan the old filled order would have been adopted.

The whole procedure runs for real, with `trimtab` processes: a cycle of account `b` killed
after the broker accepted its order (a pending intent), the backup (SQLite's online backup or
`pg_dump`), a cycle of account `a` that sends orders, the restore (the file or `pg_restore`,
and the backup's head file), `trimtab db restored`, `trimtab resume`, the same day's cycles
again. The simulated broker keeps its books in the state database; a real broker's account
is not rolled back by a restore, so its tables are carried over the restore as they stand.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url

# Real `trimtab` processes, a cycle killed mid-way, pg_dump and pg_restore: the slow set.
pytestmark = pytest.mark.slow

TRIMTAB = Path(sys.executable).parent / "trimtab"
WAIT = 120.0
SIM_TABLES = ("sim_accounts", "sim_positions", "sim_orders", "sim_fills", "sim_cash_movements")
"""The simulated broker's own books, parents first."""

CONFIG = """
mode = "paper"
state_dir = "state"
exchange = "XNYS"
{database}
[log]
format = "json"

[accounts.a]
broker = "sim"
type = "taxable"
strategy = "static"
strategy_params = {{ targets = {{ VTI = "0.6", BND = "0.4" }} }}
[accounts.a.policy]
outside_hours = true
[accounts.a.broker_settings]
starting_cash = "100000"
slippage_bps = 0
fractional = false
[accounts.a.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "180", BND = "80" }}

[accounts.b]
broker = "sim"
type = "roth_ira"
strategy = "static"
strategy_params = {{ targets = {{ VTI = "1.0" }} }}
[accounts.b.policy]
outside_hours = true
[accounts.b.broker_settings]
starting_cash = "50000"
slippage_bps = 0
fractional = false
[accounts.b.broker_settings.prices]
source = "synthetic"
seed = 7
start = 2026-01-02
base_prices = {{ VTI = "180", BND = "80" }}
"""
CRASH_B = {"TRIMTAB_ACCOUNTS__B__BROKER_SETTINGS__FAULTS__CRASH_AFTER_ACCEPT": "1"}


def trimtab(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    return subprocess.run(
        [str(TRIMTAB), *args, "-c", "trimtab.toml"],
        cwd=tmp_path,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def libpq(url: str) -> str:
    """The PostgreSQL URL as `pg_dump` takes it (no driver name, no search path)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)


def schema_of(url: str) -> str:
    options = make_url(url).query["options"]
    assert isinstance(options, str)
    return options.removeprefix("-csearch_path=")


class State:
    """The test's state directory and database: backup, restore, and reading what is stored."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.dir = tmp_path / "state"
        self.backups = tmp_path / "backups"
        self.url = database_url
        self.sqlite = database_url.startswith("sqlite")
        self.backups.mkdir()
        line = "" if self.sqlite else f'database_url = "{database_url}"'
        (tmp_path / "trimtab.toml").write_text(CONFIG.format(database=line))

    def back_up(self) -> None:
        """docs/operations.md, "Back up and restore": the head file first, then the database."""
        shutil.copy(self.dir / "audit_head.json", self.backups / "audit_head.json")
        if self.sqlite:
            source = sqlite3.connect(self.dir / "trimtab.db")
            target = sqlite3.connect(self.backups / "trimtab.db")
            with target:
                source.backup(target)
            source.close()
            target.close()
        else:
            dump = self.backups / "trimtab.dump"
            pg_dump = ["pg_dump", "-Fc", "-n", schema_of(self.url), "-f", str(dump)]
            subprocess.run([*pg_dump, libpq(self.url)], check=True, timeout=WAIT)

    def restore(self) -> None:
        """Put the backup back, as the Restore procedure does (trimtab is not running)."""
        if self.sqlite:
            for name in ("trimtab.db-wal", "trimtab.db-shm"):
                (self.dir / name).unlink(missing_ok=True)
            shutil.copy(self.backups / "trimtab.db", self.dir / "trimtab.db")
        else:
            engine = create_engine(self.url)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema_of(self.url)}" CASCADE'))
            engine.dispose()
            dump = str(self.backups / "trimtab.dump")
            subprocess.run(["pg_restore", "-d", libpq(self.url), dump], check=True, timeout=WAIT)
        (self.dir / "audit_head.json").rename(self.backups / "audit_head-before-restore.json")
        shutil.copy(self.backups / "audit_head.json", self.dir / "audit_head.json")

    def engine_url(self) -> str:
        return f"sqlite:///{self.dir / 'trimtab.db'}" if self.sqlite else self.url

    def rows(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        engine = create_engine(self.engine_url())
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(query), params)]
        finally:
            engine.dispose()

    def broker_books(self) -> dict[str, list[dict[str, Any]]]:
        """The simulated broker's tables as they stand (the broker's side of the account)."""
        engine = create_engine(self.engine_url())
        try:
            meta = MetaData()
            meta.reflect(engine, only=SIM_TABLES)
            with engine.connect() as connection:
                return {
                    name: [
                        dict(row._mapping) for row in connection.execute(select(meta.tables[name]))
                    ]
                    for name in SIM_TABLES
                }
        finally:
            engine.dispose()

    def put_broker_books(self, books: dict[str, list[dict[str, Any]]]) -> None:
        """Carry the broker's books over the restore: a real broker's account is not restored."""
        engine = create_engine(self.engine_url())
        try:
            meta = MetaData()
            meta.reflect(engine, only=SIM_TABLES)
            with engine.begin() as connection:
                for name in reversed(SIM_TABLES):
                    connection.execute(meta.tables[name].delete())
                for name in SIM_TABLES:
                    if books[name]:
                        connection.execute(insert(meta.tables[name]), books[name])
                if not self.sqlite:
                    connection.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence('sim_cash_movements', 'id'), "
                            "(SELECT max(id) FROM sim_cash_movements))"
                        )
                    )
        finally:
            engine.dispose()

    def intents(self, account: str) -> dict[str, tuple[str, str, str, str]]:
        """Client order id -> (cycle id, symbol, side, status) of the account's intents."""
        found = self.rows(
            "SELECT client_order_id, cycle_id, symbol, side, status FROM order_intents "
            "WHERE account = :account",
            account=account,
        )
        return {coid: (cycle, symbol, side, status) for coid, cycle, symbol, side, status in found}

    def at_broker(self, account: str) -> dict[str, tuple[str, str, Decimal, str]]:
        """Client order id -> (symbol, side, qty, status) of the orders the sim holds."""
        found = self.rows(
            "SELECT client_order_id, symbol, side, qty, status FROM sim_orders "
            "WHERE account = :account",
            account=account,
        )
        return {
            coid: (symbol, side, Decimal(qty), status) for coid, symbol, side, qty, status in found
        }

    def identity(self) -> str:
        [(identity,)] = self.rows("SELECT identity FROM database_identity")
        return str(identity)


@pytest.fixture
def state(tmp_path: Path, database_url: str) -> State:
    return State(tmp_path, database_url)


def lost_timeline(tmp_path: Path, state: State) -> tuple[str, dict[str, Any]]:
    """Run up to the restore: return the pending intent's id and the ids sent after the backup.

    Account b's cycle is killed right after the broker accepted its order, so its intent is
    stored unresolved when the backup is taken; account a's cycle after the backup sends
    orders that the restored database will know nothing of.
    """
    crashed = trimtab(tmp_path, "run", "--once", "-a", "b", env=CRASH_B)
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr  # SIGKILL, a power cut
    [(pending, status)] = state.rows(
        "SELECT client_order_id, status FROM order_intents WHERE account = 'b'"
    )
    assert status == "submitting"
    assert pending in state.at_broker("b")  # the broker has it; the database does not know

    state.back_up()

    ok(trimtab(tmp_path, "sim", "deposit", "10000", "-a", "b"))  # (after the backup)
    after_backup = ok(trimtab(tmp_path, "run", "--once", "-a", "a"))
    sent = state.intents("a")
    assert sent, after_backup
    assert {status for *_, status in sent.values()} == {"filled"}
    assert set(sent) <= set(state.at_broker("a"))
    books = state.broker_books()

    state.restore()
    state.put_broker_books(books)
    assert state.intents("a") == {}  # the restored database never heard of those orders
    return pending, sent


def test_after_restored_the_same_days_cycle_sends_new_ids(tmp_path: Path, state: State) -> None:
    pending, lost = lost_timeline(tmp_path, state)
    before = state.identity()
    head_before = state.rows("SELECT max(seq) FROM audit_records")[0][0]

    said = ok(trimtab(tmp_path, "db", "restored"))
    assert before in said
    assert "kill switch engaged" in said
    assert state.identity() != before
    events = state.rows(
        "SELECT kind, payload FROM audit_records WHERE seq > :seq ORDER BY seq", seq=head_before
    )
    kinds = [kind for kind, _ in events]
    assert kinds == ["database_identity", "kill_switch"], events
    assert before in events[0][1]
    assert state.identity() in events[0][1]
    assert "restored" in events[1][1]
    assert state.intents("b")[pending][3] == "submitting"  # kept, under its stored id

    assert '"engaged":true' in events[1][1].replace(" ", "")
    ok(trimtab(tmp_path, "resume"))
    ok(trimtab(tmp_path, "sim", "deposit", "20000", "-a", "a"))  # something for a to buy
    again = ok(trimtab(tmp_path, "run", "--once", "-a", "a"))

    sent = state.intents("a")
    assert sent, again
    assert not set(sent) & set(lost)  # no id of the lost timeline comes back
    assert {cycle for cycle, *_ in sent.values()} == {cycle for cycle, *_ in lost.values()}
    assert {status for *_, status in sent.values()} == {"filled"}, again
    at_broker = state.at_broker("a")
    for coid, (_cycle, symbol, side, _status) in sent.items():
        assert at_broker[coid][:2] == (symbol, side)
        assert at_broker[coid][3] == "filled"
    assert len(at_broker) == len(lost) + len(sent)  # each order sent once, none adopted

    # The pending intent from before the backup resolves by its stored id, not a new one.
    ok(trimtab(tmp_path, "run", "--once", "-a", "b"))
    b = state.intents("b")
    assert b[pending][3] == "filled"
    assert len(state.at_broker("b")) == len(b)  # nothing sent twice
    verified = ok(trimtab(tmp_path, "audit", "verify"))
    assert "audit chain intact" in verified


def test_without_it_the_refusal_names_the_restore_step(tmp_path: Path, state: State) -> None:
    """The audit's failure, now with its likely cause and the fix in the message."""
    if not state.sqlite:
        pytest.skip("the message does not depend on the database")
    _pending, lost = lost_timeline(tmp_path, state)
    ok(trimtab(tmp_path, "sim", "deposit", "20000", "-a", "a"))  # another plan: other sizes
    failed = trimtab(tmp_path, "run", "--once", "-a", "a")
    assert failed.returncode != 0
    assert "belongs at the broker" in failed.stdout
    assert "trimtab db restored" in failed.stdout
    assert set(state.intents("a")) <= set(lost)  # the same ids again: what the step prevents


def test_restored_is_safe_to_run_again(tmp_path: Path, state: State) -> None:
    """Each run gives a new identity and leaves the switch engaged; stored ids never change."""
    ok(trimtab(tmp_path, "run", "--once", "-a", "a"))
    ids = state.intents("a")
    first = state.identity()
    ok(trimtab(tmp_path, "db", "restored"))
    second = state.identity()
    ok(trimtab(tmp_path, "db", "restored"))
    third = state.identity()
    assert len({first, second, third}) == 3
    assert state.intents("a") == ids
    status = ok(trimtab(tmp_path, "status"))
    assert "restored" in status
    ok(trimtab(tmp_path, "audit", "verify"))


def test_a_chain_that_misses_the_head_files_record_is_refused(tmp_path: Path, state: State) -> None:
    """The running head file left in place: the step says so and changes nothing."""
    if not state.sqlite:
        pytest.skip("the head file is the same file with either database")
    ok(trimtab(tmp_path, "run", "--once", "-a", "a"))
    state.back_up()
    ok(trimtab(tmp_path, "kill", "--reason", "after the backup"))  # a record the backup lacks
    running_head = (state.dir / "audit_head.json").read_text()
    state.restore()
    (state.dir / "audit_head.json").write_text(running_head)  # the swap forgotten
    identity = state.identity()

    refused = trimtab(tmp_path, "db", "restored")
    assert refused.returncode == 1
    assert "nothing changed" in refused.stderr
    assert "put the backup's own head file in its place" in " ".join(refused.stderr.split())
    assert state.identity() == identity

    shutil.copy(state.backups / "audit_head.json", state.dir / "audit_head.json")
    ok(trimtab(tmp_path, "db", "restored"))
    assert state.identity() != identity
    ok(trimtab(tmp_path, "audit", "verify"))
