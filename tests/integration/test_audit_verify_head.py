"""`trimtab audit verify --head SEQ:HASH`: the hashes are not keyed, so an intact chain alone
proves nothing against someone who can write the database. A head kept outside the machine
does, up to that head.

- Rewritten: an old record edited, every later hash recomputed and the head file rewritten
  passes a plain `verify` (which says it proves nothing more); `--head` with the head a report
  printed before names the record and says it was rewritten.
- Appended: a forged record appended after the head passes (records after the newest kept head
  are not proven, and `verify` says how many there are); a later head kept from the genuine
  log catches it.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from daemon.audit.chain import digest
from daemon.audit.events import KillSwitchChanged, encode
from daemon.audit.head import AUDIT_HEAD_NAME
from daemon.audit.jsonable import canonical_json
from daemon.bootstrap import open_app
from daemon.cli import app
from daemon.logs import configure_logging
from daemon.store.audit_log import AuditLog
from daemon.store.models import AuditRecordRow

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, code: int = 0) -> str:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    assert result.exit_code == code, result.output
    return result.output


def newest(config: Path) -> tuple[int, str]:
    application = open_app(config)
    try:
        with application.database.transaction() as session:
            head = AuditLog(session).newest()
    finally:
        application.close()
    assert head is not None
    return head.seq, head.hash


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "log" / "config.toml"
    path.parent.mkdir()
    shutil.copy(REPO / "config.example.toml", path)
    for n in range(3):
        invoke("kill", "-c", str(path), "--reason", f"drill {n}")
        invoke("resume", "-c", str(path))
    return path


def rewrite(config: Path, seq: int) -> None:
    """Edit record `seq`'s reason, recompute every hash from it on, rewrite the head file."""
    application = open_app(config)
    try:
        with application.database.transaction() as session:
            rows = list(
                session.execute(select(AuditRecordRow).order_by(AuditRecordRow.seq)).scalars()
            )
            session.execute(update(AuditRecordRow).values(prev_hash=AuditRecordRow.hash + "x"))
            session.flush()
            prev = "0" * 64
            for row in rows:
                if row.seq == seq:
                    row.payload = row.payload.replace("drill", "forged")
                row.prev_hash = prev
                row.hash = digest(
                    prev, row.recorded_at, row.kind, row.account, row.cycle_id, row.payload
                )
                prev = row.hash
            last = rows[-1]
    finally:
        application.close()
    head_file = config.parent / "state" / AUDIT_HEAD_NAME
    head_file.write_text(json.dumps({"seq": last.seq, "hash": last.hash}) + "\n")


def append_forged(config: Path) -> None:
    """Append a record with a valid hash after the last one, head file untouched."""
    application = open_app(config)
    try:
        with application.database.transaction() as session:
            last = session.execute(
                select(AuditRecordRow).order_by(AuditRecordRow.seq.desc()).limit(1)
            ).scalar_one()
            when = last.recorded_at + timedelta(seconds=1)
            event = KillSwitchChanged(engaged=False, was_engaged=True, reason="forged", actor="x")
            text = canonical_json(encode(event))
            session.add(
                AuditRecordRow(
                    recorded_at=when,
                    kind="kill_switch",
                    account=None,
                    cycle_id=None,
                    payload=text,
                    prev_hash=last.hash,
                    hash=digest(last.hash, when, "kill_switch", None, None, text),
                )
            )
    finally:
        application.close()


def test_the_footer_and_the_digest_print_the_command(config: Path, tmp_path: Path) -> None:
    seq, hash_ = newest(config)
    page = tmp_path / "day.html"
    invoke("report", "-c", str(config), "--out", str(page))
    command = f"trimtab audit verify --head {seq}:{hash_}"
    text = page.read_text()
    assert f"<code>{command}</code>" in text
    assert "records after it are not proven by it" in text
    assert "proves the log before it was not changed" not in text
    assert "Every record up to" in invoke(
        "audit", "verify", "-c", str(config), "--head", f"{seq}:{hash_}"
    )


def test_a_rewrite_with_recomputed_hashes_is_caught_by_a_kept_head(config: Path) -> None:
    seq, hash_ = newest(config)
    rewrite(config, 1)
    plain = invoke("audit", "verify", "-c", str(config))
    assert "audit chain intact" in plain  # what the chain alone cannot show
    assert "not keyed" in plain
    assert "--head SEQ:HASH" in plain
    caught = invoke("audit", "verify", "-c", str(config), "--head", f"{seq}:{hash_}", code=1)
    assert f"broken at record {seq}" in caught
    assert "rewritten" in caught


def test_a_forged_append_is_caught_once_a_later_head_is_kept(config: Path, tmp_path: Path) -> None:
    seq, hash_ = newest(config)
    genuine = tmp_path / "genuine"
    shutil.copytree(config.parent, genuine)
    invoke("kill", "-c", str(genuine / "config.toml"), "--reason", "the real next record")
    later, later_hash = newest(genuine / "config.toml")
    assert later == seq + 1

    append_forged(config)
    passed = invoke("audit", "verify", "-c", str(config), "--head", f"{seq}:{hash_}")
    assert f"Every record up to {seq} is as written" in passed
    assert "the 1 record(s) after it are not proven" in passed
    caught = invoke(
        "audit",
        "verify",
        "-c",
        str(config),
        "--head",
        f"{seq}:{hash_}",
        "--head",
        f"{later}:{later_hash}",
        code=1,
    )
    assert f"broken at record {later}" in caught


def test_a_kept_head_beyond_the_log_is_missing(config: Path) -> None:
    seq, hash_ = newest(config)
    output = invoke("audit", "verify", "-c", str(config), "--head", f"{seq + 5}:{hash_}", code=1)
    assert f"record {seq + 5}, the head you kept, is missing" in output


@pytest.mark.parametrize("bad", ["12", "x:" + "a" * 64, "3:abc", "0:" + "a" * 64])
def test_a_head_that_is_not_seq_hash_is_refused(config: Path, bad: str) -> None:
    output = invoke("audit", "verify", "-c", str(config), "--head", bad, code=2)
    assert re.search(r"--head .* is not SEQ:HASH", output)


def test_the_wording_claims_no_more_than_verify_proves() -> None:
    docs = (REPO / "docs" / "report.md").read_text() + (REPO / "docs" / "audit.md").read_text()
    template = (REPO / "daemon" / "report" / "templates" / "report.html.j2").read_text()
    for text in (docs, template, (REPO / "docs" / "operations.md").read_text()):
        assert "proves the log before it was not changed" not in text
        assert "plus the hash prove the log was not rewritten since" not in text
    assert "records appended after the head" in (REPO / "docs" / "audit.md").read_text().lower()
