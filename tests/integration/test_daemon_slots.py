"""The daemon's job firings in-process: real engine, simulated broker, time-machine clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.audit.events import AuditKind
from daemon.audit.view import summarize
from daemon.bootstrap import App, open_app
from daemon.cli import app as cli
from daemon.monitor.notify import Message
from daemon.service.slots import SlotRunner
from daemon.store.audit_log import AuditLog
from daemon.store.models import CycleRow
from tests.fakes.feeds import RawFeed

NY = ZoneInfo("America/New_York")
PRICES = {"VTI": Decimal("250.00"), "BND": Decimal("70.00")}


def ny(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), NY).astimezone(UTC)


TUESDAY = date(2026, 11, 24)


def make_app(tmp_path: Path, database_url: str, prices: dict[str, Decimal]) -> App:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\n'
        '[accounts.main]\nbroker = "sim"\nschedule = "close - 15m"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "0.6", BND = "0.4" }\n'
        '[accounts.main.broker_settings]\nstarting_cash = "100000"\n'
    )
    app = open_app(config)
    env = BrokerEnvironment(
        account="main",
        sql_engine=app.database.engine,
        state_dir=app.settings.state_dir,
        clock=app.clock,
    )
    settings = SimSettings.model_validate(app.settings.accounts["main"].broker_settings)
    app.brokers["main"] = SimBroker(settings, env, prices=RawFeed(prices))
    return app


class Harness:
    def __init__(self, app: App) -> None:
        self.app = app
        self.sent: list[Message] = []
        self.runner = SlotRunner(app, clock=app.clock, notify=self.sent.append)

    def cycles(self) -> list[tuple[str, str]]:
        with self.app.database.transaction() as session:
            rows = session.scalars(select(CycleRow).order_by(CycleRow.started_at))
            return [(r.cycle_id, r.outcome) for r in rows]


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    app = make_app(tmp_path, database_url, dict(PRICES))
    yield Harness(app)
    app.close()


def test_a_due_slot_runs_once_and_its_orders_are_reported(harness: Harness) -> None:
    with time_machine.travel(ny(TUESDAY, 15, 45) + timedelta(seconds=2)):
        harness.runner.handle("main")
        harness.runner.handle("main")  # a second firing (coalesced, or a restart)

    assert harness.cycles() == [("main:2026-11-24:1545", "succeeded")]
    [summary] = harness.sent
    assert summary.kind == "orders"
    assert summary.title == "trimtab: main placed 2 order(s) (paper)"
    assert "buy 571 BND: filled" in summary.body
    assert harness.runner.idle.is_set()


def test_slots_missed_while_stopped_are_recorded_as_skipped(harness: Harness) -> None:
    friday_beat = ny(date(2026, 11, 20), 16, 0)
    harness.runner.previous_beat = friday_beat
    # Back on Tuesday after the close, beyond the 30-minute grace window.
    with time_machine.travel(ny(TUESDAY, 16, 30)):
        harness.runner.handle("main")

    assert harness.cycles() == [("main:2026-11-24:1545", "skipped")]
    with harness.app.database.transaction() as session:
        [record] = AuditLog(session).records(kinds=[AuditKind.CYCLE_FINISHED])
    assert record.cycle_id == "main:2026-11-24:1545"
    assert record.payload["skipped_slots"] == ["main:2026-11-23:1545", "main:2026-11-24:1545"]
    assert summarize(record).startswith("skipped: 0 planned, 0 sent (missed by 45 min")
    [warning] = harness.sent
    assert (warning.kind, warning.title) == ("error", "trimtab: main skipped 2 slot(s)")

    # Nothing is recorded twice: the skipped row marks both slots handled.
    with time_machine.travel(ny(TUESDAY, 17, 0)):
        harness.runner.handle("main")
    assert len(harness.cycles()) == 1


def test_a_failed_cycle_is_an_alert_naming_the_error(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, {"VTI": Decimal("250.00")})  # no price for BND
    harness = Harness(app)
    try:
        with time_machine.travel(ny(TUESDAY, 15, 45) + timedelta(seconds=2)):
            harness.runner.handle("main")
        assert harness.cycles() == [("main:2026-11-24:1545", "failed")]
    finally:
        app.close()
    [alert] = harness.sent
    assert alert.kind == "error"
    assert alert.severity == "failure"
    assert alert.key == "error:main:DataError"
    assert "BND" in alert.body


def test_a_stopping_daemon_starts_no_queued_firing(harness: Harness) -> None:
    harness.runner.stopping = True
    with time_machine.travel(ny(TUESDAY, 15, 45) + timedelta(seconds=2)):
        harness.runner.handle("main")
    assert harness.cycles() == []
    assert harness.sent == []


def test_trouble_handling_one_account_is_caught_and_reported(
    harness: Harness, tmp_path: Path
) -> None:
    # A schedule the calendar cannot serve: the exchange is unknown to exchange_calendars.
    broken = harness.app.settings.model_copy(update={"exchange": "NOPE"})
    harness.app.settings = broken
    harness.runner.handle("main")
    [alert] = harness.sent
    assert alert.title == "trimtab: could not handle main's schedule"
    assert "unknown exchange calendar 'NOPE'" in json.dumps(alert.body)
    assert harness.runner.idle.is_set()


@pytest.mark.parametrize("option", [["--force"], ["--withdraw", "100"], ["--json"], ["-a", "main"]])
def test_one_cycle_options_are_refused_without_once(tmp_path: Path, option: list[str]) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text('[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n')
    result = CliRunner().invoke(cli, ["run", "-c", str(config), *option])
    assert result.exit_code == 2
    assert "only go with --once" in result.output
    assert not (tmp_path / "state").exists()  # refused before touching the state


class SimInMaintenance(SimBroker):
    """The simulated broker, saying it is in a maintenance window (as IB's adapter does
    around IB Gateway's nightly restart: `adapters.base.MaintenanceWindows`)."""

    def maintenance(self, at: datetime) -> str | None:
        return f"nightly restart at {at:%H:%M}"


def test_a_slot_in_the_brokers_maintenance_window_is_skipped_with_the_reason(
    harness: Harness,
) -> None:
    sim = harness.app.brokers["main"]
    assert isinstance(sim, SimBroker)
    harness.app.brokers["main"] = SimInMaintenance(
        sim.settings,
        BrokerEnvironment(
            account="main",
            sql_engine=harness.app.database.engine,
            state_dir=harness.app.settings.state_dir,
            clock=harness.app.clock,
        ),
        prices=RawFeed(dict(PRICES)),
    )
    with time_machine.travel(ny(TUESDAY, 15, 45) + timedelta(seconds=2)):
        harness.runner.handle("main")

    assert harness.cycles() == [("main:2026-11-24:1545", "skipped")]
    [warning] = harness.sent
    assert (warning.kind, warning.title) == ("error", "trimtab: main skipped 1 slot(s)")
    assert "the broker is unavailable: nightly restart at " in warning.body
