"""The IB adapter's `PriceHistory` through the real ib_async client against the fake TWS's
historical data service: adjusted daily closes, today's running bar held back until the close,
no data and unknown symbols as empty histories, IB's pacing refusal as a transient error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment, PriceHistory
from adapters.ibkr.broker import IbkrBroker
from daemon.backtest.price_export import export_closes
from daemon.backtest.price_files import Coverage, write_price_file
from daemon.core.errors import TransientBrokerError
from tests.contract.ibkr_harness import ib_settings
from tests.fakes.tws import DailyBar, FakeTws, two_accounts

# Friday 2026-12-04; the session closes at 16:00 New York (21:00 UTC).
FRIDAY = date(2026, 12, 4)
DURING = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


class Clock:
    """The test's now, shared by the broker and the fake (its pacing window and `end`)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sessions(last: date, count: int) -> list[date]:
    days: list[date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def bar(day: date, close: str, adjustment: str = "1") -> DailyBar:
    price = Decimal(close)
    return DailyBar(day, price, price + 1, price - 1, price, adjustment=Decimal(adjustment))


@pytest.fixture
def clock() -> Clock:
    return Clock(DURING)


@pytest.fixture
def tws(clock: Clock) -> Iterator[FakeTws]:
    state = two_accounts()
    state.clock = clock
    with FakeTws(state) as fake:
        # A dividend after Tuesday: the closes before it are adjusted down by 1%.
        days = sessions(FRIDAY, 10)
        fake.add_bars(
            "VTI",
            [bar(d, f"{200 + i}", "0.99" if d <= date(2026, 12, 1) else "1")
             for i, d in enumerate(days)],
        )  # fmt: skip
        yield fake
        assert fake.protocol_errors == []
        assert fake.unhandled == []


@pytest.fixture
def broker(tws: FakeTws, clock: Clock) -> Iterator[IbkrBroker]:
    env = BrokerEnvironment(account="ira", state_dir=Path("."), clock=clock)
    made = IbkrBroker(ib_settings(tws.port), env)
    yield made
    made.close()


def test_the_adapter_offers_price_history(broker: IbkrBroker) -> None:
    assert isinstance(broker, PriceHistory)


def test_adjusted_closes_in_the_window_oldest_first_in_one_request(
    tws: FakeTws, broker: IbkrBroker, clock: Clock
) -> None:
    clock.now = AFTER
    closes = broker.daily_closes("VTI", date(2026, 11, 30), date(2026, 12, 3))
    assert closes == [
        (date(2026, 11, 30), Decimal("202.95")),  # 205 * 0.99
        (date(2026, 12, 1), Decimal("203.94")),
        (date(2026, 12, 2), Decimal("207")),
        (date(2026, 12, 3), Decimal("208")),
    ]
    (request,) = tws.requests("reqHistoricalData")
    fields = request.fields
    # end "" (ADJUSTED_LAST ends now), "1 day" bars, a duration reaching back to the start,
    # regular hours, ADJUSTED_LAST.
    assert fields[15:20] == ("", "1 day", "5 D", "1", "ADJUSTED_LAST")


def test_todays_bar_is_held_back_until_the_session_closes(
    tws: FakeTws, broker: IbkrBroker, clock: Clock
) -> None:
    during = broker.daily_closes("VTI", date(2026, 12, 1), FRIDAY)
    assert [d for d, _ in during] == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
    clock.now = AFTER
    after = broker.daily_closes("VTI", date(2026, 12, 1), FRIDAY)
    assert after[-1] == (FRIDAY, Decimal("209"))


def test_no_data_and_an_unknown_symbol_are_empty_histories(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    assert broker.daily_closes("BND", date(2026, 11, 1), date(2026, 12, 3)) == []  # error 162
    assert broker.daily_closes("NOSUCHSYMBOL", date(2026, 11, 1), date(2026, 12, 3)) == []
    assert broker.daily_closes("VTI", date(2026, 12, 7), date(2026, 12, 8)) == []  # the future
    assert tws.count("reqHistoricalData") == 1  # only BND was asked for bars


def test_a_request_repeated_within_15_seconds_is_a_transient_pacing_error(
    tws: FakeTws, broker: IbkrBroker, clock: Clock
) -> None:
    window = (date(2026, 11, 30), date(2026, 12, 3))
    first = broker.daily_closes("VTI", *window)
    with pytest.raises(TransientBrokerError, match="pacing"):
        broker.daily_closes("VTI", *window)
    clock.now += timedelta(seconds=15)
    assert broker.daily_closes("VTI", *window) == first
    assert tws.count("reqHistoricalData") == 3


def test_prices_export_asks_ib_one_symbol_at_a_time_with_progress(
    tws: FakeTws, broker: IbkrBroker, clock: Clock, tmp_path: Path
) -> None:
    clock.now = AFTER
    told: list[tuple[int, int]] = []
    series = export_closes(
        broker,
        source="ibkr:ira",
        database=None,
        clock=clock,
        symbols=["VTI", "BND"],
        start=date(2026, 11, 30),
        end=FRIDAY,
        progress=lambda done, total: told.append((done, total)),
    )
    assert told == [(0, 2), (1, 2), (2, 2)]
    assert tws.count("reqHistoricalData") == 2  # one request per symbol (BND: no data)
    assert series["BND"] == []
    assert series["VTI"][0] == (date(2026, 11, 30), Decimal("202.95"))
    covered = write_price_file(tmp_path / "prices.csv", series)
    assert covered[1] == Coverage("BND", None, None, 0, 0)
    assert (tmp_path / "prices.csv").read_text().splitlines()[1] == "2026-11-30,202.95,"
