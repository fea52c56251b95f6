"""`trimtab worker`: run the cycles the scheduler enqueued, on any number of machines.

A job is one account's slot. The worker runs it through `Engine.run_once`, the same call the
single-process daemon makes: the same deterministic cycle id, the same refusal of a slot that
already completed, the same reconciliation first (so an order of a crashed attempt is looked
up by its client order id, never sent again).

- One cycle per account (or lock group) at a time: procrastinate's `lock` keeps a second job
  of the same group from starting while one runs, and the worker also holds a PostgreSQL
  advisory lock for the group while the cycle runs. The second catches what the first cannot:
  a job given back to the queue because its worker looked dead while it was in fact still
  running (its database connection, and so its lock, still alive).
- A worker killed mid-cycle stops beating; after `cluster.lease_seconds` any live worker
  gives its job back to the queue (procrastinate's stalled-job query over worker heartbeats)
  and one of them runs it as the slot's next attempt.
- A job that cannot run on its input (the account is gone from the configuration, a bug) is
  audited (`job_refused`), alerted once, and marked failed: never retried. Passing trouble
  (the database away, the group busy) is retried `cluster.max_attempts` times.
"""

from __future__ import annotations

__all__ = ["ClusterWorker", "CycleFence", "JobRefusedError", "RetryLater"]

import asyncio
import os
import socket
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from daemon.audit.events import JobRefused
from daemon.bootstrap import App
from daemon.config.secrets import secret_values
from daemon.core.calendar import trading_day
from daemon.core.errors import TrimtabError
from daemon.cycle.engine import SlotAlreadyRan
from daemon.logs import Log, get_logger
from daemon.monitor.alerting import SENT_BY_SLOT_RUNNER, check_alerts
from daemon.monitor.messages import cycle_message
from daemon.monitor.notify import Message, Notifier
from daemon.service.lock import CYCLE_LOCK
from daemon.store.audit_log import AuditLog
from daemon.store.cluster import (
    CYCLE_TASK,
    SessionLock,
    ensure_queue_schema,
    is_connection_error,
    later_slot_enqueued,
    libpq_conninfo,
)
from daemon.store.cycles import CycleStore, slot_base
from daemon.store.db import Database


class RetryLater(TrimtabError):
    """Passing trouble: the job goes back to the queue for another attempt."""


class JobRefusedError(TrimtabError):
    """The job cannot run on its input; audited and alerted, never retried."""


class CycleFence:
    """What a worker's cycle asks before each order: may this cycle still send?

    Not once the group's lock is gone: its session ended (the worker was cut off, paused,
    or the server ended it), so another worker may have taken the job over as the slot's
    next attempt. Nor once a newer attempt of the slot exists (it writes its `cycles` row
    before it reconciles or sends), whatever lock it held: a worker on another configuration
    may put the account in another group. Orders already sent reach a recorded fate; the
    rest are recorded as not sent, and the newer attempt's reconciliation settles them.
    """

    def __init__(
        self, database: Database, lock: SessionLock, base: str, earlier: int, log: Log
    ) -> None:
        self._database = database
        self._lock = lock
        self._base = base
        self._earlier = earlier
        """Attempts of the slot before this one: this cycle adds one, a retry another."""
        self._log = log
        self.reason: str | None = None
        """Why this cycle may send nothing more, once it may not."""

    def crossed(self) -> bool:
        if self.reason is None:
            self.reason = self._why()
            if self.reason is not None:
                self._log.warning("cycle_fenced", detail=self.reason)
        return self.reason is not None

    def _why(self) -> str | None:
        if not self._lock.still_held():
            return f"the lock {self._lock.key} was lost (its database session ended)"
        try:
            with self._database.transaction() as session:
                attempts = CycleStore(session).attempts(self._base)
        except Exception as exc:  # cannot tell: sending nothing more is the safe side
            return f"the slot's attempts could not be read ({type(exc).__name__})"
        if len(attempts) > self._earlier + 1:
            newest = max(attempts, key=lambda a: a.started_at)
            return f"a newer attempt of the slot is running elsewhere ({newest.cycle_id})"
        return None


class SlotJob:
    """Run one job: one account's slot."""

    def __init__(self, app: App, *, clock: Callable[[], datetime], notifier: Notifier) -> None:
        self._app = app
        self._clock = clock
        self._notifier = notifier
        self._log = get_logger()
        self.stopping = False

    def run(self, *, job_id: int, account: str, day: str, slot: str, epoch: int) -> str:
        """Run the slot's cycle; return what became of it (for procrastinate's log)."""
        settings = self._app.settings
        try:
            group = settings.lock_key(account)
        except TrimtabError as exc:
            self._refuse(job_id, account, day, slot, exc, "not run; not retried")
            raise JobRefusedError(str(exc)) from exc
        lock = SessionLock(self._app.database, CYCLE_LOCK.format(group=group))
        try:
            held = lock.try_acquire()
        except Exception as exc:
            if is_connection_error(exc):
                raise RetryLater(f"database unreachable: {type(exc).__name__}") from exc
            raise
        if not held:
            # A worker taken for dead (and its job given back) is still running this group.
            raise RetryLater(f"{group} is in a cycle on another worker")
        try:
            return self._run(job_id, account, date.fromisoformat(day), slot, epoch, lock)
        finally:
            lock.release()

    def _run(
        self, job_id: int, account: str, day: date, slot: str, epoch: int, lock: SessionLock
    ) -> str:
        log = self._log.bind(account=account, slot=slot, day=str(day), job_id=job_id, epoch=epoch)
        try:
            today = trading_day(self._clock(), self._app.settings.exchange)
            if today != day:
                self._refuse(
                    job_id,
                    account,
                    str(day),
                    slot,
                    None,
                    f"not run: its trading day is over (today is {today}); "
                    "the next slot runs as scheduled",
                )
                return "expired"
            with self._app.database.transaction() as session:
                attempts = CycleStore(session).attempts(slot_base(account, day, slot))
                later = later_slot_enqueued(session, account, day, slot)
            if later or any(a.outcome == "skipped" for a in attempts):
                # A later slot came due while this job waited (the scheduler recorded this one
                # as skipped, or enqueued the next): only the latest due slot runs, as in the
                # single-process daemon. Its cycle's reconciliation settles whatever an
                # earlier, crashed attempt of this slot left unresolved.
                log.info("slot_superseded")
                return "superseded"
            fence = CycleFence(
                self._app.database, lock, slot_base(account, day, slot), len(attempts), log
            )
            report = self._app.engine(
                should_stop=lambda: self.stopping or fence.crossed()
            ).run_once(account, slot=slot)
        except SlotAlreadyRan as exc:
            log.info("slot_already_ran", detail=str(exc))
            return "already ran"
        except RetryLater:
            raise
        except Exception as exc:
            if is_connection_error(exc):
                log.warning("job_database_unreachable", error=type(exc).__name__)
                raise RetryLater(f"database unreachable: {type(exc).__name__}") from exc
            log.exception("job_refused")
            self._refuse(job_id, account, str(day), slot, exc, "not run; not retried")
            raise JobRefusedError(f"{type(exc).__name__}: {exc}") from exc
        message = cycle_message(report, str(self._app.settings.mode))
        if message is not None:
            self._send(message)
        check_alerts(
            database=self._app.database,
            settings=self._app.settings,
            account=account,
            clock=self._clock,
            notify=self._send,
            report=report,
            already_sent=SENT_BY_SLOT_RUNNER,
        )
        return f"{report.cycle_id}: {report.outcome}"

    def _refuse(
        self,
        job_id: int,
        account: str,
        day: str,
        slot: str,
        exc: BaseException | None,
        action: str,
    ) -> None:
        error_type = type(exc).__name__ if exc is not None else "SlotExpired"
        error = str(exc) if exc is not None else action
        with self._app.database.transaction() as session:
            AuditLog(session).append(
                JobRefused(
                    job_id=job_id,
                    slot=slot,
                    trading_day=day,
                    error_type=error_type,
                    error=error,
                    action=action,
                ),
                at=self._clock(),
                account=account,
            )
        if exc is not None:
            self._send(
                Message(
                    kind="error",
                    # Not per slot: a worker refusing every slot of an account (its
                    # configuration lacks it) says so once per repeat window, and does not
                    # spend the hourly budget the kill switch's message may need.
                    key=f"job_refused:{account}:{error_type}",
                    title=f"trimtab: {account}'s {slot} cycle on {day} was not run",
                    body=f"{error_type}: {error}\n{action}; see `trimtab cluster status`",
                    severity="failure",
                )
            )

    def _send(self, message: Message) -> None:
        try:
            self._notifier.send(message)
        except Exception:  # a notification must never fail the job it reports on
            self._log.exception("notification_crashed", kind=message.kind, key=message.key)


class ClusterWorker:
    """One `trimtab worker` process: procrastinate's worker around `SlotJob`."""

    def __init__(self, app: App, *, concurrency: int = 1) -> None:
        self._app = app
        self._concurrency = concurrency
        self._log = get_logger()
        settings = app.settings
        notifier = Notifier(
            settings.notifications,
            database=app.database,
            clock=app.clock,
            secrets=secret_values(settings),
        )
        self.job = SlotJob(app, clock=app.clock, notifier=notifier)
        """What each job runs (procrastinate's task calls it)."""
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def queue_app(self) -> Any:
        """Build procrastinate's App with the one task, its retry strategy and lock."""
        from procrastinate import App as QueueApp
        from procrastinate import PsycopgConnector, RetryStrategy
        from procrastinate.job_context import JobContext

        cluster = self._app.settings.cluster
        connector = PsycopgConnector(
            conninfo=libpq_conninfo(self._app.database.url),
            min_size=1,
            max_size=self._concurrency + 3,
        )
        queue_app = QueueApp(connector=connector)
        retry = RetryStrategy(
            max_attempts=cluster.max_attempts,
            wait=cluster.retry_wait_seconds,
            retry_exceptions=[RetryLater],
        )
        job = self.job

        @queue_app.task(name=CYCLE_TASK, queue=cluster.queue, pass_context=True, retry=retry)
        def run_slot(context: JobContext, *, account: str, day: str, slot: str, epoch: int) -> str:
            assert context.job.id is not None  # a fetched job has its id
            return job.run(job_id=context.job.id, account=account, day=day, slot=slot, epoch=epoch)

        return queue_app

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (a running cycle finishes first); return the exit code."""
        applied = ensure_queue_schema(self._app.database)
        if applied:
            self._log.info("queue_schema_applied")
        asyncio.run(self._serve(self.queue_app()))
        return 0

    async def _serve(self, queue_app: Any) -> None:
        cluster = self._app.settings.cluster
        async with queue_app.open_async():
            requeue = asyncio.create_task(self._requeue_stalled(queue_app))
            self._log.info(
                "worker_started",
                name=self.name,
                queue=cluster.queue,
                concurrency=self._concurrency,
                lease_seconds=float(cluster.lease_seconds),
            )
            try:
                await queue_app.run_worker_async(
                    queues=[cluster.queue],
                    name=self.name,
                    concurrency=self._concurrency,
                    update_heartbeat_interval=float(cluster.heartbeat_seconds),
                    stalled_worker_timeout=float(cluster.lease_seconds),
                    fetch_job_polling_interval=min(5.0, float(cluster.heartbeat_seconds)),
                    install_signal_handlers=True,
                )
            finally:
                self.job.stopping = True
                requeue.cancel()
                self._log.info("worker_stopped", name=self.name)

    async def _requeue_stalled(self, queue_app: Any) -> None:
        """Give the running jobs of dead workers back to the queue, every heartbeat."""
        cluster = self._app.settings.cluster
        while True:
            await asyncio.sleep(float(cluster.heartbeat_seconds))
            try:
                stalled = await queue_app.job_manager.get_stalled_jobs(
                    queue=cluster.queue, seconds_since_heartbeat=float(cluster.lease_seconds)
                )
            except Exception as exc:  # the database away: the next beat tries again
                self._log.warning("stalled_jobs_unreadable", error=type(exc).__name__)
                continue
            for job in stalled:
                try:
                    await queue_app.job_manager.retry_job(job)
                except Exception as exc:  # another worker gave it back first
                    self._log.debug("stalled_job_taken", job_id=job.id, error=type(exc).__name__)
                    continue
                self._log.warning(
                    "stalled_job_requeued",
                    job_id=job.id,
                    account=job.task_kwargs.get("account"),
                    slot=job.task_kwargs.get("slot"),
                )
