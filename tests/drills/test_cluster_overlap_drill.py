"""One cycle per account at a time, with real `trimtab` processes on PostgreSQL and the
simulated broker (the audit's two cases):

- `trimtab run --once -a ACCOUNT` while a worker is in that account's cycle is refused and
  runs nothing; the worker's cycle alone trades.
- A worker paused mid-cycle (SIGSTOP) whose group lock's session the server ends, and whose
  job another worker retries as the slot's next attempt, sends nothing when it resumes
  (SIGCONT): the account's orders go out once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.test_cluster_drill import TRIMTAB, Processes, _enqueue_all, _unfinished, _until
from tests.integration.cluster_setup import Bench, make_bench

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Bench]:
    # The strategy takes 8 s: the cycle is under way, nothing sent yet, while the drill acts.
    yield from make_bench(tmp_path, 1, seconds=8.0, lease="3", heartbeat="0.5")


def _stop(procs: Processes) -> None:
    """Leave no process behind when a drill fails half way (a paused one is resumed first)."""
    for process in procs.running:
        process.send_signal(signal.SIGCONT)
    procs.stop_all()


def _local_ports(pid: int) -> list[int]:
    """The local TCP ports of the process's sockets (Linux's /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    ports = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _orders(bench: Bench) -> list[tuple[object, ...]]:
    return bench.rows("SELECT symbol, side FROM sim_orders ORDER BY symbol")


@pytest.mark.timeout(300)
def test_run_once_beside_a_workers_cycle_of_the_account_is_refused(
    slow: Bench, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    bench = slow
    _enqueue_all(bench)
    procs = Processes(tmp_path, bench.config)
    request.addfinalizer(lambda: _stop(procs))
    procs.start("worker")
    _until(lambda: bool(procs.in_cycle()), 120, "the worker's cycle starting", procs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env["TRIMTAB_STATE_DIR"] = str(tmp_path / "once")
    once = subprocess.run(
        [str(TRIMTAB), "run", "--once", "-a", "a0000", "-c", str(bench.config)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert once.returncode == 1, once.stdout + once.stderr
    assert "a0000: refused" in once.stdout
    assert "in a cycle on a worker" in once.stdout
    _until(lambda: _unfinished(bench) == 0, 120, "the worker's job finishing", procs)
    assert set(procs.stop_all()) == {0}
    assert bench.rows("SELECT cycle_id, outcome FROM cycles") == [
        (bench.scalar("SELECT cycle_id FROM cycles"), "succeeded")
    ]
    assert _orders(bench) == [("BND", "buy"), ("VTI", "buy")]


@pytest.mark.timeout(300)
def test_a_worker_cut_off_mid_cycle_sends_nothing_after_a_retry_took_over(
    slow: Bench, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    bench = slow
    _enqueue_all(bench)
    procs = Processes(tmp_path, bench.config)
    request.addfinalizer(lambda: _stop(procs))
    first = procs.start("worker")
    _until(lambda: bool(procs.in_cycle()), 120, "the first worker's cycle starting", procs)
    # Paused, and cut off: the server ends its sessions (what its keepalive does for a dead
    # peer), the group's lock with them, and whatever row locks a transaction held.
    time.sleep(3)  # past the gathering, into the strategy: no query under way
    first.send_signal(signal.SIGSTOP)
    ports = _local_ports(first.pid)
    ended = bench.scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND client_port = ANY(:ports)",
        ports=ports,
    )
    assert ended >= 2  # at least the lock's session and procrastinate's
    procs.start("worker")
    # The retry runs the slot to the end; then the first worker comes back, its cycle
    # planned from the holdings it read before the pause.
    _until(
        lambda: bench.scalar("SELECT outcome FROM cycles WHERE cycle_id LIKE '%.2'") == "succeeded",
        120,
        "the second worker's retry finishing",
        procs,
    )
    first.send_signal(signal.SIGCONT)
    _until(
        lambda: bench.scalar("SELECT count(*) FROM cycles WHERE outcome = 'running'") == 0,
        120,
        "both attempts finishing",
        procs,
    )
    _until(lambda: _unfinished(bench) == 0, 120, "the job finishing", procs)
    procs.stop_all()
    # The retry's buys went out once; the resumed attempt sent nothing.
    assert _orders(bench) == [("BND", "buy"), ("VTI", "buy")]
    first_log = procs.log_of[first.pid].read_text()
    assert '"cycle_fenced"' in first_log
