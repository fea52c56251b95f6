"""A real `trimtab run` on the simulated broker, driven by signals, as systemd would drive it.

The exchange is exchange_calendars' "24/7" calendar and the schedule "every 1 minutes while
open", so a slot is always at most a minute old: the first start runs it at once (it is inside
the grace window). The strategy sleeps two seconds, long enough to signal a running cycle.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from daemon.bootstrap import broker_migrations
from daemon.cli import app as cli
from daemon.store.db import open_database
from daemon.store.models import AuditRecordRow, CycleRow
from tests.fakes.receiver import Receiver, receiver

REPO = Path(__file__).resolve().parents[2]
TRIMTAB = Path(sys.executable).parent / "trimtab"
TOKEN = "hooktoken-5b8e2f0c41d7"

CONFIG = """
mode = "paper"
exchange = "24/7"
[scheduler]
misfire_grace_minutes = 5
stop_timeout_seconds = 60
[health]
heartbeat_seconds = 1
stale_after_seconds = 5
[notifications]
max_per_hour = 100
daily_digest = ""
[log]
format = "json"
[accounts.main]
broker = "sim"
strategy = "tests.fakes.slow:SLOW_STRATEGY"
schedule = "every 1 minutes while open"
[accounts.main.strategy_params]
seconds = 2
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.broker_settings]
starting_cash = "100000"
"""


class SystemdSocket:
    """Collect what the daemon sends to $NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.states: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
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
            self.states.extend(data.decode().splitlines())

    def close(self) -> None:
        self._open = False
        self._thread.join(timeout=2)
        self._sock.close()


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# Start trimtab with the kernel's memory-deny-write-execute on (what the unit's
# MemoryDenyWriteExecute=yes asks systemd for), where the kernel has it (Linux 6.3+).
PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1
NO_WRITE_EXECUTE = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) == 0:
    assert libc.prctl({PR_GET_MDWE}, 0, 0, 0, 0) == {PR_MDWE_REFUSE_EXEC_GAIN}
os.execv(sys.argv[1], sys.argv[1:])
"""


class Trimtab:
    """A `trimtab run` process whose JSON log lines are collected as they come."""

    def __init__(self, config: Path, env: dict[str, str], *, no_write_execute: bool) -> None:
        command = [str(TRIMTAB), "run", "-c", str(config)]
        if no_write_execute:
            command = [sys.executable, "-c", NO_WRITE_EXECUTE, *command]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=config.parent,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def find(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events()
            if e["event"] == event and all(e.get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, event: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            if self.proc.poll() is not None and not self.find(event, **fields):
                raise AssertionError(f"trimtab exited early:\n{''.join(self.lines)}")
            matches = self.find(event, **fields)
            return matches[0] if matches else None

        return eventually(found, f"{event} {fields}", timeout)  # type: ignore[no-any-return]

    def stop(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Make sure the process is gone (a failed test must not leave a daemon behind)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()

    def index(self, event: str) -> int:
        return [e["event"] for e in self.events()].index(event)


@dataclass
class Setup:
    config: Path
    env: dict[str, str]
    systemd: SystemdSocket
    inbox: Receiver
    started: list[Trimtab]

    def start(self, *, no_write_execute: bool = False) -> Trimtab:
        process = Trimtab(self.config, self.env, no_write_execute=no_write_execute)
        self.started.append(process)
        return process


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG)
    systemd = SystemdSocket(tmp_path / "notify.sock")
    with receiver() as inbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIMTAB_", "WATCHDOG"))}
        env |= {
            "PYTHONPATH": str(REPO),
            "NOTIFY_SOCKET": str(systemd.path),
            "WATCHDOG_USEC": "2000000",
            "TRIMTAB_NOTIFICATIONS__URLS": json.dumps([inbox.url("json", f"hook/{TOKEN}")]),
        }
        running = Setup(config, env, systemd, inbox, [])
        try:
            yield running
        finally:
            for process in running.started:
                process.close()
            systemd.close()


@pytest.mark.slow
def test_run_signals_restart_second_instance_and_reload(setup: Setup) -> None:
    config, env, systemd, inbox = setup.config, setup.env, setup.systemd, setup.inbox

    # First start: the current slot runs at once; SIGTERM while it runs lets it finish.
    first = setup.start(no_write_execute=True)
    due = first.wait_for("slot_due", timeout=30)
    first.wait_for("cycle_started")
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=30) == 0, "".join(first.lines)
    assert first.wait_for("daemon_stopping")["waiting_for_cycle"] is True
    finished = first.wait_for("cycle_finished")
    assert finished["outcome"] == "succeeded"
    assert first.index("cycle_finished") < first.index("daemon_stopped")
    assert {"READY=1", "WATCHDOG=1", "STOPPING=1"} <= set(systemd.states)
    # The cycle's summary; not the only message near midnight UTC, where the 24/7 calendar's
    # session closes and the day's report goes out too.
    [summary] = eventually(
        lambda: [m for m in inbox.messages() if m["title"].startswith("trimtab: main placed")],
        "the cycle's summary",
    )
    # Stopped before its orders went: none placed (the title said "placed 2" before).
    assert summary["title"] == "trimtab: main placed 0 order(s), 2 not sent (paper)"
    slot_id = finished["cycle_id"]
    assert slot_id.endswith(":" + due["slot"])

    # Restarted: the completed slot is not run again.
    second = setup.start()
    second.wait_for("daemon_started")
    # Its start-up look for missed slots finds nothing, or (past a minute boundary) a newer one.
    eventually(
        lambda: second.find("nothing_due", account="main") or second.find("slot_due"),
        "the start-up look for missed slots",
    )
    assert not second.find("slot_due", slot=due["slot"])

    # A second instance on the same state is refused, naming the running one.
    refused = subprocess.run(
        [str(TRIMTAB), "run", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert f"another trimtab (pid {second.proc.pid}) is running" in refused.stderr

    # A kill switch engaged from another shell reaches the owner through the daemon.
    runner = CliRunner()
    assert runner.invoke(cli, ["kill", "-c", str(config), "--reason", "drill"]).exit_code == 0
    engaged = eventually(
        lambda: [m for m in inbox.messages() if m["title"] == "trimtab: kill switch ENGAGED"],
        "the kill-switch notification",
    )
    assert "drill" in engaged[0]["message"]
    assert runner.invoke(cli, ["resume", "-c", str(config)]).exit_code == 0

    # SIGHUP with a broken file: refused, alerted, and the daemon beats on.
    config.write_text(CONFIG.replace('mode = "paper"', 'mode = "yolo"'))
    second.proc.send_signal(signal.SIGHUP)
    rejected = second.wait_for("config_reload_rejected")
    assert any(p.startswith("mode:") for p in rejected["problems"])
    beats = systemd.states.count("WATCHDOG=1")
    eventually(lambda: systemd.states.count("WATCHDOG=1") >= beats + 2, "heartbeats after")
    assert second.proc.poll() is None
    eventually(
        lambda: [m for m in inbox.messages() if "configuration refused" in m["title"]],
        "the refused-configuration alert",
    )

    # SIGHUP with a good file: taken.
    config.write_text(CONFIG.replace("seconds = 2", "seconds = 1"))
    second.proc.send_signal(signal.SIGHUP)
    reloaded = second.wait_for("config_reloaded")
    assert reloaded["changed"] == ["accounts.main.strategy_params.seconds"]

    assert second.stop() == 0, "".join(second.lines)
    second.wait_for("daemon_stopped")

    database = open_database(
        f"sqlite:///{config.parent / 'state' / 'trimtab.db'}",
        config.parent / "state",
        branches=broker_migrations(),
    )
    try:
        with database.transaction() as session:
            attempts = session.scalars(
                select(CycleRow.cycle_id).where(CycleRow.cycle_id.startswith(slot_id))
            ).all()
            kinds = session.scalars(select(AuditRecordRow.kind)).all()
    finally:
        database.close()
    assert attempts == [slot_id]
    assert "config_error" in kinds
    assert "config_reloaded" in kinds
    everything = "".join(first.lines + second.lines) + refused.stderr + json.dumps(inbox.messages())
    assert TOKEN not in everything


@pytest.mark.slow
def test_a_cycle_outlasting_the_stop_timeout_does_not_hold_the_exit(setup: Setup) -> None:
    setup.config.write_text(
        setup.config.read_text()
        .replace("stop_timeout_seconds = 60", "stop_timeout_seconds = 5")
        .replace("seconds = 2", "seconds = 60")
    )
    trimtab = setup.start()
    trimtab.wait_for("cycle_started")
    stopped_at = time.monotonic()
    trimtab.proc.send_signal(signal.SIGTERM)
    assert trimtab.proc.wait(timeout=30) == 1
    assert 5 <= time.monotonic() - stopped_at < 15
    assert trimtab.wait_for("stop_timeout_exceeded")["timeout"] == 5
    assert not trimtab.find("cycle_finished")


@pytest.mark.slow
def test_a_stop_during_a_waiting_reload_stops_the_cycle_sending(setup: Setup) -> None:
    """SIGHUP then SIGTERM while a cycle runs (`systemctl reload`, then `stop`): before, the
    reload waited on the main loop for the cycle, the stop was not seen until then, and the
    cycle sent every order; now the stop reaches the cycle at once and the reload is dropped."""
    setup.config.write_text(setup.config.read_text().replace("seconds = 2", "seconds = 6"))
    trimtab = setup.start()
    trimtab.wait_for("cycle_started")
    setup.config.write_text(
        setup.config.read_text().replace("max_per_hour = 100", "max_per_hour = 99")
    )
    trimtab.proc.send_signal(signal.SIGHUP)
    trimtab.wait_for("config_reload_requested")
    trimtab.proc.send_signal(signal.SIGTERM)
    assert trimtab.proc.wait(timeout=60) == 0
    assert trimtab.wait_for("config_reload_dropped")["reason"] == "trimtab is stopping"
    assert not trimtab.find("order_submitting")
    assert not trimtab.find("config_reloaded")
    finished = trimtab.wait_for("cycle_finished")
    assert finished["submitted"] == 0, finished
