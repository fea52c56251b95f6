"""A secret holding HTML and JSON special characters, quoted in a kill switch's reason, is
replaced in every way the log leaves trimtab: the daily report's page, `audit export`, `audit`,
`audit --json` and `audit --follow --json`.

Before, redaction compared the secret with text already escaped (`&` as `&amp;` in the page,
`"` as `\\"` in JSON) and missed it, and `audit --json` and `--follow` scrubbed nothing.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging

REPO = Path(__file__).resolve().parents[2]
TRIMTAB = Path(sys.executable).parent / "trimtab"
PASSWORD = "Pa55&wo'rd\"<1>\\z"
URL = f"json://alice:{PASSWORD.replace(chr(92), '%5C')}@127.0.0.1:9/hook"
REASON = f"webhook refused: {URL} (password {PASSWORD})"


def forms(secret: str) -> set[str]:
    """The secret as written, as the page escapes it and as JSON escapes it."""
    return {
        secret,
        str(escape(secret)),
        html.escape(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def assert_clean(text: str) -> None:
    for secret in (URL, PASSWORD):
        for form in forms(secret):
            assert form not in text, f"{form!r} leaked"


def invoke(*args: str) -> str:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    monkeypatch.setenv("TRIMTAB_NOTIFICATIONS__URLS", json.dumps([URL]))
    invoke("kill", "-c", str(config), "--reason", REASON)
    return config


def test_the_secret_is_a_configured_one(killed: Path) -> None:
    from daemon.config.secrets import secret_values
    from daemon.config.settings import load_config

    secrets = secret_values(load_config(killed))
    assert URL in secrets
    assert PASSWORD in secrets


def test_the_page_the_export_and_the_listings_replace_it(killed: Path, tmp_path: Path) -> None:
    page = tmp_path / "day.html"
    summary = invoke("report", "-c", str(killed), "--out", str(page))
    assert_clean(summary)
    text = page.read_text()
    assert "webhook refused: [redacted]" in text
    assert_clean(text)

    exported = invoke("audit", "export", "--since", "2020-01-01", "-c", str(killed))
    assert_clean(exported)
    (line,) = [json.loads(x) for x in exported.splitlines() if '"kill_switch"' in x]
    # Scrubbed when it was written: the line's hash matches its text.
    assert "redacted" not in line
    assert line["payload"]["reason"] == "webhook refused: [redacted] (password [redacted])"

    listed = invoke("audit", "-c", str(killed), "-k", "kill_switch", "--json")
    assert_clean(listed)
    assert json.loads(listed)["payload"]["reason"].startswith("webhook refused: [redacted]")

    table = invoke("audit", "-c", str(killed), "-k", "kill_switch")
    assert_clean(table)
    assert "[redacted]" in table


@pytest.mark.slow
def test_follow_json_replaces_it(killed: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env["TRIMTAB_NOTIFICATIONS__URLS"] = json.dumps([URL])
    process = subprocess.Popen(
        [str(TRIMTAB), "audit", "-c", str(killed), "--follow", "--json", "-k", "kill_switch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the record written before it started
        deadline = time.monotonic() + 30
        while not line and time.monotonic() < deadline:
            line = process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, errors
    assert_clean(line + rest)
    assert json.loads(line)["payload"]["reason"].startswith("webhook refused: [redacted]")


def test_the_database_never_holds_it_and_the_chain_verifies(killed: Path) -> None:
    """Scrubbed before the record is hashed and stored (before, only on the way out: the
    database file and every backup of it held the pasted secret)."""
    database = killed.parent / "state" / "trimtab.db"
    with sqlite3.connect(database) as connection:
        payloads = [row[0] for row in connection.execute("SELECT payload FROM audit_records")]
        (reason,) = connection.execute("SELECT reason FROM kill_switch_events").fetchone()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert any("webhook refused: [redacted] (password [redacted])" in p for p in payloads)
    # The kill switch's own table too: its reason is free text like the record's.
    assert reason == "webhook refused: [redacted] (password [redacted])"
    for name in ("trimtab.db", "trimtab.db-wal"):
        if (database.parent / name).exists():
            assert_clean((database.parent / name).read_bytes().decode("utf-8", "replace"))
    assert "audit chain intact" in invoke("audit", "verify", "-c", str(killed))
