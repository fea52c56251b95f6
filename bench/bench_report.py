"""Measure the daily report and the audit chain check over a year of simulated history.

Run: `uv run python bench/bench_report.py [--days 250] [--repeat 5]`.

Builds the report tests' seeded history (tests/integration/report_history.py: real cycles on
the simulated broker, a deposit, a withdrawal, a kill-switch day, an end-of-day valuation each
day) over `--days` trading days ending 2026-11-24, on SQLite. Then, median of `--repeat`:
gathering the last day's report from the database, rendering the page (three SVG charts and
the template), writing it; `AuditLog.check` over the whole log with the head file; and the
export of the whole log as JSON lines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daemon.audit.export import export_line  # noqa: E402
from daemon.audit.head import AUDIT_HEAD_NAME, read_head  # noqa: E402
from daemon.report.data import gather  # noqa: E402
from daemon.report.html import render_html  # noqa: E402
from daemon.report.writer import write_daily_report  # noqa: E402
from daemon.store.audit_log import AuditLog  # noqa: E402 (after the path set-up)
from tests.integration.report_history import LAST, build_history, sessions  # noqa: E402


def timed(repeat: int, work: Callable[[], Any]) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    calendar = sessions(LAST.replace(year=LAST.year - 2), LAST)
    first = calendar[-args.days]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        history = build_history(
            Path(tmp), f"sqlite:///{Path(tmp) / 'state' / 'trimtab.db'}", first=first
        )
        built = time.perf_counter() - started
        app, day = history.app, history.days[-1]

        def gathered() -> Any:
            with app.database.transaction() as session:
                return gather(session, app.settings, day, now=app.clock())

        report = gathered()
        head = read_head(app.settings.state_dir / AUDIT_HEAD_NAME)

        def check() -> None:
            with app.database.transaction() as session:
                assert AuditLog(session).check(head) is None

        def export() -> None:
            with app.database.transaction() as session:
                for record in AuditLog(session).records():
                    export_line(record, ())

        with app.database.transaction() as session:
            records = AuditLog(session).last_seq()
        figures = {
            "gather": timed(args.repeat, gathered),
            "render": timed(args.repeat, lambda: render_html(report)),
            "write (all of it)": timed(args.repeat, lambda: write_daily_report(app, day)),
            "audit check": timed(args.repeat, check),
            "audit export": timed(args.repeat, export),
        }
        size = write_daily_report(app, day).path.stat().st_size
        app.close()
    print(
        f"{len(history.days)} trading days, {records} audit records, history built in {built:.0f} s"
    )
    print(f"page: {size / 1024:.0f} KiB")
    for name, seconds in figures.items():
        print(f"{name:>18}: {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
