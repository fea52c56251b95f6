"""The state database: `trimtab db init --force`, the operator's explicit start-over with an
empty database, and `trimtab db restored`, run after a database was restored from a backup.
Neither runs beside a trimtab that uses the state directory or the database (`_alone`)."""

from __future__ import annotations

__all__ = ["db_app"]

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli.common import ConfigOption, console, fail, handle_errors, load_app
from daemon.service.lock import database_lock, instance_lock

if TYPE_CHECKING:
    from daemon.bootstrap import App
    from daemon.store.db import Database

db_app = typer.Typer(help="The state database.", no_args_is_help=True)


@db_app.command()
def init(
    config: ConfigOption = None,  # type: ignore[assignment]
    force: Annotated[
        bool, typer.Option("--force", help="Start over even though state existed before.")
    ] = False,
) -> None:
    """Create the state database; with --force, set a missing or broken one aside first."""

    from daemon.bootstrap import database_url
    from daemon.store.db import open_database, redact_url, reset_marker, set_aside_sqlite_file
    from daemon.store.state_faults import describe_os_error

    with load_app(config) as app, handle_errors(), _alone(app, "trimtab db init", postgres=False):
        url = database_url(app.settings)
        state_dir = app.settings.state_dir
        aside: Path | None = None
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
        # The configured brokers' tables (and any the database records): an installed plugin
        # no account uses is never imported, so a broken one cannot block `db init`.
        branches = app.database_branches()
        database = open_database(url, state_dir, branches=branches, start_over=force)
        try:
            if aside is not None:
                _pause_after_start_over(database, aside, app.clock())
        finally:
            database.close()
    console.print(f"database ready at {redact_url(url)}")
    if aside is not None:
        console.print(
            "kill switch engaged: the new database knows no order, fill or kill switch of the "
            "old one. Check each account at its broker (`trimtab status`, `trimtab plan`), "
            "then `trimtab resume`"
        )


@contextmanager
def _alone(app: App, command: str, *, postgres: bool) -> Iterator[None]:
    """Hold the state directory's lock and the database's, as a running trimtab does, or
    raise `StateError` naming the trimtab that holds one: before anything is moved or written.

    A daemon keeps its connection to the database file it opened: `db init --force` would
    set that file aside under it, and every later command (`trimtab kill` too) would write to
    a new database the daemon never reads, while it goes on trading. A SQLite database is
    locked before it is opened (a file beside it); a PostgreSQL one (`postgres`) once opened,
    as `trimtab run` does. `db init` replaces nothing in a PostgreSQL database: only this
    state directory's marker and audit head, which the state directory's lock covers.
    """
    from daemon.bootstrap import database_url
    from daemon.store.db import Database

    with instance_lock(app.settings.state_dir):
        # An engine only, which opens no file: the SQLite database's path for its lock.
        probe = Database(database_url(app.settings), state_dir=app.settings.state_dir)
        try:
            if probe.is_sqlite:
                with database_lock(probe, cluster=False, command=command):
                    yield
            elif postgres:
                with database_lock(app.database, cluster=False, command=command):
                    yield
            else:
                yield
        finally:
            probe.close()


def _pause_after_start_over(database: Database, aside: Path, at: datetime) -> None:
    """Engage the kill switch in the new database, so nothing is sent until the operator has
    looked: an engaged switch, open orders and halted accounts were in the old one, and each
    account's first cycle takes the broker's positions as its book without question."""
    from daemon.store.killswitch import set_kill_switch

    with database.transaction() as session:
        set_kill_switch(
            session,
            engaged=True,
            reason=f"started over with an empty database (the old one is at {aside}); check "
            "each account at its broker, then `trimtab resume`",
            actor="trimtab db init --force",
            at=at,
        )


@db_app.command()
def restored(
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """After restoring the database from a backup: give it a new identity, engage the kill switch.

    A restored database does not know the cycles that ran after its backup, so the same day's
    cycle would make the client order ids those cycles sent, which the broker keeps forever.
    With a new identity every new order id is new; orders stored before keep their ids.
    Safe to run again: each run gives another new identity.
    """
    from daemon.audit.head import AUDIT_HEAD_NAME, read_head
    from daemon.store.audit_log import AuditLog
    from daemon.store.intents import renew_database_identity
    from daemon.store.killswitch import set_kill_switch

    with (
        load_app(config, broker=False) as app,
        handle_errors(),
        _alone(app, "trimtab db restored", postgres=True),
    ):
        head_path = app.settings.state_dir / AUDIT_HEAD_NAME
        head = read_head(head_path)
        with app.database.transaction() as session:
            broken = AuditLog(session).check(head)
        if broken is not None:
            fail(
                f"nothing changed: the restored database's audit chain is broken at record "
                f"{broken.seq}: {broken.problem}. If {head_path} is the head file of the "
                "trimtab that ran after the backup, move it aside (it records what was lost) "
                "and put the backup's own head file in its place (docs/operations.md, \"Back "
                'up and restore"); without one, move it aside only',
                1,
            )
        at = app.clock()
        with app.database.transaction() as session:
            old, new = renew_database_identity(
                session,
                reason="database restored from a backup",
                actor="trimtab db restored",
                at=at,
            )
            set_kill_switch(
                session,
                engaged=True,
                reason=f"database restored from a backup (new database identity {new}, was "
                f"{old}): it knows no order, fill, halt or kill switch after the backup; "
                "check each account at its broker, then `trimtab resume`",
                actor="trimtab db restored",
                at=at,
            )
    console.print(
        f"new database identity {new} (was {old}): client order ids made from now on differ "
        "from every id sent before or after the backup; stored orders keep theirs"
    )
    console.print(
        "kill switch engaged: the restored database knows nothing that happened after the "
        "backup. Check each account at its broker (`trimtab status`, `trimtab plan`), then "
        "`trimtab resume`"
    )
