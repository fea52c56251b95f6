"""SIGHUP with a secrets file that is not UTF-8: a real `trimtab run` in the pretty log format
refuses the reload as it refuses any bad configuration (audited, alerted, the running
configuration kept), and the secrets file's content reaches neither the log, nor the audit
log, nor the alert."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.bootstrap import broker_migrations
from daemon.store.db import open_database
from daemon.store.models import AuditRecordRow
from tests.fakes.receiver import Receiver, receiver
from tests.integration.test_daemon import REPO, Trimtab, eventually

TOKEN = "hooktoken-9c1e77ab30f2"

CONFIG = """
mode = "paper"
exchange = "24/7"
secrets_file = "secrets.toml"
[notifications]
max_per_hour = 100
daily_digest = ""
[log]
format = "pretty"
[accounts.main]
broker = "sim"
strategy = "static"
schedule = "first trading day of the month at 12:00"
[accounts.main.strategy_params]
targets = { VTI = "0.6", BND = "0.4" }
[accounts.main.broker_settings]
starting_cash = "100000"
"""


@pytest.fixture
def inbox() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("# caf\xe9\n".encode("latin-1"), "is not UTF-8 at byte 5 (line 1)"),
        ("# notes\n".encode("utf-16"), "is UTF-16, not UTF-8"),
    ],
)
def test_a_secrets_file_not_in_utf8_is_refused_on_reload(
    tmp_path: Path, inbox: Receiver, broken: bytes, expected: str
) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(CONFIG)
    secrets = tmp_path / "secrets.toml"
    good = f'[notifications]\nurls = ["{inbox.url("json", f"hook/{TOKEN}")}"]\n'
    secrets.write_text(good)
    secrets.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIMTAB_", "WATCHDOG"))}
    env |= {"PYTHONPATH": str(REPO)}
    env.pop("NOTIFY_SOCKET", None)
    daemon = Trimtab(config, env, no_write_execute=False)
    try:
        eventually(lambda: any("daemon_started" in line for line in daemon.lines), "the start")

        secrets.write_bytes(broken + good.encode())
        daemon.proc.send_signal(signal.SIGHUP)
        eventually(
            lambda: any("config_reload_rejected" in line for line in daemon.lines),
            "the refused reload",
        )
        alert = eventually(
            lambda: [m for m in inbox.messages() if "configuration refused" in m["title"]],
            "the refused-configuration alert",
        )
        assert expected in alert[0]["message"]
        assert "save the file as UTF-8" in alert[0]["message"]
        assert daemon.proc.poll() is None  # still running, on the old configuration

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=60) == 0, "".join(daemon.lines)
    finally:
        daemon.close()

    database = open_database(
        f"sqlite:///{tmp_path / 'state' / 'trimtab.db'}",
        tmp_path / "state",
        branches=broker_migrations(),
    )
    try:
        with database.transaction() as session:
            rows = session.scalars(
                select(AuditRecordRow).where(AuditRecordRow.kind == "config_error")
            ).all()
            audited = [row.payload for row in rows]
    finally:
        database.close()
    assert any(expected in text for text in audited)
    log = "".join(daemon.lines)
    assert "config_reload_failed" not in log
    assert "Traceback" not in log
    everything = log + "".join(audited) + json.dumps(inbox.messages())
    assert TOKEN not in everything
