"""A year of XNYS slots under time-machine: the right runs, only those, and missed slots.

The expected runs come from a hand-written list of 2028's NYSE holidays and early closes,
not from exchange_calendars: the test checks the scheduler's use of the calendar against
the exchange's published year (leap day 29 February, DST on 12 March and 5 November).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from daemon.config.settings import Settings, load_config
from daemon.core.calendar import trading_day
from daemon.core.schedule import Slot, parse_schedule
from daemon.core.sessions import session_on
from daemon.service.scheduler import Due, SessionTrigger, due_slots
from daemon.store.cycles import CycleStore
from daemon.store.db import Database
from daemon.store.models import CycleRow

NY = ZoneInfo("America/New_York")
HOLIDAYS_2028 = {
    date(2028, 1, 17),  # Martin Luther King Jr. Day
    date(2028, 2, 21),  # Washington's Birthday
    date(2028, 4, 14),  # Good Friday
    date(2028, 5, 29),  # Memorial Day
    date(2028, 6, 19),  # Juneteenth
    date(2028, 7, 4),  # Independence Day
    date(2028, 9, 4),  # Labor Day
    date(2028, 11, 23),  # Thanksgiving
    date(2028, 12, 25),  # Christmas
}
EARLY_CLOSES_2028 = {date(2028, 7, 3), date(2028, 11, 24)}  # 13:00 closes


def trading_days_2028() -> list[date]:
    days = [date(2028, 1, 1) + timedelta(days=i) for i in range(366)]
    return [d for d in days if d.weekday() < 5 and d not in HOLIDAYS_2028]


def ny(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), NY).astimezone(UTC)


def make_settings(tmp_path: Path, schedule: str, *, outside_hours: bool = False) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'exchange = "XNYS"\n[scheduler]\nmisfire_grace_minutes = 30\n'
        f'[accounts.main]\nschedule = "{schedule}"\n'
        f"[accounts.main.policy]\noutside_hours = {str(outside_hours).lower()}\n"
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    return load_config(config)


def finish(database: Database, settings: Settings, slot: Slot, outcome: str = "succeeded") -> None:
    """Record the slot's cycle as the engine does (the engine itself is tested elsewhere)."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        session.add(
            CycleRow(
                cycle_id=f"main:{trading_day(now, settings.exchange)}:{slot.name}",
                account="main",
                trading_day=trading_day(now, settings.exchange),
                slot=slot.name,
                mode="dry-run",
                started_at=now,
                finished_at=now,
                outcome=outcome,
            )
        )


def due(database: Database, settings: Settings, previous_beat: datetime | None = None) -> Due:
    with database.transaction() as session:
        return due_slots(
            CycleStore(session), settings, "main", datetime.now(UTC), previous_beat=previous_beat
        )


def run_year(database: Database, settings: Settings) -> Iterator[Slot]:
    """Fire the trigger through 2028 as APScheduler would, handling each firing."""
    spec = parse_schedule(settings.account("main").schedule)
    trigger = SessionTrigger(spec, settings.exchange)
    with time_machine.travel(datetime(2027, 12, 31, 23, 0, tzinfo=UTC), tick=False) as clock:
        fire = trigger.get_next_fire_time(None, datetime.now(UTC))
        while fire is not None and fire < datetime(2029, 1, 1, 5, 0, tzinfo=UTC):
            clock.move_to(fire + timedelta(seconds=3))
            decision = due(database, settings)
            assert decision.skipped == (), decision
            assert decision.run is not None
            assert decision.run.at == fire
            finish(database, settings, decision.run)
            yield decision.run
            # Between two firings nothing else is due.
            clock.move_to(fire + timedelta(hours=2))
            assert due(database, settings) == Due(None, (), "")
            fire = trigger.get_next_fire_time(fire, datetime.now(UTC))


@pytest.mark.slow
def test_close_minus_15m_runs_once_on_every_trading_day_of_2028(
    database: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, "close - 15m")
    runs = list(run_year(database, settings))

    expected = [
        ny(d, 12, 45) if d in EARLY_CLOSES_2028 else ny(d, 15, 45) for d in trading_days_2028()
    ]
    assert [r.at for r in runs] == expected
    assert len(runs) == 251
    by_day = {r.day: r for r in runs}
    assert len(by_day) == len(runs)  # never twice a day
    assert date(2028, 2, 29) in by_day  # the leap day trades
    assert not HOLIDAYS_2028 & set(by_day)
    # The wall clock stays 15:45 in New York; UTC moves with daylight saving time.
    assert by_day[date(2028, 3, 10)].at == datetime(2028, 3, 10, 20, 45, tzinfo=UTC)
    assert by_day[date(2028, 3, 13)].at == datetime(2028, 3, 13, 19, 45, tzinfo=UTC)
    assert by_day[date(2028, 11, 3)].at == datetime(2028, 11, 3, 19, 45, tzinfo=UTC)
    assert by_day[date(2028, 11, 6)].at == datetime(2028, 11, 6, 20, 45, tzinfo=UTC)
    assert by_day[date(2028, 11, 24)].name == "1245"
    assert by_day[date(2028, 7, 3)].name == "1245"


def test_first_trading_day_of_the_month_in_2028(database: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "first trading day of the month at close - 15m")
    runs = list(run_year(database, settings))

    assert [(r.day, r.name) for r in runs] == [
        (date(2028, 1, 3), "1545"),  # 1 January is a Saturday
        (date(2028, 2, 1), "1545"),
        (date(2028, 3, 1), "1545"),
        (date(2028, 4, 3), "1545"),
        (date(2028, 5, 1), "1545"),
        (date(2028, 6, 1), "1545"),
        (date(2028, 7, 3), "1245"),  # the first trading day of July closes early
        (date(2028, 8, 1), "1545"),
        (date(2028, 9, 1), "1545"),
        (date(2028, 10, 2), "1545"),
        (date(2028, 11, 1), "1545"),
        (date(2028, 12, 1), "1545"),
    ]


@pytest.fixture
def daily(database: Database, tmp_path: Path) -> tuple[Database, Settings]:
    settings = make_settings(tmp_path, "close - 15m")
    # Friday 14 January 2028: the slot ran; then the machine went off.
    with time_machine.travel(ny(date(2028, 1, 14), 15, 45) + timedelta(seconds=5), tick=False):
        friday = session_on("XNYS", date(2028, 1, 14))
        assert friday is not None
        [slot] = parse_schedule("close - 15m").slots(friday, NY)
        finish(database, settings, slot)
    return database, settings


FRIDAY_BEAT = ny(date(2028, 1, 14), 16, 0)


def test_back_after_a_long_weekend_runs_the_days_slot_with_no_catch_up_burst(
    daily: tuple[Database, Settings],
) -> None:
    database, settings = daily
    # Saturday, Sunday, and Monday (a holiday) have no slots; Tuesday 15:50 is 5 min late.
    for when in (ny(date(2028, 1, 15), 15, 50), ny(date(2028, 1, 17), 15, 50)):
        with time_machine.travel(when, tick=False):
            assert due(database, settings, FRIDAY_BEAT) == Due(None, (), "")
    with time_machine.travel(ny(date(2028, 1, 18), 15, 50), tick=False):
        decision = due(database, settings, FRIDAY_BEAT)
    assert decision.run is not None
    assert (decision.run.day, decision.run.name, decision.skipped) == (
        date(2028, 1, 18),
        "1545",
        (),
    )


def test_a_slot_missed_beyond_the_grace_window_is_skipped_with_the_reason(
    daily: tuple[Database, Settings],
) -> None:
    database, settings = daily
    with time_machine.travel(ny(date(2028, 1, 18), 16, 30), tick=False):
        decision = due(database, settings, FRIDAY_BEAT)
    assert decision.run is None
    assert [(s.day, s.name) for s in decision.skipped] == [(date(2028, 1, 18), "1545")]
    assert "missed by 45 min" in decision.reason
    assert "30-minute grace window" in decision.reason


def test_days_missed_while_off_are_skipped_and_only_today_runs(
    daily: tuple[Database, Settings],
) -> None:
    database, settings = daily
    with time_machine.travel(ny(date(2028, 1, 20), 15, 55), tick=False):
        decision = due(database, settings, FRIDAY_BEAT)
    assert decision.run is not None
    assert decision.run.day == date(2028, 1, 20)
    assert [s.day for s in decision.skipped] == [date(2028, 1, 18), date(2028, 1, 19)]
    assert "only the latest missed slot (1545) runs" in decision.reason


def test_a_fixed_time_after_an_early_close_is_skipped_unless_outside_hours(
    database: Database, tmp_path: Path
) -> None:
    black_friday_1545 = ny(date(2028, 11, 24), 15, 45) + timedelta(seconds=5)
    settings = make_settings(tmp_path, "15:45")
    with time_machine.travel(black_friday_1545, tick=False):
        decision = due(database, settings)
    assert decision.run is None
    assert [s.name for s in decision.skipped] == ["1545"]
    assert "the market is closed at 15:45 on 2028-11-24" in decision.reason

    anyway = make_settings(tmp_path, "15:45", outside_hours=True)
    with time_machine.travel(black_friday_1545, tick=False):
        decision = due(database, anyway)
    assert decision.run is not None
    assert decision.run.name == "1545"


def test_a_first_start_runs_only_the_latest_slot_in_the_grace_window(
    database: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, "every 5 minutes while open")
    with time_machine.travel(ny(date(2028, 3, 1), 11, 2), tick=False):
        decision = due(database, settings, previous_beat=None)
    assert decision.run is not None
    assert (decision.run.name, decision.skipped) == ("1100", ())


def test_a_cycle_interrupted_by_a_crash_runs_again_within_grace(
    database: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, "close - 15m")
    slot_at = ny(date(2028, 3, 1), 15, 45)
    with time_machine.travel(slot_at + timedelta(seconds=5), tick=False):
        decision = due(database, settings)
        assert decision.run is not None
        finish(database, settings, decision.run, outcome="running")  # then SIGKILL
    with time_machine.travel(slot_at + timedelta(minutes=10), tick=False):
        again = due(database, settings, previous_beat=slot_at + timedelta(seconds=20))
    assert again.run == decision.run


def test_a_slot_inside_the_brokers_maintenance_window_is_skipped_with_its_reason(
    daily: tuple[Database, Settings],
) -> None:
    database, settings = daily
    window = "IB maintenance window 23:40-01:00 America/New_York daily"
    with (
        time_machine.travel(ny(date(2028, 1, 18), 15, 50), tick=False),
        database.transaction() as session,
    ):
        decision = due_slots(
            CycleStore(session),
            settings,
            "main",
            datetime.now(UTC),
            previous_beat=FRIDAY_BEAT,
            maintenance=window,
        )
    assert decision.run is None
    assert [(s.day, s.name) for s in decision.skipped][-1] == (date(2028, 1, 18), "1545")
    assert decision.reason == f"the broker is unavailable: {window}"
    # Out of the window, the same slot runs.
    with time_machine.travel(ny(date(2028, 1, 18), 15, 50), tick=False):
        assert due(database, settings, FRIDAY_BEAT).run is not None
