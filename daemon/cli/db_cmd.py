"""`trimtab db init --force`: the operator's explicit start-over with an empty database."""

from __future__ import annotations

__all__ = ["db_app"]

from pathlib import Path
from typing import Annotated

import typer

from daemon.cli.common import ConfigOption, console, fail, handle_errors, load_app

db_app = typer.Typer(help="The state database.", no_args_is_help=True)


@db_app.command()
def init(
    config: ConfigOption = None,  # type: ignore[assignment]
    force: Annotated[
        bool, typer.Option("--force", help="Start over even though state existed before.")
    ] = False,
) -> None:
    """Create the state database; with --force, set a missing or broken one aside first."""

    from daemon.bootstrap import broker_migrations, database_url
    from daemon.store.db import open_database, redact_url, reset_marker, set_aside_sqlite_file
    from daemon.store.state_faults import describe_os_error

    with load_app(config) as app:
        url = database_url(app.settings)
        state_dir = app.settings.state_dir
        if force:
            try:
                aside = set_aside_sqlite_file(url)
                if aside is not None:
                    console.print(f"moved the old database to {aside}")
                reset_marker(state_dir)
            except OSError as exc:
                failed = Path(exc.filename) if exc.filename else state_dir
                fail(f"cannot start over: {describe_os_error(exc, failed, state_dir)}", 1)
        elif (state_dir / "database.json").exists():
            fail(
                "this state directory has a database already; nothing to do "
                "(use --force to start over)",
                1,
            )
        with handle_errors():
            open_database(url, state_dir, branches=broker_migrations(), start_over=force).close()
    console.print(f"database ready at {redact_url(url)}")
