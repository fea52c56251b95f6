"""One cycle per account at a time, on the real PostgreSQL server: `run --once` beside a
worker's cycle of the same lock group, and a worker whose lock's session ended mid-cycle
(cut off from the database while a retry of its job took over)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import App, open_app
from daemon.cli import app as cli
from daemon.core.calendar import trading_day
from daemon.store.cluster import SessionLock, ensure_queue_schema
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


def _once(bench: Bench, tmp_path: Path, account: str) -> tuple[int, str]:
    env = {"TRIMTAB_STATE_DIR": str(tmp_path / "once")}
    result = CliRunner().invoke(
        cli, ["run", "--once", "-a", account, "-c", str(bench.config)], env=env
    )
    return result.exit_code, result.output


def test_run_once_refuses_an_account_whose_group_is_in_a_cycle_on_a_worker(
    app: App, bench: Bench, tmp_path: Path
) -> None:
    # A worker is in a0000's cycle: it holds the group's lock, as SlotJob.run does.
    worker = SessionLock(app.database, "trimtab:cycle:account:a0000")
    assert worker.try_acquire()
    try:
        code, output = _once(bench, tmp_path, "a0000")
        assert code == 1, output
        assert "a0000: refused" in output
        assert "in a cycle on a worker" in output
        assert "try again" in output
        assert bench.scalar("SELECT count(*) FROM cycles WHERE account = 'a0000'") == 0
        assert bench.scalar("SELECT count(*) FROM sim_orders") == 0
        # Another group is not held back.
        code, output = _once(bench, tmp_path, "a0001")
        assert code == 0, output
    finally:
        worker.release()
    # Once the worker's cycle is over, the account runs.
    code, output = _once(bench, tmp_path, "a0000")
    assert code == 0, output
    assert bench.scalar("SELECT count(*) FROM sim_orders WHERE account = 'a0000'") == 2


def test_run_once_of_a_lone_trimtab_takes_the_group_lock_too(
    app: App, bench: Bench, tmp_path: Path
) -> None:
    # Without [cluster] the database lock is exclusive, but a worker whose database-lock
    # session the server ended keeps running: its group lock still keeps the account to one
    # cycle.
    bench.config.write_text(bench.config.read_text().replace("enabled = true", "enabled = false"))
    worker = SessionLock(app.database, "trimtab:cycle:account:a0000")
    assert worker.try_acquire()
    try:
        code, output = _once(bench, tmp_path, "a0000")
    finally:
        worker.release()
    assert code == 1, output
    assert "in a cycle on a worker" in output
    assert bench.scalar("SELECT count(*) FROM cycles") == 0


@pytest.fixture
def slow_bench(tmp_path: Path) -> Iterator[Bench]:
    # The strategy takes 3 s: the cycle is under way, nothing sent yet, while the test acts.
    yield from make_bench(tmp_path, 1, seconds=3.0)


@pytest.fixture
def slow_app(slow_bench: Bench) -> Iterator[App]:
    opened = open_app(slow_bench.config)
    ensure_queue_schema(opened.database)
    yield opened
    opened.close()


def _job_in_cycle(app: App, bench: Bench, meanwhile: Callable[[str], None]) -> str:
    """Run a0000's 0930 job on a worker (a thread); once its cycle has started, call
    `meanwhile` with the slot's first id; return what became of the job."""
    from daemon.service.worker import ClusterWorker

    worker = ClusterWorker(app)
    day = trading_day(datetime.now(UTC), "24/7")
    outcome: list[str] = []
    thread = threading.Thread(
        target=lambda: outcome.append(
            worker.job.run(job_id=1, account="a0000", day=day.isoformat(), slot="0930", epoch=1)
        )
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not bench.scalar("SELECT count(*) FROM cycles WHERE outcome = 'running'"):
        assert time.monotonic() < deadline, "the worker's cycle never started"
        time.sleep(0.05)
    meanwhile(f"a0000:{day}:0930")
    thread.join(timeout=120)
    assert outcome, "the job did not finish"
    return outcome[0]


def test_a_worker_whose_lock_session_ended_mid_cycle_sends_nothing_more(
    slow_app: App, slow_bench: Bench
) -> None:
    bench = slow_bench

    def cut_off(_: str) -> None:
        # What the server does to a worker cut off from it (keepalive) or paused past the
        # lease: its sessions end, and with them the group's lock; a retry may now take it.
        ended = bench.scalar(
            "WITH k AS (SELECT hashtextextended(:key || '@' || :schema, 0) AS h) "
            "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l, k "
            "WHERE l.locktype = 'advisory' AND l.objsubid = 1 "
            "AND l.classid::bigint = (k.h >> 32) & 4294967295 "
            "AND l.objid::bigint = k.h & 4294967295",
            key="trimtab:cycle:account:a0000",
            schema=bench.schema,
        )
        assert ended == 1

    _job_in_cycle(slow_app, bench, cut_off)
    assert bench.scalar("SELECT count(*) FROM sim_orders") == 0
    statuses = bench.rows("SELECT DISTINCT status FROM order_intents")
    assert statuses == [("cancelled",)]


def test_a_worker_sends_nothing_once_a_newer_attempt_of_its_slot_started(
    slow_app: App, slow_bench: Bench
) -> None:
    bench = slow_bench

    def retry_started(base: str) -> None:
        # A retry of the job on a worker whose configuration puts the account in another
        # lock group: it held another lock, and wrote its attempt's row first.
        now = datetime.now(UTC)
        with slow_app.database.transaction() as session:
            CycleStore(session).add(
                CycleRecord(
                    cycle_id=f"{base}.2",
                    account="a0000",
                    trading_day=trading_day(now, "24/7"),
                    slot="0930",
                    mode="paper",
                    started_at=now,
                    outcome="running",
                )
            )

    _job_in_cycle(slow_app, bench, retry_started)
    assert bench.scalar("SELECT count(*) FROM sim_orders") == 0
    assert bench.rows("SELECT DISTINCT status FROM order_intents") == [("cancelled",)]
