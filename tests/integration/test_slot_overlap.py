"""A slot that comes due while the same account's cycle still runs: the real APScheduler set-up
(`CycleScheduler`, its `SessionTrigger`) firing the real `SlotRunner`, engine and simulated
broker, on a time-machine clock that ticks.

Before `max_instances=2`, APScheduler dropped the 10:30 firing as busy (the 10:00 cycle was
still running) and nothing fired again until 11:00: the 10:30 slot, well inside its grace
window, was lost and later filed as skipped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import select

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.bootstrap import open_app
from daemon.core.domain import Quote
from daemon.core.schedule import parse_schedule
from daemon.monitor.notify import Message
from daemon.service.scheduler import CycleScheduler
from daemon.service.slots import SlotRunner
from daemon.store.models import CycleRow
from tests.fakes.feeds import RawFeed
from tests.integration.test_daemon_slots import PRICES, TUESDAY, ny

CYCLE_SECONDS = 4.0
"""How long the first cycle's quotes take: it is still running when the next slot comes."""


@dataclass
class SlowFirstQuote(RawFeed):
    """A feed whose first answer is slow (a broker's data service having a bad minute)."""

    slow: threading.Event = field(default_factory=threading.Event)

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        if not self.slow.is_set():
            self.slow.set()
            time.sleep(CYCLE_SECONDS)
        return super().quote(symbol, at)


def test_a_slot_due_while_the_accounts_cycle_runs_still_runs(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\n'
        "[scheduler]\nmisfire_grace_minutes = 30\n"
        '[accounts.main]\nbroker = "sim"\nschedule = "every 30 minutes while open"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
        '[accounts.main.broker_settings]\nstarting_cash = "100000"\n'
    )
    app = open_app(config)
    env = BrokerEnvironment(
        account="main", sql_engine=app.database.engine, state_dir=app.settings.state_dir,
        clock=app.clock,
    )  # fmt: skip
    settings = SimSettings.model_validate(app.settings.accounts["main"].broker_settings)
    app.brokers["main"] = SimBroker(settings, env, prices=SlowFirstQuote(dict(PRICES)))
    sent: list[Message] = []
    runner = SlotRunner(app, clock=app.clock, notify=sent.append)
    events: list[str] = []

    def on_event(name: str, job_id: str, _exc: Any) -> None:
        events.append(f"{name}:{job_id}")

    def cycles() -> list[tuple[str, str]]:
        with app.database.transaction() as session:
            rows = session.scalars(select(CycleRow).order_by(CycleRow.started_at))
            return [(r.cycle_id, r.outcome) for r in rows]

    # Three seconds before the 10:30 slot: the start-up firing finds 10:00 due (within the
    # grace window) and runs it; it takes four seconds, so 10:30 comes while it runs.
    start = ny(TUESDAY, 10, 30) - timedelta(seconds=3)
    scheduler = CycleScheduler(exchange="XNYS", on_event=on_event)
    try:
        with time_machine.travel(start, tick=True):
            scheduler.start()
            scheduler.cycle_job(
                "main", parse_schedule("every 30 minutes while open"), "XNYS", runner.handle
            )
            deadline = time.monotonic() + 30
            # Until the second cycle has ended, not just begun: the clock must stay in the
            # session while it prices (a row is written "running" when a cycle starts).
            while time.monotonic() < deadline:
                rows = cycles()
                if len(rows) >= 2 and all(outcome != "running" for _, outcome in rows):
                    break
                time.sleep(0.2)
            done = datetime.now(UTC)
        scheduler.shutdown(wait=True)
        ran = cycles()
    finally:
        scheduler.shutdown(wait=True)
        app.close()

    assert ran == [
        ("main:2026-11-24:1000", "succeeded"),
        ("main:2026-11-24:1030", "succeeded"),
    ], (events, [m.title for m in sent])
    assert done < ny(TUESDAY, 10, 31)  # right after the first cycle, not at 11:00
