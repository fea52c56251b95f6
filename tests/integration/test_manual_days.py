"""The manual broker over several days, through `trimtab` commands with a settable clock:
what the person does between cycles (trades one ticket, confirms another days later, with
the time it was traded) must reach the book and the tax ledger, and must not make the next
cycle trade what it need not."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from daemon import bootstrap
from daemon.cli import app as trimtab
from daemon.core.domain import TradingState
from daemon.store.book import BookStore
from daemon.store.tax_ledger import TaxLedger
from daemon.store.trading_state import account_state

ET = ZoneInfo("America/New_York")
HEADER = "Account Number,Account Name,Symbol,Description,Quantity,Last Price,Current Value,Type"


class Days:
    """A trimtab home whose clock the test sets: `at(day, hour)` in December 2026, ET."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.now = datetime(2026, 12, 7, 9, tzinfo=ET)
        (root / "exports").mkdir()
        self.config = root / "trimtab.toml"
        self.config.write_text(
            f"""
mode = "live"
live_confirmation = "I understand trimtab will trade real money"
database_url = "{database_url}"
state_dir = "{root / "state"}"
[accounts.main]
broker = "manual"
type = "taxable"
strategy = "static"
[accounts.main.broker_settings]
environment = "live"
exports = "exports"
preset = "fidelity"
account_number = "X1"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", VXUS = "0.4" }}
[accounts.main.policy]
min_trade_notional = "50"
outside_hours = true
"""
        )

    def clock(self) -> datetime:
        return self.now.astimezone(UTC)

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        self.now = datetime(2026, 12, day, hour, minute, tzinfo=ET)

    def export(self, name: str, cash: str, rows: dict[str, tuple[str, str]]) -> None:
        """A Fidelity export downloaded now (its footer states the time)."""
        half = "a.m" if self.now.hour < 12 else "p.m"
        stamp = self.now.strftime("%b-%d-%Y %-I:%M ") + half
        lines = [HEADER, f'X1,TAXABLE,SPAXX**,HELD IN MONEY MARKET,,,"${cash}",Cash']
        lines += [f"X1,TAXABLE,{s},{s} FUND,{q},${p},,Cash" for s, (q, p) in rows.items()]
        lines += ["", f'"Date downloaded {stamp} ET"']
        (self.root / "exports" / name).write_text("\n".join(lines) + "\n")

    def run(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(trimtab, [*args, "-c", str(self.config)])
        return result.exit_code, result.output

    def cycle(self) -> str:
        code, out = self.run("run", "--once", "--force")
        assert code in (0, 1), out
        assert "cycle failed" not in out.lower(), out
        return out

    def tickets(self) -> list[dict[str, Any]]:
        code, out = self.run("manual", "tickets", "-a", "main", "--json")
        assert code == 0, out
        found: list[dict[str, Any]] = json.loads(out)
        return found

    def confirm(self, ticket: str, qty: str, price: str, *more: str) -> tuple[int, str]:
        return self.run("manual", "confirm", "-a", "main", ticket, "--qty", qty, "--price", price,
                        *more)  # fmt: skip

    def read(self, what: Callable[[Any], Any]) -> Any:
        app = bootstrap.open_app(self.config)
        try:
            with app.database.transaction() as session:
                return what(session)
        finally:
            app.close()


@pytest.fixture
def days(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Days:
    home = Days(tmp_path, database_url)
    real = bootstrap.open_app

    def open_app(path: Path, *, clock: Any = None, **options: Any) -> Any:
        return real(path, clock=home.clock, **options)

    # The commands open the app through the bootstrap; they get the test's clock, nothing else.
    monkeypatch.setattr(bootstrap, "open_app", open_app)
    return home


def monday(days: Days) -> tuple[dict[str, Any], dict[str, Any]]:
    """Monday: an export at 14:00 with $20,000 cash; the 15:00 cycle writes two buy tickets."""
    days.at(7, 14)
    days.export("Portfolio_Positions_Dec-07.csv", "20,000.00",
                {"VTI": ("50", "285.12"), "VXUS": ("100", "64.10")})  # fmt: skip
    days.at(7, 15)
    days.cycle()
    tickets = {t["symbol"]: t for t in days.tickets()}
    assert {(s, t["side"], t["quantity"]) for s, t in tickets.items()} == {
        ("VTI", "buy", "35"),
        ("VXUS", "buy", "153"),
    }
    return tickets["VTI"], tickets["VXUS"]


def test_a_confirmation_back_dated_with_at_reaches_the_book_and_the_ledger(days: Days) -> None:
    """The audit's scenario: VTI confirmed Wednesday and recorded Thursday; on Friday the
    person confirms VXUS with the time it was traded, Monday 15:30. Friday's cycle records
    it (it halted on 'VXUS: book 100, broker 253', the fill never booked)."""
    vti, vxus = monday(days)
    days.at(9, 12)
    code, out = days.confirm(vti["client_order_id"], "35", "285.00")
    assert code == 0, out
    days.at(10, 10)
    days.cycle()
    days.at(11, 8)
    days.export("Portfolio_Positions_Dec-11.csv", "225.00",
                {"VTI": ("85", "286.00"), "VXUS": ("253", "64.50")})  # fmt: skip
    days.at(11, 9)
    code, out = days.confirm(vxus["client_order_id"], "153", "64.05", "--at", "2026-12-07T15:30")
    assert code == 0, out
    days.at(11, 10)
    days.cycle()

    state = days.read(lambda s: account_state(s, "main").state)
    book = days.read(lambda s: BookStore(s).positions("main"))
    fill_ids = days.read(lambda s: BookStore(s).fill_ids("main"))
    lots = days.read(lambda s: [(lot.symbol, lot.qty) for lot in TaxLedger(s).lots("main")])
    assert state is TradingState.ACTIVE
    assert book == {"VTI": 85, "VXUS": 253}
    assert fill_ids == {f"{vti['client_order_id']}-c1", f"{vxus['client_order_id']}-c1"}
    assert ("VXUS", Decimal(153)) in lots
    # Read again by the next cycle: recorded once.
    days.at(11, 11)
    days.cycle()
    assert days.read(lambda s: BookStore(s).positions("main")) == {"VTI": 85, "VXUS": 253}


def test_a_fill_time_before_the_ticket_was_written_is_refused(days: Days) -> None:
    vti, _vxus = monday(days)
    days.at(8, 11)
    code, out = days.confirm(vti["client_order_id"], "35", "285.00", "--at", "2026-12-07T14:59")
    assert code == 2, out
    assert "before the ticket was written" in out
    assert days.tickets()[0]["filled_qty"] == "0"


def test_an_open_buy_ticket_makes_the_next_cycle_trade_nothing(days: Days) -> None:
    """The audit's scenario: of Monday's two buy tickets the person entered only VTI's and
    confirmed it Tuesday. VXUS's cash is out of the cash but its shares are not in the
    positions, so the account looked $9,807 smaller: VTI at 78.5% (59.6% of the real
    $40,666) and Tuesday's cycle wrote 'sell 20 VTI'. While a buy ticket is open, the
    account writes no ticket."""
    vti, vxus = monday(days)
    days.at(8, 11)
    code, out = days.confirm(vti["client_order_id"], "35", "285.12")
    assert code == 0, out
    days.at(8, 15)
    out = days.cycle()

    assert [t["client_order_id"] for t in days.tickets()] == [vxus["client_order_id"]]
    assert "SELL" not in out or "refused sell VTI" in out, out
    assert days.read(lambda s: BookStore(s).positions("main")) == {"VTI": 85, "VXUS": 100}

    # Confirmed, the account is whole again and planned as usual: inside its bands.
    days.at(8, 16)
    code, out = days.confirm(vxus["client_order_id"], "153", "64.10")
    assert code == 0, out
    days.at(9, 10)
    out = days.cycle()
    assert days.tickets() == []
    assert "no rebalance" in out, out
