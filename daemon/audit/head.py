"""The audit log's head, kept outside the database: what the hash chain alone cannot show.

A chain shows an edited, removed or reordered record anywhere before its last record, but not
that records were cut off its end: a shorter chain is still a valid chain. So after every commit
that appended audit records, the newest record's sequence number and hash are written to
`audit_head.json` in the state directory, and `trimtab audit verify` also checks that the
database still holds that record with that hash.

`daemon.store.audit_log` writes the file after the commit, so a crash in between leaves it one
commit behind (never ahead): records after the head are accepted. It only ever moves forward,
so two writers racing cannot move it back in a way that raises a false alarm.
"""

from __future__ import annotations

__all__ = ["AUDIT_HEAD_NAME", "AuditHead", "read_head", "write_forward"]

import json
import os
from dataclasses import dataclass
from pathlib import Path

from daemon.core.errors import StateError

AUDIT_HEAD_NAME = "audit_head.json"


@dataclass(frozen=True, slots=True)
class AuditHead:
    seq: int
    hash: str


def write_forward(path: Path, head: AuditHead) -> None:
    """Write `head` to `path` unless the file already holds a head as new or newer."""
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
