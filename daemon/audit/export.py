"""Audit records as JSON lines for people and other tools, with every configured secret scrubbed.

Records never hold a secret (`to_jsonable` refuses `SecretStr`, and `AuditLog.append`
scrubs the configured secret values from an error message quoted from a library or a reason
an operator pasted before it stores them), but a record written before that or under a
secret since changed could; every way out of the log (the table, `--json`, `--follow`,
`export`) replaces any configured secret value as a second guard and
marks such a record `"redacted": true`, since its hash no longer matches its text. The
strings are scrubbed before they are encoded: in JSON a secret's `"` or `\\` is escaped, and
the escaped text would no longer match the secret.
"""

from __future__ import annotations

__all__ = ["export_line", "parse_moment", "scrubbed"]

import dataclasses
import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from daemon.audit.record import AuditRecord
from daemon.core.redaction import redact_data


def scrubbed(record: AuditRecord, secrets: Iterable[str]) -> AuditRecord:
    """Return `record` with every secret replaced in its account, cycle id and payload (the
    record itself when it holds none)."""
    secrets = tuple(secrets)
    account = redact_data(record.account, secrets)
    cycle_id = redact_data(record.cycle_id, secrets)
    payload = redact_data(record.payload, secrets)
    if account is record.account and cycle_id is record.cycle_id and payload is record.payload:
        return record
    return dataclasses.replace(record, account=account, cycle_id=cycle_id, payload=payload)


def export_line(record: AuditRecord, secrets: Iterable[str]) -> str:
    """Return `record` as one line of JSON (no newline), secrets replaced."""
    data = record.as_dict()
    clean = redact_data(data, secrets)
    if clean is not data:
        clean["redacted"] = True
    return json.dumps(clean, sort_keys=True, ensure_ascii=False)


def parse_moment(text: str, tz: ZoneInfo, *, end: bool) -> datetime:
    """Parse `--since`/`--until`: a day (in the exchange's time zone) or an ISO time.

    A day as an end bound means the end of that day, so `--until 2026-11-24` includes it.
    Raise `ValueError` with the accepted forms.
    """
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1) if end else day, time(), tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a day like 2026-11-24 nor a time like 2026-11-24T15:30"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
