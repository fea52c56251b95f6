"""`trimtab run`: the long-running daemon around the scheduler.

Threads: the main thread waits for signals and reloads; APScheduler's threads run the
cycles (one at a time) and, apart, the heartbeat and digest; one more thread delivers the
notifications.

- SIGTERM / SIGINT: take no new work; a cycle already running finishes (the engine's cycle is
  the safe point: every order in it has its fate recorded), then exit 0. If it does not finish
  within `scheduler.stop_timeout_seconds`, exit 1 at once: the write-ahead intents make even
  that safe, and the next start resolves them.
- SIGHUP: read and validate the configuration again. If it is wrong, keep the old one, audit
  and alert; if it is right, swap it in between cycles and reschedule.
- The heartbeat writes the database row `trimtab health` reads, and pings the systemd
  watchdog, unless a cycle has been running for longer than `health.max_cycle_minutes`: then
  systemd restarts trimtab, which is safe for the same reason.
"""

from __future__ import annotations

__all__ = ["Daemon", "changed_paths"]

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from daemon.audit.events import AuditKind, ConfigRejected, ConfigReloaded
from daemon.bootstrap import App
from daemon.config.secrets import secret_values
from daemon.config.settings import Settings, load_config
from daemon.core.errors import ConfigError, ConfigProblem
from daemon.core.schedule import parse_schedule
from daemon.logs import configure_logging, get_logger
from daemon.monitor.health import HealthReport, evaluate, queue_checks
from daemon.monitor.messages import (
    audit_message,
    config_rejected_message,
    digest_message,
    health_message,
)
from daemon.monitor.notify import Message, Notifier
from daemon.service import sd_notify
from daemon.service.day_end import schedule_end_of_day
from daemon.service.enqueue import SlotEnqueuer
from daemon.service.lease import SchedulerLease
from daemon.service.schedule_check import check_schedules
from daemon.service.scheduler import CycleScheduler
from daemon.service.slots import SlotRunner
from daemon.store.audit_log import AuditLog
from daemon.store.cluster import ensure_queue_schema, queue_figures
from daemon.store.cycles import CycleStore
from daemon.store.db import Transaction
from daemon.store.heartbeat import HeartbeatStore
from daemon.store.trading_state import account_state

HEALTH_EVERY = timedelta(minutes=5)
"""How often the daemon judges its own accounts' health (and alerts on a change)."""
RESTART_ONLY = ("state_dir", "database_url", "exchange", "cluster")
"""Keys a reload cannot change: the running daemon holds that state and calendar open, and
decided at its start whether it runs cycles or enqueues them, on which queue, with which
lease (the workers read `[cluster]` at their start too)."""


class Daemon:
    """Run every account's schedule until a signal says stop."""

    def __init__(
        self, app: App, *, clock: Callable[[], datetime] | None = None, cluster: bool = False
    ) -> None:
        self._app = app
        self._clock = clock or app.clock
        self._config_path = app.config_path.resolve()
        self._log = get_logger()
        self._wake = threading.Event()
        self._stop_requested = False
        self._reload_requested = False
        self._started_at = self._clock()
        self._pid = os.getpid()
        self._hostname = socket.gethostname()
        self._notifier = self._make_notifier(app.settings)
        self._scheduler = CycleScheduler(exchange=app.settings.exchange, on_event=self._job_event)
        self._lease: SchedulerLease | None = None
        self._runner: SlotRunner
        if cluster:
            # Cluster mode: slots become jobs for `trimtab worker`; of several `trimtab run`
            # on one database only the lease's holder schedules (docs/scaling.md).
            self._lease = SchedulerLease(
                app.database,
                queue=app.settings.cluster.queue,
                clock=self._clock,
                on_gained=lambda _epoch: self._scheduler.wake_cycle_jobs(),
            )
            self._runner = SlotEnqueuer(
                app, clock=self._clock, notify=self._notify, lease=self._lease
            )
        else:
            self._runner = SlotRunner(app, clock=self._clock, notify=self._notify)
        # Notifications go out on their own thread: neither a cycle nor a heartbeat ever
        # waits on the network, and a stopping daemon still delivers what its last cycle said.
        self._outbox = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trimtab-notify")
        self._last_health_check: datetime | None = None
        self._failing: frozenset[str] = frozenset()
        self._audit_seen = 0
        self._overdue_logged = False

    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop; return the exit code."""
        settings = self._app.settings
        problems = check_schedules(settings)
        if problems:
            raise ConfigError(problems)
        with self._app.database.transaction() as session:
            beat = HeartbeatStore(session).get()
            previous_beat = beat.beat_at if beat is not None else None
            self._audit_seen = AuditLog(session).last_seq()
        self._runner.previous_beat = previous_beat
        if self._lease is not None:
            if ensure_queue_schema(self._app.database):
                self._log.info("queue_schema_applied")
            self._lease.poll()
        self.beat()
        handlers = self._install_signals()
        try:
            self._schedule(settings)
            self._scheduler.start()
            sd_notify.notify("READY=1", f"STATUS=serving {len(settings.accounts)} account(s)")
            self._log.info(
                "daemon_started",
                pid=self._pid,
                accounts=sorted(settings.accounts),
                mode=str(settings.mode),
                previous_heartbeat=previous_beat.isoformat() if previous_beat else None,
            )
            while not self._stop_requested:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                if self._reload_requested and not self._stop_requested:
                    self._reload_requested = False
                    try:
                        self._reload()
                    except Exception:  # a reload must never take the running daemon down
                        self._log.exception("config_reload_failed")
            return self._stop()
        finally:
            for signum, previous in handlers.items():
                signal.signal(signum, previous)

    # -- signals ---------------------------------------------------------------------------

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only set flags here: the main loop does the work outside the handler.
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_requested = True
            # At once, not when the main loop gets to `_stop`: a reload waiting for the
            # running cycle holds the main loop, and the cycle must send nothing more.
            self._runner.stopping = True
        self._wake.set()

    def _stop(self) -> int:
        timeout = self._app.settings.scheduler.stop_timeout_seconds
        self._log.info("daemon_stopping", waiting_for_cycle=self._runner.busy, timeout=timeout)
        sd_notify.notify("STOPPING=1")
        self._runner.stopping = True
        self._scheduler.pause()
        finished = self._runner.idle.wait(timeout=timeout)
        if not finished:
            self._log.error(
                "stop_timeout_exceeded",
                timeout=timeout,
                note="exiting during a cycle; its orders are resolved by lookup at the next start",
            )
            # Worker threads are joined at interpreter exit; only _exit ends the process now.
            os._exit(1)
        self._scheduler.shutdown(wait=True)
        self.close()
        if self._leads:
            with self._app.database.transaction() as session:
                HeartbeatStore(session).stop(now=self._clock())
        if self._lease is not None:
            self._lease.release()
        self._log.info("daemon_stopped")
        return 0

    def close(self) -> None:
        """Deliver the notifications still queued, then release their thread."""
        self._outbox.shutdown(wait=True)

    # -- scheduling --------------------------------------------------------------------------

    def _schedule(self, settings: Settings) -> None:
        self._scheduler.remove_cycle_jobs(keep=set(settings.accounts))
        for account, account_settings in settings.accounts.items():
            spec = parse_schedule(account_settings.schedule)
            upcoming = self._scheduler.cycle_job(
                account, spec, settings.exchange, self._runner.handle
            )
            self._log.info(
                "account_scheduled",
                account=account,
                schedule=spec.text,
                next_slot=upcoming.isoformat(),
            )
        beat_every = float(settings.health.heartbeat_seconds)
        watchdog = sd_notify.watchdog_interval()
        if watchdog is not None:
            beat_every = min(beat_every, watchdog)
        self._scheduler.every("heartbeat", beat_every, self.beat)
        if self._lease is not None:
            self._scheduler.every(
                "lease", float(settings.cluster.takeover_seconds), self._lease.poll
            )
        schedule_end_of_day(
            self._scheduler,
            self._app,
            lock=self._runner.lock,
            notify=self._notify,
            # A standby does no day-end work: the leader does it once for every account.
            stopping=lambda: self._runner.stopping or not self._leads,
        )
        digest = settings.notifications.daily_digest.strip()
        if digest and self._notifier.enabled:
            grace = timedelta(minutes=settings.scheduler.misfire_grace_minutes)
            self._scheduler.at_slots(
                "digest", parse_schedule(digest), settings.exchange, grace, self.send_digest
            )
        else:
            self._scheduler.remove("digest")

    def _job_event(self, name: str, job_id: str, exception: BaseException | None) -> None:
        if name == "job_error":
            # The jobs catch what they expect; this is a bug, and it must not pass unseen.
            self._log.error("job_crashed", job=job_id, error=repr(exception))
            self._notify(
                Message(
                    kind="error",
                    key=f"job_crashed:{job_id}",
                    title=f"trimtab: internal error in {job_id}",
                    body=f"{type(exception).__name__}: {exception}",
                    severity="failure",
                )
            )
        else:
            # A late firing still runs (no misfire grace); one dropped as busy (the account
            # already has a cycle running and one waiting) is found by the waiting one.
            self._log.info(name, job=job_id)

    # -- heartbeat, health, digest -----------------------------------------------------------

    @property
    def _leads(self) -> bool:
        """Whether this daemon does the household-wide work: always, unless it is a standby."""
        return self._lease is None or self._lease.held

    def beat(self) -> None:
        """Record the heartbeat, ping the watchdog unless a cycle is stuck, forward kill-switch
        and trading-state changes, and judge health every `HEALTH_EVERY`.

        A cluster standby only pings the watchdog: the heartbeat row, notifications and
        health are the leader's, or they would be said twice."""
        now = self._clock()
        if not self._leads:
            sd_notify.notify("WATCHDOG=1")
            return
        with self._app.database.transaction() as session:
            HeartbeatStore(session).beat(
                now=now,
                started_at=self._started_at,
                pid=self._pid,
                hostname=self._hostname,
            )
        stuck_after = self._app.settings.health.max_cycle_minutes * 60
        running = self._runner.running_for()
        if running is not None and running > stuck_after:
            if not self._overdue_logged:
                self._log.error("cycle_overdue", running_seconds=round(running), limit=stuck_after)
                self._overdue_logged = True
        else:
            self._overdue_logged = False
            sd_notify.notify("WATCHDOG=1")
        self._forward_audit_changes()
        if self._last_health_check is None or now - self._last_health_check >= HEALTH_EVERY:
            self._last_health_check = now
            self._check_health(now)

    def _forward_audit_changes(self) -> None:
        """Tell the owner about kill-switch and trading-state changes, wherever they came from
        (a `trimtab kill` in another shell, a trip rule inside a cycle)."""
        kinds = (str(AuditKind.KILL_SWITCH), str(AuditKind.TRADING_STATE))
        with self._app.database.transaction() as session:
            records = AuditLog(session).records(kinds=kinds, after_seq=self._audit_seen)
        for record in records:
            self._audit_seen = max(self._audit_seen, record.seq)
            message = audit_message(record)
            if message is not None:
                self._notify(message)

    def _check_health(self, now: datetime) -> None:
        with self._app.database.transaction() as session:
            report = self._own_health(session, now)
        failing = frozenset(c.key for c in report.failing)
        if failing and failing != self._failing:
            self._log.warning("health_failing", checks={c.key: c.detail for c in report.failing})
            self._notify(health_message(report))
        elif not failing and self._failing:
            self._log.info("health_ok")
        self._failing = failing

    def _own_health(self, session: Transaction, now: datetime) -> HealthReport:
        """Judge every account (and in cluster mode the queue); not the heartbeat, which is
        this daemon's own."""
        settings = self._app.settings
        report = evaluate(
            CycleStore(session),
            HeartbeatStore(session),
            settings,
            now,
            states={a: account_state(session, a) for a in settings.accounts},
            heartbeat=False,
        )
        if self._lease is None:
            return report
        figures = queue_figures(
            session,
            queue=settings.cluster.queue,
            lease_seconds=float(settings.cluster.lease_seconds),
        )
        return HealthReport(now, report.checks + tuple(queue_checks(figures, settings)))

    def send_digest(self) -> None:
        """Queue the daily digest, and forget notification records older than 90 days."""
        now = self._clock()
        with self._app.database.transaction() as session:
            health = self._own_health(session, now)
            message = digest_message(session, self._app.settings, now, health=health)
        self._notify(message)
        self._outbox.submit(self._notifier.prune)

    def _notify(self, message: Message) -> None:
        """Queue `message` for the notification thread (the caller never waits on a network)."""
        if self._notifier.wants(message.kind):
            self._outbox.submit(self._deliver, self._notifier, message)

    def _deliver(self, notifier: Notifier, message: Message) -> None:
        try:
            notifier.send(message)
        except Exception:  # on the outbox thread nobody else would see it
            self._log.exception("notification_crashed", kind=message.kind, key=message.key)

    def _make_notifier(self, settings: Settings) -> Notifier:
        return Notifier(
            settings.notifications,
            database=self._app.database,
            clock=self._clock,
            secrets=secret_values(settings),
        )

    # -- reload ------------------------------------------------------------------------------

    def _reload(self) -> None:
        """Read and check the configuration again; swap it in, or keep the running one.

        Every failure keeps the running configuration and goes through `_reject` (audited,
        alerted): a problem in the file, and an error nobody foresaw, in checking or in
        applying it."""
        self._log.info("config_reload_requested", path=str(self._config_path))
        old = self._app.settings
        try:
            new = load_config(self._config_path)
            problems = [
                ConfigProblem(
                    key, "cannot change while trimtab runs", "restart trimtab to change it"
                )
                for key in RESTART_ONLY
                if getattr(new, key) != getattr(old, key)
            ]
            problems += check_schedules(new)
        except ConfigError as exc:
            self._reject(exc.problems)
            return
        except Exception as exc:  # a bug in checking must not pass unaudited
            self._log.exception("config_reload_crashed")
            self._reject([self._unexpected(exc, "could not be checked")])
            return
        if problems:
            self._reject(problems)
            return
        changed = changed_paths(old.model_dump(), new.model_dump())
        # Between cycles: no cycle sees half of the old and half of the new. A stop asked for
        # while this waits wins: the reload is dropped, and `_stop` bounds the wait.
        while not self._runner.lock.acquire(timeout=0.5):
            if self._stop_requested:
                self._log.info("config_reload_dropped", reason="trimtab is stopping")
                return
        with _held(self._runner.lock):
            try:
                self._apply(new)
                with self._app.database.transaction() as session:
                    # Paths only: a value may be a credential, and the file is the record.
                    AuditLog(session).append(
                        ConfigReloaded(
                            changed=tuple(changed),
                            mode=new.mode,
                            accounts=tuple(sorted(new.accounts)),
                        ),
                        at=self._clock(),
                    )
            except Exception as exc:  # half applied: put the running one back whole
                self._log.exception("config_reload_crashed")
                self._apply(old)
                self._reject([self._unexpected(exc, "could not be applied")])
                return
        self._log.info(
            "config_reloaded", accounts=sorted(new.accounts), mode=str(new.mode), changed=changed
        )

    def _apply(self, settings: Settings) -> None:
        """Make `settings` the running configuration (the caller holds the cycle lock)."""
        self._app.settings = settings
        self._app.renew_secrets()
        for broker in self._app.brokers.values():
            broker.close()
        self._app.brokers.clear()
        configure_logging(settings.log.level, settings.log.format)
        self._notifier = self._make_notifier(settings)
        self._schedule(settings)

    def _unexpected(self, exc: Exception, what: str) -> ConfigProblem:
        # The error's type only: its text may quote the file, and the file may hold secrets.
        return ConfigProblem(
            str(self._config_path),
            f"the new configuration {what} ({type(exc).__name__}); this is a trimtab bug",
            "see the daemon's log (config_reload_crashed) and report it; fix or revert the "
            "file and send SIGHUP again",
        )

    def _reject(self, problems: list[ConfigProblem]) -> None:
        """Keep the running configuration; audit and alert (problems never carry values)."""
        self._log.error(
            "config_reload_rejected",
            problems=[str(p) for p in problems],
            note="still running on the previous configuration",
        )
        with self._app.database.transaction() as session:
            AuditLog(session).append(
                ConfigRejected(
                    action="reload refused; the previous configuration stays in force",
                    problems=tuple(problems),
                ),
                at=self._clock(),
            )
        self._notify(config_rejected_message(problems))


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Return the dotted key paths whose values differ between two dumped configurations."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                paths.append(path)
            else:
                paths += changed_paths(old[key], new[key], path)
        return paths
    return [] if old == new else [prefix or "(root)"]


@contextmanager
def _held(lock: threading.Lock) -> Iterator[None]:
    """Release `lock`, already acquired by the caller, when the block ends."""
    try:
        yield
    finally:
        lock.release()
