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


def test_the_day_end_forgets_closes_older_than_any_strategy_reads(
    tmp_path: Path, database_url: str
) -> None:
    from datetime import timedelta

    from daemon.service.day_end import KEEP_CLOSES_MARGIN, forget_old_closes
    from daemon.store.price_history import PriceHistoryStore
    from strategies.base import ReadsHistory

    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        '[accounts.main]\nbroker = "sim"\nstrategy = "static"\n'
        '[accounts.main.strategy_params]\ntargets = { VTI = "1" }\n'
        '[accounts.looks]\nbroker = "sim"\nstrategy = "inverse_vol"\n'
        '[accounts.looks.strategy_params]\nuniverse = ["VTI", "BND"]\nlookback_days = 60\n'
    )
    app = open_app(config, clock=lambda: NOW)
    try:
        strategy = app.strategy("looks")
        assert isinstance(strategy, ReadsHistory)
        window = timedelta(days=strategy.history_needs().calendar_days())
        first_kept = NOW.date() - window - KEEP_CLOSES_MARGIN
        days = [first_kept - timedelta(days=1), first_kept, NOW.date() - timedelta(days=1)]
        with app.database.transaction() as session:
            PriceHistoryStore(session).store(
                "sim:looks",
                "VTI",
                start=days[0],
                closes=[(d, Decimal(100)) for d in days],
                first_day=days[0],
                through=days[-1],
                at=NOW,
            )
        assert forget_old_closes(app) == 1
        with app.database.transaction() as session:
            store = PriceHistoryStore(session)
            kept = store.series("sim:looks", "VTI", days[0], days[-1])
        assert kept is not None
        assert [d for d, _ in kept.closes] == days[1:]
        assert kept.first_day == first_kept
        assert forget_old_closes(app) == 0
    finally:
        app.close()
