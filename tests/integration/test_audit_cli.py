"""`trimtab audit` filters, `--follow` in a real process, `audit export`, `audit verify`."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from daemon.audit.events import CycleFailed
from daemon.audit.jsonable import canonical_json
from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.logs import configure_logging
from daemon.store.audit_log import AuditLog
from daemon.store.models import AuditRecordRow

REPO = Path(__file__).resolve().parents[2]
TRIMTAB = Path(sys.executable).parent / "trimtab"
URL_TOKEN = "tok-5d1e9a7c3b"


def invoke(*args: str, code: int = 0) -> str:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        # The command pointed logging at the runner's captured stream, closed by now.
        configure_logging()
    assert result.exit_code == code, result.output
    return result.stdout if "--json" in args or "export" in args else result.output


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example household after one cycle of each account."""
    config = tmp_path_factory.mktemp("audit") / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    invoke("run", "--once", "-c", str(config))
    return config


def json_records(*args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in invoke("audit", *args, "--json").splitlines()]


def test_kind_account_and_symbol_filters(ran: Path) -> None:
    config = str(ran)
    everything = json_records("-c", config)
    plans = json_records("-c", config, "--kind", "plan")
    assert plans
    assert {r["kind"] for r in plans} == {"plan"}
    assert len(plans) == sum(1 for r in everything if r["kind"] == "plan")
    two = json_records("-c", config, "-k", "plan", "-k", "cycle_finished", "-a", "ira")
    assert {(r["kind"], r["account"]) for r in two} == {("plan", "ira"), ("cycle_finished", "ira")}
    vxus = json_records("-c", config, "--symbol", "vxus")
    assert vxus
    assert all("VXUS" in json.dumps(r["payload"]) for r in vxus)
    assert len(vxus) < len(everything)
    assert {r["kind"] for r in vxus} >= {"plan", "targets", "order_result"}
    assert json_records("-c", config, "--symbol", "VX") == []


def test_the_table_shows_every_record_as_text_not_python_reprs(ran: Path) -> None:
    output = invoke("audit", "-c", str(ran))
    assert "{'" not in output
    assert "['" not in output
    assert "Decimal(" not in output
    # The first reconciliation of each account, and the one after its fills.
    assert "baseline: broker positions taken as the book; cash $100,000.00" in output
    assert "fill buy" in output
    rows = [r for r in json_records("-c", str(ran)) if r["kind"] == "reconciliation"]
    assert len(rows) >= 2


def test_since_and_until_select_a_time_range(ran: Path) -> None:
    config = str(ran)
    everything = json_records("-c", config)
    middle = everything[len(everything) // 2]["recorded_at"]
    assert isinstance(middle, str)
    later = json_records("-c", config, "--since", middle)
    earlier = json_records("-c", config, "--since", "2020-01-01", "--until", middle)
    assert len(later) + len(earlier) == len(everything)
    assert all(str(r["recorded_at"]) >= middle for r in later)
    assert json_records("-c", config, "--until", "2020-01-01") == []


def test_bad_filters_are_refused_naming_them(ran: Path) -> None:
    config = str(ran)
    assert "--kind plans unknown" in invoke("audit", "-c", config, "--kind", "plans", code=2)
    assert "--since" in invoke("audit", "-c", config, "--since", "yesterday", code=2)
    output = invoke("audit", "-c", config, "--since", "2026-12-02", "--until", "2026-12-01", code=2)
    assert "is not after" in output
    assert "not --until" in invoke("audit", "-c", config, "-f", "--until", "2026-12-01", code=2)
    assert "cannot be combined" in invoke(
        "audit", "-c", config, "--date", "2026-12-01", "--since", "2026-12-01", code=2
    )


def _digest(record: dict[str, object]) -> str:
    body = canonical_json(
        {
            "recorded_at": datetime.fromisoformat(str(record["recorded_at"])),
            "kind": record["kind"],
            "account": record["account"],
            "cycle_id": record["cycle_id"],
            "payload": canonical_json(record["payload"]),
        }
    )
    return hashlib.sha256((str(record["prev_hash"]) + body).encode()).hexdigest()


def test_export_writes_json_lines_that_verify_on_their_own(ran: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    printed = invoke("audit", "export", "--since", "2020-01-01", "-c", str(ran), "--out", str(out))
    assert "record(s) to" in printed
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(json_records("-c", str(ran), "--since", "2020-01-01"))
    assert out.stat().st_mode & 0o077 == 0
    previous = lines[0]["prev_hash"]
    for line in lines:
        assert line["prev_hash"] == previous
        assert _digest(line) == line["hash"]
        previous = line["hash"]
    stdout = invoke("audit", "export", "--since", "2020-01-01", "-c", str(ran), "-k", "plan")
    assert {json.loads(line)["kind"] for line in stdout.splitlines()} == {"plan"}


def test_export_scrubs_configured_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    monkeypatch.setenv(
        "TRIMTAB_NOTIFICATIONS__URLS", json.dumps([f"json://{URL_TOKEN}@127.0.0.1:9/x"])
    )
    application = open_app(config)
    # A record written raw, as trimtab did before scrubbing at write time (or under a secret
    # changed since): the export's second guard.
    application.database.secrets = frozenset()
    with application.database.transaction() as session:
        # A library's error text quoting a configured value.
        AuditLog(session).append(
            CycleFailed(
                error_type="OSError", error=f"cannot post to json://{URL_TOKEN}@127.0.0.1:9/x"
            ),
            at=datetime.now(UTC),
            account="ira",
        )
    application.close()
    stdout = invoke("audit", "export", "--since", "2020-01-01", "-c", str(config))
    assert URL_TOKEN not in stdout
    record = json.loads(stdout.splitlines()[-1])
    assert record["redacted"] is True
    assert "[redacted]" in record["payload"]["error"]


def test_verify_names_records_cut_off_the_end(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    invoke("run", "--once", "-c", str(config), "-a", "ira")
    assert "head file's record" in invoke("audit", "verify", "-c", str(config))
    application = open_app(config)
    with application.database.transaction() as session:
        last = session.execute(select(func.max(AuditRecordRow.seq))).scalar_one()
        session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq == last))
    application.close()
    output = invoke("audit", "verify", "-c", str(config), code=1)
    assert f"broken at record {last}" in output
    assert "cut off the end" in output


class Lines:
    """A process's stdout read on a thread, so the test can wait with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(process.stdout,))
        self.reader.start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not printed; got {self.seen}")
            try:
                self.seen.append(self._queue.get(timeout=left))
            except queue.Empty:
                continue


@pytest.fixture
def following(ran: Path) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    process = subprocess.Popen(
        [
            *(str(TRIMTAB), "audit", "-c", str(ran), "--follow", "--interval", "0.2"),
            *("-k", "kill_switch", "--since", datetime.now(UTC).isoformat()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = Lines(process)
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        lines.reader.join(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_follow_prints_new_records_and_stops_cleanly(
    ran: Path, following: tuple[subprocess.Popen[str], Lines], stop: signal.Signals
) -> None:
    process, lines = following
    reason = f"follow test {stop.name}"
    invoke("kill", "-c", str(ran), "--reason", reason)
    lines.wait_for(reason)
    invoke("resume", "-c", str(ran))
    lines.wait_for("kill switch cleared")
    assert all("kill_switch" in line or line.startswith(" ") for line in lines.seen)
    process.send_signal(stop)
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()
