"""Fill times through the real ib_async client against the fake TWS, on a host whose clock is
not in UTC.

TWS writes an execution time in one of three forms: with its zone's name (`20261206 09:30:01
America/New_York`), zone-less in UTC (`20261206-14:30:01`: seen on live accounts, ib_insync
#671, ib_async #230), or zone-less in the zone TWS is logged in with, two spaces (`20261206
09:30:01`: IB's execDetails layout below server version 200, and ib_async 2.1 connects at 178).
ib_async reads both zone-less forms in one zone (`IB.TimezoneTWS`, else the host's), so one of
them is always off by hours, and a tax lot's trade date with it. Every form must give IB's
instant: the UTC form as UTC, the two-space form in `broker_settings.tws_timezone` (default:
the host's zone, right when TWS runs on the same machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.ibkr.broker import IbkrBroker
from daemon.core.domain import Side
from tests.fakes.tws import FakeTws, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker


def _set_host_zone(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    assert time.localtime().tm_gmtoff != 0, zone  # the host is not on UTC


@pytest.fixture(params=["Australia/Sydney", "America/Los_Angeles"])
def host_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's local time zone set to `request.param`."""
    zone = str(request.param)
    _set_host_zone(zone, monkeypatch)
    yield zone
    monkeypatch.undo()
    time.tzset()


def _fill_time_is_ibs(tws: FakeTws, broker: IbkrBroker) -> None:
    """Buy (a marketable order fills at once, execDetails streamed): the fill is at IB's
    execution time, live and after a reconnect (read back by reqExecutions)."""
    broker.snapshot(["VTI"])
    buy = intent("VTI", Side.BUY, "1")
    broker.submit(buy)
    tws.wait_for(lambda: len(tws.state.executions) == 1)
    executed = tws.state.executions[0].time
    fills = broker.fills(datetime.now(UTC) - timedelta(days=2))
    ours = [f for f in fills if f.client_order_id == buy.client_order_id]
    assert len(ours) == 1
    # IB stamps executions to the second.
    assert abs(ours[0].at - executed) < timedelta(seconds=1), (ours[0].at, executed)
    broker.link.run(broker.link.ib.disconnect)
    tws.wait_for(lambda: not tws.connected_client_ids())
    time.sleep(1.1)  # the reconnect backoff
    broker.snapshot(["VTI"])
    again = [
        f
        for f in broker.fills(datetime.now(UTC) - timedelta(days=2))
        if f.client_order_id == buy.client_order_id
    ]
    assert [f.at for f in again] == [ours[0].at]


@pytest.mark.parametrize("form", ["utc", "named"], ids=["zone-less UTC", "zone-named"])
@pytest.mark.parametrize("tws_timezone", [None, "Asia/Tokyo"], ids=["default", "set"])
def test_a_fill_is_at_ibs_execution_time_whatever_the_host_zone(
    host_zone: str, form: str, tws_timezone: str | None
) -> None:
    # The UTC form and the zone-named form do not depend on the zone TWS is in.
    with FakeTws(two_accounts()) as tws:
        tws.execution_times = form
        broker = make_broker(tws.port, tws_timezone=tws_timezone)
        try:
            _fill_time_is_ibs(tws, broker)
        finally:
            broker.close()


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney"])
def test_the_two_space_form_is_read_in_the_hosts_zone_by_default(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TWS runs on trimtab's host (the usual Gateway beside it): one zone for both.
    _set_host_zone(zone, monkeypatch)
    try:
        with FakeTws(two_accounts()) as tws:
            tws.execution_times = "local"
            tws.local_zone = zone
            broker = make_broker(tws.port)
            try:
                _fill_time_is_ibs(tws, broker)
            finally:
                broker.close()
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("host", "tws_zone"),
    [("Australia/Sydney", "America/New_York"), ("America/Los_Angeles", "Europe/Zurich")],
)
def test_the_two_space_form_is_read_in_the_configured_tws_timezone(
    host: str, tws_zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TWS runs elsewhere, logged in with another zone: broker_settings.tws_timezone names it.
    _set_host_zone(host, monkeypatch)
    try:
        with FakeTws(two_accounts()) as tws:
            tws.execution_times = "local"
            tws.local_zone = tws_zone
            broker = make_broker(tws.port, tws_timezone=tws_zone)
            try:
                _fill_time_is_ibs(tws, broker)
            finally:
                broker.close()
    finally:
        monkeypatch.undo()
        time.tzset()
