"""`trimtab orders`: the order intents of one day, what was meant and what became of each;
`orders unresolved` and `orders settle`: the ones whose fate the broker has not told."""

from __future__ import annotations

__all__ = ["orders", "orders_app", "settle", "unresolved"]

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    load_app,
    print_json,
    styled,
)
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.money import usd

if TYPE_CHECKING:
    from daemon.cycle.unresolved import AwaitingBroker
    from daemon.store.orders_view import OrderLine

_STATUS_STYLE = {
    "filled": "green",
    "partially_filled": "yellow",
    "rejected": "red",
    "unknown": "bold red",
    "submitting": "bold red",
    "cancelled": "dim",
    "never_reached": "yellow",
}

orders_app = typer.Typer(
    help="Order intents: one day's (the default), the unresolved ones, settling one by hand.",
    no_args_is_help=False,
)


@orders_app.callback(invoke_without_command=True)
def orders(
    ctx: typer.Context,
    config: ConfigOption = None,  # type: ignore[assignment]
    day: Annotated[
        str | None, typer.Option("--date", help="Day to show, YYYY-MM-DD (default: today).")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this account.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the order intents of one day (in the exchange's time zone) and their outcome."""
    if ctx.invoked_subcommand is not None:
        return
    from daemon.store.orders_view import orders_between

    wanted_day = _parse_day(day) if day else None
    with load_app(config, read_only=True, broker=False) as app:
        tz = exchange_timezone(app.settings.exchange)
        wanted = wanted_day or trading_day(app.clock(), app.settings.exchange)
        start = datetime.combine(wanted, time(), tz)
        end = datetime.combine(wanted + timedelta(days=1), time(), tz)
        with app.database.transaction() as session:
            lines = orders_between(session, since=start, until=end, account=account)
    if as_json:
        print_json(lines)
        return
    if not lines:
        console.print(f"no orders on {wanted}" + (f" for {account}" if account else ""))
        return
    table = Table(
        title=f"orders {wanted} ({tz.key})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    # Ids stay whole so they can be copied; the broker's id and the message fold if needed.
    columns = (
        ("Time", "no_wrap"),
        ("Account", "no_wrap"),
        ("Client order id", "no_wrap"),
        ("Cycle", "no_wrap"),
        ("Symbol", "no_wrap"),
        ("Side", "no_wrap"),
        ("Qty", "right"),
        ("Status", "no_wrap"),
        ("Filled", "right"),
        ("Avg price", "right"),
        ("Broker order id", "fold"),
        ("Message", "fold"),
    )
    for name, how in columns:
        if how == "fold":
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, justify="right" if how == "right" else "left", no_wrap=True)
    for line in lines:
        table.add_row(*_cells(line, tz))
    console.print(table)
    waiting = sum(1 for line in lines if line.status in ("submitting", "unknown"))
    if waiting:
        console.print(
            styled(
                (f"{waiting} order(s) unresolved", "bold red"),
                ": the next cycle looks them up at the broker by client order id before it "
                "sends anything (`trimtab orders unresolved`)",
            )
        )


def _cells(line: OrderLine, tz: ZoneInfo) -> tuple[str | Text, ...]:
    style = _STATUS_STYLE.get(line.status)
    status = Text(line.status, style=style or "")
    return (
        line.created_at.astimezone(tz).strftime("%H:%M:%S"),
        line.account,
        line.client_order_id,
        _slot(line),
        line.symbol,
        line.side,
        _qty(line.qty) if line.notional is None else usd(line.notional),
        status,
        _qty(line.filled_qty),
        "" if line.avg_fill_price is None else usd(line.avg_fill_price),
        line.broker_order_id or "",
        line.message,
    )


def _slot(line: OrderLine) -> str:
    """Return the cycle's slot (manual, manual.2, ...) when its id is account:day:slot."""
    parts = line.cycle_id.split(":")
    if len(parts) == 3 and parts[0] == line.account:
        return parts[2]
    return line.cycle_id


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date {text!r} is not a date like 2026-11-24", 2)


AccountFilter = Annotated[str | None, typer.Option("--account", "-a", help="Only this account.")]


@orders_app.command("unresolved")
def unresolved(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: AccountFilter = None,
    as_json: JsonOption = False,
) -> None:
    """List order intents whose fate at the broker is not settled, oldest first.

    Each blocks new orders in its symbol until the next cycle's lookup resolves it, the
    broker's rule makes "not found" final (never reached the broker), or you settle it.
    Exits 1 when there is any.
    """
    from adapters.base import OrderAbsence
    from daemon.cycle.unresolved import awaiting_broker

    found: list[AwaitingBroker] = []
    # Without the brokers' keys the list still comes out (the absence rule then unknown).
    with load_app(config, broker=False) as app:
        names = [account] if account else list(app.settings.accounts)
        for name in names:
            app.settings.account(name)
            rule = None
            try:
                broker = app.broker(name)
                rule = broker.absence_rule() if isinstance(broker, OrderAbsence) else None
            except Exception as exc:  # listing must work with the broker unreachable
                console.print(styled((name, "yellow"), f": broker not built ({exc})"))
            found += awaiting_broker(app.database, name, rule)
    if as_json:
        print_json([_unresolved_json(item) for item in found])
    elif not found:
        console.print("no unresolved orders" + (f" for {account}" if account else ""))
    else:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for name in ("Account", "Client order id", "Symbol", "Side", "Size", "Status", "Sent (UTC)",
                     "Not found is final after (UTC)"):  # fmt: skip
            table.add_column(name, no_wrap=True)
        table.add_column("Message", overflow="fold")
        for item in found:
            stored, intent = item.stored, item.stored.intent
            final = item.final_after
            table.add_row(
                intent.account,
                intent.client_order_id,
                intent.symbol,
                str(intent.side),
                _qty(intent.qty) if intent.notional is None else usd(intent.notional),
                str(stored.status),
                f"{stored.created_at:%Y-%m-%d %H:%M:%S}",
                "never (settle it by hand)" if final is None else f"{final:%Y-%m-%d %H:%M:%S}",
                stored.message,
            )
        console.print(table)
        console.print(
            "Look at the account at the broker, then: trimtab orders settle CLIENT_ORDER_ID "
            '--as never-reached|cancelled|filled [--qty Q --price P] --reason "..."'
        )
    if found:
        raise typer.Exit(1)


def _unresolved_json(item: AwaitingBroker) -> dict[str, object]:
    stored, intent = item.stored, item.stored.intent
    return {
        "account": intent.account,
        "client_order_id": intent.client_order_id,
        "cycle_id": intent.cycle_id,
        "symbol": intent.symbol,
        "side": intent.side,
        "qty": intent.qty,
        "notional": intent.notional,
        "status": stored.status,
        "sent_at": stored.created_at,
        "final_if_not_found_after": item.final_after,
        "broker_order_id": stored.broker_order_id,
        "filled_qty": stored.filled_qty,
        "message": stored.message,
    }


SettleAs = Annotated[
    str,
    typer.Option(
        "--as",
        help="What the broker shows: never-reached (it has no such order), cancelled (ended "
        "with nothing filled), filled (give --qty and --price; less than the order's quantity "
        "means the rest was cancelled).",
    ),
]


@orders_app.command("settle")
def settle(
    client_order_id: Annotated[str, typer.Argument(help="The intent's client order id.")],
    outcome: SettleAs,
    reason: Annotated[
        str, typer.Option("--reason", help="What you saw at the broker (kept in the audit log).")
    ],
    qty: Annotated[
        str | None, typer.Option("--qty", help="With --as filled: the quantity filled.")
    ] = None,
    price: Annotated[
        str | None, typer.Option("--price", help="With --as filled: the average fill price.")
    ] = None,
    no_lookup: Annotated[
        bool,
        typer.Option(
            "--no-lookup",
            help="Do not ask the broker first (only when it cannot be reached and you have "
            "checked the account yourself).",
        ),
    ] = False,
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """Settle one unresolved order intent after looking at the account; audited.

    The broker is asked first: if it knows the order, its report is adopted instead and
    nothing is settled by hand (exit 1 when that differs from --as). Settled as filled,
    only the intent records the quantity and price: the fill itself enters the book and the
    tax ledger from the broker's fill history at the next reconciliation, never by hand.
    """
    from daemon.cycle.unresolved import SETTLE_AS
    from daemon.cycle.unresolved import settle as settle_intent
    from daemon.logs import get_logger
    from daemon.store.intents import IntentStore

    if outcome not in SETTLE_AS:
        fail(f"--as {outcome!r}: choose one of {', '.join(SETTLE_AS)}", 2)
    amounts = {name: _amount(text, name) for name, text in (("--qty", qty), ("--price", price))}
    with load_app(config) as app:
        with app.database.transaction() as session:
            found = IntentStore(session).find(client_order_id)
        if found is None:
            fail(f"no order intent {client_order_id} (see `trimtab orders unresolved`)", 2)
        account = found.intent.account
        with handle_errors():
            broker = None if no_lookup else app.broker(account)
            result = settle_intent(
                database=app.database,
                broker=broker,
                client_order_id=client_order_id,
                outcome=outcome,  # type: ignore[arg-type]  # checked against SETTLE_AS above
                reason=reason,
                clock=app.clock,
                log=get_logger(account=account),
                qty=amounts["--qty"],
                price=amounts["--price"],
            )
    if not result.by_hand:
        console.print(
            f"{client_order_id}: the broker has this order ({result.status}); its "
            "report was adopted, nothing settled by hand"
        )
        if result.status is not SETTLE_AS[outcome]:
            raise typer.Exit(1)
        return
    settled = f"settled as {result.status} ({result.detail})"
    console.print(f"{client_order_id}: {settled}")
    if outcome == "filled":
        console.print(
            "The fill itself is recorded from the broker's fill history by the next cycle's "
            "reconciliation; if the broker reports none, reconciliation halts the account and "
            "names the difference."
        )


def _amount(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        fail(f"{name} {text!r} is not a number", 2)
    if not value.is_finite() or value <= 0:
        fail(f"{name} must be a positive number, got {text}", 2)
    return value
