"""The pure parts of the IB adapter's price history: the duration asked for, which bars are
final, reading ib_async's bars, and what IB's errors on a history request mean."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from ib_async import BarData

from adapters.ibkr.history import bar_closes, duration, error_of, final_closes
from daemon.core.errors import DataError, TransientBrokerError


@pytest.mark.parametrize(
    ("start", "today", "asked"),
    [
        (date(2026, 12, 4), date(2026, 12, 4), "1 D"),
        (date(2026, 12, 7), date(2026, 12, 4), "1 D"),
        (date(2025, 12, 5), date(2026, 12, 4), "365 D"),
        (date(2025, 12, 4), date(2026, 12, 4), "2 Y"),
        (date(2021, 1, 4), date(2026, 12, 4), "6 Y"),
    ],
)
def test_the_duration_reaches_back_over_the_start(start: date, today: date, asked: str) -> None:
    assert duration(start, today) == asked


BARS = [(date(2026, 11, 25), Decimal(1)), (date(2026, 11, 27), Decimal(2))]


@pytest.mark.parametrize(
    ("now", "last"),
    [
        # The day after Thanksgiving closes at 13:00 New York (18:00 UTC).
        (datetime(2026, 11, 27, 17, 59, tzinfo=UTC), date(2026, 11, 25)),
        (datetime(2026, 11, 27, 18, 0, tzinfo=UTC), date(2026, 11, 27)),
        # A Saturday: Friday's bar is final.
        (datetime(2026, 11, 28, 3, 0, tzinfo=UTC), date(2026, 11, 27)),
        # 20:00 UTC on the Friday is 15:00 New York: past the early close.
        (datetime(2026, 11, 27, 20, 0, tzinfo=UTC), date(2026, 11, 27)),
    ],
)
def test_a_bar_is_final_once_its_session_has_closed(now: datetime, last: date) -> None:
    assert final_closes(BARS, now)[-1][0] == last


def test_a_regular_day_closes_at_16_new_york() -> None:
    bars = [(date(2026, 12, 4), Decimal(1))]
    assert final_closes(bars, datetime(2026, 12, 4, 20, 59, tzinfo=UTC)) == []
    assert final_closes(bars, datetime(2026, 12, 4, 21, 0, tzinfo=UTC)) == bars


def _bar(day: object, close: float) -> BarData:
    return BarData(date=day, open=close, high=close, low=close, close=close)  # type: ignore[arg-type]


def test_bars_read_as_decimal_closes_oldest_first() -> None:
    bars = [_bar(date(2026, 12, 3), 101.25), _bar(date(2026, 12, 2), 100.1)]
    assert bar_closes("VTI", bars) == [
        (date(2026, 12, 2), Decimal("100.1")),
        (date(2026, 12, 3), Decimal("101.25")),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        _bar(datetime(2026, 12, 3, 16, 0, tzinfo=UTC), 100.0),  # an intraday bar
        _bar(date(2026, 12, 3), float("nan")),
        _bar(date(2026, 12, 3), 0.0),
    ],
)
def test_a_bar_without_a_day_or_a_price_is_a_data_error_naming_the_symbol(bad: BarData) -> None:
    with pytest.raises(DataError, match="VTI"):
        bar_closes("VTI", [bad])


def test_ibs_errors_on_a_history_request() -> None:
    assert error_of("ira", "VTI", []) is None
    no_data = "Historical Market Data Service error message:HMDS query returned no data: VTI"
    assert error_of("ira", "VTI", [(162, no_data)]) is None
    pacing = error_of(
        "ira", "VTI", [(162, "Historical Market Data Service error message:pacing violation")]
    )
    assert isinstance(pacing, TransientBrokerError)
    assert "ira" in str(pacing)
    assert "VTI" in str(pacing)
    assert "next cycle" in str(pacing)
    other = error_of("ira", "VTI", [(162, "No market data permissions for NYSE STK")])
    assert isinstance(other, TransientBrokerError)
    assert "permissions" in str(other)
