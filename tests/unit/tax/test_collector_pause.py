"""The replay holds off the cyclic garbage collector while it runs, and always gives it back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from daemon.core.tax import TaxDataError, Trade, replay_trades

if TYPE_CHECKING:
    from tests.unit.tax.conftest import Trades


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def _watched(items: list[Trade], seen: list[bool]) -> Iterator[Trade]:
    """Yield `items`, noting whether the collector runs while the replay reads each."""
    for trade in items:
        seen.append(gc.isenabled())
        yield trade


@pytest.mark.usefixtures("collector_on")
def test_the_collector_is_paused_during_the_replay_and_runs_again_after(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    trades.sell("2024-02-01", 4, 300)
    seen: list[bool] = []
    book = replay_trades(_watched(trades.items, seen))
    assert seen == [False, False]
    assert gc.isenabled()
    assert len(book.sales) == 1


@pytest.mark.usefixtures("collector_on")
def test_the_collector_runs_again_after_a_replay_that_fails(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    trades.sell("2024-02-01", 11, 1200)
    with pytest.raises(TaxDataError):
        trades.book()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_replay_inside_a_replay_keeps_the_pause_until_the_outer_one_ends(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    seen: list[bool] = []

    def outer() -> Iterator[Trade]:
        replay_trades(trades.items)
        seen.append(gc.isenabled())
        yield from trades.items

    replay_trades(outer())
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off(trades: Trades) -> None:
    trades.buy("2024-01-02", 10, 1000)
    was = gc.isenabled()
    gc.disable()
    try:
        trades.book()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
