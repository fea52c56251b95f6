"""`trimtab sim ...`: move cash in and out of a simulated account and look at it."""

from __future__ import annotations

__all__ = ["sim_app"]

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    broker_account,
    console,
    fail,
    load_app,
    print_json,
    styled,
)
from daemon.core.money import usd

if TYPE_CHECKING:
    from daemon.bootstrap import App

sim_app = typer.Typer(help="The built-in simulated broker.", no_args_is_help=True)

SimAccountOption = Annotated[
    str | None,
    typer.Option("--account", "-a", help="Simulated account (default: the only one)."),
]


def _sim_broker(app: App, account: str | None) -> tuple[str, Any]:
    from adapters.sim.broker import SimBroker

    account = broker_account(app, account, broker="sim", noun="simulated")
    broker = app.broker(account)
    assert isinstance(broker, SimBroker)
    return account, broker


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except ArithmeticError:
        fail(f"amount {text!r} is not a number", 2)
    if not amount.is_finite() or amount <= 0:
        fail(f"amount must be a positive number, not {text}", 2)
    return amount


def _move_cash(config: Any, account: str | None, text: str, kind: str) -> None:
    from daemon.audit.events import CashMovement
    from daemon.store.audit_log import AuditLog
    from daemon.store.cash_flows import sync_flows

    amount = _amount(text)
    with load_app(config) as app:
        name, broker = _sim_broker(app, account)
        if kind == "deposit":
            broker.deposit(amount)
        else:
            broker.withdraw(amount)
        cash = broker.snapshot(()).cash
        # Recorded as a flow now, so returns leave it out even before the next cycle.
        sync_flows(
            database=app.database,
            broker=broker,
            account=name,
            exchange=app.settings.exchange,
            clock=app.clock,
        )
        with app.database.transaction() as session:
            AuditLog(session).append(
                CashMovement(kind=kind, amount=amount, cash_after=cash, broker="sim"),
                at=app.clock(),
                account=name,
            )
    console.print(f"{name}: {kind} {usd(amount)}; cash now {usd(cash)}")


@sim_app.command()
def deposit(
    amount: Annotated[str, typer.Argument(help="Amount to add to cash.")],
    config: ConfigOption = None,  # type: ignore[assignment]
    account: SimAccountOption = None,
) -> None:
    """Add cash to a simulated account."""
    _move_cash(config, account, amount, "deposit")


@sim_app.command()
def withdraw(
    amount: Annotated[str, typer.Argument(help="Amount to take out of cash.")],
    config: ConfigOption = None,  # type: ignore[assignment]
    account: SimAccountOption = None,
) -> None:
    """Take cash out of a simulated account (never more than its cash)."""
    _move_cash(config, account, amount, "withdrawal")


@sim_app.command()
def state(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", help="Only this simulated account (default: all)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show simulated accounts as the broker sees them (all of them unless --account).

    With --json: the account's state, or without --account an object of every simulated
    account's state by name (the shape of `trimtab plan --json`).
    """
    with load_app(config, read_only=True) as app:
        if account is None:
            names = [n for n, a in app.settings.accounts.items() if a.broker == "sim"]
            if not names:
                fail('no account uses the simulated broker (broker = "sim")', 2)
        else:
            names = [_sim_broker(app, account)[0]]
        states = {name: _sim_broker(app, name)[1].state() for name in names}
    if as_json:
        print_json(states[names[0]] if account else states)
        return
    for name, result in states.items():
        _print_state(name, result)


def _print_state(name: str, result: dict[str, Any]) -> None:
    console.print(styled((name, "bold"), f" (simulated) cash {usd(Decimal(result['cash']))}"))
    table = Table(title="positions", title_justify="left")
    for column in ("Symbol", "Qty", "Avg cost"):
        table.add_column(column)
    for position in result.get("positions", []):
        table.add_row(
            str(position["symbol"]), str(position["qty"]), str(position.get("avg_cost", ""))
        )
    console.print(table)
