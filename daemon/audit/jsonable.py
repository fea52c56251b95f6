"""Convert domain values to JSON-ready data: Decimals as strings, times as ISO 8601 in UTC.

A dataclass field may say how it is written through its metadata: `JSON_NAME` (the key, when
the field's name cannot be it, like `from`) and `OMIT_NONE` (left out when None, so a record
of a shape that never had the field reads as it always did).
"""

from __future__ import annotations

__all__ = ["JSON_NAME", "OMIT_NONE", "canonical_json", "json_key", "to_jsonable"]

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr

JSON_NAME = "json_name"
OMIT_NONE = "omit_none"


def json_key(field: dataclasses.Field[Any]) -> str:
    """Return the key `field` is written under."""
    return str(field.metadata.get(JSON_NAME, field.name))


def to_jsonable(value: Any) -> Any:
    """Return `value` as plain JSON types; refuse secrets outright."""
    if isinstance(value, SecretStr):
        # A secret reaching an audit record or report is a bug; fail loudly instead.
        raise TypeError("refusing to serialise a secret")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime; trimtab records times in UTC")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            json_key(f): to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get(OMIT_NONE) and getattr(value, f.name) is None)
        }
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot record a {type(value).__name__} in JSON")


def canonical_json(value: Any) -> str:
    """Return the one JSON text of `value` that hashing relies on (sorted keys, no spaces)."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
