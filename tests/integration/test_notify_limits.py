"""The rate limiter against what it must not hide: the kill switch's message goes out however
many others went out this hour, and a worker refusing every slot of an account says so once
per repeat window instead of spending the hourly budget (real apprise, a loopback receiver,
real SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.bootstrap import App, open_app
from daemon.core.calendar import trading_day
from daemon.monitor.notify import Message
from daemon.store.cluster import ensure_queue_schema
from daemon.store.db import Database
from tests.fakes.receiver import Receiver, receiver
from tests.integration.cluster_setup import Bench, make_bench
from tests.integration.test_notify import NOW, Clock, message, notifier, settings_for, statuses


@pytest.fixture
def inbox() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


def _kill_switch(seq: int) -> Message:
    return Message(
        kind="kill_switch",
        key=f"kill_switch:{seq}",
        title="trimtab: kill switch engaged",
        body="nothing will be submitted until `trimtab resume`",
        severity="failure",
    )


def test_the_kill_switch_message_goes_out_when_the_hour_is_spent(
    inbox: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    settings = settings_for(tmp_path, monkeypatch, [inbox.url()])  # max_per_hour = 3
    clock = Clock()
    sender = notifier(settings, database, clock)
    for i in range(5):
        clock.now = NOW + timedelta(minutes=i)
        sender.send(message(f"error-{i}"))
    clock.now = NOW + timedelta(minutes=6)
    assert sender.send(_kill_switch(46)) == "sent"
    last = inbox.wait_for(4)[-1]
    assert last["title"] == "trimtab: kill switch engaged"
    assert "2 more message(s) held back" in last["message"]
    # Its own key's repeat window still applies.
    assert sender.send(_kill_switch(46)) == "suppressed"
    # Other kinds stay capped.
    assert sender.send(message("error-late")) == "suppressed"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    before=st.lists(st.integers(min_value=0, max_value=3599), max_size=12),
    kinds=st.sampled_from(["error", "health", "orders"]),
)
@example(before=[0, 60, 120, 180, 240], kinds="error")  # the audit's case: refusals each slot
def test_no_number_of_messages_in_the_hour_holds_back_the_kill_switch(
    before: list[int],
    kinds: str,
    inbox: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Database,
) -> None:
    settings = settings_for(tmp_path, monkeypatch, [inbox.url()])
    clock = Clock()
    sender = notifier(settings, database, clock)
    # Each example in an hour of its own, after everything earlier examples recorded.
    start = datetime.now(UTC) + timedelta(days=len(statuses(database)))
    for n, offset in enumerate(sorted(before)):
        clock.now = start + timedelta(seconds=offset)
        sender.send(
            Message(kind=kinds, key=f"{kinds}-{start}-{n}", title="t", body="b")  # type: ignore[arg-type]
        )
    clock.now = start + timedelta(seconds=3600)
    assert sender.send(_kill_switch(int(start.timestamp()))) == "sent"


@pytest.fixture
def bench(tmp_path: Path, inbox: Receiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bench]:
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps([inbox.url()]))
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__MAX_PER_HOUR", "3")
    yield from make_bench(tmp_path, 1)


@pytest.fixture
def app(bench: Bench) -> Iterator[App]:
    opened = open_app(bench.config)
    ensure_queue_schema(opened.database)
    yield opened
    opened.close()


@pytest.mark.postgres
def test_a_worker_refusing_every_slot_of_an_account_says_so_once(
    app: App, bench: Bench, inbox: Receiver
) -> None:
    from daemon.service.worker import ClusterWorker, JobRefusedError

    worker = ClusterWorker(app)
    day = trading_day(datetime.now(UTC), "24/7").isoformat()
    for n, slot in enumerate(("0930", "0931", "0932", "0933", "0934")):
        with pytest.raises(JobRefusedError, match="no such account"):
            worker.job.run(job_id=n + 1, account="gone", day=day, slot=slot, epoch=1)
    rows = bench.rows("SELECT key, status FROM notifications ORDER BY id")
    assert [status for _, status in rows] == ["sent"] + ["suppressed"] * 4
    assert {key for key, _ in rows} == {"job_refused:gone:ConfigError"}
    assert len(inbox.wait_for(1)) == 1
    # The hour's budget is still there for what else happens: the kill switch, say.
    assert worker.job._notifier.send(_kill_switch(1)) == "sent"
    # Each refusal is still audited.
    assert bench.scalar("SELECT count(*) FROM audit_records WHERE kind = 'job_refused'") == 5
