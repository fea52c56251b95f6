"""Fill times through the real ib_async client against the fake TWS, on a host whose clock is
not in UTC.

TWS writes execution times with its zone's name (`20261206 09:30:01 America/New_York`), and
some zone-less in UTC (`20261206-14:30:01`: seen on live accounts, ib_insync #671, ib_async
#230). ib_async reads a zone-less time in `IB.TimezoneTWS`, the host's own zone when unset:
off by the host's UTC offset, and a tax lot's trade date with it. Both forms must give IB's
instant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from daemon.core.domain import Side
from tests.fakes.tws import FakeTws, two_accounts
from tests.integration.test_ibkr_adapter import intent, make_broker


@pytest.fixture(params=["Australia/Sydney", "America/Los_Angeles"])
def host_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's local time zone set to `request.param`."""
    zone = str(request.param)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("utc_form", [True, False], ids=["zone-less UTC", "zone-named"])
def test_a_fill_is_at_ibs_execution_time_whatever_the_host_zone(
    host_zone: str, utc_form: bool
) -> None:
    assert time.localtime().tm_gmtoff != 0, host_zone  # the host is not on UTC
    with FakeTws(two_accounts()) as tws:
        tws.utc_execution_times = utc_form
        broker = make_broker(tws.port)
        try:
            broker.snapshot(["VTI"])
            buy = intent("VTI", Side.BUY, "1")
            broker.submit(buy)  # marketable: fills at once, execDetails streamed
            tws.wait_for(lambda: len(tws.state.executions) == 1)
            executed = tws.state.executions[0].time
            fills = broker.fills(datetime.now(UTC) - timedelta(days=2))
            ours = [f for f in fills if f.client_order_id == buy.client_order_id]
            assert len(ours) == 1
            # IB stamps executions to the second.
            assert abs(ours[0].at - executed) < timedelta(seconds=1)
            # The same after a reconnect, read back by reqExecutions.
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
        finally:
            broker.close()
