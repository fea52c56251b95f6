"""Where the scheduler's search for missed slots starts, and which slots count as handled.

- An account a reload added to a restarted daemon: its search starts at the reload, not at
  the previous daemon's last heartbeat (before the fix, its slots from before it was
  configured were recorded and alerted as skipped: "newacct skipped 3 slot(s)").
- Cluster mode: a slot whose cycle a worker is running (or whose job a worker took) is
  handled; a reload or a lease wake past the grace no longer records it as skipped too
  while the worker trades.

The real `CycleScheduler` and `SlotRunner` with the simulated broker (SQLite and PostgreSQL),
and the real `SlotEnqueuer` on PostgreSQL, on a time-machine clock (the reviewer's repros,
/tmp/audit/review4/r1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, text

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.bootstrap import App, open_app
from daemon.core.schedule import parse_schedule
from daemon.monitor.notify import Message
from daemon.service.enqueue import SlotEnqueuer
from daemon.service.lease import SchedulerLease
from daemon.service.scheduler import CycleScheduler
from daemon.service.slots import SlotRunner
from daemon.store.cluster import ensure_queue_schema
from daemon.store.cycles import CycleRecord, CycleStore
from daemon.store.models import CycleRow
from tests.fakes.feeds import RawFeed
from tests.integration.cluster_setup import Bench, make_bench

NY = ZoneInfo("America/New_York")
PREVIOUS_BEAT = datetime(2026, 11, 16, 16, 0, tzinfo=NY)
"""Monday: the previous daemon's last heartbeat (it stopped then; this one started Tuesday)."""
RELOAD = datetime(2026, 11, 19, 13, 0, tzinfo=NY)
"""Thursday 13:00: the moment `newacct` is scheduled."""
ACCOUNT = """
[accounts.{name}]
broker = "sim"
schedule = "10:00"
[accounts.{name}.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.{name}.broker_settings]
starting_cash = "100000"
"""


def _app(tmp_path: Path, database_url: str, name: str) -> App:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\nexchange = "XNYS"\ndatabase_url = "{database_url}"\n'
        + ACCOUNT.format(name=name)
    )
    app = open_app(config)
    env = BrokerEnvironment(
        account=name, sql_engine=app.database.engine, state_dir=app.settings.state_dir,
        clock=app.clock,
    )  # fmt: skip
    settings = SimSettings.model_validate(app.settings.accounts[name].broker_settings)
    prices = RawFeed({"VTI": Decimal(200), "BND": Decimal(80)})
    app.brokers[name] = SimBroker(settings, env, prices=prices)
    return app


def _rows(app: App) -> list[tuple[str, str]]:
    with app.database.transaction() as session:
        rows = session.scalars(select(CycleRow).order_by(CycleRow.cycle_id))
        return [(r.cycle_id, r.outcome) for r in rows]


@pytest.mark.parametrize("added", ["by_reload", "at_start"])
def test_an_account_added_by_a_reload_looks_back_to_the_reload_not_the_previous_heartbeat(
    tmp_path: Path, database_url: str, added: str
) -> None:
    app = _app(tmp_path, database_url, "newacct")
    sent: list[Message] = []
    fired = threading.Event()
    scheduler = CycleScheduler(exchange="XNYS", on_event=lambda *_: None)
    try:
        with time_machine.travel(RELOAD, tick=True):
            runner = SlotRunner(app, clock=app.clock, notify=sent.append)
            runner.previous_beat = PREVIOUS_BEAT  # what Daemon.run reads at Tuesday's start

            def handle(*args: Any) -> None:
                runner.handle(*args)
                fired.set()

            spec = parse_schedule("10:00")
            if added == "at_start":  # configured when the daemon started: Daemon.run's order
                scheduler.cycle_job("newacct", spec, "XNYS", handle)
                scheduler.start()
            else:  # a SIGHUP's `_schedule` while the daemon runs
                scheduler.start()
                scheduler.cycle_job("newacct", spec, "XNYS", handle)
            assert fired.wait(30)
            runner.stopping = True
            scheduler.shutdown(wait=True)
        rows = _rows(app)
    finally:
        scheduler.shutdown(wait=True)
        app.close()

    skipped = [(m.key, m.title) for m in sent if m.key.startswith("skipped:")]
    if added == "by_reload":
        # Tuesday's to Thursday's 10:00 came before the account was configured: not missed.
        assert rows == [], rows
        assert skipped == []
    else:
        # Present at the start: what the stopped daemon may have missed is still recorded.
        assert rows == [("newacct:2026-11-19:1000", "skipped")], rows
        assert skipped == [("skipped:newacct", "trimtab: newacct skipped 3 slot(s)")]


# -- cluster mode ----------------------------------------------------------------------------

START = datetime(2026, 11, 19, 9, 0, tzinfo=NY)
DAY = date(2026, 11, 19)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    yield from make_bench(tmp_path, 0)


@pytest.mark.postgres
@pytest.mark.parametrize("worker", ["running_attempt", "job_taken"])
def test_a_reload_past_the_grace_leaves_the_slot_a_worker_runs_alone(
    tmp_path: Path, bench: Bench, worker: str
) -> None:
    app = _app(tmp_path, bench.url, "a")
    ensure_queue_schema(app.database)
    sent: list[Message] = []
    lease = SchedulerLease(app.database, queue="trimtab", clock=app.clock)
    try:
        with time_machine.travel(START, tick=False) as clock:
            lease.poll()
            runner = SlotEnqueuer(app, clock=app.clock, notify=sent.append, lease=lease)
            watched = app.clock()  # CycleScheduler.cycle_job at the daemon's start
            clock.move_to(datetime(2026, 11, 19, 10, 0, 5, tzinfo=NY))
            runner.handle("a", watched, False)  # the 10:00 firing: enqueued
            assert runner.enqueued == 1
            clock.move_to(datetime(2026, 11, 19, 10, 0, 10, tzinfo=NY))
            if worker == "job_taken":  # a worker took the job and is about to start its cycle
                with app.database.transaction() as session:
                    session.execute(text("UPDATE procrastinate_jobs SET status = 'doing'"))
            else:  # the worker's engine started the cycle (Engine._cycle's row)
                with app.database.transaction() as session:
                    CycleStore(session).add(
                        CycleRecord(
                            cycle_id="a:2026-11-19:1000", account="a", trading_day=DAY,
                            slot="1000", mode="paper", started_at=app.clock(),
                            outcome="running",
                        )
                    )  # fmt: skip
            # A SIGHUP reload (or a lease wake) fires every job 40 minutes on, the worker's
            # cycle still running.
            clock.move_to(datetime(2026, 11, 19, 10, 40, tzinfo=NY))
            runner.handle("a", watched, False)
        rows = _rows(app)
    finally:
        lease.release()
        app.close()

    assert ("a:2026-11-19:1000.2", "skipped") not in rows
    assert [row for row in rows if row[1] == "skipped"] == []
    assert [m.key for m in sent if m.key.startswith("skipped:")] == []
    assert runner.enqueued == 1
