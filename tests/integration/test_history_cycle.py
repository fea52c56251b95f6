"""Live cycles of a strategy that looks back (`momentum`), with real databases: history from
the fake Alpaca's daily bars through the cache, from the simulated broker's price file, and
bad history failing only its own account's cycle."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.bootstrap import App, open_app
from daemon.core.domain import Side
from daemon.store.audit_log import AuditLog
from daemon.store.models import OrderIntentRow
from daemon.store.price_history import PriceHistoryStore
from tests.fakes.alpaca_server import KEY_ID, SECRET, FakeAlpaca
from tests.fakes.alpaca_server.client import ENV_PREFIX, household

D = Decimal
FIRST = date(2026, 8, 3)
LAST = date(2026, 12, 31)
MONDAY_NOON = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
"""12:00 New York on Monday 30 November 2026: the previous session is Friday the 27th."""

MOMENTUM = """strategy = "momentum"
{history}
[accounts.{name}.strategy_params]
universe = ["VTI", "BND"]
lookback_days = 20
"""


def weekdays(first: date = FIRST, last: date = LAST) -> list[date]:
    return [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if (first + timedelta(days=i)).weekday() < 5
    ]


def closes() -> dict[str, dict[date, Decimal]]:
    """VTI climbs 0.5% a day, BND drifts down: momentum holds VTI alone."""
    days = weekdays()
    return {
        "VTI": {d: round(D(200) * D("1.005") ** i, 4) for i, d in enumerate(days)},
        "BND": {d: round(D(75) * D("0.999") ** i, 4) for i, d in enumerate(days)},
    }


def prices_csv(path: Path, table: dict[str, dict[date, Decimal]]) -> Path:
    days = sorted({d for series in table.values() for d in series})
    symbols = sorted(table)
    rows = ["date," + ",".join(symbols)]
    for day in days:
        cells = [str(table[s][day]) if day in table[s] else "" for s in symbols]
        rows.append(f"{day.isoformat()}," + ",".join(cells))
    path.write_text("\n".join(rows) + "\n")
    return path


def intents(app: App, account: str) -> list[tuple[str, str]]:
    with app.database.transaction() as session:
        rows = session.scalars(select(OrderIntentRow).where(OrderIntentRow.account == account))
        return sorted((row.side, row.symbol) for row in rows)


def last_failure(app: App, account: str) -> str:
    with app.database.transaction() as session:
        failed = AuditLog(session).latest("cycle_failed", account)
    return "" if failed is None else f"{failed.payload['error_type']}: {failed.payload['error']}"


# -- the fake Alpaca --------------------------------------------------------------------------


@dataclass
class AlpacaCycle:
    fake: FakeAlpaca
    app: App

    def run(self, slot: str = "manual") -> str:
        report = self.app.engine(fill_timeout=2).run_once("main", slot=slot)
        return report.outcome if report.outcome != "failed" else f"failed: {report.error}"

    def requests(self) -> dict[str, int]:
        return {s: self.fake.bars.requests_for(s) for s in ("VTI", "BND")}

    def next_day(self) -> None:
        self.fake.state.clock.now += timedelta(days=1)


@pytest.fixture
def alpaca(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AlpacaCycle]:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    state = household("10000")
    state.auto_fill = True
    fake = FakeAlpaca(state).start()
    fake.bars.page_size = 1000
    for symbol, series in closes().items():
        fake.bars.set_closes(symbol, series)
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\n[accounts.main]\nbroker = "alpaca"\n'
        + MOMENTUM.format(history="", name="main")
        + f'[accounts.main.broker_settings]\nenvironment = "paper"\nbase_url = "{fake.url}"\n'
        f'data_url = "{fake.url}"\nread_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0\n'
        '[accounts.main.policy]\nmin_trade_notional = "50"\n'
    )
    app = open_app(config, clock=state.now)
    yield AlpacaCycle(fake, app)
    app.close()
    fake.close()


def test_a_momentum_cycle_on_alpaca_buys_the_leader_from_cached_bars(
    alpaca: AlpacaCycle,
) -> None:
    assert alpaca.run() == "succeeded"
    # VTI only: the planned buy, and its rest once Alpaca's buying-power hold was released.
    assert set(intents(alpaca.app, "main")) == {(Side.BUY, "VTI")}
    assert alpaca.requests() == {"VTI": 1, "BND": 1}
    asked = alpaca.fake.bars.queries[0]
    assert (asked.adjustment, asked.feed) == ("all", "iex")
    # The cache holds the closes through Friday, none of Monday's running bar.
    with alpaca.app.database.transaction() as session:
        cached = PriceHistoryStore(session).last_close("alpaca:main", "VTI")
    assert cached == (date(2026, 11, 27), closes()["VTI"][date(2026, 11, 27)])

    # A second cycle the same day asks for no history; the next day's one request a symbol.
    assert alpaca.run(slot="later") == "succeeded"
    assert alpaca.requests() == {"VTI": 1, "BND": 1}
    alpaca.next_day()
    assert alpaca.run() == "succeeded"
    assert alpaca.requests() == {"VTI": 2, "BND": 2}
    assert alpaca.fake.bars.queries[-1].start.date() == date(2026, 11, 27)  # the overlap day
    # Both symbols shared each query: one for the first window, one for the new day.
    assert [q.symbols for q in alpaca.fake.bars.queries] == [("BND", "VTI"), ("BND", "VTI")]
    # `trimtab plan` against the broker reads the same cached history: no request.
    planned = alpaca.app.engine(fill_timeout=2).plan("main")
    assert planned.outcome == "planned", planned.error
    assert alpaca.requests() == {"VTI": 2, "BND": 2}


def test_a_split_makes_the_cache_fetch_the_whole_window_again(alpaca: AlpacaCycle) -> None:
    assert alpaca.run() == "succeeded"
    # VTI splits 2-for-1 from Tuesday: it trades at half the price, and Alpaca's adjusted
    # closes before Tuesday all halve too.
    bars = alpaca.fake.bars
    bars.add_split("VTI", date(2026, 12, 1), D(2))
    bars.set_closes("VTI", {d: c / 2 for d, c in closes()["VTI"].items() if d >= date(2026, 12, 1)})
    alpaca.next_day()
    alpaca.next_day()  # Wednesday: asks [Monday, Tuesday]; Monday's close changed
    assert alpaca.run() == "succeeded"
    assert alpaca.requests() == {"VTI": 3, "BND": 2}
    with alpaca.app.database.transaction() as session:
        series = PriceHistoryStore(session).series(
            "alpaca:main", "VTI", date(2026, 11, 2), date(2026, 11, 2)
        )
    assert series is not None
    assert series.closes[0][1] == round(closes()["VTI"][date(2026, 11, 2)] / 2, 4)  # anew


def test_stale_alpaca_bars_fail_the_cycle_naming_symbol_and_day(alpaca: AlpacaCycle) -> None:
    # BND's bars stop on Wednesday 25 November: Friday's close is missing.
    bars = alpaca.fake.bars
    with bars.lock:
        bars.closes["BND"] = {d: c for d, c in closes()["BND"].items() if d <= date(2026, 11, 25)}
    outcome = alpaca.run()
    assert outcome.startswith("failed: DataError: price history of BND from broker alpaca ends ")
    assert "2026-11-25; the close of 2026-11-27" in outcome
    assert "`trimtab prices forget --account main --symbol BND`" in outcome
    assert "price history of BND" in last_failure(alpaca.app, "main")
    with alpaca.app.database.transaction() as session:  # the snapshot was audited first
        assert AuditLog(session).latest("snapshot", "main") is not None
    assert intents(alpaca.app, "main") == []
    assert alpaca.fake.count("POST", "/v2/orders") == 0


# -- the simulated broker ---------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sim_account(name: str, *, prices: Path, history: str = "") -> str:
    return (
        f'[accounts.{name}]\nbroker = "sim"\n'
        + MOMENTUM.format(history=history, name=name)
        + f'[accounts.{name}.broker_settings]\nstarting_cash = "10000"\n'
        f'[accounts.{name}.broker_settings.prices]\nsource = "csv"\npath = "{prices}"\n'
    )


@pytest.fixture
def sim_app(tmp_path: Path, database_url: str) -> Iterator[tuple[App, Path]]:
    prices = prices_csv(tmp_path / "prices.csv", closes())
    table = closes()
    table["BND"].pop(date(2026, 11, 18))  # a gap inside the lookback
    gap = prices_csv(tmp_path / "gap.csv", table)
    table = closes()
    table["VTI"][date(2026, 11, 20)] = D(0)
    zero = prices_csv(tmp_path / "zero.csv", table)
    config = tmp_path / "trimtab.toml"
    config.write_text(
        f'mode = "paper"\ndatabase_url = "{database_url}"\nstate_dir = "{tmp_path / "state"}"\n'
        + sim_account("good", prices=prices)
        + sim_account("gap", prices=prices, history=f'history_file = "{gap}"')
        + sim_account("zero", prices=prices, history=f'history_file = "{zero}"')
    )
    app = open_app(config, clock=Clock(MONDAY_NOON))
    yield app, tmp_path
    app.close()


def test_a_momentum_cycle_on_the_sim_buys_the_leader_and_bad_history_fails_alone(
    sim_app: tuple[App, Path],
) -> None:
    app, _ = sim_app
    engine = app.engine(fill_timeout=2)
    reports = {name: engine.run_once(name) for name in ("gap", "good", "zero")}
    assert reports["good"].outcome == "succeeded", reports["good"].error
    assert intents(app, "good") == [(Side.BUY, "VTI")]
    assert reports["gap"].outcome == "failed"
    assert "BND has a gap (other symbols have that day) on 2026-11-18" in str(reports["gap"].error)
    assert reports["zero"].outcome == "failed"
    assert "VTI closes at 0.0 on 2026-11-20" in str(reports["zero"].error)
    for bad in ("gap", "zero"):
        assert intents(app, bad) == []
        assert last_failure(app, bad).startswith("DataError: strategy momentum: ")
    # The sim's closes were cached under the account's source, through Friday.
    with app.database.transaction() as session:
        assert PriceHistoryStore(session).last_close("sim:good", "VTI") == (
            date(2026, 11, 27),
            closes()["VTI"][date(2026, 11, 27)],
        )


def test_a_split_alpaca_adjusts_a_day_late_is_read_as_a_fresh_fetch_once_it_is(
    alpaca: AlpacaCycle,
) -> None:
    """The audit's case: Tuesday's close comes raw (half the price) before Alpaca adjusts the
    earlier bars, so the overlap day (Tuesday, on the ex-date) never changes after it."""
    from daemon.cycle.history import account_history

    ex_date = date(2026, 12, 1)
    bars = alpaca.fake.bars
    bars.set_closes("VTI", {d: c / 2 for d, c in closes()["VTI"].items() if d >= ex_date})
    assert alpaca.run() == "succeeded"  # Monday: closes through Friday
    alpaca.next_day()
    alpaca.next_day()  # Wednesday: Tuesday's raw close, the history before it not adjusted
    assert alpaca.run() == "succeeded"
    bars.add_split("VTI", ex_date, D(2))  # Alpaca now applies the split to its history
    alpaca.next_day()  # Thursday

    def vti(database: object) -> list[float]:
        app = alpaca.app
        read = account_history(
            app.strategy("main"),
            settings=app.settings,
            account="main",
            broker=app.broker("main"),
            database=database,  # type: ignore[arg-type]
            clock=app.clock,
        )
        return [float(c) for c in read.history.column("VTI")]

    bought = intents(alpaca.app, "main").count((Side.BUY, "VTI"))
    assert alpaca.run() == "succeeded"
    # The whole window was fetched once on Thursday, instead of the day's extension.
    assert alpaca.requests() == {"VTI": 3, "BND": 3}
    assert vti(alpaca.app.database) == vti(None)  # the cache reads what a fresh fetch gives
    # Momentum holds VTI again (Wednesday sold it: Alpaca itself then showed a 45% fall).
    assert intents(alpaca.app, "main").count((Side.BUY, "VTI")) > bought
    alpaca.next_day()  # Friday: nothing split-like left in the window, one extension
    assert alpaca.run(slot="friday") == "succeeded"
    assert alpaca.requests() == {"VTI": 5, "BND": 5}  # with the fresh read's one
