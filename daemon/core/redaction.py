"""Secrets taken out of text before it leaves trimtab (a message, a report, an export).

Redact text *before* it is escaped or encoded: HTML turns `&` into `&amp;` and JSON turns `"`
into `\\"`, so a secret holding such a character no longer matches once escaped. `redact_data`
scrubs every string inside a value (a report, a record's payload) while it is still plain.
"""

from __future__ import annotations

__all__ = ["REDACTED", "redact", "redact_data"]

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

REDACTED = "[redacted]"

T = TypeVar("T")


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`, longest first (a secret may contain another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_data(value: T, secrets: Iterable[str]) -> T:
    """Return `value` with every secret replaced in every string inside it: dataclass fields,
    mapping keys and values, list, tuple and set items. Parts without a secret are returned as
    they are (the same objects), so an unchanged value is `value` itself."""
    ordered = tuple(sorted(set(secrets), key=len, reverse=True))
    if not ordered:
        return value
    return _scrub(value, ordered)  # type: ignore[no-any-return]


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        if not any(secret in value for secret in secrets):
            return value
        return redact(str(value), secrets)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            if not field.init:
                continue
            before = getattr(value, field.name)
            after = _scrub(before, secrets)
            if after is not before:
                changes[field.name] = after
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, Mapping):
        items = [(_scrub(k, secrets), _scrub(v, secrets)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple | set | frozenset):
        scrubbed = [_scrub(item, secrets) for item in value]
        if all(a is b for a, b in zip(scrubbed, value, strict=True)):
            return value
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*scrubbed)  # a named tuple
        return type(value)(scrubbed)
    return value
