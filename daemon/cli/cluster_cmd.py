"""`trimtab cluster status`: the queue, its workers and the scheduler's lease."""

from __future__ import annotations

__all__ = ["cluster_app"]

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled

if TYPE_CHECKING:
    from datetime import datetime

    from daemon.store.cluster import JobRow, QueueFigures

cluster_app = typer.Typer(
    help="Cluster mode: the job queue, its workers and the scheduler's lease (docs/scaling.md).",
    no_args_is_help=True,
)


@cluster_app.command("status")
def status(
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """Show the workers, the queue's depth, running and failed jobs, and the lease holder.

    Exits 1 when no worker is alive or a running job's worker is gone.
    """
    from daemon.config.settings import cluster_problem
    from daemon.store.cluster import queue_figures

    with load_app(config, read_only=True) as app:
        problem = cluster_problem(app.settings)
        if problem is not None:
            fail(f"cluster status: {problem.problem} (fix: {problem.fix})", 2)
        cluster = app.settings.cluster
        now = app.clock()
        with app.database.transaction() as session:
            figures = queue_figures(
                session, queue=cluster.queue, lease_seconds=float(cluster.lease_seconds)
            )
    if as_json:
        print_json(_json(figures, now))
    else:
        _print(figures, now, float(cluster.lease_seconds))
    if figures.live_workers == 0 or figures.stalled:
        raise typer.Exit(1)


def _json(figures: QueueFigures, now: datetime) -> dict[str, object]:
    lease = figures.lease
    return {
        "queue": figures.queue,
        "checked_at": now,
        "workers": [
            {"id": w.worker_id, "last_heartbeat": w.last_heartbeat} for w in figures.workers
        ],
        "live_workers": figures.live_workers,
        "jobs": {
            "waiting": figures.todo,
            "running": figures.doing,
            "succeeded": figures.succeeded,
            "failed": figures.failed,
        },
        "oldest_waiting": figures.oldest_waiting,
        "running": [_job_json(j) for j in figures.running],
        "stalled": [_job_json(j) for j in figures.stalled],
        "failed": [_job_json(j) for j in figures.failed_jobs],
        "lease": None
        if lease is None
        else {"holder": lease.holder, "epoch": lease.epoch, "acquired_at": lease.acquired_at},
    }


def _job_json(job: JobRow) -> dict[str, object]:
    return {
        "id": job.job_id,
        "account": job.account,
        "day": job.day,
        "slot": job.slot,
        "epoch": job.epoch,
        "attempts": job.attempts,
        "worker": job.worker_id,
    }


def _print(figures: QueueFigures, now: datetime, lease_seconds: float) -> None:
    lease = figures.lease
    holder = (
        "no scheduler has led yet"
        if lease is None
        else (
            f"{lease.holder}, epoch {lease.epoch}, since {lease.acquired_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    )
    console.print(styled(("Scheduler lease: ", "bold"), holder))
    waited = (
        f", the oldest for {figures.oldest_wait_seconds:.0f} s"
        if figures.oldest_wait_seconds is not None
        else ""
    )
    console.print(
        styled(
            (f"Queue {figures.queue}: ", "bold"),
            f"{figures.todo} waiting{waited}, {figures.doing} running, "
            f"{figures.succeeded} succeeded, {figures.failed} failed",
        )
    )
    workers = Table(title="Workers")
    for column in ("Worker", "Last heartbeat", ""):
        workers.add_column(column)
    for w in figures.workers:
        age = w.age_seconds  # by the database server's clock, which stamped the beat
        alive = ("alive", "green") if age <= lease_seconds else ("silent", "bold red")
        workers.add_row(str(w.worker_id), f"{age:.0f} s ago", styled(alive))
    console.print(workers)
    stalled = {j.job_id for j in figures.stalled}
    for title, jobs in (("Running", figures.running), ("Failed (latest)", figures.failed_jobs)):
        if not jobs:
            continue
        table = Table(title=title)
        for column in ("Job", "Account", "Day", "Slot", "Attempts", "Worker"):
            table.add_column(column)
        for j in jobs:
            worker = "" if j.worker_id is None else str(j.worker_id)
            if j.job_id in stalled:
                worker = f"{worker} (gone)".strip()
            table.add_row(str(j.job_id), j.account, j.day, j.slot, str(j.attempts), worker)
        console.print(table)
    if figures.live_workers == 0:
        console.print(styled(("no live worker", "bold red"), ": start `trimtab worker -c CONFIG`"))
