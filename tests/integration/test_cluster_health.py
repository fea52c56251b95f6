"""`trimtab health` in cluster mode on the real PostgreSQL server: an account whose every job
fails (the workers' configuration lacks it) is unhealthy until it has a successful cycle
again; the queue's ages are the database server's, not the checking host's clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import daemon.bootstrap
from daemon.bootstrap import App, open_app, utc_now
from daemon.cli import app as cli
from daemon.core.calendar import trading_day
from daemon.monitor.health import queue_checks
from daemon.service.worker import ClusterWorker
from daemon.store.cluster import (
    SCHEDULER_LEASE,
    enqueue_slot,
    ensure_queue_schema,
    queue_figures,
    take_lease,
)
from daemon.store.cycles import CycleRecord, CycleStore
from tests.integration.cluster_setup import Bench, make_bench

pytestmark = pytest.mark.postgres


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    yield from make_bench(tmp_path, 2)


@pytest.fixture
def app(bench: Bench) -> Iterator[App]:
    opened = open_app(bench.config)
    ensure_queue_schema(opened.database)
    yield opened
    opened.close()


def _enqueue(app: App, account: str, slot: str) -> None:
    now = datetime.now(UTC)
    with app.database.transaction() as session:
        epoch = take_lease(session, SCHEDULER_LEASE, "leader:1", now)
        enqueue_slot(
            session,
            epoch=epoch,
            queue=app.settings.cluster.queue,
            account=account,
            day=trading_day(now, app.settings.exchange),
            slot=slot,
            lock=app.settings.lock_key(account),
            now=now,
        )


def _work_off(config: Path) -> None:
    """A real `trimtab worker`'s queue app runs every waiting job, then returns.

    On a thread of its own: procrastinate's sync `run_worker` is an `asyncio.run`, which on
    the test's thread would replace that thread's event loop (one an earlier test's ib_async
    client left) and hand it to the garbage collector in the middle of an unrelated test."""
    failure: list[BaseException] = []

    def work() -> None:
        worker_app = open_app(config)
        try:
            queue_app = ClusterWorker(worker_app).queue_app()
            queue_app.run_worker(
                queues=[worker_app.settings.cluster.queue],
                wait=False,
                install_signal_handlers=False,
                listen_notify=False,
            )
        except BaseException as exc:
            failure.append(exc)
        finally:
            worker_app.close()

    thread = threading.Thread(target=work, name="work-off")
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the worker did not finish its jobs"
    if failure:
        raise failure[0]


def _health(bench: Bench, tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["health", "--no-daemon", "-c", str(bench.config)],
        env={"TRIMTAB_STATE_DIR": str(tmp_path / "health"), "COLUMNS": "250"},
    )
    return result.exit_code, result.output


def test_health_fails_while_every_job_of_an_account_fails(
    app: App, bench: Bench, tmp_path: Path
) -> None:
    # The workers run an older configuration, without a0001: its jobs are refused.
    text = bench.config.read_text()
    workers = tmp_path / "worker.toml"
    workers.write_text(text[: text.index("[accounts.a0001]")])
    for slot in ("0930", "0931"):
        _enqueue(app, "a0001", slot)
    _work_off(workers)
    assert bench.rows("SELECT status::text FROM procrastinate_jobs") == [("failed",), ("failed",)]
    assert bench.scalar("SELECT count(*) FROM cycles") == 0

    code, output = _health(bench, tmp_path)
    assert code == 1, output
    assert "queue_failed" in output
    assert "2 job(s) failed since the account's last successful cycle" in output
    with app.database.transaction() as session:
        figures = queue_figures(session, queue="trimtab", lease_seconds=3)
    checks = {c.key: c for c in queue_checks(figures, app.settings)}
    assert not checks["queue_failed:a0001"].ok
    assert "queue_failed:a0000" not in checks

    # A successful cycle of the account since (the workers got the new configuration).
    now = datetime.now(UTC)
    with app.database.transaction() as session:
        CycleStore(session).add(
            CycleRecord(
                cycle_id=f"a0001:{trading_day(now, '24/7')}:0932",
                account="a0001",
                trading_day=trading_day(now, "24/7"),
                slot="0932",
                mode="paper",
                started_at=now,
                outcome="succeeded",
                finished_at=now,
            )
        )
    with app.database.transaction() as session:
        figures = queue_figures(session, queue="trimtab", lease_seconds=3)
    checks = {c.key: c for c in queue_checks(figures, app.settings)}
    assert checks["queue_failed"].ok


def _skewed(monkeypatch: pytest.MonkeyPatch, shift: timedelta) -> None:
    """Every command opens its app with a clock `shift` off the database server's: a host
    whose clock is wrong (the composition root's own clock parameter)."""
    real: Callable[..., App] = daemon.bootstrap.open_app

    def skewed_open_app(*args: object, **kwargs: object) -> App:
        return real(*args, clock=lambda: utc_now() + shift, **kwargs)

    monkeypatch.setattr(daemon.bootstrap, "open_app", skewed_open_app)


def _queue_checks(bench: Bench, tmp_path: Path) -> dict[str, tuple[bool, str]]:
    result = CliRunner().invoke(
        cli,
        ["health", "--no-daemon", "--json", "-c", str(bench.config)],
        env={"TRIMTAB_STATE_DIR": str(tmp_path / "health")},
    )
    checks = json.loads(result.output)["checks"]
    return {c["name"]: (c["ok"], c["detail"]) for c in checks if c["name"].startswith("queue_")}


@pytest.mark.parametrize("minutes", [20, -20])
def test_the_queue_is_judged_by_the_database_servers_clock(
    app: App, bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minutes: int
) -> None:
    # One worker that beat just now, one silent for longer than the lease (3 s); one job
    # that became ready just now.
    with bench.admin.begin() as c:
        c.execute(text("SELECT procrastinate_register_worker_v1()"))
        c.execute(text("SELECT procrastinate_register_worker_v1()"))
        c.execute(
            text(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '10 seconds'"
                " WHERE id = (SELECT max(id) FROM procrastinate_workers)"
            )
        )
    _enqueue(app, "a0000", "0930")
    _skewed(monkeypatch, timedelta(minutes=minutes))
    checks = _queue_checks(bench, tmp_path)
    # Whichever way the host's clock is off: one worker alive, the job not waiting long.
    assert checks["queue_workers"] == (True, "1 worker(s) beat within 3 s")
    assert checks["queue_depth"][0] is True
    assert "the oldest for 0 min" in checks["queue_depth"][1]
    with app.database.transaction() as session:
        figures = queue_figures(session, queue="trimtab", lease_seconds=3)
    assert figures.live_workers == 1
    assert [w.age_seconds < 3 for w in figures.workers] == [True, False]
    assert figures.oldest_wait_seconds is not None
    assert 0 <= figures.oldest_wait_seconds < 60
