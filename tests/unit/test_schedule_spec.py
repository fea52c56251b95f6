"""Schedule expressions: what parses, what is refused with a reason, and the slots of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config.settings import check_config, load_config
from daemon.core.schedule import Days, ScheduleError, Session, parse_schedule
from daemon.service.schedule_check import check_schedules
from daemon.service.scheduler import CycleScheduler

NY = ZoneInfo("America/New_York")


def session(day: date, open_: str = "09:30", close: str = "16:00", **neighbours: date) -> Session:
    def at(clock: str) -> datetime:
        hour, minute = map(int, clock.split(":"))
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).astimezone(UTC)

    return Session(
        day=day,
        open=at(open_),
        close=at(close),
        previous_day=neighbours.get("previous", day - timedelta(days=1)),
        next_day=neighbours.get("next", day + timedelta(days=1)),
    )


def local_names(text: str, s: Session) -> list[str]:
    return [slot.name for slot in parse_schedule(text).slots(s, NY)]


TUESDAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("close - 15m", ["1545"]),
        ("Close-15m", ["1545"]),
        ("open + 1h30m", ["1100"]),
        ("open + 90 minutes", ["1100"]),
        ("close", ["1600"]),
        ("15:45", ["1545"]),
        ("9:45 on trading days", ["0945"]),
        ("every 90 minutes while open", ["1100", "1230", "1400", "1530"]),
        (
            "every 30 min while the market is open",
            [
                f"{h:02d}{m:02d}"
                for h, m in [
                    (10, 0),
                    (10, 30),
                    (11, 0),
                    (11, 30),
                    (12, 0),
                    (12, 30),
                    (13, 0),
                    (13, 30),
                    (14, 0),
                    (14, 30),
                    (15, 0),
                    (15, 30),
                ]
            ],
        ),
    ],
)
def test_slots_of_a_normal_day(text: str, names: list[str]) -> None:
    assert local_names(text, session(TUESDAY)) == names


def test_an_early_close_moves_close_relative_slots_but_not_fixed_times() -> None:
    black_friday = session(date(2026, 11, 27), close="13:00")
    assert local_names("close - 15m", black_friday) == ["1245"]
    assert local_names("every 60 minutes while open", black_friday) == ["1030", "1130", "1230"]
    [fixed] = parse_schedule("15:45").slots(black_friday, NY)
    assert (fixed.name, fixed.in_session) == ("1545", False)
    [relative] = parse_schedule("close - 15m").slots(black_friday, NY)
    assert relative.in_session
    assert not parse_schedule("close").slots(black_friday, NY)[0].in_session


def test_a_fixed_time_keeps_its_wall_clock_across_dst() -> None:
    before = parse_schedule("15:45").slots(session(date(2028, 3, 10)), NY)[0]
    after = parse_schedule("15:45").slots(session(date(2028, 3, 13)), NY)[0]
    assert before.at == datetime(2028, 3, 10, 20, 45, tzinfo=UTC)
    assert after.at == datetime(2028, 3, 13, 19, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "day", "previous", "nxt", "runs"),
    [
        (Days.FIRST_OF_MONTH, date(2028, 4, 3), date(2028, 3, 31), date(2028, 4, 4), True),
        (Days.FIRST_OF_MONTH, date(2028, 4, 4), date(2028, 4, 3), date(2028, 4, 5), False),
        (Days.LAST_OF_MONTH, date(2028, 3, 31), date(2028, 3, 30), date(2028, 4, 3), True),
        (Days.LAST_OF_MONTH, date(2028, 3, 30), date(2028, 3, 29), date(2028, 3, 31), False),
        # Monday a holiday: Tuesday is the first trading day of the week.
        (Days.FIRST_OF_WEEK, date(2028, 1, 18), date(2028, 1, 14), date(2028, 1, 19), True),
        (Days.FIRST_OF_WEEK, date(2028, 1, 19), date(2028, 1, 18), date(2028, 1, 20), False),
        # Good Friday closed: Thursday is the last trading day of the week.
        (Days.LAST_OF_WEEK, date(2028, 4, 13), date(2028, 4, 12), date(2028, 4, 17), True),
        (Days.LAST_OF_WEEK, date(2028, 4, 12), date(2028, 4, 11), date(2028, 4, 13), False),
    ],
)
def test_day_filters_follow_the_neighbouring_sessions(
    days: Days, day: date, previous: date, nxt: date, runs: bool
) -> None:
    spec = parse_schedule(f"{days} at close - 15m")
    assert spec.days is days
    assert spec.runs_on(session(day, previous=previous, next=nxt)) is runs
    assert bool(spec.slots(session(day, previous=previous, next=nxt), NY)) is runs


def test_the_day_filter_can_come_first_or_last() -> None:
    a = parse_schedule("first trading day of the month at 15:45")
    b = parse_schedule("15:45 on the first trading day of the month")
    c = parse_schedule("first trading day of the month")
    assert (a.days, a.at) == (b.days, b.at)
    assert c.at == parse_schedule("close - 15m").at
    assert parse_schedule("every 5 minutes while open on last trading day of the week").every == (
        timedelta(minutes=5)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("noon", "cannot read 'noon'"),
        ("24:00", "not a time of day"),
        ("15:60", "not a time of day"),
        ("close - 13h", "at most 12h"),
        ("close - 15", "cannot read the duration"),
        ("close -", "cannot read"),
        ("every 0 minutes while open", "1 to 720 minutes"),
        ("every 30 minutes", "cannot read"),
        ("15:45 on mondays", "unknown days 'mondays'"),
    ],
)
def test_unreadable_schedules_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text)


def test_the_config_names_a_bad_schedule_by_its_key(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        '[accounts.main]\nschedule = "at lunch"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
        '[notifications]\ndaily_digest = "after the close"\n'
    )
    problems = {p.path: p for p in check_config(config)}
    assert "cannot read 'at lunch'" in problems["accounts.main.schedule"].problem
    assert "close - 15m" in problems["accounts.main.schedule"].fix
    assert "notifications.daily_digest" in problems


def test_existing_configs_get_the_default_schedule(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text('[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n')
    assert check_config(config) == []


def test_a_slot_pushed_onto_another_day_is_refused_before_the_daemon_starts(
    tmp_path: Path,
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        'exchange = "XNYS"\n[accounts.main]\nschedule = "close + 9h"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
        '[accounts.fine]\nschedule = "close - 15m"\n'
        '[accounts.fine.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    [problem] = check_schedules(load_config(config))
    assert problem.path == "accounts.main.schedule"
    assert "another day" in problem.problem


def test_jobs_have_ids_coalesce_bounded_instances_and_a_deliberate_misfire_grace() -> None:
    scheduler = CycleScheduler(exchange="XNYS", on_event=lambda *_: None)
    spec = parse_schedule("close - 15m")
    upcoming = scheduler.cycle_job("main", spec, "XNYS", lambda _account, _since, _reloaded: None)
    scheduler.every("heartbeat", 30, lambda: None)
    scheduler.at_slots("digest", spec, "XNYS", timedelta(minutes=30), lambda: None)
    jobs = {job.id: job for job in scheduler.jobs()}

    assert set(jobs) == {"cycle:main", "heartbeat", "digest"}
    assert all(job.coalesce for job in jobs.values())
    # A cycle job: one running and one waiting (a slot due during the account's own cycle
    # waits for it instead of being dropped); the control jobs: one.
    assert jobs["cycle:main"].max_instances == 2
    assert jobs["heartbeat"].max_instances == jobs["digest"].max_instances == 1
    # Cycle firings always run: `due_slots` judges each slot's lateness against the grace.
    assert jobs["cycle:main"].misfire_grace_time is None
    assert jobs["cycle:main"].executor == "cycles"
    assert jobs["heartbeat"].misfire_grace_time == 30
    assert jobs["digest"].misfire_grace_time == 1800
    # The heartbeat has a thread of its own: a daily job waiting for the cycle lock or a
    # broker never holds up a beat (tests/integration/test_watchdog_beside_end_of_day.py).
    assert jobs["digest"].executor == "control"
    assert jobs["heartbeat"].executor not in ("control", "cycles")
    assert upcoming.astimezone(NY).strftime("%H:%M") in ("15:45", "12:45")
    scheduler.remove_cycle_jobs(keep=set())
    assert {job.id for job in scheduler.jobs()} == {"heartbeat", "digest"}
