"""A `--withdraw` larger than the whole account is refused before anything is planned or sent.

Before, `run --once --withdraw 500000` on a $100,000 account (a typo for 50000) sold every
holding through the planner's cash-flow rule and only then exited 1 naming the shortfall.
Now the cycle (and `plan`, with a broker or a holdings file) refuses it after reading the
snapshot: nothing is planned or submitted, the `cycle_failed` audit record names the account,
the amount, the account's value and the fix, and the command exits non-zero. A withdrawal of
exactly the account's value still goes ahead as before: every holding is sold.

The sim account here has fixed prices (a CSV with the same close every day around today), no
slippage and no commission, so the account's value is known to the cent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.audit.events import CycleFailed
from daemon.audit.record import AuditRecord, events_of
from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.logs import configure_logging
from daemon.store.audit_log import AuditLog

PRICES = {"VTI": Decimal("100.00"), "BND": Decimal("50.00")}

CONFIG = """
mode = "paper"
database_url = "{url}"
state_dir = "state"
[log]
level = "error"
[accounts.main]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.broker_settings]
starting_cash = "100000"
[accounts.main.broker_settings.prices]
source = "csv"
path = "prices.csv"
[accounts.main.policy]
outside_hours = true
cash_buffer = "1000"
"""


def write_config(tmp_path: Path, database_url: str) -> str:
    """The config, and a price file whose close is the same on every day around today."""
    today = datetime.now(UTC).date()
    days = [today + timedelta(days=n) for n in range(-10, 3)]
    rows = [f"{d.isoformat()},{PRICES['BND']},{PRICES['VTI']}" for d in days]
    (tmp_path / "prices.csv").write_text("date,BND,VTI\n" + "\n".join(rows) + "\n")
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG.format(url=database_url))
    return str(config)


def invoke(*args: str) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and its output with line wraps undone."""
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    return result.exit_code, " ".join(result.output.split())


def json_of(*args: str) -> dict[str, object]:
    """Run a `--json` command that must succeed; return what it printed, read."""
    try:
        result = CliRunner().invoke(app, [*args, "--json"])
    finally:
        configure_logging()
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def sim_state(config: str) -> dict[str, object]:
    return json_of("sim", "state", "-a", "main", "-c", config)


def value_of(state: dict[str, object]) -> Decimal:
    """Cash plus every position at the fixed prices."""
    positions = state["positions"]
    assert isinstance(positions, list)
    held = sum((Decimal(p["qty"]) * PRICES[p["symbol"]] for p in positions), start=Decimal(0))
    return Decimal(str(state["cash"])) + held


def holdings_of(state: dict[str, object]) -> dict[str, Decimal]:
    positions = state["positions"]
    assert isinstance(positions, list)
    return {p["symbol"]: Decimal(p["qty"]) for p in positions if Decimal(p["qty"])}


def audit_records(config: str) -> list[AuditRecord]:
    return audit_records_of(config, "main")


def audit_records_of(config: str, account: str) -> list[AuditRecord]:
    opened = open_app(Path(config))
    try:
        with opened.database.transaction() as session:
            return AuditLog(session).records(account=account)
    finally:
        opened.close()
        configure_logging()


def bought(tmp_path: Path, database_url: str) -> tuple[str, Decimal]:
    """The config of an account that bought its targets, and its value now."""
    config = write_config(tmp_path, database_url)
    code, output = invoke("run", "--once", "-a", "main", "-c", config)
    assert code == 0, output
    state = sim_state(config)
    assert holdings_of(state), state
    return config, value_of(state)


def test_run_once_refuses_a_withdrawal_above_the_accounts_value(
    tmp_path: Path, database_url: str
) -> None:
    config, value = bought(tmp_path, database_url)
    before = sim_state(config)
    asked = value + Decimal("0.01")
    code, output = invoke(
        "run", "--once", "-a", "main", "--force", "--withdraw", str(asked), "-c", config
    )
    assert code == 1, output
    assert "main: cycle failed" in output
    assert f"--withdraw ${asked:,.2f}" in output
    assert f"worth ${value:,.2f}" in output
    assert f"--withdraw {value:.2f} at most" in output
    assert "sell by hand" in output
    # Nothing was sent: the sim's orders and holdings are as they were.
    after = sim_state(config)
    assert after["recent_orders"] == before["recent_orders"]
    assert holdings_of(after) == holdings_of(before)
    assert after["cash"] == before["cash"]
    # The refusal is the cycle's audited failure; no plan, no intent was recorded for it.
    records = audit_records(config)
    [(failed, event)] = events_of(records, CycleFailed)
    assert event.error_type == "WithdrawalTooLarge"
    assert "account main" in event.error
    assert f"${asked:,.2f}" in event.error
    assert f"${value:,.2f}" in event.error
    kinds = [r.kind for r in records if r.cycle_id == failed.cycle_id]
    assert "plan" not in kinds
    assert "order_intent" not in kinds
    assert kinds[-1] == "cycle_failed"
    assert "snapshot" in kinds


def test_run_once_with_exactly_the_accounts_value_sells_everything(
    tmp_path: Path, database_url: str
) -> None:
    config, value = bought(tmp_path, database_url)
    code, output = invoke(
        "run", "--once", "-a", "main", "--force", "--withdraw", str(value), "-c", config
    )
    assert code == 0, output
    assert "WithdrawalTooLarge" not in output
    after = sim_state(config)
    assert holdings_of(after) == {}
    assert Decimal(str(after["cash"])) == value
    assert not events_of(audit_records(config), CycleFailed)


def test_plan_refuses_a_withdrawal_above_the_accounts_value(
    tmp_path: Path, database_url: str
) -> None:
    config, value = bought(tmp_path, database_url)
    asked = value + Decimal(1)
    code, output = invoke("plan", "-a", "main", "--withdraw", str(asked), "-c", config)
    assert code == 1, output
    assert "main: cycle failed" in output
    assert f"worth ${value:,.2f}" in output
    [(_, event)] = events_of(audit_records(config), CycleFailed)
    assert event.error_type == "WithdrawalTooLarge"

    # The boundary: exactly the value is planned as before, every holding sold.
    orders = json_of("plan", "-a", "main", "--withdraw", str(value), "-c", config)["orders"]
    assert isinstance(orders, list)
    assert {o["symbol"] for o in orders if o["side"] == "sell"} == set(PRICES)
    assert all(o["side"] == "sell" for o in orders)


def test_offline_plan_refuses_a_withdrawal_above_the_files_value(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}")
    holdings = tmp_path / "holdings.json"
    holdings.write_text(
        json.dumps(
            {
                "cash": "1234.56",
                "positions": [
                    {"symbol": "VTI", "qty": "300", "price": "100"},
                    {"symbol": "BND", "qty": "400", "price": "50"},
                ],
            }
        )
    )
    code, output = invoke(
        "plan", "-a", "main", "--holdings", str(holdings), "--withdraw", "500000", "-c", config
    )
    assert code == 2, output
    assert "account main" in output
    assert "--withdraw $500,000.00" in output
    assert "worth $51,234.56" in output

    args = ("plan", "-a", "main", "--holdings", str(holdings), "-c", config)
    orders = json_of(*args, "--withdraw", "51234.56")["orders"]
    assert isinstance(orders, list)
    assert {o["symbol"] for o in orders if o["side"] == "sell"} == set(PRICES)


def test_a_household_member_is_refused_on_its_own_value(tmp_path: Path) -> None:
    """Trading moves no cash between accounts: a member's withdrawal can only come from the
    member's own account, so its own value is the bound, not the household's (160,000)."""
    from tests.integration.test_household_cli import HOUSEHOLD, REPO, ROTH

    config = tmp_path / "config.toml"
    config.write_text((REPO / "config.example.toml").read_text() + ROTH + HOUSEHOLD)
    code, output = invoke("plan", "-a", "roth", "--withdraw", "20000.01", "-c", str(config))
    assert code == 1, output
    assert "roth: cycle failed" in output
    assert "--withdraw $20,000.01 for account roth" in output
    assert "worth $20,000.00" in output
    kinds = [r.kind for r in audit_records_of(str(config), "roth")]
    assert kinds[-1] == "cycle_failed"
    assert "household_split" not in kinds

    code, output = invoke("plan", "-a", "roth", "--withdraw", "20000", "-c", str(config))
    assert code == 0, output
    assert "WithdrawalTooLarge" not in output
