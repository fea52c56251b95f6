"""The configuration's secrets taken out of free text before it is stored.

A broker's error message, a kill switch's reason or an order's detail is text trimtab did not
write itself: an exception may quote a URL with its password, an operator may paste a token.
Every `Text` column of a row added or changed in a unit of work is scrubbed just before the
flush, so neither the database nor a backup of it holds a configured secret. The audit log's
payload is scrubbed earlier, before it is hashed (`AuditLog.append`): here it is then left as
it is, and its hash still covers what is stored.
"""

from __future__ import annotations

__all__ = ["scrub_free_text"]

from itertools import chain
from typing import Any

from sqlalchemy import Text
from sqlalchemy import inspect as inspect_row
from sqlalchemy.orm import Session

from daemon.core.redaction import redact
from daemon.store.audit_log import SECRETS_KEY


def scrub_free_text(session: Session, _context: Any, _instances: Any) -> None:
    """Replace every configured secret in the `Text` columns of the rows about to be flushed
    (a `before_flush` listener; the secrets are the session's, set by `Database.transaction`)."""
    secrets: frozenset[str] = session.info.get(SECRETS_KEY, frozenset())
    if not secrets:
        return
    for row in chain(session.new, session.dirty):
        for attribute in inspect_row(row).mapper.column_attrs:
            if not isinstance(attribute.columns[0].type, Text):
                continue
            value = getattr(row, attribute.key)
            if isinstance(value, str) and any(secret in value for secret in secrets):
                setattr(row, attribute.key, redact(value, secrets))
