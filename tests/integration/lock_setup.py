"""What the tests of the instance and database locks share: a configuration of one simulated
account, the locks a running `trimtab run` holds, and a real `trimtab run` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from daemon.bootstrap import broker_migrations
from daemon.cli import app as cli
from daemon.service.lock import database_lock, instance_lock
from daemon.store.db import Database, open_database

TRIMTAB = Path(sys.executable).parent / "trimtab"
REPO = Path(__file__).resolve().parents[2]

CONFIG = """
mode = "paper"
{url}state_dir = "{state}"
exchange = "24/7"
[log]
format = "json"
[accounts.main]
broker = "sim"
strategy = "static"
schedule = "every 1 minutes while open"
[accounts.main.broker_settings]
starting_cash = "10000"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.policy]
outside_hours = true
"""


def write_config(path: Path, state: Path, url: str | None = None) -> Path:
    """Write a configuration with `state` as state directory and `url` as database_url."""
    line = f'database_url = "{url}"\n' if url is not None else ""
    path.write_text(CONFIG.format(url=line, state=state))
    return path


def invoke(*args: str) -> tuple[int, str]:
    """Run a command in this process; return its exit code and output."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@contextmanager
def running(url: str, state: Path) -> Iterator[Database]:
    """Hold what a running `trimtab run` holds on `state` and its database (in this process,
    whose pid the refusals name)."""
    database = open_database(url, state, branches=broker_migrations())
    try:
        with instance_lock(state), database_lock(database, cluster=False):
            yield database
    finally:
        database.close()


def environment() -> dict[str, str]:
    """The environment of a trimtab process: the test's, without any TRIMTAB_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIMTAB_", "WATCHDOG"))}
    return env | {"PYTHONPATH": str(REPO)}


def trimtab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a trimtab command as a process of its own."""
    return subprocess.run(
        [str(TRIMTAB), *args],
        capture_output=True,
        text=True,
        env=environment(),
        cwd=cwd,
        timeout=45,  # a second daemon that is not refused runs on: fail, not hang
        check=False,
    )


@contextmanager
def daemon(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start `trimtab run` with `config`, its output to `log`; yield it once it has started
    (holding its locks); stop it afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(TRIMTAB), "run", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment(),
            cwd=config.parent,
        )
    try:
        deadline = time.monotonic() + 60
        while '"daemon_started"' not in log.read_text():
            if process.poll() is not None:
                raise AssertionError(f"trimtab run exited early:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"trimtab run did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
