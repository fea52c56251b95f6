"""A `manual` household member's stand-in is as old as its holdings: counted from the export's
time (or a later confirmed fill), never from the `prices_file`'s. Refreshing prices.csv does
not make an old export's holdings look fresh. The real `ManualBroker` on files written at
controlled times, its snapshot recorded as an audit record and read back as the split reads it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment
from adapters.manual.broker import ManualBroker
from adapters.manual.config import ManualSettings
from daemon.audit.events import SnapshotTaken, encode
from daemon.audit.record import AuditRecord
from daemon.core.errors import DataError
from daemon.cycle.household import HouseholdRead, _other

EXPORT_AT = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # a Monday: the holdings as of then
LIMIT = Decimal(96)  # household.max_snapshot_age_hours' default


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def touch(path: Path, text: str, at: datetime) -> None:
    path.write_text(text)
    os.utime(path, (at.timestamp(), at.timestamp()))


def member(
    tmp_path: Path, clock: Clock, *, export_at: datetime, prices_at: datetime
) -> ManualBroker:
    """The IRA, read from an export written at `export_at` and a prices.csv at `prices_at`."""
    (tmp_path / "exports").mkdir()
    touch(
        tmp_path / "exports" / "e.csv", "symbol,quantity,price\nCASH,1000,1\nVTI,5,100\n", export_at
    )
    touch(tmp_path / "prices.csv", "symbol,price\nBND,70\n", prices_at)
    settings = ManualSettings.model_validate(
        {
            "environment": "live",
            "exports": str(tmp_path / "exports"),
            "preset": "custom",
            "columns": {"symbol": "symbol", "quantity": "quantity", "price": "price"},
            "cash_symbols": ["CASH"],
            "prices_file": str(tmp_path / "prices.csv"),
        }
    )
    env = BrokerEnvironment(account="ira", state_dir=tmp_path / "state", clock=clock)
    return ManualBroker(settings, env)


def recorded_read(broker: ManualBroker) -> HouseholdRead:
    """The member's cycle recorded its snapshot now; later reads go to the broker first."""
    snapshot = broker.snapshot(["BND"])
    record = AuditRecord(
        seq=1,
        recorded_at=broker._clock(),
        kind=str(SnapshotTaken.KIND),
        account="ira",
        cycle_id="c1",
        payload=encode(SnapshotTaken(snapshot)),
        prev_hash="",
        hash="",
    )
    return HouseholdRead(snapshot=broker.snapshot, recorded=lambda name: record)


def test_a_refreshed_prices_file_does_not_make_old_holdings_stand_in(tmp_path: Path) -> None:
    prices_at = EXPORT_AT + timedelta(hours=71)  # Thursday: the person refreshes prices.csv
    clock = Clock(prices_at + timedelta(hours=1))
    broker = member(tmp_path, clock, export_at=EXPORT_AT, prices_at=prices_at)
    snapshot = broker.snapshot(["BND"])
    assert snapshot.as_of == EXPORT_AT  # when its holdings were true
    assert snapshot.quotes["BND"].as_of == prices_at  # the price keeps its own time
    read = recorded_read(broker)

    # The next Monday: the export is 166 hours old, so the broker cannot be read and the
    # Thursday record would stand in; its holdings are 166 hours old, over the limit.
    clock.now = EXPORT_AT + timedelta(hours=166)
    with pytest.raises(DataError) as caught:
        _other("ira", read, now=clock.now, limit_hours=LIMIT)
    message = str(caught.value)
    assert f"latest audited snapshot is of {EXPORT_AT.isoformat()}, 166.0 hours old" in message
    assert "max_snapshot_age_hours (96)" in message


def test_the_stand_in_reports_the_age_of_its_holdings(tmp_path: Path) -> None:
    prices_at = EXPORT_AT + timedelta(hours=71)
    clock = Clock(prices_at + timedelta(hours=1))
    broker = member(tmp_path, clock, export_at=EXPORT_AT, prices_at=prices_at)
    read = recorded_read(broker)

    clock.now = EXPORT_AT + timedelta(hours=95)  # the export is past its 72 h: unreadable
    snapshot, source = _other("ira", read, now=clock.now, limit_hours=LIMIT)
    assert snapshot.as_of == EXPORT_AT
    assert source.startswith(f"audited snapshot of {EXPORT_AT.isoformat()}, 95.0 hours old")
    assert "broker unreadable: ExportError" in source


def test_a_recent_export_with_older_prices_still_stands_in(tmp_path: Path) -> None:
    prices_at = EXPORT_AT - timedelta(hours=60)  # prices.csv from before the export
    clock = Clock(EXPORT_AT + timedelta(hours=1))
    broker = member(tmp_path, clock, export_at=EXPORT_AT, prices_at=prices_at)
    assert broker.snapshot(["BND"]).as_of == EXPORT_AT
    read = recorded_read(broker)

    clock.now = EXPORT_AT + timedelta(hours=80)  # the export is 80 h old, prices.csv 140 h
    snapshot, source = _other("ira", read, now=clock.now, limit_hours=LIMIT)
    assert snapshot.qty("VTI") == 5
    assert source.startswith(f"audited snapshot of {EXPORT_AT.isoformat()}, 80.0 hours old")
