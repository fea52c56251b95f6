"""A price file missing sessions of the account's exchange is refused, unless
`--allow-missing-days` (docs/backtest.md, "The price file"); rows on days the exchange was
closed are not refused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.prices import PriceTable
from daemon.backtest.sessions_check import Gap, missing_sessions
from daemon.config.settings import Settings
from daemon.core.sessions import sessions_between
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices

TARGETS = {"VTI": "0.6", "BND": "0.4"}


def _sessions(first: date, last: date) -> list[date]:
    return [session.day for session in sessions_between("XNYS", first, last)]


def _file(tmp_path: Path, days: Sequence[date]) -> PriceTable:
    walk = random_walk(3, ["VTI", "BND"], len(days), volatility=0.01)
    return write_prices(tmp_path, days, walk)


def _without(days: Sequence[date], first: date, last: date) -> list[date]:
    return [day for day in days if not first <= day <= last]


def _config(tmp_path: Path, top: str = "") -> Settings:
    return write_config(tmp_path, TARGETS, top=top)


def test_a_file_missing_three_months_is_refused_naming_the_row_after_the_gap(
    tmp_path: Path,
) -> None:
    """March to May 2019 deleted: the run would pay three months' flows less and count the
    three months' move as one day's return (before: it ran, exit 0, nothing said)."""
    sessions = _sessions(date(2019, 1, 2), date(2020, 6, 30))
    days = _without(sessions, date(2019, 3, 1), date(2019, 5, 31))
    table = _file(tmp_path, days)
    gone = len(sessions) - len(days)
    assert gone == 64  # 21 + 21 (Good Friday) + 22 (Memorial Day)
    row = table.rows[table.days.index(date(2019, 6, 3))]
    with pytest.raises(BacktestInputError) as caught:
        run(_config(tmp_path), table, contribute=Decimal(1000), withdraw=Decimal(3000))
    message = str(caught.value)
    assert str(table.path) in message
    assert f"has no row for {gone} sessions of the exchange calendar XNYS" in message
    assert f"the first gap is 2019-03-01 to 2019-05-31 ({gone}), before row {row}" in message
    assert "(2019-06-03)" in message
    assert "Add their rows" in message
    assert "--allow-missing-days" in message


def test_every_gap_is_counted_and_the_last_named(tmp_path: Path) -> None:
    sessions = _sessions(date(2021, 1, 4), date(2021, 12, 31))
    days = _without(sessions, date(2021, 7, 15), date(2021, 7, 15))
    days = _without(days, date(2021, 11, 1), date(2021, 11, 3))
    table = _file(tmp_path, days)
    with pytest.raises(BacktestInputError) as caught:
        run(_config(tmp_path), table)
    message = str(caught.value)
    last = table.rows[table.days.index(date(2021, 11, 4))]
    assert "has no row for 4 sessions" in message
    assert "the first gap is 2021-07-15, before row" in message
    assert f"2 gaps in all, the last before row {last} (2021-11-04)" in message
    gaps = missing_sessions(table, "XNYS", None, None)
    assert [(g.first, g.last, g.sessions, g.day) for g in gaps] == [
        (date(2021, 7, 15), date(2021, 7, 15), 1, date(2021, 7, 16)),
        (date(2021, 11, 1), date(2021, 11, 3), 3, date(2021, 11, 4)),
    ]


def test_a_file_of_sessions_only_runs(tmp_path: Path) -> None:
    """Real closes have no row on a holiday (Good Friday, Thanksgiving): not a gap."""
    table = _file(tmp_path, _sessions(date(2019, 1, 2), date(2020, 12, 31)))
    assert missing_sessions(table, "XNYS", None, None) == ()
    assert run(_config(tmp_path), table).missing == ()


def test_a_file_of_every_weekday_holidays_included_runs(tmp_path: Path) -> None:
    """Synthetic files (bench/bench_backtest.py) have a row on every weekday: the rows on
    days the exchange was closed are kept, and no session is missing."""
    table = _file(tmp_path, weekdays(date(2019, 1, 1), 500))
    assert run(_config(tmp_path), table).missing == ()


def test_the_opt_out_runs_and_says_which_sessions_had_no_row(tmp_path: Path) -> None:
    sessions = _sessions(date(2019, 1, 2), date(2019, 12, 31))
    days = _without(sessions, date(2019, 3, 1), date(2019, 5, 31))
    table = _file(tmp_path, days)
    done = run(_config(tmp_path), table, allow_missing_days=True)
    row = table.rows[table.days.index(date(2019, 6, 3))]
    assert done.missing == (Gap(date(2019, 3, 1), date(2019, 5, 31), 64, row, date(2019, 6, 3)),)
    assert done.json()["missing_sessions"] == [
        {
            "first": "2019-03-01",
            "last": "2019-05-31",
            "sessions": 64,
            "next_row": row,
            "next_day": "2019-06-03",
        }
    ]
    assert len(done.result.days) == len(days)
    assert "missing_sessions" not in run(_config(tmp_path), _file(tmp_path, sessions)).json()


def test_only_the_range_is_checked(tmp_path: Path) -> None:
    """Rows before --start feed a look-back only; rows after --end are not traded on. A file
    may start on any day: nothing before its first row is asked for."""
    sessions = _sessions(date(2019, 3, 15), date(2019, 12, 31))
    days = _without(sessions, date(2019, 6, 3), date(2019, 6, 28))
    table = _file(tmp_path, days)
    settings = _config(tmp_path)
    assert run(settings, table, start=date(2019, 7, 1)).missing == ()
    assert run(settings, table, end=date(2019, 5, 31)).missing == ()
    # The range as given: from --start, though the first row in it is later.
    with pytest.raises(BacktestInputError, match="the first gap is 2019-06-10 to 2019-06-28"):
        run(settings, table, start=date(2019, 6, 8))
    # And to --end, though the last row in it is earlier.
    with pytest.raises(BacktestInputError, match="the first gap is 2019-06-03 to 2019-06-12"):
        run(settings, table, end=date(2019, 6, 12))


def test_a_range_outside_the_file_is_still_named_first(tmp_path: Path) -> None:
    table = _file(tmp_path, _sessions(date(2019, 3, 15), date(2019, 6, 28)))
    with pytest.raises(BacktestInputError, match="--start 2019-01-02 is before the first day"):
        run(_config(tmp_path), table, start=date(2019, 1, 2))


def test_a_24_7_calendar_is_not_checked(tmp_path: Path) -> None:
    """Every calendar day is a session of `24/7`: a file of trading days has none on a
    weekend, so it would always be refused; it is run as the file says."""
    days = _without(weekdays(date(2019, 1, 1), 300), date(2019, 3, 1), date(2019, 5, 31))
    table = _file(tmp_path, days)
    assert run(_config(tmp_path, 'exchange = "24/7"'), table).missing == ()


def test_another_calendar_is_read_from_exchange_calendars(tmp_path: Path) -> None:
    """XLON's sessions: its Easter Monday and August bank holiday are not gaps, a missing
    week is."""
    year = weekdays(date(2019, 1, 2), 260)
    table = _file(tmp_path, _without(year, date(2019, 4, 22), date(2019, 4, 22)))
    assert missing_sessions(table, "XLON", None, None) == ()
    (gap,) = missing_sessions(table, "XNYS", None, None)  # New York traded that Monday
    assert (gap.first, gap.sessions) == (date(2019, 4, 22), 1)
    holes = _file(tmp_path, _without(year, date(2019, 4, 22), date(2019, 5, 3)))
    (gap,) = missing_sessions(holes, "XLON", None, None)
    assert (gap.first, gap.last, gap.sessions) == (date(2019, 4, 23), date(2019, 5, 3), 9)


def test_years_or_codes_the_calendar_cannot_build_are_not_checked(tmp_path: Path) -> None:
    """exchange_calendars builds 1678 to 2261: a synthetic file of 2300 runs as it is."""
    days = _without(weekdays(date(2300, 1, 2), 120), date(2300, 3, 1), date(2300, 3, 31))
    table = _file(tmp_path, days)
    assert missing_sessions(table, "XNYS", None, None) == ()
    assert run(_config(tmp_path), table).missing == ()
    assert missing_sessions(table, "NOT-A-CALENDAR", None, None) == ()
