"""The systemd watchdog is fed while the end-of-day job is busy: waiting for the cycle lock (a
long cycle holds it) or retrying a broker that does not answer.

A fake systemd: a datagram socket as $NOTIFY_SOCKET, collecting WATCHDOG=1. The heartbeat and
the end-of-day job are scheduled as `Daemon._schedule` schedules them (`CycleScheduler.every`,
`schedule_end_of_day`), on a time-machine clock that ticks, at the day's end; the end-of-day
job is fired by hand (its own firing at 16:20 would race the set-up).
Before the heartbeat had a thread of its own it shared one with the end-of-day job, and
APScheduler dropped every beat as busy (`job_busy`) until the job was done: minutes in
production, past systemd's `WatchdogSec`, and systemd killed trimtab.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import time_machine

from daemon.bootstrap import App, open_app
from daemon.core.schedule import parse_schedule
from daemon.monitor.notify import Message
from daemon.service import sd_notify
from daemon.service.day_end import JOB_ID, schedule_end_of_day
from daemon.service.scheduler import CycleScheduler
from daemon.store.valuations import valuations

# Tuesday 2026-11-24: the day ends ("close + 20m") at 16:20 in New York, 21:20 UTC.
END_OF_DAY = datetime(2026, 11, 24, 21, 20, tzinfo=UTC)
BEAT_SECONDS = 0.2
BUSY_SECONDS = 2.5
"""How long the end-of-day job is kept busy: over twelve beats."""
LONGEST_GAP = 1.2
"""Beats further apart than this were dropped (six intervals: room for a loaded CI machine to
hold a thread up; the job is busy for twice as long)."""
START = END_OF_DAY + timedelta(seconds=5)
"""Where the clock starts: the job's next firing by its schedule is the next day's."""
CONFIG = """
mode = "paper"
[performance]
end_of_day = "close + 20m"
[scheduler]
misfire_grace_minutes = 30
[accounts.main]
broker = "sim"
strategy = "static"
read_retry_seconds = 1
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.broker_settings]
starting_cash = "10000"
[accounts.main.broker_settings.faults]
read_errors = {read_errors}
latency_ms = {latency_ms}
"""


class Systemd:
    """Collect when WATCHDOG=1 arrives on $NOTIFY_SOCKET (monotonic seconds)."""

    def __init__(self, path: Path) -> None:
        self.beats: list[float] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.1)
        self._open = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while self._open:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if "WATCHDOG=1" in data.decode().splitlines():
                self.beats.append(time.monotonic())

    def longest_gap(self, start: float, end: float) -> float:
        """Return the longest time without a beat between `start` and `end`."""
        inside = [beat for beat in self.beats if start < beat < end]
        marks = [start, *inside, end]
        return max(b - a for a, b in pairwise(marks))

    def close(self) -> None:
        self._open = False
        self._thread.join(timeout=2)
        self._sock.close()


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Systemd]:
    path = tmp_path / "notify.sock"
    fake = Systemd(path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    try:
        yield fake
    finally:
        fake.close()


def eventually(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _app(tmp_path: Path, *, read_errors: int = 0, latency_ms: int = 0) -> App:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG.format(read_errors=read_errors, latency_ms=latency_ms))
    return open_app(config)


def _start(
    app: App, lock: threading.Lock, on_enter: Callable[[], None], *, work: bool
) -> tuple[CycleScheduler, list[str]]:
    """Schedule the heartbeat and the end-of-day job as the daemon does, and start; the job
    does the day-end work only when `work` (else it only takes the cycle lock)."""
    events: list[str] = []

    def on_event(name: str, job_id: str, _exc: Any) -> None:
        events.append(f"{name}:{job_id}")

    def stopping() -> bool:
        on_enter()  # called with the cycle lock held, before any day-end work
        return not work

    def beat() -> None:
        sd_notify.notify("WATCHDOG=1")

    scheduler = CycleScheduler(exchange="XNYS", on_event=on_event)
    sent: list[Message] = []
    scheduler.every("heartbeat", BEAT_SECONDS, beat)
    schedule_end_of_day(scheduler, app, lock=lock, notify=sent.append, stopping=stopping)
    scheduler.start()
    return scheduler, events


def _fire(scheduler: CycleScheduler) -> None:
    """Fire the end-of-day job now, and wait until APScheduler has handled the firing (handed
    it to its thread, or dropped it)."""
    [job] = [job for job in scheduler.jobs() if job.id == JOB_ID]
    now = datetime.now(UTC)
    job.modify(next_run_time=now)
    eventually(lambda: bool(job.next_run_time > now), "the end-of-day firing")


def _stop(scheduler: CycleScheduler | None) -> None:
    """Shut the scheduler down on the travelled clock: after the travel the clock leaps to
    today, and APScheduler would walk the heartbeat through every beat it missed since
    (millions of steps, longer each day, a core busy beside the other tests)."""
    if scheduler is not None:
        scheduler.shutdown(wait=True)


def test_beats_go_on_while_the_end_of_day_job_waits_for_a_running_cycle(
    tmp_path: Path, systemd: Systemd
) -> None:
    app = _app(tmp_path)
    lock = threading.Lock()
    entered: list[float] = []
    lock.acquire()  # a cycle is running
    scheduler: CycleScheduler | None = None
    try:
        with time_machine.travel(START, tick=True):
            try:
                scheduler, events = _start(
                    app, lock, lambda: entered.append(time.monotonic()), work=False
                )
                _fire(scheduler)
                fired = time.monotonic()
                # While it waits, the job comes due again: APScheduler drops that firing, the
                # job never runs twice at once.
                _fire(scheduler)
                eventually(lambda: f"job_busy:{JOB_ID}" in events, "the second firing dropped")
                time.sleep(max(0.0, BUSY_SECONDS - (time.monotonic() - fired)))
                assert entered == []  # still waiting for the cycle lock
                released = time.monotonic()
                lock.release()
                eventually(lambda: len(entered) == 1, "the end-of-day job under the lock")
                eventually(lambda: not lock.locked(), "the end-of-day job done")
                time.sleep(3 * BEAT_SECONDS)
            finally:
                if lock.locked() and not entered:
                    lock.release()
                _stop(scheduler)
    finally:
        app.close()

    assert systemd.longest_gap(fired, released) < LONGEST_GAP, systemd.beats
    assert "job_busy:heartbeat" not in events, events
    assert entered[0] >= released  # it waited for the cycle
    assert len(entered) == 1  # the second firing did not run
    assert f"job_busy:{JOB_ID}" in events


def test_beats_go_on_while_the_end_of_day_job_retries_an_unanswering_broker(
    tmp_path: Path, systemd: Systemd
) -> None:
    # Every read fails, each after a long wait (a broker that times out), past the account's
    # one-second read retry budget: the job records the account as not read.
    app = _app(tmp_path, read_errors=10_000, latency_ms=int(BUSY_SECONDS * 1000))
    lock = threading.Lock()
    entered: list[float] = []
    scheduler: CycleScheduler | None = None
    try:
        with time_machine.travel(START, tick=True):
            try:
                scheduler, events = _start(
                    app, lock, lambda: entered.append(time.monotonic()), work=True
                )
                _fire(scheduler)
                eventually(lambda: bool(entered), "the end-of-day job")
                started = entered[0]
                eventually(lambda: not lock.locked(), "the end-of-day job done")
                done = time.monotonic()
                time.sleep(3 * BEAT_SECONDS)
            finally:
                _stop(scheduler)
        with app.database.transaction() as session:
            assert valuations(session, "main") == []  # the broker was never read
    finally:
        app.close()

    assert done - started >= BUSY_SECONDS  # it did wait for the broker
    assert systemd.longest_gap(started, done) < LONGEST_GAP, systemd.beats
    assert "job_busy:heartbeat" not in events, events


def test_a_reload_schedules_the_heartbeat_again_on_its_own_thread() -> None:
    scheduler = CycleScheduler(exchange="XNYS", on_event=lambda *_: None)
    scheduler.start()
    try:
        for _ in range(2):  # the start, then a reload (`Daemon._schedule` again)
            scheduler.every("heartbeat", 30, lambda: None)
            scheduler.at_slots(
                JOB_ID, parse_schedule("close + 20m"), "XNYS", timedelta(minutes=30), lambda: None
            )
        jobs = {job.id: job for job in scheduler.jobs()}
        assert jobs["heartbeat"].executor != jobs[JOB_ID].executor
    finally:
        scheduler.shutdown(wait=True)
