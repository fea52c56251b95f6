"""Schedules whose slots fall outside the regular session: refused at start, by `trimtab config
check` too, and a skip's reason says which closed market it met.

Before: `close`, `close + 5m`, `open - 5m` passed every check, then every slot was skipped,
"an early close or a holiday session" even on a normal day; `config check` said OK to
`open - 10h`, which `trimtab run` refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from daemon.cli import app as cli
from daemon.config.settings import Settings, load_config
from daemon.core.sessions import sessions_between, typical_sessions
from daemon.service.schedule_check import check_schedules
from daemon.service.scheduler import due_slots
from daemon.store.cycles import CycleStore
from daemon.store.db import open_database

NY = ZoneInfo("America/New_York")


def settings_for(tmp_path: Path, schedule: str, *, outside_hours: bool = False) -> Path:
    config = tmp_path / "trimtab.toml"
    policy = "[accounts.main.policy]\noutside_hours = true\n" if outside_hours else ""
    config.write_text(
        f'exchange = "XNYS"\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\n'
        "[scheduler]\nmisfire_grace_minutes = 30\n"
        f'[accounts.main]\nschedule = "{schedule}"\n{policy}'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    return config


@pytest.mark.parametrize("schedule", ["close", "close - 0m", "close + 5m", "open - 5m"])
@pytest.mark.parametrize("quick", [False, True])
def test_a_schedule_outside_the_regular_session_is_refused(
    tmp_path: Path, schedule: str, quick: bool
) -> None:
    settings = load_config(settings_for(tmp_path, schedule))
    [problem] = check_schedules(settings, quick=quick)
    assert problem.path == "accounts.main.schedule"
    assert "outside XNYS's regular session (09:30-16:00" in problem.problem
    assert "close - 1m or earlier" in problem.fix


@pytest.mark.parametrize("schedule", ["close - 1m", "open", "15:59", "every 30 minutes while open"])
@pytest.mark.parametrize("quick", [False, True])
def test_a_schedule_inside_the_session_passes(tmp_path: Path, schedule: str, quick: bool) -> None:
    assert check_schedules(load_config(settings_for(tmp_path, schedule)), quick=quick) == []


def test_an_account_trading_outside_hours_may_run_at_the_close(tmp_path: Path) -> None:
    settings = load_config(settings_for(tmp_path, "close + 5m", outside_hours=True))
    assert check_schedules(settings) == []


@pytest.mark.parametrize("code", ["XNYS", "XNAS", "24/7"])
def test_the_typical_week_is_the_calendars_regular_week(code: str) -> None:
    first, last = date(2026, 11, 9), date(2026, 11, 20)  # no holiday, no early close
    typical = typical_sessions(code, first, last)
    assert typical is not None
    assert typical[1] == list(sessions_between(code, first, last))


def _due_reason(tmp_path: Path, settings: Settings, at: datetime) -> str:
    database = open_database(f"sqlite:///{tmp_path / 't.db'}", tmp_path / "state")
    try:
        with database.transaction() as session:
            due = due_slots(
                CycleStore(session),
                settings,
                "main",
                at + timedelta(seconds=3),
                previous_beat=at - timedelta(days=1),
            )
    finally:
        database.close()
    assert due.run is None
    return due.reason


def test_a_slot_after_a_normal_close_is_skipped_naming_the_schedule(tmp_path: Path) -> None:
    settings = load_config(settings_for(tmp_path, "close"))
    friday_close = datetime.combine(date(2026, 11, 20), time(16, 0), NY).astimezone(UTC)
    reason = _due_reason(tmp_path, settings, friday_close)
    assert reason.startswith("the market is closed at 16:00 on 2026-11-20")
    assert "outside the regular session" in reason
    assert "early close" not in reason


def test_a_slot_after_an_early_close_says_so(tmp_path: Path) -> None:
    settings = load_config(settings_for(tmp_path, "15:45"))
    after_thanksgiving = datetime.combine(date(2026, 11, 27), time(15, 45), NY).astimezone(UTC)
    reason = _due_reason(tmp_path, settings, after_thanksgiving)
    assert reason.startswith("the market is closed at 15:45 on 2026-11-27 (an early close")


@pytest.mark.parametrize(
    ("schedule", "said"), [("open - 10h", "another day"), ("close", "regular session")]
)
def test_config_check_refuses_what_run_refuses(tmp_path: Path, schedule: str, said: str) -> None:
    config = settings_for(tmp_path, schedule)
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "accounts.main.schedule" in result.output
    assert said in " ".join(result.output.split())
