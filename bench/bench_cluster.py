"""Measure cluster mode: simulated accounts cycled per minute with 1, 2 and 4 workers, and
the queue's own cost per job.

Run: `uv run python bench/bench_cluster.py [--accounts 24] [--workers 1 2 4] [--empty 200]`
with `TRIMTAB_TEST_DATABASE_URL` pointing at a PostgreSQL server (each run uses a schema of
its own, dropped afterwards).

- Throughput: N `trimtab worker` processes are started and waited for (their start-up is not
  counted); then one slot per account is enqueued and the time until the queue is empty is
  taken. Accounts are paper accounts on the simulated broker with two targets, so each
  cycle reconciles, plans and sends two buys that fill.
- Queue overhead: `--empty` jobs of a task that does nothing, deferred and run by an
  in-process procrastinate worker (concurrency 1): the round trip per job. And the fenced
  enqueue of one slot (`enqueue_slot`: epoch check, slot row, job row, one transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daemon.bootstrap import open_app  # noqa: E402 (after the path set-up)
from daemon.core.calendar import trading_day  # noqa: E402
from daemon.store.cluster import (  # noqa: E402
    SCHEDULER_LEASE,
    enqueue_slot,
    ensure_queue_schema,
    libpq_conninfo,
    take_lease,
)
from tests.integration.cluster_setup import Bench, make_bench  # noqa: E402

TRIMTAB = Path(sys.executable).parent / "trimtab"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _enqueue(bench: Bench, slot: str) -> tuple[int, float]:
    """Enqueue one slot per account; return how many and the seconds per enqueue."""
    app = open_app(bench.config)
    try:
        ensure_queue_schema(app.database)
        now = datetime.now(UTC)
        day = trading_day(now, app.settings.exchange)
        with app.database.transaction() as session:
            epoch = take_lease(session, SCHEDULER_LEASE, "bench:0", now)
        started = time.perf_counter()
        for account in app.settings.accounts:
            with app.database.transaction() as session:
                enqueue_slot(
                    session,
                    epoch=epoch,
                    queue=app.settings.cluster.queue,
                    account=account,
                    day=day,
                    slot=slot,
                    lock=app.settings.lock_key(account),
                    now=now,
                )
        each = (time.perf_counter() - started) / len(app.settings.accounts)
        return len(app.settings.accounts), each
    finally:
        app.close()


def throughput(accounts: int, workers: int) -> tuple[float, float]:
    """Return (accounts cycled per minute, seconds per enqueue) with `workers` processes."""
    with tempfile.TemporaryDirectory() as tmp:
        gen = make_bench(Path(tmp), accounts, seconds=0.0)
        bench = next(gen)
        try:
            app = open_app(bench.config)  # migrate and set up the queue before the workers
            ensure_queue_schema(app.database)
            app.close()
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
            procs = []
            for i in range(workers):
                env_i = env | {"TRIMTAB_STATE_DIR": str(Path(tmp) / f"w{i}")}
                procs.append(
                    subprocess.Popen(
                        [str(TRIMTAB), "worker", "-c", str(bench.config)],
                        env=env_i,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            while bench.scalar("SELECT count(*) FROM procrastinate_workers") < workers:
                time.sleep(0.2)
            started = time.perf_counter()
            _, each = _enqueue(bench, "0000")
            while bench.scalar(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            ):
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            done = bench.scalar("SELECT count(*) FROM cycles WHERE outcome = 'succeeded'")
            assert done == accounts, f"{done} of {accounts} cycles succeeded"
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=60)
            return accounts / elapsed * 60, each
        finally:
            with contextlib.suppress(StopIteration):
                next(gen)


def empty_round_trip(jobs: int) -> float:
    """Return the seconds per empty job: deferred, fetched, run, finished."""
    from procrastinate import App, PsycopgConnector

    with tempfile.TemporaryDirectory() as tmp:
        gen = make_bench(Path(tmp), 1)
        bench = next(gen)
        try:
            app = open_app(bench.config)
            ensure_queue_schema(app.database)
            conninfo = libpq_conninfo(app.database.url)
            app.close()
            queue_app = App(connector=PsycopgConnector(conninfo=conninfo))

            @queue_app.task(name="bench.noop", queue="bench")
            def noop(i: int) -> None:
                return None

            async def go() -> float:
                async with queue_app.open_async():
                    for i in range(jobs):
                        await noop.defer_async(i=i)
                    started = time.perf_counter()
                    await queue_app.run_worker_async(
                        queues=["bench"], wait=False, install_signal_handlers=False
                    )
                    return time.perf_counter() - started

            defer_and_run = asyncio.run(go())
            return defer_and_run / jobs
        finally:
            with contextlib.suppress(StopIteration):
                next(gen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--empty", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("TRIMTAB_TEST_DATABASE_URL", DEFAULT_URL)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    per_job = empty_round_trip(args.empty)
    print(f"empty job round trip: {per_job * 1000:.1f} ms per job ({args.empty} jobs)")
    for n in args.workers:
        rate, each = throughput(args.accounts, n)
        print(
            f"{n} worker(s), {args.accounts} accounts: {rate:.0f} accounts/min "
            f"(enqueue {each * 1000:.1f} ms per slot); load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
