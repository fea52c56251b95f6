"""The fake TWS's historical data service through the real ib_async client: daily bars of
TRADES and ADJUSTED_LAST, the window an end and a duration select, error 162 for no data and
for a request repeated within 15 seconds, and the requests IB refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from ib_async import IB, Stock

from tests.fakes.tws import DailyBar, FakeTws, two_accounts
from tests.fakes.tws.client import close_client_loop, ib, vti

__all__ = ["ib"]  # fixtures, shared from tests.fakes.tws.client


NOW = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)  # Friday, after the close


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tws(clock: Clock) -> Iterator[FakeTws]:
    state = two_accounts()
    state.clock = clock
    with FakeTws(state) as fake:
        fake.add_bars(
            "VTI",
            [DailyBar(date(2026, 12, d), Decimal(100 + d), Decimal(101 + d), Decimal(99 + d),
                      Decimal(100 + d), adjustment=Decimal("0.98") if d < 3 else Decimal(1))
             for d in (1, 2, 3, 4)],
        )  # fmt: skip
        yield fake
        assert fake.protocol_errors == []
        assert fake.unhandled == []
    close_client_loop()


def errors_of(ib: IB) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: seen.append((req_id, code))
    return seen


def test_trades_and_adjusted_last_daily_bars(ib: IB) -> None:
    contract = vti(ib)
    trades = ib.reqHistoricalData(contract, "", "3 D", "1 day", "TRADES", True)
    assert [(b.date, b.close) for b in trades] == [
        (date(2026, 12, 2), 102.0),
        (date(2026, 12, 3), 103.0),
        (date(2026, 12, 4), 104.0),
    ]
    adjusted = ib.reqHistoricalData(contract, "", "1 W", "1 day", "ADJUSTED_LAST", True)
    assert [(b.date, b.close) for b in adjusted] == [
        (date(2026, 12, 1), 98.98),  # 101 * 0.98: the dividend after the 2nd adjusts them
        (date(2026, 12, 2), 99.96),
        (date(2026, 12, 3), 103.0),
        (date(2026, 12, 4), 104.0),
    ]


def test_an_end_date_selects_the_window_for_trades(ib: IB) -> None:
    # ib_async sends a date as 23:59:59 of that day, in UTC (20261202 23:59:59 UTC is the
    # 2nd in New York).
    bars = ib.reqHistoricalData(vti(ib), date(2026, 12, 2), "2 D", "1 day", "TRADES", True)
    assert [b.date for b in bars] == [date(2026, 12, 1), date(2026, 12, 2)]


def test_no_data_is_error_162_and_an_empty_answer(tws: FakeTws, ib: IB) -> None:
    seen = errors_of(ib)
    bnd = Stock("BND", "SMART", "USD")
    ib.qualifyContracts(bnd)
    assert list(ib.reqHistoricalData(bnd, "", "1 M", "1 day", "TRADES", True)) == []
    assert [code for _, code in seen] == [162]


def test_an_identical_request_within_15_seconds_is_a_pacing_violation(
    tws: FakeTws, ib: IB, clock: Clock
) -> None:
    seen = errors_of(ib)
    contract = vti(ib)
    first = ib.reqHistoricalData(contract, "", "3 D", "1 day", "TRADES", True)
    assert list(ib.reqHistoricalData(contract, "", "3 D", "1 day", "TRADES", True)) == []
    assert [code for _, code in seen] == [162]
    # A different request is not identical; the same one 15 seconds later is served.
    assert len(ib.reqHistoricalData(contract, "", "2 D", "1 day", "TRADES", True)) == 2
    clock.now += timedelta(seconds=15)
    again = ib.reqHistoricalData(contract, "", "3 D", "1 day", "TRADES", True)
    assert list(again) == list(first)
    assert seen == [(seen[0][0], 162)]


def test_requests_ib_refuses(tws: FakeTws, ib: IB) -> None:
    seen = errors_of(ib)
    contract = vti(ib)
    # IB's ADJUSTED_LAST always ends now: an end date is refused (321, a warning to ib_async,
    # so the request only ends at its timeout).
    assert not ib.reqHistoricalData(
        contract, date(2026, 12, 2), "2 D", "1 day", "ADJUSTED_LAST", True, timeout=0.2
    )
    assert not ib.reqHistoricalData(contract, "", "2 D", "1 hour", "TRADES", True, timeout=0.2)
    assert not ib.reqHistoricalData(
        Stock("NOSUCH", "SMART", "USD"), "", "2 D", "1 day", "TRADES", True
    )
    assert [code for _, code in seen] == [321, 321, 200]
