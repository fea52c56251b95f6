"""The three forms TWS writes an execution time in, read at IB's instant on hosts in several
zones (`adapters.ibkr.parsing.execution_time`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from adapters.ibkr.config import IbkrSettings
from adapters.ibkr.parsing import execution_time

# 15:30:01 in New York on 7 December 2026 (EST, UTC-5), the next day in Sydney (AEDT, UTC+11).
INSTANT = datetime(2026, 12, 7, 20, 30, 1, tzinfo=UTC)


@pytest.fixture(params=["UTC", "America/New_York", "Australia/Sydney", "Asia/Kolkata"])
def host_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    zone = str(request.param)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield zone
    monkeypatch.undo()
    time.tzset()


def test_the_dash_form_is_utc_whatever_the_zones(host_zone: str) -> None:
    for tws_zone in (None, "America/New_York", "Australia/Sydney"):
        assert execution_time("20261207-20:30:01", tws_zone) == INSTANT


def test_a_named_zone_is_its_own_whatever_the_zones(host_zone: str) -> None:
    for tws_zone in (None, "Australia/Sydney"):
        assert execution_time("20261207 15:30:01 America/New_York", tws_zone) == INSTANT
        assert execution_time("20261208 07:30:01 Australia/Sydney", tws_zone) == INSTANT
        assert execution_time("20261207 20:30:01 UTC", tws_zone) == INSTANT


def test_the_two_space_form_is_in_the_configured_zone(host_zone: str) -> None:
    assert execution_time("20261207  15:30:01", "America/New_York") == INSTANT
    assert execution_time("20261208  07:30:01", "Australia/Sydney") == INSTANT
    # Summer time: 10:00 in New York on 1 July is 14:00 UTC (EDT, UTC-4).
    summer = execution_time("20260701  10:00:00", "America/New_York")
    assert summer == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def test_the_two_space_form_is_in_the_hosts_zone_by_default(host_zone: str) -> None:
    written = INSTANT.astimezone(ZoneInfo(host_zone)).strftime("%Y%m%d  %H:%M:%S")
    assert execution_time(written, None) == INSTANT


def test_unix_seconds_and_unknown_forms() -> None:
    assert execution_time(str(int(INSTANT.timestamp())), None) == INSTANT
    for text in ("", "2026-12-07", "20261207 15:30:01 Not/AZone", "20261307-20:30:01", "x"):
        assert execution_time(text, None) is None


def test_tws_timezone_must_be_a_zone() -> None:
    base = {"environment": "paper", "account_id": "DU1234567"}
    assert IbkrSettings.model_validate(base).tws_timezone is None
    set_ = IbkrSettings.model_validate({**base, "tws_timezone": "Europe/Zurich"})
    assert set_.tws_timezone == "Europe/Zurich"
    with pytest.raises(ValidationError, match="unknown time zone"):
        IbkrSettings.model_validate({**base, "tws_timezone": "EST5"})
