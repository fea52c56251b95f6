"""Missed slots on a daemon's first start (no previous heartbeat, no slot ever handled).

The look-back reaches to when the daemon began watching the account, so a slot that came due
after the start but was reached past the grace (another account's long cycle held the one
cycle thread) is recorded as skipped; slots before the start never were due. After a restart
the previous heartbeat rules, as before. Exchange: exchange_calendars' "24/7" (UTC, always
open), so the arithmetic is the schedule's alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config.settings import Settings, load_config
from daemon.core.schedule import Slot, parse_schedule
from daemon.core.sessions import slots_between
from daemon.service.scheduler import Due, due_slots, first_start_slots
from daemon.store.cycles import CycleStore
from daemon.store.db import Database

DAY = date(2026, 12, 7)
START = datetime(2026, 12, 7, 5, 52, 23, tzinfo=UTC)
"""The daemon's first start (the auditor's repro): between the 05:52 and 05:54 slots."""


def make_settings(tmp_path: Path, every: int = 2, grace: int = 1) -> Settings:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'exchange = "24/7"\n[scheduler]\nmisfire_grace_minutes = {grace}\n'
        f'[accounts.fast]\nschedule = "every {every} minutes while open"\n'
        '[accounts.fast.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    return load_config(config)


def due(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    previous_beat: datetime | None = None,
    watched_since: datetime | None = None,
) -> Due:
    with time_machine.travel(now, tick=False), database.transaction() as session:
        return due_slots(
            CycleStore(session),
            settings,
            "fast",
            now,
            previous_beat=previous_beat,
            watched_since=watched_since,
        )


def names(due: Due) -> tuple[str | None, list[str]]:
    return (due.run.name if due.run else None, [slot.name for slot in due.skipped])


def test_a_slot_reached_past_the_grace_on_a_first_start_is_skipped_with_its_reason(
    database: Database, tmp_path: Path
) -> None:
    # The firing the start queued comes at 05:55:44, after another account's 200 s cycle.
    decision = due(
        database, make_settings(tmp_path), datetime(2026, 12, 7, 5, 55, 44, tzinfo=UTC),
        watched_since=START,
    )  # fmt: skip
    # 05:54 came due after the start; 05:52 is the slot the start's own firing would have run
    # (23 s old, inside the 1-minute grace). Both were missed; nothing runs this late.
    assert names(decision) == (None, ["0552", "0554"])
    assert decision.reason.startswith("missed by 1 min, more than the 1-minute grace window")


def test_the_latest_slot_still_runs_when_the_firing_is_late_but_inside_the_grace(
    database: Database, tmp_path: Path
) -> None:
    decision = due(
        database, make_settings(tmp_path, grace=3), datetime(2026, 12, 7, 5, 55, 44, tzinfo=UTC),
        watched_since=START,
    )  # fmt: skip
    assert names(decision) == ("0554", ["0552"])
    assert decision.reason == "missed; only the latest missed slot (0554) runs"


def test_slots_before_the_daemon_started_are_not_recorded(
    database: Database, tmp_path: Path
) -> None:
    # Every minute, 5 minutes of grace: 05:48 .. 05:52 lie inside the grace window before the
    # start, 05:47 and earlier before it. Only the latest before the start (the one the start
    # runs) counts; the firing comes at 05:58:30, so 05:53 .. 05:58 came due after the start.
    decision = due(
        database, make_settings(tmp_path, every=1, grace=5),
        datetime(2026, 12, 7, 5, 58, 30, tzinfo=UTC), watched_since=START,
    )  # fmt: skip
    assert names(decision) == ("0558", ["0552", "0553", "0554", "0555", "0556", "0557"])

    # Reached much later, the latest runs and every slot since the start is skipped; still
    # nothing before 05:52.
    late = due(
        database, make_settings(tmp_path, every=1, grace=5),
        datetime(2026, 12, 7, 6, 10, 30, tzinfo=UTC), watched_since=START,
    )  # fmt: skip
    assert late.run is not None
    assert late.run.name == "0610"
    assert (late.skipped[0].name, late.skipped[-1].name, len(late.skipped)) == ("0552", "0609", 18)


def test_an_on_time_first_firing_is_unchanged(database: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, every=1, grace=5)
    on_time = START + timedelta(milliseconds=30)
    # As before: only the latest slot inside the grace window runs, the earlier ones were
    # never due (trimtab was not running), nothing is skipped.
    expected: tuple[str | None, list[str]] = ("0552", [])
    assert names(due(database, settings, on_time, watched_since=START)) == expected
    assert names(due(database, settings, on_time)) == expected


def test_after_a_restart_the_previous_heartbeat_rules_as_before(
    database: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    beat = datetime(2026, 12, 7, 5, 49, 10, tzinfo=UTC)  # the previous daemon's last beat
    late = datetime(2026, 12, 7, 5, 55, 44, tzinfo=UTC)
    with_start = due(database, settings, late, previous_beat=beat, watched_since=START)
    without = due(database, settings, late, previous_beat=beat)
    assert with_start == without
    assert names(with_start) == (None, ["0550", "0552", "0554"])
    # Reached inside the grace, the latest runs and the slots since the beat are skipped.
    recent = datetime(2026, 12, 7, 5, 54, 30, tzinfo=UTC)
    assert names(due(database, settings, recent, previous_beat=beat, watched_since=START)) == (
        "0554",
        ["0550", "0552"],
    )


# -- the slot arithmetic -------------------------------------------------------------------

SPEC_EVERY = st.sampled_from([1, 2, 3, 5, 10, 15, 30, 60])
OFFSET = st.integers(min_value=0, max_value=6 * 3600)
"""Seconds from midnight of DAY to the start."""
DELAY = st.integers(min_value=0, max_value=8 * 3600)
"""Seconds from the start to the firing."""
GRACE = st.integers(min_value=0, max_value=120)


def slot_list(every: int, start: datetime, until: datetime) -> list[Slot]:
    spec = parse_schedule(f"every {every} minutes while open")
    return slots_between(spec, "24/7", start, until)


@given(every=SPEC_EVERY, offset=OFFSET, delay=DELAY, back=st.integers(0, 3 * 3600))
def test_first_start_slots_keeps_every_slot_after_the_start_and_one_before(
    every: int, offset: int, delay: int, back: int
) -> None:
    started = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(seconds=offset)
    slots = slot_list(every, started - timedelta(seconds=back), started + timedelta(seconds=delay))
    kept = first_start_slots(slots, started)

    before = [slot for slot in slots if slot.at <= started]
    after = [slot for slot in slots if slot.at > started]
    assert [slot for slot in kept if slot.at > started] == after
    assert [slot for slot in kept if slot.at <= started] == before[-1:]
    assert kept == sorted(kept, key=lambda slot: slot.at)
    assert len(set(kept)) == len(kept)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(every=SPEC_EVERY, offset=OFFSET, delay=DELAY, grace=GRACE)
def test_a_first_start_accounts_for_every_slot_once_and_none_before_it(
    database: Database, tmp_path: Path, every: int, offset: int, delay: int, grace: int
) -> None:
    settings = make_settings(tmp_path, every=every, grace=grace)
    started = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(seconds=offset)
    now = started + timedelta(seconds=delay)
    decision = due(database, settings, now, watched_since=started)
    handled = [*decision.skipped, *([decision.run] if decision.run else [])]

    # Never both run and skipped, never twice, in time order.
    assert decision.run not in decision.skipped
    assert len(set(handled)) == len(handled)
    assert handled == sorted(handled, key=lambda slot: slot.at)
    # Every slot that came due after the start is accounted for: none is silently dropped.
    came_due = slot_list(every, started, now)
    assert set(came_due) <= set(handled)
    # Nothing from before the start, except the one slot its own firing runs (inside grace).
    early = [slot for slot in handled if slot.at <= started]
    assert len(early) <= 1
    assert all(started - slot.at <= timedelta(minutes=grace) for slot in early)
    # Only a slot inside the grace runs; a skip always says why.
    if decision.run is not None:
        assert now - decision.run.at <= timedelta(minutes=grace)
    if decision.skipped:
        assert decision.reason
    # An on-time firing (the start itself) decides as trimtab always has.
    if delay == 0:
        assert decision == due(database, settings, now)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    every=SPEC_EVERY,
    offset=OFFSET,
    delay=DELAY,
    grace=GRACE,
    beat_before=st.integers(min_value=1, max_value=3 * 24 * 3600),
)
def test_with_a_previous_heartbeat_the_start_time_changes_nothing(
    database: Database,
    tmp_path: Path,
    every: int,
    offset: int,
    delay: int,
    grace: int,
    beat_before: int,
) -> None:
    settings = make_settings(tmp_path, every=every, grace=grace)
    started = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(seconds=offset)
    beat = started - timedelta(seconds=beat_before)
    now = started + timedelta(seconds=delay)
    assert due(database, settings, now, previous_beat=beat, watched_since=started) == due(
        database, settings, now, previous_beat=beat
    )


@pytest.mark.parametrize("delay_minutes", [0, 1, 30])
def test_a_watch_that_starts_later_than_now_is_taken_as_now(
    database: Database, tmp_path: Path, delay_minutes: int
) -> None:
    # A clock stepped back (NTP) must not widen or invert the look-back.
    settings = make_settings(tmp_path)
    now = START + timedelta(minutes=delay_minutes)
    future = now + timedelta(hours=1)
    assert due(database, settings, now, watched_since=future) == due(database, settings, now)
