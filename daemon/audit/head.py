"""The audit log's head, kept outside the database: what the hash chain alone cannot show.

A chain shows an edited, removed or reordered record anywhere before its last record, but not
that records were cut off its end: a shorter chain is still a valid chain. So after every commit
that appended audit records, the newest record's sequence number and hash are written to
`audit_head.json` in the state directory, and `trimtab audit verify` also checks that the
database still holds that record with that hash.

The file is written after the commit, so a crash in between leaves it one commit behind (never
ahead): records after the head are accepted. It only ever moves forward, so two writers racing
cannot move it back in a way that raises a false alarm.
"""

from __future__ import annotations

__all__ = ["AUDIT_HEAD_NAME", "SESSION_KEY", "AuditHead", "read_head", "remember_on_commit"]

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from daemon.core.errors import StateError
from daemon.logs import get_logger

AUDIT_HEAD_NAME = "audit_head.json"
SESSION_KEY = "audit_head"
"""Key in `Session.info` holding the head file's path (set by `open_database`)."""
_PENDING = "audit_head_pending"
_LISTENING = "audit_head_listening"


@dataclass(frozen=True, slots=True)
class AuditHead:
    seq: int
    hash: str


def remember_on_commit(session: Session, head: AuditHead) -> None:
    """Write `head` to the session's head file once the session commits (if it has one)."""
    if session.info.get(SESSION_KEY) is None:
        return
    session.info[_PENDING] = head
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    head: AuditHead | None = session.info.pop(_PENDING, None)
    path: Path | None = session.info.get(SESSION_KEY)
    if head is None or path is None:
        return
    try:
        _write_forward(path, head)
    except (OSError, StateError) as exc:
        # The records are committed; a head file that lags only weakens the tail check.
        get_logger().warning("audit_head_not_written", path=str(path), error=str(exc))


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


def _write_forward(path: Path, head: AuditHead) -> None:
    current = read_head(path)
    if current is not None and current.seq >= head.seq:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"seq": head.seq, "hash": head.hash}) + "\n")
    temporary.chmod(0o600)
    os.replace(temporary, path)


def read_head(path: Path) -> AuditHead | None:
    """Return the head recorded in `path`, None when there is none; `StateError` if unreadable."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"audit head file {path} is unreadable: {exc}") from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("seq"), int)
        or not isinstance(data.get("hash"), str)
    ):
        raise StateError(f"audit head file {path} does not hold a sequence number and a hash")
    return AuditHead(seq=data["seq"], hash=data["hash"])
