"""`trimtab health`: exit 0 when trimtab is doing its job, 1 (and say why) when it is not.

For a container's HEALTHCHECK, a monitoring timer, or a person. It reads the state database
only; it never contacts a broker.
"""

from __future__ import annotations

__all__ = ["health"]

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from daemon.cli.common import ConfigOption, JsonOption, console, load_app, print_json, styled

if TYPE_CHECKING:
    from daemon.bootstrap import App
    from daemon.monitor.health import Check


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
    trading days with a slot and no successful cycle. In cluster mode it also checks the
    queue: a live worker, no job stalled on a dead one, no account whose jobs failed since
    its last successful cycle, nothing waiting too long.
    """
    from daemon.config.secrets import secret_values
    from daemon.monitor.health import HealthReport, evaluate
    from daemon.monitor.messages import health_message
    from daemon.monitor.notify import Notifier
    from daemon.store.cycles import CycleStore
    from daemon.store.heartbeat import HeartbeatStore
    from daemon.store.trading_state import account_state

    with load_app(config, broker=False) as app:
        with app.database.transaction() as session:
            report = evaluate(
                CycleStore(session),
                HeartbeatStore(session),
                app.settings,
                app.clock(),
                states={a: account_state(session, a) for a in app.settings.accounts},
                heartbeat=not no_daemon,
            )
        if app.settings.cluster.enabled:
            report = HealthReport(report.checked_at, report.checks + _queue(app))
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


def _queue(app: App) -> tuple[Check, ...]:
    """The queue's checks in cluster mode; one failing check when it cannot be read."""
    from daemon.core.errors import StateError
    from daemon.monitor.health import Check, queue_checks
    from daemon.store.cluster import queue_figures

    cluster = app.settings.cluster
    try:
        with app.database.transaction() as session:
            figures = queue_figures(
                session, queue=cluster.queue, lease_seconds=float(cluster.lease_seconds)
            )
    except StateError as exc:
        return (Check("queue", None, False, str(exc)),)
    return tuple(queue_checks(figures, app.settings))
