"""`trimtab health`: heartbeat, last cycle, broker reachability, days without a success."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
import typer
from typer.testing import CliRunner

from daemon.bootstrap import broker_migrations
from daemon.cli.health_cmd import health
from daemon.config.settings import Settings, load_config
from daemon.core.domain import TradingState
from daemon.monitor.health import HealthReport, evaluate
from daemon.store.cycles import CycleStore
from daemon.store.db import Database, open_database
from daemon.store.heartbeat import HeartbeatStore
from daemon.store.models import CycleRow
from daemon.store.trading_state import account_state, set_trading_state

NY = ZoneInfo("America/New_York")
# Thursday 3 December 2026, 12:00 in New York.
NOW = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def ny(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), NY).astimezone(UTC)


def write_config(tmp_path: Path, database_url: str, schedule: str = "close - 15m") -> Path:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        "[health]\nheartbeat_seconds = 30\nstale_after_seconds = 120\n"
        "broker_unreachable_minutes = 60\nmax_days_without_success = 3\n"
        f'[accounts.main]\nschedule = "{schedule}"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    return config


def cycle(database: Database, day: date, slot: str, outcome: str, error: str | None = None) -> None:
    started = ny(day, int(slot[:2]), int(slot[2:]))
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=f"main:{day}:{slot}",
                account="main",
                trading_day=day,
                slot=slot,
                mode="paper",
                started_at=started,
                finished_at=None if outcome == "running" else started + timedelta(seconds=20),
                outcome=outcome,
                error=error,
            )
        )


def beat(database: Database, at: datetime) -> None:
    with database.transaction() as session:
        HeartbeatStore(session).beat(
            now=at, started_at=at - timedelta(days=9), pid=4242, hostname="pi"
        )


def judge(database: Database, settings: Settings, now: datetime = NOW) -> HealthReport:
    with database.transaction() as session:
        states = {a: account_state(session, a) for a in settings.accounts}
        return evaluate(CycleStore(session), HeartbeatStore(session), settings, now, states=states)


def failing(report: HealthReport) -> dict[str, str]:
    return {c.key: c.detail for c in report.failing}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_config(write_config(tmp_path, database_url))


def test_healthy_when_the_beat_is_fresh_and_the_last_cycles_succeeded(
    database: Database, settings: Settings
) -> None:
    beat(database, NOW - timedelta(seconds=20))
    cycle(database, date(2026, 12, 2), "1545", "succeeded")
    report = judge(database, settings)
    assert report.ok, failing(report)
    assert [c.key for c in report.checks] == [
        "heartbeat",
        "last_cycle:main",
        "broker:main",
        "success:main",
        "trading_state:main",
    ]


def test_a_halted_account_fails_though_its_cycles_succeed(
    database: Database, settings: Settings
) -> None:
    """A trip rule halts the account and its cycles go on succeeding, sending nothing: before,
    `health` said all was well while nothing could trade."""
    beat(database, NOW - timedelta(seconds=20))
    cycle(database, date(2026, 12, 2), "1545", "succeeded")
    with database.transaction() as session:
        set_trading_state(
            session,
            "main",
            TradingState.HALTED,
            reason="3 rejections in one cycle",
            actor="trip rule",
            at=NOW,
        )
    assert failing(judge(database, settings)) == {
        "trading_state:main": "HALTED: 3 rejections in one cycle; nothing trades until "
        "`trimtab resume -a main`"
    }


def test_a_stale_or_stopped_heartbeat_fails(database: Database, settings: Settings) -> None:
    assert "never run" in failing(judge(database, settings))["heartbeat"]
    beat(database, NOW - timedelta(seconds=500))
    assert (
        "last heartbeat 500 s ago (limit 120 s) from pid 4242 on pi"
        in (failing(judge(database, settings))["heartbeat"])
    )
    beat(database, NOW - timedelta(seconds=5))
    with database.transaction() as session:
        HeartbeatStore(session).stop(now=NOW)
    assert "stopped at 2026-12-03 17:00:00 UTC" in failing(judge(database, settings))["heartbeat"]


def test_the_last_cycle_failing_or_never_finishing_fails(
    database: Database, settings: Settings
) -> None:
    beat(database, NOW)
    cycle(database, date(2026, 12, 2), "1545", "failed", "DataError: no price for VTI")
    assert failing(judge(database, settings)) == {
        "last_cycle:main": "main:2026-12-02:1545 failed: DataError: no price for VTI"
    }
    cycle(database, date(2026, 12, 3), "1100", "running")  # an hour ago
    report = judge(database, settings)
    assert "never finished" in failing(report)["last_cycle:main"]
    # A cycle that is still within its time is fine.
    assert judge(database, settings, ny(date(2026, 12, 3), 11, 20)).ok


def test_a_broker_unreachable_for_longer_than_the_threshold_fails(
    database: Database, tmp_path: Path, database_url: str
) -> None:
    settings = load_config(write_config(tmp_path, database_url, "every 30 minutes while open"))
    day = date(2026, 12, 3)
    cycle(database, day, "1000", "succeeded")
    for slot in ("1030", "1100", "1130"):
        cycle(database, day, slot, "failed", "TransientBrokerError: connection refused")
    beat(database, ny(day, 11, 45))
    # Unreachable since 10:30: 75 minutes at 11:45, over the 60-minute threshold.
    report = judge(database, settings, ny(day, 11, 45))
    assert failing(report)["broker:main"].startswith(
        "unreachable since 2026-12-03 15:30 UTC (75 min, 3 cycles)"
    )
    # At 11:20 it had been 50 minutes: the last cycle failed, but not the broker check yet.
    early = judge(database, settings, ny(day, 11, 20))
    assert "broker:main" not in failing(early)


def test_trading_days_with_a_slot_and_no_success_are_counted(
    database: Database, tmp_path: Path, database_url: str
) -> None:
    daily = load_config(write_config(tmp_path, database_url))
    # Last success Friday 27 November; Monday to Wednesday had slots and no success.
    cycle(database, date(2026, 11, 27), "1245", "succeeded")
    cycle(database, date(2026, 12, 2), "1545", "skipped")
    beat(database, NOW)
    assert failing(judge(database, daily))["success:main"] == (
        "no successful cycle on 3 trading days with a slot (last success 2026-11-27; limit 3)"
    )
    # Before Wednesday's slot only two days had passed.
    assert "success:main" not in failing(judge(database, daily, ny(date(2026, 12, 2), 15, 0)))

    # A monthly schedule had only one slot since (1 December): healthy.
    monthly = load_config(
        write_config(tmp_path, database_url, "first trading day of the month at close - 15m")
    )
    assert "success:main" not in failing(judge(database, monthly))


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(health)
    app.command("noop")(lambda: None)  # two commands: typer keeps the `health` name
    return app


def test_the_command_exits_1_with_the_reasons_and_0_when_healthy(
    tmp_path: Path, database_url: str
) -> None:
    config = write_config(tmp_path, database_url)
    database = open_database(database_url, tmp_path / "state", branches=broker_migrations())
    try:
        with time_machine.travel(NOW, tick=False):
            runner = CliRunner()
            result = runner.invoke(cli(), ["health", "-c", str(config), "--json"])
            assert result.exit_code == 1, result.output
            report = json.loads(result.stdout)
            assert report["ok"] is False
            assert {c["name"] for c in report["checks"] if not c["ok"]} == {"heartbeat"}

            without = runner.invoke(cli(), ["health", "-c", str(config), "--no-daemon"])
            assert without.exit_code == 0, without.output
            assert "healthy" in without.output

            beat(database, NOW - timedelta(seconds=10))
            cycle(database, date(2026, 12, 2), "1545", "succeeded")
            result = runner.invoke(cli(), ["health", "-c", str(config)])
            assert result.exit_code == 0, result.output
    finally:
        database.close()


def test_without_a_daemon_the_heartbeat_check_names_no_daemon_once_cycles_ran(
    database: Database, settings: Settings
) -> None:
    assert "--no-daemon" not in failing(judge(database, settings))["heartbeat"]
    cycle(database, date(2026, 12, 2), "1545", "succeeded")  # as `run --once` from a timer
    detail = failing(judge(database, settings))["heartbeat"]
    assert "`trimtab run` has never run on this state" in detail
    assert "cycles ran without it (`trimtab run --once`)" in detail
    assert "`trimtab health --no-daemon`" in detail
