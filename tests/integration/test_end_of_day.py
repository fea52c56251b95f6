"""The daily end-of-day job: scheduled on the exchange's sessions, run under the cycle lock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from daemon.bootstrap import open_app
from daemon.monitor.notify import Message
from daemon.report.writer import report_path
from daemon.service.day_end import JOB_ID, schedule_end_of_day
from daemon.service.scheduler import CycleScheduler
from daemon.store.valuations import ValuationSource, valuations

# Tuesday 2026-11-24, 16:10 in New York.
NOW = datetime(2026, 11, 24, 21, 10, tzinfo=UTC)


def test_the_job_is_scheduled_and_records_each_account(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        '[performance]\nend_of_day = "close + 20m"\n'
        "[scheduler]\nmisfire_grace_minutes = 45\n"
        '[accounts.main]\nbroker = "sim"\nstrategy = "static"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
        '[accounts.main.broker_settings]\nstarting_cash = "2500"\n'
    )
    app = open_app(config, clock=lambda: NOW)
    scheduler = CycleScheduler(exchange="XNYS", on_event=lambda *_: None)
    lock = threading.Lock()
    sent: list[Message] = []
    stopping = [True]
    try:
        schedule_end_of_day(
            scheduler, app, lock=lock, notify=sent.append, stopping=lambda: stopping[0]
        )
        jobs = {job.id: job for job in scheduler.jobs()}
        job = jobs[JOB_ID]
        assert (job.executor, job.misfire_grace_time, job.coalesce) == ("control", 2700, True)
        assert str(job.trigger) == "session[XNYS: close + 20m]"
        job.func()  # a stopping daemon records nothing
        with app.database.transaction() as session:
            assert valuations(session, "main") == []
        stopping[0] = False
        job.func()
        with app.database.transaction() as session:
            (valuation,) = valuations(session, "main")
        assert (valuation.source, valuation.equity) == (ValuationSource.EOD, Decimal(2500))
        assert not lock.locked()
        # Then the day's report: kept in the state directory and sent as the day's summary.
        page = report_path(app.settings.state_dir, NOW.date())
        assert "<html" in page.read_text()
        [summary] = sent
        assert summary.kind == "digest"
        assert summary.attachment == page
    finally:
        app.close()
