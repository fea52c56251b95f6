"""Cash in currencies other than USD at IB: the real ib_async client against the fake TWS,
through the adapter and through the engine.

For a USD-base account IB reports `TotalCashValue` in USD with every currency converted, and
`CashBalance` once per currency. trimtab buys USD listings, so only the USD balance is
spendable: an account with USD 0 and EUR 10,000 planned with 10,800 and bought on margin
(USD -10,635) when the converted total was taken for USD. A positive balance in another
currency is left out (and said so); a negative one, a loan in that currency, stops the cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from adapters.base import BrokerEnvironment
from adapters.ibkr.broker import IbkrBroker
from daemon.bootstrap import open_app
from daemon.core.domain import OrderIntent, OrderType, Side
from daemon.core.errors import DataError, OrderRejected
from tests.contract.ibkr_harness import ib_settings
from tests.fakes.ibkr_config import ib_config
from tests.fakes.tws import FakeTws, two_accounts
from tests.fakes.tws.states import FIRST

ACCOUNT = "main"


def make_broker(port: int) -> IbkrBroker:
    env = BrokerEnvironment(account=ACCOUNT, state_dir=Path("."), clock=lambda: datetime.now(UTC))
    return IbkrBroker(ib_settings(port), env)


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    state = two_accounts()
    state.set_exchange_rate("EUR", "1.08")
    state.set_cash(FIRST, "0", "USD")
    state.set_cash(FIRST, "10000", "EUR")
    with FakeTws(state) as fake:
        yield fake


def buy(symbol: str, qty: str) -> OrderIntent:
    return OrderIntent(
        client_order_id=f"{ACCOUNT}:2026-12-04:1545:1",
        cycle_id=f"{ACCOUNT}:2026-12-04:1545",
        account=ACCOUNT,
        seq=1,
        symbol=symbol,
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.MARKET,
        reason="test",
        reference_price=Decimal(250),
    )


def test_only_the_usd_balance_is_cash_and_the_other_currency_is_named(tws: FakeTws) -> None:
    tws.set_cash(FIRST, "5000", "USD")
    broker = make_broker(tws.port)
    try:
        with capture_logs() as logs:
            snapshot = broker.snapshot(["VTI"])
            funds = broker.funds(["VTI"])
    finally:
        broker.close()
    assert snapshot.cash == Decimal("5000.00")  # not 15,800: the EUR converted
    assert funds.cash == Decimal("5000.00")
    warned = [e for e in logs if e["event"] == "ibkr_cash_not_spent"]
    assert warned, logs
    assert warned[0]["log_level"] == "warning"
    assert warned[0]["balances"] == {"EUR": "10000.00"}


def test_a_buy_paid_only_in_euros_is_refused_before_it_is_sent(tws: FakeTws) -> None:
    tws.check_buying_power = False  # a margin account: IB would lend the USD
    broker = make_broker(tws.port)
    try:
        broker.snapshot(["VTI"])
        with pytest.raises(OrderRejected) as caught:
            broker.submit(buy("VTI", "1"))
    finally:
        broker.close()
    assert "IB would lend on margin" in str(caught.value)
    assert tws.count("placeOrder") == 0


def test_a_negative_balance_in_another_currency_stops_the_cycle_naming_it(tws: FakeTws) -> None:
    tws.set_cash(FIRST, "10000", "USD")
    tws.set_cash(FIRST, "-2000", "EUR")
    broker = make_broker(tws.port)
    try:
        with pytest.raises(DataError) as caught:
            broker.snapshot(["VTI"])
    finally:
        broker.close()
    message = str(caught.value)
    assert f"account {ACCOUNT}:" in message
    assert "EUR -2000.00" in message
    assert "fix:" in message


def test_the_check_shows_the_cash_trimtab_spends_and_warns_of_the_rest(tws: FakeTws) -> None:
    tws.set_cash(FIRST, "5000", "USD")
    broker = make_broker(tws.port)
    try:
        notes = {n.check: n for n in broker.more_checks(["VTI"])}
    finally:
        broker.close()
    assert "cash 5000.00 USD" in notes["account values"].detail
    other = notes["cash in other currencies"]
    assert other.level == "warn"
    assert "EUR 10000.00" in other.detail
    assert other.fix


def test_the_engine_never_spends_euros_as_dollars(
    tmp_path: Path, database_url: str, tws: FakeTws
) -> None:
    """The audited case: USD 0, EUR 10,000, a margin account. Nothing is bought."""
    tws.check_buying_power = False
    config = tmp_path / "trimtab.toml"
    config.write_text(ib_config(database_url, tws.port, 'VTI = "0.6", BND = "0.4"'))
    app = open_app(config)
    try:
        report = app.engine().run_once("main", force=True)
    finally:
        app.close()
    assert report.snapshot is not None
    assert report.snapshot.cash == 0
    assert report.plan is not None
    assert [o for o in report.plan.orders if o.side is Side.BUY] == []
    assert tws.state.accounts[FIRST].cash["USD"] >= 0
    assert tws.count("placeOrder") == 0
