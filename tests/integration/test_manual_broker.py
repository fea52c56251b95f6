"""The manual broker end to end, through `trimtab` commands on a real database and files:
export -> plan -> ticket written -> the next cycle writes no duplicate -> confirm -> the book,
the tax ledger and the next plan follow; the next export must agree. And bad input."""

from __future__ import annotations

import csv
import json
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import open_app
from daemon.cli import app as trimtab
from daemon.core.domain import OrderStatus, TradingState
from daemon.store.audit_log import AuditLog
from daemon.store.book import BookStore
from daemon.store.intents import IntentStore
from daemon.store.tax_ledger import TaxLedger
from daemon.store.trading_state import account_state

HEADER = "Account Number,Account Name,Symbol,Description,Quantity,Last Price,Current Value,Type"


def export(folder: Path, name: str, cash: str, rows: dict[str, tuple[str, str]]) -> Path:
    """Write a Fidelity-style positions export of account X1 (and a row of another account)."""
    lines = [HEADER, f'X1,TAXABLE,SPAXX**,HELD IN MONEY MARKET,,,"${cash}",Cash']
    lines += [f"X1,TAXABLE,{s},{s} FUND,{q},${p},,Cash" for s, (q, p) in rows.items()]
    lines.append("Z9,OTHER,AAPL,APPLE INC,5,$190.00,$950.00,Cash")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def config(tmp_path: Path, database_url: str) -> Path:
    (tmp_path / "exports").mkdir()
    (tmp_path / "prices.csv").write_text("symbol,price\nBND,70.00\n")
    path = tmp_path / "trimtab.toml"
    path.write_text(
        f"""
mode = "live"
live_confirmation = "I understand trimtab will trade real money"
database_url = "{database_url}"
state_dir = "{tmp_path / "state"}"
[accounts.main]
broker = "manual"
type = "taxable"
strategy = "static"
[accounts.main.broker_settings]
environment = "live"
exports = "exports"
preset = "fidelity"
account_number = "X1"
prices_file = "prices.csv"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.policy]
min_trade_notional = "50"
outside_hours = true
"""
    )
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(trimtab, list(args))
    return result.exit_code, result.output


def cycle(path: Path, *, force: bool = True) -> str:
    """Run one cycle; it must succeed. Open tickets are unresolved orders: `run --once`
    exits 1 while any is open, as for any broker, and says which."""
    code, out = run("run", "--once", *(["--force"] if force else []), "-c", str(path))
    assert code in (0, 1), out
    assert (code == 1) == ("order(s) unresolved" in out), out
    assert "cycle failed" not in out.lower(), out
    return out


def intents(path: Path) -> dict[str, tuple[str, str, Decimal, OrderStatus]]:
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            rows = IntentStore(session).created_between(
                ["main"],
                since=app.clock().replace(year=2000),
                until=app.clock().replace(year=2100),
            )
        return {
            s.intent.client_order_id: (s.intent.symbol, str(s.intent.side), s.intent.qty, s.status)
            for s in rows
        }
    finally:
        app.close()


def open_tickets(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "state" / "manual" / "main" / "open-tickets.csv").open() as handle:
        return list(csv.DictReader(handle))


def audit_kinds(path: Path, kind: str) -> list[dict[str, object]]:
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            return [
                json.loads(json.dumps(r.payload)) for r in AuditLog(session).records(kinds=[kind])
            ]
    finally:
        app.close()


# Six cycles and a dozen commands, 6 to 10 s: on SQLite only, to keep within the slow
# set's budget; the manual broker speaks no SQL, and the quick tests below run on both.
@pytest.mark.slow
def test_export_plan_ticket_no_duplicate_confirm_ledger_and_next_export(tmp_path: Path) -> None:
    path = config(tmp_path, f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}")
    export(
        tmp_path / "exports", "Portfolio_Positions_1.csv", "10,000.00", {"VTI": ("10", "250.00")}
    )

    code, out = run("manual", "show", "-c", str(path), "-a", "main")
    assert code == 0, out
    assert "VTI" in out
    assert "$10,000.00" in out

    # Cycle 1: planned like any account; the buys become tickets, UNKNOWN until confirmed.
    out = cycle(path, force=False)
    assert "2 order(s) unresolved" in out
    first = intents(path)
    assert {(s, side) for s, side, _q, _st in first.values()} == {("VTI", "buy"), ("BND", "buy")}
    assert {st for *_, st in first.values()} == {OrderStatus.UNKNOWN}
    tickets = open_tickets(tmp_path)
    assert {t["client_order_id"] for t in tickets} == set(first)
    code, out = run("manual", "tickets", "-c", str(path), "-a", "main", "--json")
    assert code == 0, out
    assert {t["symbol"] for t in json.loads(out)} == {"VTI", "BND"}

    # Cycle 2, nothing confirmed: the unresolved tickets block their symbols; no duplicate.
    out = cycle(path)
    assert "BND, VTI stay blocked" in out
    assert intents(path) == first
    assert len(open_tickets(tmp_path)) == 2

    # The person entered both; confirm what was done (BND partly, the rest not done).
    by_symbol = {s: (coid, q) for coid, (s, _side, q, _st) in first.items()}
    vti, vti_qty = by_symbol["VTI"]
    bnd, bnd_qty = by_symbol["BND"]
    code, out = run("manual", "confirm", "-c", str(path), "-a", "main", vti[-6:],
                    "--qty", str(vti_qty), "--price", "250.10")  # fmt: skip
    assert code == 0, out
    done_bnd = bnd_qty - 1
    code, out = run("manual", "confirm", "-c", str(path), "-a", "main", bnd,
                    "--qty", str(done_bnd), "--price", "69.95", "--rest", "cancelled")  # fmt: skip
    assert code == 0, out
    assert open_tickets(tmp_path) == []
    confirmed = [r for r in audit_kinds(path, "manual_input") if r["action"] == "confirm"]
    assert [(c["client_order_id"], c["status"]) for c in confirmed] == [
        (vti, "filled"),
        (bnd, "cancelled"),
    ]

    # Cycle 3: the confirmed fills are the broker's fills: book, intents and tax lots follow.
    cycle(path)
    after = intents(path)
    assert after[vti][3] is OrderStatus.FILLED
    assert after[bnd][3] is OrderStatus.CANCELLED
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            book = BookStore(session).positions("main")
            lots = {(lot.symbol, lot.qty) for lot in TaxLedger(session).lots("main")}
            state = account_state(session, "main").state
    finally:
        app.close()
    assert book == {"VTI": 10 + vti_qty, "BND": done_bnd}
    assert ("VTI", vti_qty) in lots
    assert ("BND", done_bnd) in lots
    assert state is TradingState.ACTIVE
    # The next plan starts from the account as it now is: nothing left to buy in full again.
    new = {c: v for c, v in after.items() if c not in first}
    assert all(q < bnd_qty for s, _side, q, _st in new.values() if s == "BND"), new

    # The person downloads a new export holding the trades: it agrees with book + fills.
    for late in new:
        run("manual", "confirm", "-c", str(path), "-a", "main", late, "--not-done")
    time.sleep(0.01)  # a later modification time than the fills' confirmation
    cash = Decimal(10_000) - vti_qty * Decimal("250.10") - done_bnd * Decimal("69.95")
    export(tmp_path / "exports", "Portfolio_Positions_2.csv", f"{cash:,.2f}",
           {"VTI": (str(10 + vti_qty), "250.10"), "BND": (str(done_bnd), "69.95")})  # fmt: skip
    cycle(path)
    app = open_app(path)
    try:
        with app.database.transaction() as session:
            assert account_state(session, "main").state is TradingState.ACTIVE
    finally:
        app.close()


def test_an_export_that_disagrees_with_the_confirmed_fills_halts_the_account(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url)
    folder = tmp_path / "exports"
    export(folder, "a.csv", "10,000.00", {"VTI": ("10", "250.00")})
    cycle(path, force=False)
    [(vti, qty)] = [(c, q) for c, (s, _d, q, _st) in intents(path).items() if s == "VTI"]
    code, out = run("manual", "confirm", "-c", str(path), "-a", "main", vti,
                    "--qty", str(qty), "--price", "250")  # fmt: skip
    assert code == 0, out
    time.sleep(0.01)
    # Confirmed as done, but the new export does not hold the shares: not papered over.
    export(folder, "b.csv", "10,000.00", {"VTI": ("10", "250.00")})

    code, out = run("run", "--once", "--force", "-c", str(path))

    app = open_app(path)
    try:
        with app.database.transaction() as session:
            state = account_state(session, "main").state
    finally:
        app.close()
    assert state is TradingState.HALTED, out


def test_bad_input_is_named_exits_2_sends_nothing_and_is_audited(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url)
    folder = tmp_path / "exports"
    bad = folder / "positions.csv"
    bad.write_text("Ticker,Units,Px\nVTI,10,250\n")

    code, out = run("manual", "show", "-c", str(path), "-a", "main")
    assert code == 2, out
    assert "the columns found are 'Ticker', 'Units', 'Px'" in " ".join(out.split())
    code, out = run("run", "--once", "-c", str(path))
    assert code == 1, out  # the cycle fails before anything is planned
    assert intents(path) == {}

    bad.write_text(f"{HEADER}\nX1,T,VTI 2030C,CALL,1,$2.00,$200.00,Cash\n")
    code, out = run("manual", "show", "-c", str(path), "-a", "main")
    assert code == 2, out
    assert "positions.csv, row 2, column 'Symbol'" in " ".join(out.split())

    export(folder, "positions.csv", "100.00", {"VTI": ("1", "250.00")})
    old = time.time() - 4 * 86400
    os.utime(folder / "positions.csv", (old, old))
    code, out = run("manual", "show", "-c", str(path), "-a", "main")
    assert code == 2, out
    assert "hours old" in out
    assert "download a new positions export" in " ".join(out.split())

    code, out = run("manual", "confirm", "-c", str(path), "-a", "main", "tt-nosuch",
                    "--qty", "1", "--price", "1")  # fmt: skip
    assert code == 2, out
    assert "no order ticket 'tt-nosuch'" in " ".join(out.split())

    refused = [r for r in audit_kinds(path, "manual_input") if r["accepted"] is False]
    assert [r["action"] for r in refused] == ["export", "export", "export", "confirm"]


def test_paper_mode_refuses_a_manual_account(tmp_path: Path, database_url: str) -> None:
    path = config(tmp_path, database_url)
    text = path.read_text().replace('mode = "live"', 'mode = "paper"')
    path.write_text(
        text.replace('live_confirmation = "I understand trimtab will trade real money"\n', "")
    )

    code, out = run("config", "check", "-c", str(path))

    assert code == 2, out
    assert 'broker_settings.environment = "live"' in " ".join(out.split())


def check_rows(path: Path) -> tuple[int, dict[str, tuple[str, str, str]]]:
    result = CliRunner().invoke(trimtab, ["check", "--json", "-c", str(path)])
    rows = json.loads(result.stdout)["rows"]
    return result.exit_code, {r["check"]: (r["status"], r["detail"], r["fix"]) for r in rows}


def test_check_reads_the_export_and_names_what_a_plan_would_lack(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url)
    code, rows = check_rows(path)
    assert code == 1
    assert rows["broker"][0] == "fail"
    assert "manual data could not be read" in rows["broker"][1]
    assert "no positions export matching" in rows["broker"][1]

    export(tmp_path / "exports", "Portfolio_Positions.csv", "1000.00", {"VTI": ("10", "250.00")})
    code, rows = check_rows(path)
    assert code == 0, rows
    status, detail, _ = rows["broker"]
    assert status == "ok"
    assert "X1 by export Portfolio_Positions.csv of" in detail
    assert rows["account"][0] == "ok"
    assert rows["environment"][0] == "ok"  # mode live: tickets are written
    assert rows["symbol VTI"][0] == rows["symbol BND"][0] == "ok"
    assert rows["prices"] == ("ok", "every target symbol priced (2)", "")
    assert rows["tickets"] == ("ok", "no ticket open", "")
    assert rows["calendar"][0] == "ok"
    assert "has no calendar" in rows["calendar"][1]

    (tmp_path / "prices.csv").write_text("symbol,price\n")
    code, rows = check_rows(path)
    assert code == 1
    status, detail, fix = rows["prices"]
    assert status == "fail"
    assert "prices BND: a plan cannot size a ticket" in detail
    assert f"add a row symbol,price for BND to {tmp_path / 'prices.csv'}" in fix

    # In dry-run, the fix is the way to go live, not a paper account it does not have.
    path.write_text(path.read_text().replace('mode = "live"', 'mode = "dry-run"'))
    (tmp_path / "prices.csv").write_text("symbol,price\nBND,70.00\n")
    code, rows = check_rows(path)
    assert code == 0, rows
    status, _, fix = rows["environment"]
    assert status == "warn"
    assert "paper" not in fix
    assert 'go live on purpose (mode = "live" and live_confirmation)' in fix


def test_an_export_of_several_accounts_without_account_number_is_named_by_check_and_cycle(
    tmp_path: Path, database_url: str
) -> None:
    """`export` writes a row of account Z9 beside X1's: without account_number, the rows
    of both were merged into one account and planned."""
    path = config(tmp_path, database_url)
    path.write_text(path.read_text().replace('account_number = "X1"\n', ""))
    export(tmp_path / "exports", "Portfolio_Positions.csv", "1000.00", {"VTI": ("10", "250.00")})

    code, rows = check_rows(path)
    assert code == 1, rows
    status, detail, fix = rows["broker"]
    assert status == "fail"
    assert "lists 2 accounts (X1, Z9)" in detail
    assert "set broker_settings.account_number" in " ".join(fix.split())  # its own column

    code, out = run("run", "--once", "--force", "-c", str(path))
    assert code == 1, out  # the cycle fails before anything is planned
    assert "lists 2 accounts (X1, Z9)" in " ".join(out.split())
    assert intents(path) == {}
