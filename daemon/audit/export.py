"""Audit records as JSON lines for people and other tools, with every configured secret scrubbed.

Records never hold a secret (`to_jsonable` refuses `SecretStr`), but an error message quoted
from a library could; the export replaces any configured secret value as a second guard and
marks such a record `"redacted": true`, since its hash no longer matches its text.
"""

from __future__ import annotations

__all__ = ["export_line", "parse_moment"]

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from daemon.audit.record import AuditRecord
from daemon.core.redaction import redact


def export_line(record: AuditRecord, secrets: Iterable[str]) -> str:
    """Return `record` as one line of JSON (no newline), secrets replaced."""
    text = json.dumps(record.as_dict(), sort_keys=True, ensure_ascii=False)
    scrubbed = redact(text, secrets)
    if scrubbed == text:
        return text
    data = json.loads(scrubbed)
    data["redacted"] = True
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


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
