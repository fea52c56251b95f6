"""`trimtab orders`: the order intents of one day, what was meant and what became of each."""

from __future__ import annotations

__all__ = ["orders"]

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.money import usd

if TYPE_CHECKING:
    from daemon.store.orders_view import OrderLine

_STATUS_STYLE = {
    "filled": "green",
    "partially_filled": "yellow",
    "rejected": "red",
    "unknown": "bold red",
    "submitting": "bold red",
    "cancelled": "dim",
}


def orders(
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
    from daemon.store.orders_view import orders_between

    wanted_day = _parse_day(day) if day else None
    with load_app(config, read_only=True) as app:
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
    unresolved = sum(1 for line in lines if line.status in ("submitting", "unknown"))
    if unresolved:
        console.print(
            styled(
                (f"{unresolved} order(s) unresolved", "bold red"),
                ": the next cycle looks them up at the broker by client order id before it "
                "sends anything",
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
