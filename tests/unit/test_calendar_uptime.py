"""Market hours and the exchange's sessions stay known however long trimtab has been up.

exchange_calendars fixes its default end (`GLOBAL_DEFAULT_END`) at import time plus a year, so
each case runs in a fresh interpreter that "starts" (imports the calendar) on 2026-07-01 under
time-machine and is then asked about later days. Before the per-year calendars, every such
question past 2027-07-01 raised `the XNYS calendar does not cover ...` and every cycle failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json
from datetime import UTC, date, datetime
import time_machine

with time_machine.travel(datetime(2026, 7, 1, 14, 0, tzinfo=UTC), tick=False):
    from daemon.core.calendar import market_open
    from daemon.cli.check_cmd import exchange_sessions
    started = market_open(datetime(2026, 7, 1, 14, 0, tzinfo=UTC), "XNYS")

asked = [
    "2027-07-07T19:45:00+00:00",  # Wednesday 15:45 New York: open
    "2027-07-05T15:00:00+00:00",  # Monday: Independence Day observed
    "2027-11-26T18:30:00+00:00",  # 13:30 after Thanksgiving: closed at 13:00
    "2028-03-01T15:00:00+00:00",  # Wednesday 10:00: open
    "2028-03-01T21:00:00+00:00",  # Wednesday 16:00: closed
    "2028-03-04T16:00:00+00:00",  # Saturday
]
answers = {}
for text in asked:
    now = datetime.fromisoformat(text)
    with time_machine.travel(now, tick=False):
        answers[text] = market_open(now, "XNYS")
with time_machine.travel(datetime(2027, 11, 22, 12, 0, tzinfo=UTC), tick=False):
    sessions = exchange_sessions("XNYS", date(2027, 11, 22), date(2027, 11, 29))
print(json.dumps({
    "started": started,
    "answers": answers,
    "sessions": [[s.day.isoformat(), s.close.isoformat()] for s in sessions],
}))
"""


def test_a_process_started_a_year_ago_still_knows_market_hours() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["started"] is True
    assert result["answers"] == {
        "2027-07-07T19:45:00+00:00": True,
        "2027-07-05T15:00:00+00:00": False,
        "2027-11-26T18:30:00+00:00": False,
        "2028-03-01T15:00:00+00:00": True,
        "2028-03-01T21:00:00+00:00": False,
        "2028-03-04T16:00:00+00:00": False,
    }
    # `trimtab check` compares the broker's calendar with these: Thanksgiving (25th) absent,
    # the 26th closing early at 13:00 New York.
    assert result["sessions"] == [
        ["2027-11-22", "2027-11-22T21:00:00+00:00"],
        ["2027-11-23", "2027-11-23T21:00:00+00:00"],
        ["2027-11-24", "2027-11-24T21:00:00+00:00"],
        ["2027-11-26", "2027-11-26T18:00:00+00:00"],
        ["2027-11-29", "2027-11-29T21:00:00+00:00"],
    ]


def test_the_daily_report_knows_holidays_beyond_the_years_the_process_started_with() -> None:
    """The report's session check reads the year's calendar: the cached one ends a year
    after start-up, and a day past it used to be taken for a session (nothing noted)."""
    from daemon.report.data import session_on

    assert session_on("XNYS", date(2029, 7, 4)) == (False, date(2029, 7, 3))
    assert session_on("XNYS", date(2029, 7, 5)) == (True, None)
