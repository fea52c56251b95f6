"""`trimtab worker`: run the cycles a cluster's scheduler enqueued (docs/scaling.md)."""

from __future__ import annotations

__all__ = ["worker"]

from typing import Annotated

import typer

from daemon.cli.common import ConfigOption, fail, load_app


def worker(
    config: ConfigOption = None,  # type: ignore[assignment]
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=32,
            help="Cycles this process runs at once (more processes scale the same way).",
        ),
    ] = 1,
) -> None:
    """Run queued account cycles until stopped (cluster mode, PostgreSQL only).

    Start any number, on any number of machines, all with the same configuration and
    database. SIGTERM or SIGINT stop taking jobs and let a running cycle finish. A worker
    that dies mid-cycle has its job run by another after `cluster.lease_seconds`.
    """
    from daemon.config.settings import cluster_problem
    from daemon.logs import set_verbosity, verbosity

    # A worker's log is its output, as the daemon's is.
    set_verbosity(max(verbosity(), 1))
    with load_app(config) as app:
        problem = cluster_problem(app.settings)
        if problem is not None:
            fail(f"trimtab worker: {problem.problem} (fix: {problem.fix})", 2)
        from daemon.service.lock import database_lock
        from daemon.service.worker import ClusterWorker  # the engine, only to run it

        with database_lock(app.database, cluster=True):
            code = ClusterWorker(app, concurrency=concurrency).run()
    raise typer.Exit(code)
