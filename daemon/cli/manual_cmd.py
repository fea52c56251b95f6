"""`trimtab manual ...`: accounts at brokers without an API (docs/manual.md).

`show` reads the newest positions export as trimtab will plan on it; `tickets` lists the
order tickets to enter by hand; `confirm` records what was done at the broker, which the
manual broker then reports as its fills. Bad input (an export trimtab cannot read, a
confirmation that fits no ticket) exits 2, records nothing, and is audited (`manual_input`).
"""

from __future__ import annotations

__all__ = ["manual_app"]

import csv
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich import box
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
    from adapters.manual.broker import ManualBroker
    from adapters.manual.tickets import Confirm
    from daemon.audit.events import ManualInput
    from daemon.bootstrap import App

manual_app = typer.Typer(
    help="Accounts at brokers without an API: their exports and order tickets.",
    no_args_is_help=True,
)

ManualAccountOption = Annotated[
    str | None,
    typer.Option("--account", "-a", help="Manual account (default: the only one)."),
]


def _broker(app: App, account: str | None) -> tuple[str, ManualBroker]:
    from adapters.manual.broker import ManualBroker

    account = broker_account(app, account, broker="manual", noun="manual", doc="docs/manual.md")
    broker = app.broker(account)
    assert isinstance(broker, ManualBroker)
    return account, broker


def _audit(app: App, account: str, event: ManualInput) -> None:
    from daemon.store.audit_log import AuditLog

    with app.database.transaction() as session:
        AuditLog(session).append(event, at=app.clock(), account=account)


def _refuse(app: App, account: str, event: ManualInput) -> None:
    """Audit refused input and exit 2 with its message."""
    _audit(app, account, event)
    fail(event.detail, 2)


@manual_app.command("show")
def show(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: ManualAccountOption = None,
) -> None:
    """Read the newest positions export as trimtab plans on it (with confirmed fills since)."""
    from adapters.manual.parsing import ExportError
    from daemon.audit.events import ManualInput

    with load_app(config) as app:
        name, broker = _broker(app, account)
        try:
            read = broker.read_export()
            now = broker.account_now()
        except ExportError as exc:
            _refuse(app, name, ManualInput(action="export", accepted=False, detail=str(exc)))
            raise  # unreachable: _refuse exits
        _audit(
            app,
            name,
            ManualInput(
                action="export",
                accepted=True,
                detail=f"{read.export.rows} row(s) read",
                file=str(read.path),
            ),
        )
        age = (app.clock() - read.as_of).total_seconds() / 3600
        source = "stated in the export" if read.stated else "the file's modification time"
        console.print(styled(("export ", "bold"), str(read.path)))
        console.print(
            f"as of {read.as_of.isoformat(timespec='minutes')} ({source}), {age:.1f} hours old; "
            f"limit {broker.settings.max_export_age_hours} hours"
        )
        in_export = {h.symbol: h.qty for h in read.export.holdings}
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        table.add_column("Symbol", no_wrap=True)
        for column in ("In export", "Now", "Price", "Value"):
            table.add_column(column, no_wrap=True, justify="right")
        for symbol in sorted(set(in_export) | set(now.positions)):
            quote = now.quotes.get(symbol)
            qty = now.positions.get(symbol, Decimal(0))
            table.add_row(
                symbol,
                str(in_export.get(symbol, Decimal(0))),
                str(qty),
                usd(quote.price) if quote else "-",
                usd(qty * quote.price) if quote else "-",
            )
        console.print(table)
        console.print(f"cash {usd(read.export.cash)} in the export, {usd(now.cash)} now")
        if now.positions != in_export or now.cash != read.export.cash:
            console.print("now = the export plus the fills you confirmed after its time")
        if now.held:
            console.print(
                f"{usd(now.held)} of it is for open buy tickets: trimtab plans with "
                f"{usd(now.cash - now.held)}"
            )


@manual_app.command("tickets")
def tickets(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: ManualAccountOption = None,
    every: Annotated[bool, typer.Option("--all", help="Confirmed and closed ones too.")] = False,
    json_out: JsonOption = False,
) -> None:
    """List the order tickets to enter at the broker by hand (open ones by default)."""
    from adapters.manual.tickets import OPEN_CSV_COLUMNS, open_row

    with load_app(config, read_only=True) as app:
        name, broker = _broker(app, account)
        found = [t for t in broker.tickets.all() if every or t.status.is_open]
        rows = [open_row(t) for t in found]
        if json_out:
            print_json([dict(zip(OPEN_CSV_COLUMNS, row, strict=True)) for row in rows])
            return
        if not rows:
            console.print(f"{name}: no {'' if every else 'open '}order tickets")
            return
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        headers = ("Ticket", "Issued (UTC)", "Symbol", "Side", "Shares", "Dollars", "Type",
                   "Limit", "Ref. price", "Status", "Filled")  # fmt: skip
        for header in headers:
            table.add_column(header, no_wrap=True)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        console.print(f"the same as CSV: {broker.tickets.open_csv}")
        console.print(
            f"once entered at the broker: trimtab manual confirm -a {name} TICKET --qty Q "
            "--price P (or --not-done)"
        )


def _number(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a number")
    return value


def _when(text: str | None, app: App) -> datetime:
    """`--at`: ISO date-time; without an offset, in the exchange's time zone."""
    from daemon.core.calendar import exchange_timezone

    if text is None or not text.strip():
        return app.clock()
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"time {text!r} is not an ISO date-time such as 2026-12-04T10:31 (fix: write it so)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=exchange_timezone(app.settings.exchange))
    return at


def _rest(text: str | None) -> Literal["open", "cancelled"] | None:
    if text is None or not text.strip():
        return None
    if text.strip() in ("open", "cancelled"):
        return "open" if text.strip() == "open" else "cancelled"
    raise ValueError(f"rest {text!r} is neither open nor cancelled")


@manual_app.command("confirm")
def confirm(
    ticket: Annotated[
        str | None,
        typer.Argument(help="The ticket's client order id (or its end) from `manual tickets`."),
    ] = None,
    config: ConfigOption = None,  # type: ignore[assignment]
    account: ManualAccountOption = None,
    qty: Annotated[str | None, typer.Option("--qty", help="Shares done.")] = None,
    price: Annotated[str | None, typer.Option("--price", help="Average price per share.")] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When it was done (ISO; default now; exchange time zone)."),
    ] = None,
    commission: Annotated[str, typer.Option("--commission", help="Fees paid.")] = "0",
    rest: Annotated[
        str | None,
        typer.Option("--rest", help="What became of the unfilled rest: open or cancelled."),
    ] = None,
    not_done: Annotated[
        bool, typer.Option("--not-done", help="Nothing (more) of the ticket was done.")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="A note, kept in the audit.")] = "",
    fills: Annotated[
        Path | None,
        typer.Option("--fills", help="CSV: client_order_id,qty,price[,at,commission,rest]."),
    ] = None,
) -> None:
    """Record what was actually done at the broker for order tickets (fills or not done)."""
    from adapters.manual.tickets import Ticket, TicketError
    from daemon.audit.events import ManualInput

    with load_app(config) as app:
        name, broker = _broker(app, account)
        store = broker.tickets
        try:
            if not_done:
                if ticket is None or fills is not None or qty is not None or price is not None:
                    raise ValueError(
                        "--not-done goes with one TICKET and no --qty, --price, --fills"
                    )
                closed = store.close_not_done(ticket, reason.strip() or "not done (manual confirm)")
                done: list[Ticket] = [closed]
            else:
                confirms = _confirms(app, ticket, qty, price, at, commission, rest, fills)
                done = store.confirm_all(confirms, now=app.clock())
        except (TicketError, ValueError, OSError) as exc:
            detail = str(exc)
            if isinstance(exc, ValueError | OSError) and "fix:" not in detail:
                detail += " (fix: see `trimtab manual confirm --help` and docs/manual.md)"
            _refuse(
                app,
                name,
                ManualInput(
                    action="confirm", accepted=False, detail=detail, client_order_id=ticket
                ),
            )
            return
        for after in done:
            intent = after.intent
            _audit(
                app,
                name,
                ManualInput(
                    action="confirm",
                    accepted=True,
                    detail=reason.strip() or f"confirmed by hand: {after.status}",
                    client_order_id=intent.client_order_id,
                    symbol=intent.symbol,
                    side=intent.side,
                    filled_qty=after.filled_qty,
                    price=after.avg_price,
                    status=after.status,
                ),
            )
            console.print(
                f"{intent.client_order_id} {intent.side} {intent.symbol}: {after.status}, "
                f"filled {after.filled_qty}"
                + (f" at {usd(after.avg_price)} average" if after.avg_price is not None else "")
            )
        console.print(
            "the next cycle records the fills in the book and the tax ledger "
            f"(trimtab run --once -a {name}); the next export must agree with them"
        )


def _confirms(
    app: App,
    ticket: str | None,
    qty: str | None,
    price: str | None,
    at: str | None,
    commission: str,
    rest: str | None,
    fills: Path | None,
) -> list[Confirm]:
    """The confirmations the command line or the fills file gives; ValueError if malformed."""
    from adapters.manual.tickets import Confirm

    if fills is not None:
        if ticket is not None or qty is not None or price is not None:
            raise ValueError("--fills goes alone: the file names each ticket, quantity and price")
        return _confirms_from_file(app, fills)
    if ticket is None or qty is None or price is None:
        raise ValueError("name the TICKET with --qty and --price (or --not-done, or --fills FILE)")
    return [
        Confirm(
            ticket,
            _number(qty, "--qty") or Decimal(0),
            _number(price, "--price") or Decimal(0),
            _when(at, app),
            _number(commission, "--commission") or Decimal(0),
            _rest(rest),
        )
    ]


_FILL_COLUMNS = ("client_order_id", "qty", "price")


def _confirms_from_file(app: App, path: Path) -> list[Confirm]:
    from adapters.manual.tickets import Confirm

    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
        header = [] if not rows else list(rows[0])
    missing = [c for c in _FILL_COLUMNS if c not in header]
    if not rows or missing:
        raise ValueError(
            f"{path}: needs the columns {','.join(_FILL_COLUMNS)} (and optionally "
            f"at,commission,rest); found {','.join(header) or 'no rows'} (fix: write them so)"
        )
    found = []
    for number, row in enumerate(rows, start=2):
        try:
            found.append(
                Confirm(
                    row["client_order_id"].strip(),
                    _number(row["qty"], "qty") or Decimal(0),
                    _number(row["price"], "price") or Decimal(0),
                    _when(row.get("at"), app),
                    _number(row.get("commission") or "0", "commission") or Decimal(0),
                    _rest(row.get("rest")),
                )
            )
        except ValueError as exc:
            raise ValueError(f"{path}, row {number}: {exc}") from None
    return found
