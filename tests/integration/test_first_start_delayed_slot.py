"""A first start where one account's long cycle holds the cycle thread past another account's
slot: the real APScheduler set-up (`CycleScheduler`, `SessionTrigger`) firing the real
`SlotRunner`, engine and simulated broker, on a time-machine clock.

Before the fix, `fast`'s firing came after `slow`'s 200-second cycle, looked back only over
the grace window, and found "nothing due": its 05:52 and 05:54 slots vanished with no
`cycles` row, no audit record and no alert (the auditor's repro, /tmp/audit/plugins/w4).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import select

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.audit.events import AuditKind
from daemon.bootstrap import App, open_app
from daemon.core.domain import Quote
from daemon.core.schedule import parse_schedule
from daemon.monitor.notify import Message
from daemon.service.scheduler import CycleScheduler
from daemon.service.slots import SlotRunner
from daemon.store.alerts import AlertStore
from daemon.store.audit_log import AuditLog
from daemon.store.models import CycleRow
from tests.fakes.feeds import RawFeed

PRICES = {"VTI": Decimal("200"), "BND": Decimal("80")}
START = datetime(2026, 12, 7, 5, 52, 23, tzinfo=UTC)
SCHEDULE = "every 2 minutes while open"
CYCLE_SECONDS = 200


@dataclass
class LongFirstQuote(RawFeed):
    """A feed whose first answer takes `CYCLE_SECONDS` on the daemon's clock (moved forward
    instead of slept, so the test does not wait 200 seconds)."""

    advance: Callable[[timedelta], None] = lambda _: None
    asked: threading.Event = field(default_factory=threading.Event)

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        if not self.asked.is_set():
            self.asked.set()
            self.advance(timedelta(seconds=CYCLE_SECONDS))
        return super().quote(symbol, datetime.now(UTC))


def make_app(tmp_path: Path, database_url: str) -> tuple[App, LongFirstQuote]:
    config = tmp_path / "trimtab.toml"
    accounts = "".join(
        f'[accounts.{name}]\nbroker = "sim"\nschedule = "{SCHEDULE}"\n'
        f'[accounts.{name}.strategy_params]\ntargets = {{ VTI = "0.6", BND = "0.4" }}\n'
        f'[accounts.{name}.broker_settings]\nstarting_cash = "100000"\n'
        for name in ("slow", "fast")
    )
    config.write_text(
        f'mode = "paper"\nexchange = "24/7"\ndatabase_url = "{database_url}"\n'
        "[scheduler]\nmisfire_grace_minutes = 1\n" + accounts
    )
    app = open_app(config)
    slow_feed = LongFirstQuote(dict(PRICES))
    for name, feed in (("slow", slow_feed), ("fast", RawFeed(dict(PRICES)))):
        env = BrokerEnvironment(
            account=name, sql_engine=app.database.engine, state_dir=app.settings.state_dir,
            clock=app.clock,
        )  # fmt: skip
        settings = SimSettings.model_validate(app.settings.accounts[name].broker_settings)
        app.brokers[name] = SimBroker(settings, env, prices=feed)
    return app, slow_feed


def cycles(app: App) -> list[tuple[str, str, str | None]]:
    with app.database.transaction() as session:
        rows = session.scalars(select(CycleRow).order_by(CycleRow.started_at, CycleRow.cycle_id))
        return [(r.cycle_id, r.outcome, r.error) for r in rows]


def fast_rows(app: App) -> list[tuple[str, str, str | None]]:
    return [row for row in cycles(app) if row[0].startswith("fast:")]


def test_a_slot_held_up_past_its_grace_on_a_first_start_is_skipped_audited_and_alerted(
    tmp_path: Path, database_url: str
) -> None:
    app, slow_feed = make_app(tmp_path, database_url)
    sent: list[Message] = []
    events: list[str] = []

    def on_event(name: str, job_id: str, _exc: Any) -> None:
        events.append(f"{name}:{job_id}")

    scheduler = CycleScheduler(exchange="24/7", on_event=on_event)
    try:
        with time_machine.travel(START, tick=True) as clock:
            slow_feed.advance = clock.shift
            # As the daemon starts: a runner with no previous heartbeat, both accounts
            # scheduled (each firing once now), then the scheduler started. `slow` goes first
            # on the one cycle thread; its cycle takes 200 s; `fast`'s first firing waits.
            runner = SlotRunner(app, clock=app.clock, notify=sent.append)
            assert runner.previous_beat is None
            for name in ("slow", "fast"):
                scheduler.cycle_job(name, parse_schedule(SCHEDULE), "24/7", runner.handle)
            scheduler.start()
            deadline = time.monotonic() + 30
            while not fast_rows(app) and time.monotonic() < deadline:
                time.sleep(0.2)
            # Stop as the daemon does, still on the travelled clock: firings still queued
            # return without doing anything.
            runner.stopping = True
            scheduler.shutdown(wait=True)
        ran = cycles(app)
        with app.database.transaction() as session:
            records = AuditLog(session).records(kinds=[AuditKind.CYCLE_FINISHED])
            firing = [(a.account, a.key) for a in AlertStore(session).listed(firing_only=True)]
    finally:
        scheduler.shutdown(wait=True)
        app.close()

    reason = (
        "missed by 1 min, more than the 1-minute grace window "
        "(trimtab was stopped, the machine off or asleep, or busy)"
    )
    # `fast`'s 05:52 (the slot its start-up firing would have run) and 05:54 (due while it
    # waited) are recorded: one `skipped` row marks both handled.
    assert ran[0] == ("slow:2026-12-07:0552", "succeeded", None), ran
    assert [row for row in ran if row[0].startswith("fast:")] == [
        ("fast:2026-12-07:0554", "skipped", reason)
    ], (events, [m.title for m in sent])
    # `slow`'s own 05:54 firing may have come while its cycle ran (then it is skipped too,
    # as before); nothing else was recorded.
    assert set(ran[1:]) - {("fast:2026-12-07:0554", "skipped", reason)} <= {
        ("slow:2026-12-07:0554", "skipped", reason)
    }
    [skipped] = [r for r in records if r.account == "fast"]
    assert skipped.cycle_id == "fast:2026-12-07:0554"
    assert skipped.payload["outcome"] == "skipped"
    assert skipped.payload["skipped_slots"] == ["fast:2026-12-07:0552", "fast:2026-12-07:0554"]
    assert skipped.payload["why_not_submitted"] == reason
    # Announced as every skipped slot is: the warning (the runner's own message for the
    # `cycle_skipped` family) and the alert, firing.
    assert [(m.key, m.title) for m in sent if m.key == "skipped:fast"] == [
        ("skipped:fast", "trimtab: fast skipped 2 slot(s)")
    ]
    assert ("fast", "cycle_skipped") in firing
