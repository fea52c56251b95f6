"""`trimtab health`: exit 0 when trimtab is doing its job, 1 (and say why) when it is not.

For a container's HEALTHCHECK, a monitoring timer, or a person. It reads the state database
only; it never contacts a broker.
"""

from __future__ import annotations

__all__ = ["health"]

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from daemon.cli.common import ConfigOption, JsonOption, console, load_app, print_json, styled


def health(
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
    notify: Annotated[
        bool,
        typer.Option("--notify", help="Also send failing checks as a notification (rate-limited)."),
    ] = False,
    no_daemon: Annotated[
        bool,
        typer.Option(
            "--no-daemon",
            help="Skip the heartbeat check (cycles run by `trimtab run --once` from a timer).",
        ),
    ] = False,
) -> None:
    """Check the daemon's heartbeat and each account's cycles; exit 1 if any check fails.

    Fails when the heartbeat is older than `health.stale_after_seconds`, an account's last
    cycle failed or never finished, its broker has been unreachable for longer than
    `health.broker_unreachable_minutes`, or it had `health.max_days_without_success`
    trading days with a slot and no successful cycle.
    """
    from daemon.config.secrets import secret_values
    from daemon.monitor.health import evaluate
    from daemon.monitor.messages import health_message
    from daemon.monitor.notify import Notifier
    from daemon.store.cycles import CycleStore
    from daemon.store.heartbeat import HeartbeatStore

    with load_app(config) as app:
        with app.database.transaction() as session:
            report = evaluate(
                CycleStore(session),
                HeartbeatStore(session),
                app.settings,
                app.clock(),
                heartbeat=not no_daemon,
            )
        sent = None
        if notify and not report.ok:
            notifier = Notifier(
                app.settings.notifications,
                database=app.database,
                clock=app.clock,
                secrets=secret_values(app.settings),
            )
            sent = notifier.send(health_message(report))
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "checked_at": report.checked_at,
                "checks": report.checks,
                "notification": sent,
            }
        )
    else:
        table = Table()
        for column in ("Check", "Account", "", "Detail"):
            table.add_column(column)
        for check in report.checks:
            mark = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
            table.add_row(check.name, check.account or "", mark, check.detail)
        console.print(table)
        verdict = ("healthy", "green") if report.ok else ("unhealthy", "bold red")
        console.print(styled(verdict, f" (notification: {sent})" if sent else ""))
    if not report.ok:
        raise typer.Exit(1)
