"""Secrets taken out of text before it leaves trimtab (a message, a report, an export)."""

from __future__ import annotations

__all__ = ["REDACTED", "redact"]

from collections.abc import Iterable

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`, longest first (a secret may contain another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
