"""One cycle per account at a time, on the real PostgreSQL server: `run --once` beside a
worker's cycle of the same lock group, and a worker whose lock's session ended mid-cycle
(cut off from the database while a retry of its job took over)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.bootstrap import App, open_app
from daemon.cli import app as cli
from daemon.store.cluster import SessionLock, ensure_queue_schema
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
