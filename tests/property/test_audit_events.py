"""Audit events survive their JSON form; records written before the types existed still read."""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.audit.events import (
    EVENT_TYPES,
    AlertChanged,
    AuditEvent,
    CycleFinished,
    OrderResult,
    RawEvent,
    TaxLots,
    TradingStateChanged,
    decode,
    encode,
)
from daemon.audit.jsonable import canonical_json
from daemon.audit.record import AuditRecord
from daemon.audit.view import readable, summarize
from daemon.core.domain import OrderStatus, Side, TradingState

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5))])


def values(kind: Any) -> st.SearchStrategy[Any]:
    """Return a strategy for any value of the type `kind` an event field can have."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Union or origin is types.UnionType:
        return st.one_of(*(values(a) for a in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(values(args[0]), max_size=3).map(tuple)
        return st.tuples(*(values(a) for a in args))
    if origin is frozenset:
        return st.frozensets(values(args[0]), max_size=3)
    if origin is dict or origin is Mapping:
        return st.dictionaries(TEXT, values(args[1]), max_size=3)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers(),
        str: TEXT,
        float: st.floats(allow_nan=False),
        Decimal: st.decimals(allow_nan=False, allow_infinity=False),
        datetime: st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=ZONES),
        date: st.dates(),
    }
    if kind in simple:
        return simple[kind]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return st.sampled_from(kind)
    assert isinstance(kind, type), kind
    assert dataclasses.is_dataclass(kind), kind
    hints = get_type_hints(kind)
    return st.builds(
        kind, **{f.name: values(hints[f.name]) for f in dataclasses.fields(kind) if f.init}
    )


KINDS = sorted(EVENT_TYPES)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_every_event_reads_back_equal_from_its_stored_json(kind: str, data: st.DataObject) -> None:
    event = data.draw(values(EVENT_TYPES[kind]))
    stored = canonical_json(encode(event))
    assert decode(kind, json.loads(stored)) == event
    # Deterministic: the text hashed is the same however often the event is written.
    assert canonical_json(json.loads(stored)) == stored
    # `trimtab audit` has a line for it, whatever the values.
    record = AuditRecord(1, datetime.now(UTC), kind, "a", None, json.loads(stored), "", "")
    assert isinstance(summarize(record), str)


SENT: dict[str, Any] = {
    "client_order_id": "tt-a-1",
    "symbol": "VTI",
    "side": "buy",
    "qty": "3",
    "notional": None,
    "status": "filled",
    "broker_order": None,
    "detail": "",
}
"""An order's result as `daemon/cycle/execution.py` wrote it before events had types."""

OLD_SHAPES: list[tuple[str, dict[str, Any], AuditEvent]] = [
    (
        "order_result",
        SENT,
        OrderResult("VTI", Side.BUY, OrderStatus.FILLED, "", "tt-a-1", Decimal(3)),
    ),
    (
        "order_result",
        {"symbol": "VTI", "side": "buy", "status": "skipped", "detail": "cash"},
        OrderResult("VTI", Side.BUY, "skipped", "cash"),
    ),
    (
        "order_result",
        {k: v for k, v in SENT.items() if k != "notional"}
        | {"status": "cancelled", "external": True},
        OrderResult(
            "VTI", Side.BUY, OrderStatus.CANCELLED, "", "tt-a-1", Decimal(3), external=True
        ),
    ),
    (
        "cycle_finished",
        {
            "outcome": "skipped",
            "submitted": False,
            "why_not_submitted": "trimtab was down",
            "planned_orders": 0,
            "orders": [],
            "scheduled_at": "2026-11-24T20:45:00+00:00",
            "skipped_slots": ["a:2026-11-24:close"],
            "skipped_count": 1,
        },
        CycleFinished(
            "skipped",
            False,
            "trimtab was down",
            0,
            scheduled_at=datetime(2026, 11, 24, 20, 45, tzinfo=UTC),
            skipped_slots=("a:2026-11-24:close",),
            skipped_count=1,
        ),
    ),
    (
        "alert",
        {
            "key": "drawdown",
            "status": "firing",
            "severity": "warning",
            "title": "drawdown",
            "detail": "down 12%",
            "value": None,
            "threshold": "0.1",
            "held_for_seconds": "0.0",
        },
        AlertChanged("drawdown", "firing", "warning", "drawdown", "down 12%", None, 0.1, 0.0),
    ),
    (
        "tax_lots",
        {"import": "lots.csv", "rejected": ["row 2: no date"]},
        TaxLots(imported="lots.csv", rejected=("row 2: no date",)),
    ),
    (
        "trading_state",
        {"from": "active", "to": "halted", "reason": "mismatch", "actor": "reconciliation"},
        TradingStateChanged(TradingState.ACTIVE, TradingState.HALTED, "mismatch", "reconciliation"),
    ),
]


@pytest.mark.parametrize(("kind", "payload", "event"), OLD_SHAPES)
def test_records_written_before_events_had_types_read_as_events(
    kind: str, payload: dict[str, Any], event: AuditEvent
) -> None:
    assert decode(kind, payload) == event
    # Written again, the same keys with the same values; only keys that held null may go.
    assert encode(event) == {k: v for k, v in payload.items() if v is not None}


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("fill", {"symbol": "VTI"}),
        ("order_result", {"symbol": "VTI"}),
        ("order_result", {"symbol": "VTI", "side": "sideways", "status": "filled"}),
        ("plan", {"plan": {"orders": [{}], "drift": []}}),
        ("cycle_started", {"mode": "paper", "submit": "yes"}),
        ("kill_switch", ["an", "edited", "payload"]),
    ],
)
def test_a_record_no_type_reads_is_shown_raw(kind: str, payload: Any) -> None:
    assert isinstance(decode(kind, payload), RawEvent)
    record = AuditRecord(1, datetime.now(UTC), kind, "a", None, payload, "", "")
    # As readable `key: value` text, never a Python repr of the stored JSON.
    assert summarize(record) == readable(payload)
    assert "{'" not in summarize(record)
    assert "['" not in summarize(record)
