"""A seeded simulated history for the report tests: real cycles on the sim broker over a month
of trading days, a deposit, a withdrawal, a day with the kill switch engaged, and an end-of-day
valuation per day; plus what the test expects, computed from the sim's own state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.base import BrokerEnvironment
from adapters.sim import SimSettings
from adapters.sim.broker import SimBroker
from daemon.bootstrap import App, open_app
from daemon.core.calendar import exchange_calendar, quiet_pandas
from daemon.service.day_end import end_of_day
from daemon.store.killswitch import set_kill_switch
from tests.fakes.feeds import RawFeed

D = Decimal
NEW_YORK = ZoneInfo("America/New_York")
FIRST, LAST = date(2026, 10, 26), date(2026, 11, 24)
DEPOSIT_DAY, WITHDRAWAL_DAY = date(2026, 11, 3), date(2026, 11, 17)
KILL_DAY = DEPOSIT_DAY
"""The deposit is planned the day it arrives, and the engaged kill switch refuses the buys."""
DEPOSIT, WITHDRAWAL = D("20000"), D("7500")


def config_text(database_url: str, extra: str = "") -> str:
    return f"""
mode = "paper"
database_url = "{database_url}"
[performance]
benchmark = "VTI"
[accounts.main]
broker = "sim"
strategy = "static"
[accounts.main.strategy_params]
targets = {{ VTI = "0.6", BND = "0.4" }}
[accounts.main.broker_settings]
starting_cash = "100000"
slippage_bps = 3
[accounts.main.bands]
absolute_pp = 3
[accounts.main.policy]
min_trade_notional = "50"
cash_buffer = "300"
{extra}
"""


def prices_on(index: int) -> dict[str, Decimal]:
    """Prices with a rise, a fall of about 8% and a partial recovery, to the cent."""
    vti = 250 * (1 + 0.004 * index - 0.08 * math.exp(-((index - 12) ** 2) / 8))
    bnd = 70 * (1 + 0.0015 * math.sin(index / 2))
    return {"VTI": D(f"{vti:.2f}"), "BND": D(f"{bnd:.2f}")}


def sessions(first: date = FIRST, last: date = LAST) -> list[date]:
    with quiet_pandas():
        found = exchange_calendar("XNYS").sessions_in_range(first.isoformat(), last.isoformat())
    return [d.date() for d in found]


@dataclass
class History:
    app: App
    sim: SimBroker
    days: list[date]
    values: list[Decimal] = field(default_factory=list)
    """The account's value at each day's end, from the sim's cash and positions."""
    flows: list[Decimal] = field(default_factory=list)
    """Net flow into the account during each day."""
    clock: list[datetime] = field(default_factory=list)


def build_history(
    tmp_path: Path, database_url: str, *, extra: str = "", first: date = FIRST
) -> History:
    config = tmp_path / "trimtab.toml"
    config.write_text(config_text(database_url, extra))
    days = sessions(first)
    now = [datetime.combine(days[0], time(10), NEW_YORK).astimezone(UTC)]
    app = open_app(config, clock=lambda: now[0])
    env = BrokerEnvironment(
        account="main",
        sql_engine=app.database.engine,
        state_dir=app.settings.state_dir,
        clock=app.clock,
    )
    settings = SimSettings.model_validate(app.settings.accounts["main"].broker_settings)
    feed = RawFeed(prices_on(0))
    sim = SimBroker(settings, env, prices=feed)
    app.brokers["main"] = sim
    history = History(app, sim, days, clock=now)
    for index, day in enumerate(days):
        _one_day(history, feed, index, day)
    return history


def _at(history: History, day: date, hour: int, minute: int = 0) -> None:
    history.clock[0] = datetime.combine(day, time(hour, minute), NEW_YORK).astimezone(UTC)


def _one_day(history: History, feed: RawFeed, index: int, day: date) -> None:
    app, sim = history.app, history.sim
    feed.prices.update(prices_on(index))
    _at(history, day, 10)
    flow = D(0)
    if day == DEPOSIT_DAY:
        sim.deposit(DEPOSIT)
        flow = DEPOSIT
    if day == KILL_DAY:
        with app.database.transaction() as session:
            set_kill_switch(session, engaged=True, reason="report drill", actor="t", at=app.clock())
    _at(history, day, 15, 45)
    # The withdrawal day's cycle sells to raise the cash, which then leaves the account.
    raise_cash = WITHDRAWAL if day == WITHDRAWAL_DAY else D(0)
    report = app.engine(fill_timeout=1).run_once("main", slot="close", withdrawal=raise_cash)
    assert report.outcome == "succeeded", report.error
    if day == WITHDRAWAL_DAY:
        _at(history, day, 16)
        sim.withdraw(WITHDRAWAL)
        flow = -WITHDRAWAL
    if day == KILL_DAY:
        with app.database.transaction() as session:
            set_kill_switch(session, engaged=False, reason="drill over", actor="t", at=app.clock())
    _at(history, day, 16, 5)
    # What the daemon does after the day's last slot: the closing valuation and flows.
    (result,) = end_of_day(app, accounts=["main"])
    assert result.error is None, result.error
    assert result.point is not None
    assert not result.point.problems, result.point.problems
    state = sim.state()
    value = D(state["cash"])
    for position in state["positions"]:
        price = feed.prices[position["symbol"]]
        value += (D(position["qty"]) * price).quantize(D("0.01"), ROUND_HALF_EVEN)
    history.values.append(value)
    history.flows.append(flow)
