"""Cluster drills on the real PostgreSQL server, with real `trimtab worker` and `trimtab run`
processes on the simulated broker.

- Many accounts across three workers, workers SIGKILLed at random moments (and replaced):
  every slot ends with exactly one successful cycle, no order reached the broker twice, and
  the jobs of the killed workers were finished by others.
- Two schedulers on one database: the standby takes the lease after the leader is killed,
  and a slot is enqueued once whichever of them sees it.

`TRIMTAB_CLUSTER_ACCOUNTS` sizes the first drill (docs/scaling.md gives the measured times);
`TRIMTAB_CLUSTER_KILLS` how many workers it kills; `TRIMTAB_DRILL_SEED` the kill moments.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.bootstrap import open_app
from daemon.core.calendar import trading_day
from daemon.store.cluster import SCHEDULER_LEASE, enqueue_slot, ensure_queue_schema, take_lease
from tests.integration.cluster_setup import ACCOUNTS_ENV, Bench, make_bench

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TRIMTAB = Path(sys.executable).parent / "trimtab"
ACCOUNTS = int(os.environ.get(ACCOUNTS_ENV, "8"))
KILLS = int(os.environ.get("TRIMTAB_CLUSTER_KILLS", "2"))
SEED = int(os.environ.get("TRIMTAB_DRILL_SEED", "20261206"))
WORKERS = 3


class Processes:
    """trimtab processes of one drill, each with its own state directory (its own machine)."""

    def __init__(self, tmp: Path, config: Path) -> None:
        self._tmp = tmp
        self._config = config
        self.running: list[subprocess.Popen[bytes]] = []
        self._count = 0
        self.log_of: dict[int, Path] = {}

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self._count += 1
        name = f"{args[0]}-{self._count}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
        env["TRIMTAB_STATE_DIR"] = str(self._tmp / name)
        path = self._tmp / f"{name}.log"
        log = path.open("wb")
        process = subprocess.Popen(
            [str(TRIMTAB), *args, "-c", str(self._config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.running.append(process)
        self.log_of[process.pid] = path
        return process

    def in_cycle(self) -> list[subprocess.Popen[bytes]]:
        """The running processes whose log shows a cycle started and not finished."""
        busy = []
        for process in self.running:
            text = self.log_of[process.pid].read_text()
            if text.rfind('"cycle_started"') > text.rfind('"cycle_finished"'):
                busy.append(process)
        return busy

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.running.remove(process)

    def stop_all(self) -> list[int | None]:
        """SIGTERM every process; return the exit codes of those that had started serving
        (one still importing dies of the signal's default action, which is harmless)."""
        serving = {
            p.pid
            for p in self.running
            if any(
                word in self.log_of[p.pid].read_text()
                for word in ('"worker_started"', '"daemon_started"')
            )
        }
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.running:
            try:
                code: int | None = process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                code = None
            if process.pid in serving:
                codes.append(code)
        self.running.clear()
        return codes

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self._tmp.glob("*.log")))


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def _until(done: Callable[[], bool], seconds: float, what: str, procs: Processes) -> None:
    deadline = time.monotonic() + seconds
    while not _safely(done):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s\n{procs.logs()}")
        time.sleep(0.2)


def _safely(done: Callable[[], bool]) -> bool:
    """Ask `done`; a table the processes have not created yet means "not yet"."""
    try:
        return done()
    except Exception as exc:
        if "does not exist" in str(exc):
            return False
        raise


def _enqueue_all(bench: Bench) -> list[str]:
    """Enqueue one slot per account as a leader in epoch 1 would; return the accounts."""
    app = open_app(bench.config)
    try:
        ensure_queue_schema(app.database)
        now = datetime.now(UTC)
        day = trading_day(now, app.settings.exchange)
        with app.database.transaction() as session:
            epoch = take_lease(session, SCHEDULER_LEASE, "drill:0", now)
            for account in app.settings.accounts:
                enqueue_slot(
                    session,
                    epoch=epoch,
                    queue=app.settings.cluster.queue,
                    account=account,
                    day=day,
                    slot="0000",
                    lock=app.settings.lock_key(account),
                    now=now,
                )
        return list(app.settings.accounts)
    finally:
        app.close()


def _unfinished(bench: Bench) -> int:
    return int(
        bench.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
    )


def _no_order_twice(bench: Bench) -> None:
    twice = bench.rows(
        "SELECT account, symbol, side, count(*) FROM sim_orders "
        "GROUP BY account, symbol, side HAVING count(*) > 1"
    )
    assert twice == []
    ids = bench.rows(
        "SELECT client_order_id FROM sim_orders GROUP BY client_order_id HAVING count(*) > 1"
    )
    assert ids == []


@pytest.fixture
def many(tmp: Path) -> Iterator[Bench]:
    # A lease of a few heartbeats: a live worker slowed by a loaded machine is not taken
    # for dead (its job would only wait on the group's lock, but the drill would run long).
    yield from make_bench(tmp, ACCOUNTS, seconds=0.05, lease="5", heartbeat="1")


@pytest.mark.timeout(600)
def test_accounts_across_three_workers_each_slot_once_despite_kills(many: Bench, tmp: Path) -> None:
    bench = many
    accounts = _enqueue_all(bench)
    procs = Processes(tmp, bench.config)
    started = time.monotonic()
    for _ in range(WORKERS):
        procs.start("worker")
    chance = random.Random(SEED)
    kills = 0
    while _unfinished(bench) and kills < KILLS:
        # Kill a worker in the middle of a cycle, at a random moment, and start a replacement.
        busy = procs.in_cycle()
        if busy:
            time.sleep(chance.uniform(0.0, 0.5))
            procs.kill(chance.choice(busy))
            kills += 1
            procs.start("worker")
        time.sleep(0.05)
    _until(lambda: _unfinished(bench) == 0, 420, "every job finishing", procs)
    took = time.monotonic() - started
    codes = procs.stop_all()
    print(f"{len(accounts)} accounts, {WORKERS} workers, {kills} killed: {took:.1f} s")
    assert codes
    assert set(codes) == {0}

    statuses = bench.rows("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
    assert statuses == [("succeeded", len(accounts))]
    succeeded = {
        str(a): n
        for a, n in bench.rows(
            "SELECT account, count(*) FROM cycles WHERE outcome = 'succeeded' GROUP BY account"
        )
    }
    assert succeeded == dict.fromkeys(accounts, 1)
    _no_order_twice(bench)
    # Every account ended on its targets: both buys reached the broker, once each.
    held = {
        str(a): n
        for a, n in bench.rows("SELECT account, count(*) FROM sim_positions GROUP BY account")
    }
    assert held == dict.fromkeys(accounts, 2)
    # The killed workers' jobs went back to the queue and another worker finished them.
    assert kills == KILLS
    retried = bench.scalar("SELECT count(*) FROM procrastinate_jobs WHERE attempts > 0")
    assert retried >= 1


@pytest.fixture
def few(tmp: Path) -> Iterator[Bench]:
    yield from make_bench(tmp, 3, lease="5", heartbeat="1")


@pytest.mark.timeout(300)
def test_the_standby_takes_over_when_the_leader_is_killed(few: Bench, tmp: Path) -> None:
    bench = few
    procs = Processes(tmp, bench.config)
    schedulers = [procs.start("run"), procs.start("run")]
    procs.start("worker")
    _until(
        lambda: bench.scalar("SELECT count(*) FROM cluster_slots") == 3,
        120,
        "the leader enqueueing every account",
        procs,
    )
    holder, epoch = bench.rows("SELECT holder, epoch FROM cluster_leases")[0]
    assert epoch == 1
    leader = next(p for p in schedulers if str(holder).endswith(f":{p.pid}"))
    standby = next(p for p in schedulers if p is not leader)
    assert standby.poll() is None  # waiting, not failed
    assert bench.rows("SELECT DISTINCT epoch FROM cluster_slots") == [(1,)]

    procs.kill(leader)
    killed_at = time.monotonic()
    _until(
        lambda: bench.scalar("SELECT epoch FROM cluster_leases") == 2,
        60,
        "the standby taking the lease",
        procs,
    )
    print(f"takeover after {time.monotonic() - killed_at:.1f} s")
    assert str(bench.scalar("SELECT holder FROM cluster_leases")).endswith(f":{standby.pid}")
    _until(lambda: _unfinished(bench) == 0, 180, "the queued slots running", procs)
    assert set(procs.stop_all()) == {0}

    # Each slot is one job, whichever scheduler saw it (the new leader handled every
    # account at once on taking over; a slot already enqueued stayed one job).
    assert bench.scalar("SELECT count(*) FROM procrastinate_jobs") == bench.scalar(
        "SELECT count(*) FROM cluster_slots"
    )
    twice = bench.rows(
        "SELECT account, trading_day, slot FROM cycles WHERE outcome = 'succeeded' "
        "GROUP BY account, trading_day, slot HAVING count(*) > 1"
    )
    assert twice == []
    assert bench.rows("SELECT cycle_id FROM cycles WHERE outcome = 'failed'") == []
    ran = bench.rows("SELECT DISTINCT account FROM cycles WHERE outcome = 'succeeded'")
    assert sorted(str(a) for (a,) in ran) == ["a0000", "a0001", "a0002"]
    _no_order_twice(bench)
