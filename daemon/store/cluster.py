"""Cluster mode's SQL: procrastinate's schema, the scheduler's lease, slots enqueued as jobs,
advisory locks held on a connection of their own, and the queue's figures.

Everything here is PostgreSQL only (`ensure_queue_schema` refuses SQLite with the fix).
procrastinate's tables live in the same schema as trimtab's (its names all start with
`procrastinate_`, none of trimtab's do), so a slot's job row commits in the same transaction
as the lease check that fences it, and a worker's cycle writes its intents to the same
database the job row is in.
"""

from __future__ import annotations

__all__ = [
    "CYCLE_TASK",
    "SCHEDULER_LEASE",
    "JobRow",
    "Lease",
    "QueueFigures",
    "SessionLock",
    "StaleEpoch",
    "WorkerBeat",
    "check_epoch",
    "enqueue_slot",
    "ensure_queue_schema",
    "is_connection_error",
    "later_slot_enqueued",
    "lease",
    "libpq_conninfo",
    "prune_queue",
    "queue_figures",
    "take_lease",
    "taken_slots",
]

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from daemon.core.errors import StateError
from daemon.store.cluster_models import ClusterLeaseRow, ClusterSlotRow
from daemon.store.cycles import slot_base
from daemon.store.db import Database

CYCLE_TASK = "trimtab.run_slot"
"""The one task name: a job is one account's slot."""
SCHEDULER_LEASE = "scheduler"
_KEY = "hashtextextended(:k || '@' || coalesce(current_schema(), ''), 0)"
"""An advisory lock's key: the name and the schema (advisory locks are per database)."""
_SCHEMA_LOCK = "trimtab:queue-schema"
"""Advisory lock taken while procrastinate's schema is checked and applied: two processes
starting at once apply it once."""


class StaleEpoch(StateError):
    """A scheduler whose lease was taken over tried to write: refused."""


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    epoch: int
    holder: str
    acquired_at: datetime


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    worker_id: int
    last_heartbeat: datetime
    age_seconds: float
    """Since its last heartbeat, by the database server's clock (which stamped the beat)."""


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: int
    status: str
    account: str
    day: str
    slot: str
    epoch: int
    attempts: int
    worker_id: int | None
    lock: str | None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """What `trimtab cluster status` and the health check read from the queue."""

    queue: str
    workers: tuple[WorkerBeat, ...]
    live_workers: int
    todo: int
    doing: int
    succeeded: int
    failed: int
    oldest_waiting: datetime | None
    """When the longest-waiting job became ready to run (None: nothing waits)."""
    oldest_wait_seconds: float | None
    """How long it has waited, by the database server's clock (None: nothing waits)."""
    running: tuple[JobRow, ...]
    stalled: tuple[JobRow, ...]
    """Running jobs whose worker is gone or silent longer than the lease."""
    failed_jobs: tuple[JobRow, ...]
    unrecovered: tuple[JobRow, ...]
    """Failed jobs that ended after their account's last successful cycle (or of an account
    that never had one): the account's slots are not being run."""
    lease: Lease | None


def ensure_queue_schema(database: Database) -> bool:
    """Apply procrastinate's schema unless it is there; return whether it was applied.

    Idempotent and safe to race: the check and the apply run under one advisory lock, in one
    transaction (PostgreSQL's DDL is transactional, so a failure leaves nothing half-made).
    """
    if database.is_sqlite:
        raise StateError(
            "cluster mode needs a PostgreSQL state database, not SQLite; set database_url "
            "to postgresql+psycopg://USER@HOST/DB, or run one `trimtab run` without it"
        )
    from procrastinate.schema import SchemaManager

    with database.transaction() as session:
        session.execute(
            text("SELECT pg_advisory_xact_lock(" + _KEY + ")"),
            {"k": _SCHEMA_LOCK},
        )
        present = session.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if present is not None:
            return False
        # No parameters: psycopg sends the whole script at once, `%` signs as they are.
        driver = session.connection().connection.driver_connection
        assert driver is not None  # a live connection inside a transaction
        driver.execute(SchemaManager.get_schema())
    return True


def libpq_conninfo(url: str) -> str:
    """Return the libpq form of a SQLAlchemy PostgreSQL URL (what procrastinate's psycopg
    pool connects with): same server, user, database and options such as search_path."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def is_connection_error(exc: BaseException) -> bool:
    """Tell whether `exc` is the database being away (worth another attempt later), as
    opposed to a statement the database refused."""
    import psycopg

    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def take_lease(session: Session, name: str, holder: str, now: datetime) -> int:
    """Record `holder` as the lease's holder in a new epoch; return the epoch."""
    row = session.get(ClusterLeaseRow, name, with_for_update=True)
    if row is None:
        row = ClusterLeaseRow(name=name, epoch=1, holder=holder, acquired_at=now)
        session.add(row)
    else:
        row.epoch += 1
        row.holder = holder
        row.acquired_at = now
    session.flush()
    return row.epoch


def lease(session: Session, name: str) -> Lease | None:
    row = session.get(ClusterLeaseRow, name)
    return None if row is None else Lease(row.name, row.epoch, row.holder, row.acquired_at)


def check_epoch(session: Session, name: str, epoch: int) -> None:
    """Raise `StaleEpoch` unless `epoch` is the lease's current one.

    The row is share-locked until the transaction ends: a takeover (which updates it) waits
    for a write already fenced, and a write after the takeover sees the new epoch.
    """
    current = session.execute(
        select(ClusterLeaseRow.epoch).where(ClusterLeaseRow.name == name).with_for_update(read=True)
    ).scalar_one_or_none()
    if current != epoch:
        raise StaleEpoch(
            f"the {name} lease is in epoch {current}, this process held epoch {epoch}: "
            "another scheduler took over; this one stops writing"
        )


def enqueue_slot(
    session: Session,
    *,
    epoch: int,
    queue: str,
    account: str,
    day: date,
    slot: str,
    lock: str,
    now: datetime,
) -> int | None:
    """Enqueue one account slot as a job, fenced by the lease's epoch; return its job id, or
    None when the slot was enqueued before (by this or any other scheduler).

    The `cluster_slots` row, the job row and the epoch check commit together or not at all.
    The job's queueing lock is the slot id too, so procrastinate itself holds at most one
    waiting job per slot.
    """
    check_epoch(session, SCHEDULER_LEASE, epoch)
    slot_id = slot_base(account, day, slot)
    inserted = session.execute(
        pg_insert(ClusterSlotRow)
        .values(
            slot_id=slot_id,
            account=account,
            trading_day=day,
            slot=slot,
            queue=queue,
            epoch=epoch,
            enqueued_at=now,
        )
        .on_conflict_do_nothing(index_elements=["slot_id"])
        .returning(ClusterSlotRow.slot_id)
    ).scalar_one_or_none()
    if inserted is None:
        return None
    args = {"account": account, "day": day.isoformat(), "slot": slot, "epoch": epoch}
    # procrastinate's own defer function (what its `defer` calls), inside this transaction.
    job_id: int = session.execute(
        text(
            "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, "
            ":qlock, CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
        ),
        {
            "queue": queue,
            "task": CYCLE_TASK,
            "lock": lock,
            "qlock": slot_id,
            "args": json.dumps(args),
        },
    ).scalar_one()
    session.execute(
        update(ClusterSlotRow).where(ClusterSlotRow.slot_id == slot_id).values(job_id=job_id)
    )
    return job_id


def later_slot_enqueued(session: Session, account: str, day: date, slot: str) -> bool:
    """Tell whether a later slot of the account's same trading day has been enqueued."""
    later = session.execute(
        select(ClusterSlotRow.slot_id)
        .where(
            ClusterSlotRow.account == account,
            ClusterSlotRow.trading_day == day,
            ClusterSlotRow.slot > slot,
        )
        .limit(1)
    ).scalar_one_or_none()
    return later is not None


def taken_slots(session: Session, account: str, first_day: date) -> list[tuple[date, str]]:
    """Return (trading day, slot) of the account's enqueued slots, from `first_day` on, whose
    job a worker has taken off the queue and not finished (procrastinate's `doing`)."""
    rows = session.execute(
        text(
            "SELECT s.trading_day, s.slot FROM cluster_slots s"
            " JOIN procrastinate_jobs j ON j.id = s.job_id"
            " WHERE s.account = :a AND s.trading_day >= :d AND j.status = 'doing'"
        ),
        {"a": account, "d": first_day},
    )
    return [(r.trading_day, r.slot) for r in rows]


def queue_figures(session: Session, *, queue: str, lease_seconds: float) -> QueueFigures:
    """Read the queue's workers, jobs and lease (`StateError` if the queue was never set up).

    Ages are measured in SQL against the server's `now()`: procrastinate stamps heartbeats
    and events with the server's clock, so a checking host whose clock is off by more than
    the lease would otherwise take every live worker for dead (or a long wait for none).
    """
    if session.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
        raise StateError(
            "the job queue is not set up in this database: start `trimtab run --workers` or "
            "`trimtab worker` once (either applies it)"
        )
    workers = tuple(
        WorkerBeat(int(r.id), r.last_heartbeat, float(r.age))
        for r in session.execute(
            text(
                "SELECT id, last_heartbeat, extract(epoch FROM now() - last_heartbeat) AS age"
                " FROM procrastinate_workers ORDER BY id"
            )
        )
    )
    counts: dict[str, int] = {
        str(r.status): int(r.n)
        for r in session.execute(
            text(
                "SELECT status, count(*) AS n FROM procrastinate_jobs "
                "WHERE queue_name = :q GROUP BY status"
            ),
            {"q": queue},
        )
    }
    oldest = session.execute(
        text(
            "SELECT min(ready) AS ready, extract(epoch FROM now() - min(ready)) AS waited FROM ("
            " SELECT greatest(max(e.at), j.scheduled_at) AS ready"
            " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
            " WHERE j.status = 'todo' AND j.queue_name = :q"
            " GROUP BY j.id, j.scheduled_at) waiting WHERE ready <= now()"
        ),
        {"q": queue},
    ).one()
    running = _jobs(session, queue, "doing")
    alive = {w.worker_id for w in workers if w.age_seconds <= lease_seconds}
    stalled = tuple(j for j in running if j.worker_id is None or j.worker_id not in alive)
    return QueueFigures(
        queue=queue,
        workers=workers,
        live_workers=len(alive),
        todo=counts.get("todo", 0),
        doing=counts.get("doing", 0),
        succeeded=counts.get("succeeded", 0),
        failed=counts.get("failed", 0),
        oldest_waiting=oldest.ready,
        oldest_wait_seconds=None if oldest.waited is None else float(oldest.waited),
        running=running,
        stalled=stalled,
        failed_jobs=_jobs(session, queue, "failed", limit=20),
        unrecovered=_unrecovered(session, queue),
        lease=lease(session, SCHEDULER_LEASE),
    )


def prune_queue(session: Session, *, queue: str, before: datetime) -> tuple[int, int]:
    """Forget the queue's jobs that ended (succeeded, failed, cancelled or aborted) before
    `before`, with their events, and the slots of trading days before it; return (jobs,
    slots) removed.

    A job's end is its latest event, as procrastinate's own `remove_old_jobs` reads it; a job
    still waiting or running is kept however old. Only this installation's queue is touched
    (others may share the database). A slot's row is what stops it being enqueued twice, so
    only days long past lose theirs.
    """
    jobs = session.execute(
        text(
            "DELETE FROM procrastinate_jobs j"
            " WHERE j.queue_name = :q"
            " AND j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')"
            " AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) < :before"
            " AND NOT EXISTS ("
            "  SELECT 1 FROM procrastinate_periodic_defers p WHERE p.job_id = j.id)"
        ),
        {"q": queue, "before": before},
    )
    slots = session.execute(
        delete(ClusterSlotRow).where(
            ClusterSlotRow.queue == queue, ClusterSlotRow.trading_day < before.date()
        )
    )
    return int(jobs.rowcount), int(slots.rowcount)  # type: ignore[attr-defined]


def _jobs(session: Session, queue: str, status: str, limit: int = 200) -> tuple[JobRow, ...]:
    rows = session.execute(
        text(
            "SELECT id, status, args, attempts, worker_id, lock FROM procrastinate_jobs "
            "WHERE queue_name = :q AND status = CAST(:s AS procrastinate_job_status) "
            "ORDER BY id DESC LIMIT :n"
        ),
        {"q": queue, "s": status, "n": limit},
    )
    return tuple(_job(r) for r in rows)


def _unrecovered(session: Session, queue: str, limit: int = 200) -> tuple[JobRow, ...]:
    """The failed jobs no successful cycle of their account finished after (newest first).

    A job ends failed when a worker refused it (an account missing from its configuration, a
    bug) or after `max_attempts` of passing trouble; either way the account's next success
    is what says its slots run again.
    """
    rows = session.execute(
        text(
            "SELECT j.id, j.status, j.args, j.attempts, j.worker_id, j.lock"
            " FROM procrastinate_jobs j"
            " WHERE j.queue_name = :q AND j.status = 'failed'"
            " AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id)"
            "  > coalesce((SELECT max(c.finished_at) FROM cycles c"
            "   WHERE c.account = j.args->>'account' AND c.outcome = 'succeeded'),"
            "   '-infinity')"
            " ORDER BY j.id DESC LIMIT :n"
        ),
        {"q": queue, "n": limit},
    )
    return tuple(_job(r) for r in rows)


def _job(row: Any) -> JobRow:
    args: dict[str, Any] = row.args if isinstance(row.args, dict) else json.loads(row.args)
    return JobRow(
        job_id=int(row.id),
        status=str(row.status),
        account=str(args.get("account", "")),
        day=str(args.get("day", "")),
        slot=str(args.get("slot", "")),
        epoch=int(args.get("epoch", 0)),
        attempts=int(row.attempts),
        worker_id=None if row.worker_id is None else int(row.worker_id),
        lock=row.lock,
    )


class SessionLock:
    """A PostgreSQL advisory lock held on a connection of its own while this object holds it.

    Advisory locks are per database; the key includes the schema, so installations (and
    tests) in different schemas of one database never share a lock.

    The server releases it the moment that connection ends: a process killed or cut off from
    the database loses it (a dead peer is noticed within the keepalive time set here), which
    is what lets a standby take over and what keeps an account out of two cycles at once.
    """

    def __init__(
        self, database: Database, key: str, *, keepalive_seconds: int = 5, shared: bool = False
    ) -> None:
        self._database = database
        self.key = key
        self._keepalive = max(1, keepalive_seconds)
        self._connection: Connection | None = None
        # Shared holders exclude only an exclusive one (and it them): PostgreSQL's own modes.
        self._suffix = "_shared" if shared else ""

    @property
    def held(self) -> bool:
        return self._connection is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; return whether this object now holds it."""
        if self._connection is not None:
            return True
        connection = self._database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            # The server's side of the keepalive: it drops a dead holder's session (and so
            # its lock) within about idle + interval * count seconds.
            for name, value in (
                ("tcp_keepalives_idle", self._keepalive),
                ("tcp_keepalives_interval", 1),
                ("tcp_keepalives_count", 3),
            ):
                connection.exec_driver_sql(f"SET {name} = {int(value)}")
            got = connection.execute(
                text(f"SELECT pg_try_advisory_lock{self._suffix}(" + _KEY + ")"),
                {"k": self.key},
            ).scalar()
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        """Ask the server whether the lock's connection is alive; drop it if not."""
        connection = self._connection
        if connection is None:
            return False
        try:
            connection.exec_driver_sql("SELECT 1")
        except Exception:
            self._forget(invalidate=True)
            return False
        return True

    def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute(
                text(f"SELECT pg_advisory_unlock{self._suffix}(" + _KEY + ")"),
                {"k": self.key},
            )
        except Exception:
            self._forget(invalidate=True)
            return
        self._forget(invalidate=False)

    def _forget(self, *, invalidate: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if invalidate:
            # A broken connection goes back to no pool: the server ends its session (and lock).
            connection.invalidate()
        connection.close()
