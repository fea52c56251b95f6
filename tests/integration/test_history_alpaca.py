"""Alpaca's daily bars as trimtab's price history, against the fake Alpaca: final closes only,
the endpoint's documented paging and adjustments, and `trimtab strategy weights` without
`--prices` reading through the cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.base import PriceHistory
from daemon.cli import app as cli
from tests.fakes.alpaca_server import FakeAlpaca
from tests.fakes.alpaca_server.client import (
    alpaca_main_toml,
    household,
    make_broker,
    on_the_real_clock,
    weekdays_back,
)
from tests.fakes.alpaca_server.state import Refusal

D = Decimal
MONDAY = date(2026, 11, 30)


def new_york(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour + 5, minute, tzinfo=UTC)  # EST


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    with FakeAlpaca(household()) as server:
        server.bars.set_closes("VTI", {MONDAY - timedelta(days=3): D(250), MONDAY: D(251)})
        server.bars.set_closes("BND", {MONDAY - timedelta(days=3): D(72), MONDAY: D(73)})
        yield server


def test_todays_running_bar_is_no_close_until_four_in_new_york(fake: FakeAlpaca) -> None:
    now = [new_york(MONDAY, 15, 59)]
    fake.state.clock = lambda: now[0]
    broker = make_broker(fake, clock=lambda: now[0])
    assert isinstance(broker, PriceHistory)
    friday = MONDAY - timedelta(days=3)
    assert broker.daily_closes("VTI", friday, MONDAY) == [(friday, D(250))]
    now[0] = new_york(MONDAY, 16)
    assert broker.daily_closes("VTI", friday, MONDAY) == [(friday, D(250)), (MONDAY, D(251))]
    broker.close()


def test_pages_span_symbols_in_order_and_a_bad_feed_is_refused(fake: FakeAlpaca) -> None:
    broker = make_broker(fake)
    with fake.counting() as made:
        bars = broker.daily_bars(["VTI", "BND"], MONDAY - timedelta(days=7), MONDAY)
    assert bars == {
        "BND": [(MONDAY - timedelta(days=3), D(72)), (MONDAY, D(73))],
        "VTI": [(MONDAY - timedelta(days=3), D(250)), (MONDAY, D(251))],
    }
    assert len(made) == 2  # 4 bars, 3 a page: a next_page_token once
    assert made[0].query["limit"] == "10000"
    assert made[1].query["page_token"]
    assert fake.bars.requests_for("VTI") == 1  # one query, however many pages
    broker.close()
    sip = make_broker(fake, feed="sip")
    sip.daily_closes("VTI", MONDAY - timedelta(days=7), MONDAY)
    assert fake.bars.queries[-1].feed == "sip"
    sip.close()
    with pytest.raises(Refusal, match="invalid feed"):
        fake.bars.answer(fake.state, {"symbols": "VTI", "feed": "nasdaq"})


def test_dividend_adjustment_scales_the_closes_before_the_ex_date(fake: FakeAlpaca) -> None:
    friday = MONDAY - timedelta(days=3)
    fake.bars.add_dividend("BND", MONDAY, D("0.72"))  # 1% of Friday's close
    query = {"symbols": "BND", "start": "2026-11-20", "end": "2026-12-01", "limit": "10"}
    raw = fake.bars.answer(fake.state, {**query, "adjustment": "raw"})["bars"]["BND"]
    adjusted = fake.bars.answer(fake.state, {**query, "adjustment": "all"})["bars"]["BND"]
    assert [b["c"] for b in raw] == [72.0, 73.0]
    assert [b["c"] for b in adjusted] == [71.28, 73.0]
    assert raw[0]["t"].startswith(friday.isoformat())


@pytest.fixture
def weights_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, FakeAlpaca]]:
    days = weekdays_back(90)
    with FakeAlpaca(on_the_real_clock(monkeypatch)) as server:
        server.bars.page_size = 1000
        server.bars.set_closes("VTI", {d: D(200) + i for i, d in enumerate(days)})
        server.bars.set_closes("BND", {d: D(80) - D(i) / 10 for i, d in enumerate(days)})
        config = tmp_path / "trimtab.toml"
        strategy = (
            'strategy = "momentum"\n[accounts.main.strategy_params]\n'
            'universe = ["VTI", "BND"]\nlookback_days = 20'
        )
        config.write_text(alpaca_main_toml(tmp_path / "state", server.url, strategy))
        yield config, server


def test_strategy_weights_without_prices_reads_alpaca_through_the_cache(
    weights_config: tuple[Path, FakeAlpaca],
) -> None:
    config, fake = weights_config
    for _ in range(2):
        result = CliRunner().invoke(cli, ["strategy", "weights", "-c", str(config), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["weights"] == {"VTI": "1.000000000"}
    # The second run found the closes cached: one request per symbol in all.
    assert (fake.bars.requests_for("VTI"), fake.bars.requests_for("BND")) == (1, 1)
