"""One stored audit record as read back: its place in the chain, its JSON and its event."""

from __future__ import annotations

__all__ = ["AuditRecord", "events_of", "mentions"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from daemon.audit.events import AuditEvent, RawEvent, decode
from daemon.audit.jsonable import to_jsonable

E = TypeVar("E", bound=AuditEvent)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    recorded_at: datetime
    kind: str
    account: str | None
    cycle_id: str | None
    payload: Mapping[str, Any]
    """The stored JSON, as hashed: what `--json` and exports show."""
    prev_hash: str
    hash: str

    @property
    def event(self) -> AuditEvent | RawEvent:
        """Return the payload read through its kind's event type (`RawEvent` if it does not fit)."""
        return decode(self.kind, self.payload)

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable(self)  # type: ignore[no-any-return]


def mentions(value: Any, symbol: str) -> bool:
    """Tell whether `symbol` is a whole string value or a key anywhere inside `value`."""
    if isinstance(value, str):
        return value == symbol
    if isinstance(value, Mapping):
        return any(key == symbol or mentions(item, symbol) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(mentions(item, symbol) for item in value)
    return False


def events_of(records: Iterable[AuditRecord], kind: type[E]) -> list[tuple[AuditRecord, E]]:
    """Return the records of `kind`'s event type with their events, leaving out any whose
    payload that type cannot read (`trimtab audit` shows those raw)."""
    found: list[tuple[AuditRecord, E]] = []
    for record in records:
        if record.kind == kind.KIND:
            event = record.event
            if isinstance(event, kind):
                found.append((record, event))
    return found
