"""`trimtab report`: write one trading day's report as a self-contained HTML page."""

from __future__ import annotations

__all__ = ["report"]

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from daemon.cli.common import ConfigOption, console, fail, load_app, visible
from daemon.cli.progress import progress
from daemon.core.calendar import trading_day


def report(
    config: ConfigOption = None,  # type: ignore[assignment]
    day: Annotated[
        str | None, typer.Option("--date", help="Trading day, YYYY-MM-DD (default: today).")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="One account (default: the household).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file to write (default: state_dir/reports/)."),
    ] = None,
    notify: Annotated[
        bool, typer.Option("--notify", help="Also send the summary through the notifications.")
    ] = False,
) -> None:
    """Write the day's report (value, allocation, drift, orders, refusals, tax, performance,
    health) and print its summary."""
    from daemon.config.secrets import secret_values
    from daemon.monitor.notify import Notifier
    from daemon.report.writer import send_report, write_daily_report

    with load_app(config) as app:
        wanted = _day(day) if day else trading_day(app.clock(), app.settings.exchange)
        if account is not None and account not in app.settings.accounts:
            known = ", ".join(sorted(app.settings.accounts))
            fail(f"--account {account!r} is not configured (accounts: {known})", 2)
        accounts = [account] if account else None
        try:
            with progress(f"writing the report of {wanted}") as advance:
                written = write_daily_report(
                    app, wanted, accounts=accounts, out=out, progress=advance
                )
        except OSError as exc:
            fail(f"cannot write the report: {exc.strerror or exc} ({exc.filename or out})")
        sent = None
        if notify:
            notifier = Notifier(
                app.settings.notifications,
                database=app.database,
                clock=app.clock,
                secrets=secret_values(app.settings),
            )
            sent = send_report(notifier, written)
    typer.echo(visible(written.summary))  # plain text for pipes; control characters shown
    console.print(
        f"report written to {written.path}" + (f" (notification: {sent})" if sent else "")
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date {text!r} is not a date like 2026-11-24", 2)
