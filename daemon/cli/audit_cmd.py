"""`trimtab audit`: read a day of the audit log; `trimtab audit verify`: check its hash chain."""

from __future__ import annotations

__all__ = ["audit_app"]

from datetime import date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.table import Table

from daemon.audit import AuditLog
from daemon.audit_view import summarize
from daemon.calendar import exchange_timezone, trading_day
from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app

audit_app = typer.Typer(help="Read and verify the audit log.", no_args_is_help=False)


@audit_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    config: ConfigOption = None,  # type: ignore[assignment]
    day: Annotated[
        str | None, typer.Option("--date", help="Day to show, YYYY-MM-DD (default: today).")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", "-a")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the audit records of one day (in the exchange's time zone)."""
    if ctx.invoked_subcommand is not None:
        return
    with load_app(config) as app:
        tz = exchange_timezone(app.settings.exchange)
        wanted = _parse_day(day) if day else trading_day(app.clock(), app.settings.exchange)
        start = datetime.combine(wanted, time(), tz)
        with app.database.transaction() as session:
            records = AuditLog(session).records(
                since=start, until=start + timedelta(days=1), account=account
            )
    if as_json:
        for record in records:
            typer.echo(_json_line(record.as_dict()))
        return
    if not records:
        console.print(f"no audit records on {wanted}" + (f" for {account}" if account else ""))
        return
    table = Table(title=f"audit {wanted} ({tz.key})", title_justify="left", show_lines=True)
    for column in ("#", "Time", "Account", "Kind", "What"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            str(record.seq),
            record.recorded_at.astimezone(tz).strftime("%H:%M:%S"),
            record.account or "",
            record.kind,
            summarize(record),
        )
    console.print(table)


@audit_app.command()
def verify(config: ConfigOption = None) -> None:  # type: ignore[assignment]
    """Check the hash chain; name the first record that was changed or removed."""
    with load_app(config) as app, app.database.transaction() as session:
        broken = AuditLog(session).verify()
        count = len(AuditLog(session).records())
    if broken is not None:
        fail(f"audit chain broken at record {broken}: it or its predecessor was altered")
    console.print(f"[green]audit chain intact[/] ({count} records)")


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date {text!r} is not a date like 2026-11-24", 2)


def _json_line(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True)
