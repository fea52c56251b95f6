"""Cash an owner's resting buy holds at Alpaca still counts in the account's value.

trimtab spends only the cash Alpaca's open buys leave (`adapters.alpaca.holds`). Before, that
spendable cash was all the account's cash it knew of: while an owner's limit buy placed by
hand rested for days, the account's value was short by the hold, every other holding looked
overweight and a cycle could sell a holding that was exactly on target (a needless taxable
sale), and the valuations recorded for returns dipped by the hold. These run the real
alpaca-py against the fake Alpaca, which holds buying power as Alpaca does.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.bootstrap import open_app
from daemon.core.domain import CASH, Side
from daemon.store.valuations import valuations
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca
from tests.fakes.alpaca_server.client import (
    ENV_PREFIX,
    SteppingClock,
    account_toml,
    make_broker,
)

D = Decimal


def fifty_fifty() -> AlpacaState:
    """AAA $40,000 and BBB $50,000 held, $10,000 of cash, all of it held by the owner's limit
    buy of 125 AAA at $80 (AAA trades at $100: it rests)."""
    state = AlpacaState(cash=D("10000"), clock=SteppingClock())
    state.add_asset("AAA", "100.00")
    state.add_asset("BBB", "100.00")
    state.market_open = True
    state.auto_fill = True
    state.set_position("AAA", "400")
    state.set_position("BBB", "500")
    state.place(
        {
            "symbol": "AAA",
            "qty": "125",
            "side": "buy",
            "type": "limit",
            "limit_price": "80.00",
            "time_in_force": "gtc",
            "client_order_id": "by-hand-1",
        }
    )
    return state


def test_the_snapshot_reserves_the_held_cash_apart_from_the_cash_to_spend() -> None:
    state = fifty_fifty()
    with FakeAlpaca(state) as fake:
        broker = make_broker(fake)
        try:
            snapshot = broker.snapshot(["AAA", "BBB"])
            funds = broker.funds(["AAA"])
        finally:
            broker.close()
    assert snapshot.cash == funds.cash == D(0)
    assert snapshot.reserved_cash == D("10000")  # Alpaca's cash, less what may be spent
    assert snapshot.cash + snapshot.reserved_cash == state.cash


@pytest.fixture
def fake_and_config(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeAlpaca, Path]]:
    monkeypatch.setenv(ENV_PREFIX + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(ENV_PREFIX + "API_SECRET_KEY", SECRET)
    with FakeAlpaca(fifty_fifty()) as fake:
        config = tmp_path / "trimtab.toml"
        head = f'mode = "paper"\ndatabase_url = "{database_url}"\n'
        settings_toml = "read_timeout_seconds = 2\nrate_limit_max_wait_seconds = 0"
        body = account_toml(fake.url, 'AAA = "0.5", BBB = "0.5"', settings=settings_toml)
        config.write_text(head + body + "[accounts.main.bands]\nabsolute_pp = 5\n")
        yield fake, config


def test_a_cycle_beside_an_owners_resting_buy_sells_nothing_on_target(
    fake_and_config: tuple[FakeAlpaca, Path],
) -> None:
    """The example: at the true value ($100,000) BBB is exactly on target. Counted without
    the held $10,000 ($90,000), BBB looked 55.6% against a 50% +-5pp band and was sold."""
    fake, config = fake_and_config
    state = fake.state
    app = open_app(config, clock=state.now)
    try:
        report = app.engine(fill_timeout=2).run_once("main")
        with app.database.transaction() as session:
            recorded = valuations(session, "main")
    finally:
        app.close()
    assert report.outcome == "succeeded", report.error
    plan = report.plan
    assert plan is not None
    assert plan.nav == D("100000")
    assert [o for o in plan.orders if o.side is Side.SELL] == []
    assert not any(r.path.endswith("/orders") and r.method == "POST" for r in fake.requests)
    cash_row = next(r for r in plan.drift if r.symbol == CASH)
    assert cash_row.value == D("10000")  # the account's cash, the held part with it
    assert sum(r.weight for r in plan.drift) == 1
    assert "held by open buys" in cash_row.note
    # The valuation recorded for returns is Alpaca's equity: its cash plus the positions.
    assert [v.equity for v in recorded] == [D(state.account_json()["equity"])]
    assert recorded[0].equity == D("100000")
    assert recorded[0].cash == D("10000")
