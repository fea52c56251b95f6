"""Cluster mode's pieces on the real PostgreSQL server: procrastinate's schema applied once,
a slot enqueued once and fenced by the lease's epoch, the advisory locks, the status
command, the health checks; and the clear refusal on SQLite."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import App, open_app
from daemon.cli import app as cli
from daemon.config.settings import load_config
from daemon.core.calendar import trading_day
from daemon.core.errors import ConfigError
from daemon.monitor.health import queue_checks
from daemon.service.lease import SchedulerLease
from daemon.store.cluster import (
    SCHEDULER_LEASE,
    SessionLock,
    StaleEpoch,
    enqueue_slot,
    ensure_queue_schema,
    queue_figures,
    take_lease,
)
from tests.integration.cluster_setup import Bench, make_bench

pytestmark = pytest.mark.postgres

SQLITE_CONFIG = """
[cluster]
enabled = true
[accounts.main]
broker = "sim"
[accounts.main.strategy_params]
targets = { VTI = "1" }
"""


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    yield from make_bench(tmp_path, 3)


@pytest.fixture
def app(bench: Bench) -> Iterator[App]:
    opened = open_app(bench.config)
    ensure_queue_schema(opened.database)
    yield opened
    opened.close()


def _enqueue(
    app: App, epoch: int, account: str, slot: str = "0930", day: date | None = None
) -> int | None:
    """Enqueue the account's slot (of today's trading day unless `day` is given)."""
    now = datetime.now(UTC)
    with app.database.transaction() as session:
        return enqueue_slot(
            session,
            epoch=epoch,
            queue=app.settings.cluster.queue,
            account=account,
            day=day or trading_day(now, app.settings.exchange),
            slot=slot,
            lock=app.settings.lock_key(account),
            now=now,
        )


def _lease(app: App, holder: str) -> int:
    with app.database.transaction() as session:
        return take_lease(session, SCHEDULER_LEASE, holder, datetime.now(UTC))


@pytest.mark.parametrize("how", ["file", "flag", "worker"])
def test_cluster_mode_on_sqlite_is_refused_with_the_fix(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIMTAB_DATABASE_URL", raising=False)
    config = tmp_path / "trimtab.toml"
    text = SQLITE_CONFIG if how == "file" else SQLITE_CONFIG.replace("enabled = true", "")
    config.write_text(text)
    if how == "file":
        with pytest.raises(ConfigError) as caught:
            load_config(config)
        message = str(caught.value)
    else:
        command = ["run", "--workers"] if how == "flag" else ["worker"]
        result = CliRunner().invoke(cli, [*command, "-c", str(config)])
        assert result.exit_code == 2, result.output
        message = result.output
    named = {"file": "cluster.enabled", "flag": "--workers", "worker": "trimtab worker"}
    assert named[how] in message
    assert "PostgreSQL" in message
    assert "database_url" in message


def test_migrations_and_queue_schema_apply_once_however_many_start_at_once(
    bench: Bench,
) -> None:
    apps = [open_app(bench.config) for _ in range(3)]
    applied: list[bool] = []
    # Each thread opens (migrates) its database and applies the queue's schema, at once.
    threads = [
        threading.Thread(target=lambda a=a: applied.append(ensure_queue_schema(a.database)))
        for a in apps
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(applied) == [False, False, True]
    assert ensure_queue_schema(apps[0].database) is False
    # In trimtab's own schema, beside its tables, under their own prefix.
    assert bench.scalar("SELECT to_regclass(:t)::text", t=f"{bench.schema}.procrastinate_jobs")
    for a in apps:
        a.close()


def test_a_slot_is_enqueued_once_and_a_stale_epoch_writes_nothing(app: App, bench: Bench) -> None:
    first = _lease(app, "machine-a:1")
    job = _enqueue(app, first, "a0000")
    assert job is not None
    assert _enqueue(app, first, "a0000") is None  # the same slot again: nothing new
    second = _lease(app, "machine-b:2")  # a standby took over
    assert second == first + 1
    assert _enqueue(app, second, "a0000") is None  # the new leader finds it enqueued too
    with pytest.raises(StaleEpoch, match="another scheduler took over"):
        _enqueue(app, first, "a0001")
    assert bench.scalar("SELECT count(*) FROM cluster_slots WHERE account = 'a0001'") == 0
    assert bench.scalar("SELECT count(*) FROM procrastinate_jobs") == 1
    assert _enqueue(app, second, "a0001") is not None
    rows = bench.rows(
        "SELECT queueing_lock, lock, args->>'epoch' FROM procrastinate_jobs ORDER BY id"
    )
    day = trading_day(datetime.now(UTC), "24/7")
    assert rows == [
        (f"a0000:{day}:0930", "account:a0000", str(first)),
        (f"a0001:{day}:0930", "account:a0001", str(second)),
    ]


def test_the_advisory_lock_is_held_by_one_connection_at_a_time(app: App) -> None:
    one = SessionLock(app.database, "trimtab:cycle:account:a0000")
    two = SessionLock(app.database, "trimtab:cycle:account:a0000")
    other = SessionLock(app.database, "trimtab:cycle:account:a0001")
    assert one.try_acquire()
    assert not two.try_acquire()
    assert other.try_acquire()
    assert one.still_held()
    one.release()
    assert two.try_acquire()
    two.release()
    other.release()


def test_a_standby_takes_the_lease_when_the_leader_lets_go(app: App, bench: Bench) -> None:
    gained: list[int] = []
    leader = SchedulerLease(app.database, queue="trimtab", clock=lambda: datetime.now(UTC))
    standby = SchedulerLease(
        app.database, queue="trimtab", clock=lambda: datetime.now(UTC), on_gained=gained.append
    )
    leader.poll()
    standby.poll()
    assert leader.epoch == 1
    assert standby.epoch is None
    assert gained == []
    leader.release()
    standby.poll()
    assert standby.epoch == 2
    assert gained == [2]
    assert bench.scalar("SELECT holder FROM cluster_leases") == standby.holder
    standby.release()


def test_cluster_status_shows_the_queue_and_the_lease(app: App, bench: Bench) -> None:
    epoch = _lease(app, "machine-a:1")
    for account in ("a0000", "a0001"):
        _enqueue(app, epoch, account)
    result = CliRunner().invoke(cli, ["cluster", "status", "-c", str(bench.config), "--json"])
    # No worker has ever run: exit 1, and the JSON says why.
    assert result.exit_code == 1, result.output
    status = json.loads(result.output)
    assert status["jobs"] == {"waiting": 2, "running": 0, "succeeded": 0, "failed": 0}
    assert status["live_workers"] == 0
    assert status["lease"]["holder"] == "machine-a:1"
    assert status["lease"]["epoch"] == 1
    table = CliRunner().invoke(cli, ["cluster", "status", "-c", str(bench.config)])
    assert "machine-a:1, epoch 1" in table.output
    assert "2 waiting" in table.output
    assert "no live worker" in table.output


def test_health_fails_on_no_worker_and_a_job_waiting_too_long(app: App, bench: Bench) -> None:
    from sqlalchemy import text

    epoch = _lease(app, "machine-a:1")
    _enqueue(app, epoch, "a0000")
    with app.database.transaction() as session:
        figures = queue_figures(session, queue="trimtab", lease_seconds=3)
    checks = {c.name: c for c in queue_checks(figures, app.settings)}
    assert not checks["queue_workers"].ok
    assert "trimtab worker" in checks["queue_workers"].detail
    assert checks["queue_depth"].ok
    assert checks["queue_stalled"].ok
    # The job has waited longer than queue_stale_minutes (by the server's clock).
    with bench.admin.begin() as c:
        c.execute(
            text("UPDATE procrastinate_events SET at = at - make_interval(mins => :m)"),
            {"m": app.settings.cluster.queue_stale_minutes + 1},
        )
    with app.database.transaction() as session:
        figures = queue_figures(session, queue="trimtab", lease_seconds=3)
    checks = {c.name: c for c in queue_checks(figures, app.settings)}
    assert not checks["queue_depth"].ok
    assert "1 job(s) waiting" in checks["queue_depth"].detail


def test_accounts_of_one_lock_group_share_one_lock(tmp_path: Path, bench: Bench) -> None:
    text = (
        bench.config.read_text()
        .replace(
            '[accounts.a0001]\nbroker = "sim"',
            '[accounts.a0001]\nlock_group = "smiths"\nbroker = "sim"',
        )
        .replace(
            '[accounts.a0002]\nbroker = "sim"',
            '[accounts.a0002]\nlock_group = "smiths"\nbroker = "sim"',
        )
    )
    config = tmp_path / "grouped.toml"
    config.write_text(text)
    settings = load_config(config)
    assert settings.lock_key("a0000") == "account:a0000"
    assert settings.lock_key("a0001") == settings.lock_key("a0002") == "group:smiths"


def test_a_job_on_bad_input_is_audited_once_and_not_retried(app: App, bench: Bench) -> None:
    from procrastinate.jobs import Job

    from daemon.service.worker import ClusterWorker, JobRefusedError, RetryLater
    from daemon.store.audit_log import AuditLog

    worker = ClusterWorker(app)
    task = worker.queue_app().tasks["trimtab.run_slot"]
    day = trading_day(datetime.now(UTC), "24/7").isoformat()
    with pytest.raises(JobRefusedError, match="no such account"):
        worker.job.run(job_id=7, account="gone", day=day, slot="0930", epoch=1)
    with app.database.transaction() as session:
        records = AuditLog(session).records(kinds=("job_refused",))
    assert len(records) == 1
    assert records[0].account == "gone"
    assert "no such account" in records[0].payload["error"]
    assert records[0].payload["action"] == "not run; not retried"
    # The queue retries passing trouble only, and only so often.
    job = Job(id=7, queue="trimtab", lock=None, queueing_lock=None, task_name="x", attempts=0)
    strategy = task.retry_strategy
    assert strategy is not None
    assert strategy.get_retry_decision(exception=JobRefusedError("x"), job=job) is None
    assert strategy.get_retry_decision(exception=RetryLater("x"), job=job) is not None
    spent = Job(
        id=7,
        queue="trimtab",
        lock=None,
        queueing_lock=None,
        task_name="x",
        attempts=app.settings.cluster.max_attempts,
    )
    assert strategy.get_retry_decision(exception=RetryLater("x"), job=spent) is None


def test_a_job_whose_group_is_in_a_cycle_elsewhere_waits(app: App) -> None:
    from daemon.service.worker import ClusterWorker, RetryLater

    worker = ClusterWorker(app)
    day = trading_day(datetime.now(UTC), "24/7").isoformat()
    # A worker taken for dead still runs a0000's cycle: its lock is held.
    elsewhere = SessionLock(app.database, "trimtab:cycle:account:a0000")
    assert elsewhere.try_acquire()
    with pytest.raises(RetryLater, match="in a cycle on another worker"):
        worker.job.run(job_id=8, account="a0000", day=day, slot="0930", epoch=1)
    elsewhere.release()


@pytest.mark.slow  # a whole cycle on PostgreSQL: about 6 s on the shared 2-core machine
def test_a_job_runs_the_usual_cycle_once_and_not_a_day_late(app: App, bench: Bench) -> None:
    from daemon.service.worker import ClusterWorker

    worker = ClusterWorker(app)
    today = trading_day(datetime.now(UTC), "24/7")
    first = worker.job.run(job_id=1, account="a0000", day=today.isoformat(), slot="0930", epoch=1)
    assert first == f"a0000:{today}:0930: succeeded"
    # The same slot again (a retried job whose cycle had finished): refused, nothing sent.
    again = worker.job.run(job_id=1, account="a0000", day=today.isoformat(), slot="0930", epoch=1)
    assert again == "already ran"
    assert bench.scalar("SELECT count(*) FROM sim_orders WHERE account = 'a0000'") == 2
    # A job of a day that is over is not run, and says so in the audit log.
    yesterday = (today - timedelta(days=1)).isoformat()
    late = worker.job.run(job_id=2, account="a0001", day=yesterday, slot="0930", epoch=1)
    assert late == "expired"
    assert bench.scalar("SELECT count(*) FROM cycles WHERE account = 'a0001'") == 0
    refused = bench.scalar("SELECT payload FROM audit_records WHERE kind = 'job_refused'")
    assert "trading day is over" in refused


def test_a_job_overtaken_by_a_later_slot_does_not_run(app: App, bench: Bench) -> None:
    from daemon.service.worker import ClusterWorker

    epoch = _lease(app, "machine-a:1")
    _enqueue(app, epoch, "a0002", slot="0930")
    _enqueue(app, epoch, "a0002", slot="0931")  # came due while 0930 waited
    today = trading_day(datetime.now(UTC), "24/7").isoformat()
    worker = ClusterWorker(app)
    outcome = worker.job.run(job_id=1, account="a0002", day=today, slot="0930", epoch=epoch)
    assert outcome == "superseded"
    assert bench.scalar("SELECT count(*) FROM cycles") == 0


def test_the_leader_forgets_jobs_and_slots_finished_long_ago(app: App, bench: Bench) -> None:
    from sqlalchemy import text

    from daemon.service.day_end import JOB_ID, KEEP_JOBS, forget_old_jobs, schedule_end_of_day
    from daemon.service.scheduler import CycleScheduler

    epoch = _lease(app, "leader")
    now = datetime.now(UTC)
    old_day = trading_day(now - KEEP_JOBS - timedelta(days=10), app.settings.exchange)

    def enqueue(account: str, day: date) -> int:
        job = _enqueue(app, epoch, account, day=day)
        assert job is not None
        return job

    def end(job: int, status: str, days_ago: float) -> None:
        with bench.admin.begin() as c:
            # The status change writes an event (procrastinate's trigger); then age them all.
            c.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = CAST(:s AS procrastinate_job_status)"
                    " WHERE id = :j"
                ),
                {"s": status, "j": job},
            )
            c.execute(
                text(
                    "UPDATE procrastinate_events SET at = now() - make_interval(days => :d)"
                    " WHERE job_id = :j"
                ),
                {"d": days_ago, "j": job},
            )

    old_done = enqueue("a0000", old_day)
    old_failed = enqueue("a0001", old_day)
    old_waiting = enqueue("a0002", old_day)
    recent_done = enqueue("a0000", trading_day(now, app.settings.exchange))
    end(old_done, "succeeded", 100)
    end(old_failed, "failed", 100)
    with bench.admin.begin() as c:
        c.execute(
            text(
                "UPDATE procrastinate_events SET at = now() - interval '100 days' WHERE job_id = :j"
            ),
            {"j": old_waiting},
        )
    end(recent_done, "succeeded", 1)
    # Another installation's queue in the same database, finished as long ago.
    with bench.admin.begin() as c:
        other = c.execute(
            text(
                "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('elsewhere', 't', 0, NULL,"
                " NULL, '{}'::jsonb, NULL)::procrastinate_job_to_defer_v1]))"
            )
        ).scalar_one()
    end(other, "succeeded", 100)

    # The leader's day-end job forgets them, after the day's valuations and report.
    scheduler = CycleScheduler(exchange=app.settings.exchange, on_event=lambda *_: None)
    schedule_end_of_day(scheduler, app, lock=threading.Lock(), notify=lambda _: None)
    {job.id: job for job in scheduler.jobs()}[JOB_ID].func()
    with bench.admin.begin() as c:
        kept = set(c.execute(text("SELECT id FROM procrastinate_jobs")).scalars())
        events = set(c.execute(text("SELECT DISTINCT job_id FROM procrastinate_events")).scalars())
        slots = list(c.execute(text("SELECT account, trading_day FROM cluster_slots")))
    assert kept == {old_waiting, recent_done, other}
    assert events == kept
    assert [(a, d) for a, d in slots] == [("a0000", trading_day(now, app.settings.exchange))]
    assert forget_old_jobs(app) == (0, 0)
