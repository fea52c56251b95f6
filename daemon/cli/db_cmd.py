"""`trimtab db init --force`: the operator's explicit start-over with an empty database."""

from __future__ import annotations

__all__ = ["db_app"]

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from daemon.bootstrap import broker_migrations, database_url
from daemon.cli.common import ConfigOption, console, fail, handle_errors, load_app
from daemon.store.db import open_database, reset_marker

db_app = typer.Typer(help="The state database.", no_args_is_help=True)


@db_app.command()
def init(
    config: ConfigOption = None,  # type: ignore[assignment]
    force: Annotated[
        bool, typer.Option("--force", help="Start over even though state existed before.")
    ] = False,
) -> None:
    """Create the state database; with --force, set a missing or broken one aside first."""
    with load_app(config) as app:
        url = database_url(app.settings)
        state_dir = app.settings.state_dir
        if force:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database:
                from pathlib import Path

                path = Path(parsed.database)
                if path.exists():
                    aside = path.with_name(
                        f"{path.name}.set-aside-{datetime.now(UTC):%Y%m%dT%H%M%S}"
                    )
                    path.rename(aside)
                    console.print(f"moved the old database to {aside}")
            reset_marker(state_dir)
        elif (state_dir / "database.json").exists():
            fail(
                "this state directory has a database already; nothing to do "
                "(use --force to start over)",
                1,
            )
        with handle_errors():
            open_database(url, state_dir, branches=broker_migrations()).close()
    console.print(f"database ready at {make_url(url).render_as_string(hide_password=True)}")
