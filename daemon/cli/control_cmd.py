"""`trimtab kill`, `resume` and `status`: the operator's controls and a one-screen overview."""

from __future__ import annotations

__all__ = ["kill", "resume", "status"]

import getpass
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    config_path,
    console,
    fail,
    load_app,
    print_config_error,
    print_json,
    styled,
)
from daemon.core.domain import TradingState
from daemon.core.errors import ConfigError, TrimtabError

if TYPE_CHECKING:
    from daemon.bootstrap import App
    from daemon.store.killswitch import KillSwitchState


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def kill(
    config: ConfigOption = None,  # type: ignore[assignment]
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "",
    cancel_open: Annotated[
        bool, typer.Option("--cancel-open", help="Also cancel every open order at the brokers.")
    ] = False,
) -> None:
    """Engage the kill switch: cycles keep planning and auditing but submit nothing."""
    # The switch first, with nothing a broker needs: the operator's shell may lack the brokers'
    # keys (the service alone may read them) and a broker may be down; neither may keep the
    # emergency brake from engaging. Cancelling open orders is a second, separate step.
    app = _open_without_brokers(config)
    try:
        state = _engage(app, reason or "operator request")
        console.print(
            styled(
                ("kill switch engaged", "bold red"),
                f" ({state.reason}); nothing will be submitted until `trimtab resume`",
            )
        )
        if cancel_open:
            _cancel_open_orders(app)
    finally:
        app.close()


def _open_without_brokers(config: Path | None) -> App:
    """Load the configuration without the brokers' credentials; exit saying the switch is NOT
    engaged when it cannot be used."""
    from daemon.bootstrap import open_app

    path = config_path(config)
    try:
        return open_app(path, credentials=False)
    except ConfigError as exc:
        print_config_error(exc)
        _kill_not_engaged("the configuration above cannot be used", 2)
    except TrimtabError as exc:
        _kill_not_engaged(str(exc), 1)


def _engage(app: App, reason: str) -> KillSwitchState:
    """Engage the switch durably, audited in the same transaction."""
    from daemon.store.killswitch import set_kill_switch

    try:
        with app.database.transaction() as session:
            return set_kill_switch(
                session, engaged=True, reason=reason, actor=_actor(), at=app.clock()
            )
    except TrimtabError as exc:
        _kill_not_engaged(str(exc), 1)


_CANCEL_FIX = (
    "cancel them at the broker itself (its website or app), or, once it answers, run "
    "`trimtab kill --cancel-open` again as the service user with the service's keys "
    "(`sudo systemd-run --pty --wait -p User=trimtab -p LoadCredential=...`, "
    "docs/operations.md); for an IB account, stop the trimtab service first (`sudo systemctl "
    "stop trimtab`): IB lets only the API client that placed an order cancel it, and the "
    "running service holds that client id"
)


def _cancel_open_orders(app: App) -> None:
    """Cancel every account's open orders; exit 1 naming those left open and the way out,
    each of them also an audit record (the log is what the owner reviews)."""
    from daemon.cycle.execution import cancel_open_orders

    left_open: list[str] = []
    for name in app.settings.accounts:
        try:
            # Building the broker checks its credentials: missing keys fail here, per account.
            lines = cancel_open_orders(
                database=app.database, broker=app.broker(name), account=name, clock=app.clock
            )
        except TrimtabError as exc:
            left_open.append(f"account {name}: {exc}{_record_left_open(app, name, str(exc))}")
            continue
        refused = []
        for line, ok in lines:
            if not ok:
                refused.append(line)
            console.print(f"  {name}: {line}")
        if refused:
            reason = f"{len(refused)} cancel(s) failed"
            unrecorded = _record_left_open(app, name, reason, tuple(refused))
            left_open.append(f"account {name}: {reason} (listed above){unrecorded}")
    if left_open:
        fail(
            "kill switch ENGAGED (nothing will be submitted); open orders NOT cancelled: "
            + "; ".join(left_open)
            + f". Fix: {_CANCEL_FIX}",
            1,
        )


def _record_left_open(app: App, account: str, reason: str, refused: tuple[str, ...] = ()) -> str:
    """Audit that `account`'s open orders were not all cancelled; return "" or, when the
    record cannot be written, words saying so (the message must still reach the operator)."""
    from daemon.audit.events import OrdersNotCancelled
    from daemon.store.audit_log import AuditLog

    event = OrdersNotCancelled(reason=reason, refused=refused, fix=_CANCEL_FIX, actor=_actor())
    try:
        # Configured secrets a broker's error may quote are scrubbed by `AuditLog.append`.
        with app.database.transaction() as session:
            AuditLog(session).append(event, at=app.clock(), account=account)
    except TrimtabError as exc:
        return f" (not in the audit log: {exc})"
    return ""


def _kill_not_engaged(cause: str, code: int) -> NoReturn:
    """Say loudly that the switch is NOT engaged, why, and how to stop trading meanwhile."""
    fail(
        f"the kill switch is NOT engaged: {cause}. Until that is fixed, stop trading by "
        "stopping trimtab itself (`systemctl stop trimtab`, or end `trimtab run`); a trimtab "
        "that cannot write its database sends no order either, since every order is written "
        "down before it is sent",
        code,
    )


def resume(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", help="Only this account's state (default: all)."),
    ] = None,
) -> None:
    """Clear the kill switch and move HALTED or REDUCING accounts back to ACTIVE."""
    from daemon.store.killswitch import current, set_kill_switch
    from daemon.store.trading_state import account_state, set_trading_state

    with load_app(config, broker=False) as app, app.database.transaction() as session:
        before = current(session)
        names = [account] if account else list(app.settings.accounts)
        for name in names:
            app.settings.account(name)
        set_kill_switch(
            session, engaged=False, reason="operator resume", actor=_actor(), at=app.clock()
        )
        resumed = []
        for name in names:
            was = account_state(session, name)
            if was.state is not TradingState.ACTIVE:
                set_trading_state(
                    session,
                    name,
                    TradingState.ACTIVE,
                    reason="operator resume",
                    actor=_actor(),
                    at=app.clock(),
                )
                resumed.append(f"{name} (was {was.state}: {was.reason})")
    if before.engaged:
        console.print(styled(("kill switch cleared", "green"), "; cycles may submit again"))
    for line in resumed:
        console.print(styled(("active again", "green"), f": {line}"))
    if not before.engaged and not resumed:
        console.print("nothing was stopped; nothing changed (recorded anyway)")


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account: str
    broker: str
    type: str
    strategy: str
    last_cycle_id: str | None
    last_outcome: str | None
    last_started_at: datetime | None
    last_error: str | None
    unresolved_orders: tuple[str, ...]
    trading_state: str
    trading_state_reason: str


def status(
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """Show mode, kill switch, and each account's last cycle and unresolved orders."""

    from daemon.store.cycles import CycleStore
    from daemon.store.intents import IntentStore
    from daemon.store.killswitch import current
    from daemon.store.trading_state import account_state

    with (
        load_app(config, read_only=True, broker=False) as app,
        app.database.transaction() as session,
    ):
        kill_state = current(session)
        accounts = []
        for name, account in app.settings.accounts.items():
            last = CycleStore(session).latest(name)
            unresolved = IntentStore(session).unresolved(name)
            accounts.append(
                AccountStatus(
                    account=name,
                    broker=account.broker,
                    type=str(account.type),
                    strategy=account.strategy,
                    last_cycle_id=last.cycle_id if last else None,
                    last_outcome=last.outcome if last else None,
                    last_started_at=last.started_at if last else None,
                    last_error=last.error if last else None,
                    unresolved_orders=tuple(s.intent.client_order_id for s in unresolved),
                    trading_state=str(account_state(session, name).state),
                    trading_state_reason=account_state(session, name).reason,
                )
            )
    if as_json:
        print_json(
            {
                "mode": app.settings.mode,
                "state_dir": app.settings.state_dir,
                "kill_switch": kill_state,
                "accounts": accounts,
            }
        )
        return
    switch: tuple[str | tuple[str, str], ...] = (("clear", "green"),)
    if kill_state.engaged:
        since = f" since {kill_state.since:%Y-%m-%d %H:%M} UTC" if kill_state.since else ""
        switch = (("ENGAGED", "bold red"), f"{since} ({kill_state.reason})")
    console.print(styled("mode: ", (str(app.settings.mode), "bold"), "   kill switch: ", *switch))
    table = Table()
    for column in (
        "Account",
        "Broker",
        "Type",
        "Strategy",
        "State",
        "Last cycle",
        "Outcome",
        "Unresolved",
    ):
        table.add_column(column)
    for entry in accounts:
        table.add_row(
            entry.account,
            entry.broker,
            entry.type,
            entry.strategy,
            entry.trading_state.upper(),
            entry.last_cycle_id or "never",
            entry.last_outcome or "",
            str(len(entry.unresolved_orders)),
        )
    console.print(table)
