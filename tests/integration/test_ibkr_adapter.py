"""The IB adapter through the real ib_async client against the fake TWS on loopback: bad input
(each a clear error naming the account and the fix, nothing sent), rejections, a lost link
and the reconnect, the heartbeat, and the reconciliation that must come before sending again.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import BrokerEnvironment, CredentialsRejected
from adapters.ibkr.broker import IbkrBroker
from adapters.ibkr.config import IbkrSettings
from adapters.ibkr.sdk import IB
from daemon.config.settings import check_config
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import (
    DataError,
    NotSent,
    OrderRejected,
    OutcomeUnknown,
    TransientBrokerError,
)
from tests.contract.ibkr_harness import ib_settings
from tests.fakes.tws import (
    CancelRace,
    DropAfterAccept,
    FakeTws,
    PartialFill,
    Reject,
    two_accounts,
)

ACCOUNT = "ira"


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws(two_accounts()) as fake:
        yield fake


def make_broker(port: int, **extra: object) -> IbkrBroker:
    env = BrokerEnvironment(account=ACCOUNT, state_dir=Path("."), clock=lambda: datetime.now(UTC))
    return IbkrBroker(ib_settings(port, **extra), env)


@pytest.fixture
def broker(tws: FakeTws) -> Iterator[IbkrBroker]:
    made = make_broker(tws.port)
    yield made
    made.close()


_ids = iter(range(1, 10_000))


def intent(symbol: str, side: Side, qty: str, *, limit: str | None = None) -> OrderIntent:
    n = next(_ids)
    return OrderIntent(
        client_order_id=f"{ACCOUNT}:2026-12-04:1545:{n}",
        cycle_id=f"{ACCOUNT}:2026-12-04:1545",
        account=ACCOUNT,
        seq=n,
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        reason="test",
        limit_price=None if limit is None else Decimal(limit),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- bad input: a clear error naming the account and the fix, nothing sent -----------------------


def test_nothing_listening_names_the_account_the_port_and_the_fix() -> None:
    broker = make_broker(free_port())
    try:
        with pytest.raises(TransientBrokerError) as caught:
            broker.snapshot(["VTI"])
    finally:
        broker.close()
    message = str(caught.value)
    assert f"account {ACCOUNT}: nothing is listening at 127.0.0.1:" in message
    assert "fix: start IB Gateway or TWS" in message
    assert "Gateway 4002 paper / 4001 live" in message


def test_a_client_id_in_use_326_names_the_setting_to_change(tws: FakeTws) -> None:
    other = IB()
    other.connect("127.0.0.1", tws.port, clientId=17, timeout=5, account="DU1234567")
    broker = make_broker(tws.port, connect_timeout_seconds=1)  # client_id 17 by default
    try:
        with pytest.raises(TransientBrokerError) as caught:
            broker.snapshot(["VTI"])
    finally:
        broker.close()
        other.disconnect()
    message = str(caught.value)
    assert f"account {ACCOUNT}: IB at 127.0.0.1:{tws.port} refused client id 17" in message
    assert "(error 326)" in message
    assert "fix: set broker_settings.client_id" in message
    assert tws.count("placeOrder") == 0


def test_an_account_the_login_does_not_manage_is_refused_with_the_fix(tws: FakeTws) -> None:
    broker = make_broker(tws.port, account_id="DU9999999")
    try:
        with pytest.raises(CredentialsRejected) as caught:
            broker.snapshot(())
        with pytest.raises(NotSent) as refused:
            broker.submit(intent("VTI", Side.BUY, "1"))
    finally:
        broker.close()
    assert caught.value.account == ACCOUNT
    assert "IB account DU9999999 is not among the accounts the login" in caught.value.detail
    assert "DU1234567, DU7654321" in caught.value.detail
    assert "set broker_settings.account_id to one of those" in caught.value.fix
    assert "not sent" in str(refused.value)
    assert "DU9999999 is not among the accounts" in refused.value.reason
    assert tws.count("placeOrder") == 0
    assert tws.count("reqAccountUpdates") == 0  # no account of the login was read


def test_a_live_account_in_paper_mode_is_refused_before_anything_connects(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.toml"
    config.write_text(
        'mode = "paper"\n[accounts.ira]\nbroker = "ibkr"\n'
        '[accounts.ira.broker_settings]\nenvironment = "live"\naccount_id = "U7654321"\n'
        '[accounts.ira.strategy_params]\ntargets = { VTI = "1" }\n'
    )
    problems = check_config(config)
    assert [p.path for p in problems] == ["mode"]
    assert 'account(s) ira have broker_settings.environment = "live"' in problems[0].problem
    assert 'mode = "live"' in problems[0].fix
    # The other way round: a live account number under environment = "paper".
    with pytest.raises(ValueError, match=r"account U7654321 is a live account"):
        IbkrSettings.model_validate({"environment": "paper", "account_id": "U7654321"})


def test_a_fractional_quantity_is_refused_and_nothing_is_sent(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    with pytest.raises(OrderRejected) as caught:
        broker.submit(intent("VTI", Side.BUY, "1.5"))
    assert f"account {ACCOUNT}: IB accepts only whole shares of VTI" in caught.value.reason
    assert "fix:" in caught.value.reason
    assert tws.count("placeOrder") == 0


@pytest.mark.parametrize(
    ("symbol", "says"),
    [
        ("NOSUCH", "IB has no SMART-routed USD stock or ETF NOSUCH (error 200)"),
        ("DUAL", "DUAL is ambiguous at IB: NASDAQ (conId 12345011), NYSE (conId 12345010)"),
    ],
)
def test_a_symbol_that_does_not_qualify_is_refused_naming_it(
    tws: FakeTws, broker: IbkrBroker, symbol: str, says: str
) -> None:
    with pytest.raises(OrderRejected) as caught:
        broker.submit(intent(symbol, Side.BUY, "1"))
    assert f"account {ACCOUNT}: {says}" in caught.value.reason
    assert "(fix:" in caught.value.reason
    assert tws.count("placeOrder") == 0
    checks = broker.check_assets([symbol, "VTI"])
    assert (checks[symbol].known, checks["VTI"].known) == (False, True)


# -- orders ---------------------------------------------------------------------------------------


def test_an_order_goes_out_once_with_order_ref_account_day_and_outside_rth(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    sent = intent("VXUS", Side.BUY, "3")
    order = broker.submit(sent)
    assert order.status is OrderStatus.FILLED
    [placed] = tws.placed
    assert (placed.order_ref, placed.account, placed.tif, placed.outside_rth) == (
        sent.client_order_id,
        "DU1234567",
        "DAY",
        False,
    )
    [fill] = [f for f in broker.fills(datetime(2020, 1, 1, tzinfo=UTC)) if f.symbol == "VXUS"]
    assert (fill.client_order_id, fill.qty, fill.commission) == (
        sent.client_order_id,
        Decimal(3),
        Decimal("1.00"),
    )


def test_a_201_rejection_is_a_rejection_with_ibs_words_not_a_cancel(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    tws.queue(Reject(201, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED."))
    refused = intent("VTI", Side.BUY, "1")
    with pytest.raises(OrderRejected, match="IB error 201: Order rejected - reason:YOUR ORDER"):
        broker.submit(refused)
    found = broker.get_order(refused.client_order_id)
    assert found is None or found.status is OrderStatus.REJECTED


def test_a_partial_fill_then_a_cancel_keeps_what_filled(tws: FakeTws, broker: IbkrBroker) -> None:
    partial = intent("VXUS", Side.BUY, "10")
    tws.queue(PartialFill((Decimal(3), Decimal(2))))
    order = broker.submit(partial)
    tws.wait_for(lambda: len(tws.state.executions) == 2)
    found = broker.get_order(partial.client_order_id)
    assert found is not None
    assert (found.status, found.filled_qty) == (OrderStatus.PARTIALLY_FILLED, Decimal(5))
    assert order.broker_order_id == found.broker_order_id
    cancelled = broker.cancel(partial.client_order_id)
    assert (cancelled.status, cancelled.filled_qty) == (OrderStatus.CANCELLED, Decimal(5))
    fills = [f for f in broker.fills(datetime(2020, 1, 1, tzinfo=UTC)) if f.symbol == "VXUS"]
    assert [f.qty for f in fills] == [Decimal(3), Decimal(2)]
    assert len({f.fill_id for f in fills}) == 2
    assert tws.count("cancelOrder") == 1


def test_a_cancel_ib_holds_pending_is_open_until_it_ends_and_never_sent_twice(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    resting = intent("VTI", Side.SELL, "5", limit="400")
    broker.submit(resting)
    coid = resting.client_order_id
    tws.queue(CancelRace("filled"))
    pending = broker.cancel(coid)
    assert pending.status is OrderStatus.ACCEPTED  # PendingCancel: a fill can still come
    # Asked again while pending: nothing resent (IB would answer 10148, which ib_async takes
    # for a cancel while the order still works at IB).
    again = broker.cancel(coid)
    assert again.status is OrderStatus.ACCEPTED
    assert tws.count("cancelOrder") == 1
    tws.finish_cancels()
    tws.wait_for(lambda: tws.state.order_by_ref(coid).status == "Filled")
    broker.link.call(broker.link.ib.reqCurrentTimeAsync)
    filled = broker.get_order(coid)
    assert filled is not None
    assert (filled.status, filled.filled_qty) == (OrderStatus.FILLED, Decimal(5))


def test_only_the_configured_accounts_positions_and_cash_are_read(broker: IbkrBroker) -> None:
    snapshot = broker.snapshot(["VXUS"])
    assert snapshot.cash == Decimal("10000.00")
    assert {p.symbol: p.qty for p in snapshot.positions} == {"VTI": 20, "BND": 50}
    assert set(snapshot.quotes) == {"VTI", "BND", "VXUS"}


def test_without_market_data_the_cycle_refuses_to_plan_on_portfolio_marks(
    tws: FakeTws,
) -> None:
    # What trimtab check fails on, the cycle refuses too: IB's portfolio mark carries no time
    # and no previous close, so neither the quote-age nor the price-move check could catch a
    # stale one.
    tws.state.market_data_subscribed = False  # type 1 answered by error 354, no ticks
    broker = make_broker(tws.port)
    try:
        with pytest.raises(DataError) as caught:
            broker.snapshot(["VXUS"])
        with pytest.raises(DataError):
            broker.funds(["VTI"])
    finally:
        broker.close()
    message = str(caught.value)
    assert f"account {ACCOUNT}: IB sent no price for BND, VTI, VXUS" in message
    assert "market_data_type = 3" in message
    assert tws.count("placeOrder") == 0


def test_delayed_market_data_is_priced_and_says_so(tws: FakeTws) -> None:
    tws.state.market_data_subscribed = False
    broker = make_broker(tws.port, market_data_type=3)
    try:
        snapshot = broker.snapshot(["VXUS"])
    finally:
        broker.close()
    assert snapshot.quotes["VXUS"].source == "ibkr:delayed"
    assert snapshot.quotes["VXUS"].price == Decimal("61.20")


# -- connection life ------------------------------------------------------------------------------


def test_a_dropped_link_while_sending_is_an_unknown_outcome_resolved_by_lookup_never_resent(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    broker.snapshot(())
    tws.queue(DropAfterAccept(fill=True))
    lost = intent("VXUS", Side.BUY, "2")
    try:
        first = broker.submit(lost)
    except OutcomeUnknown:
        first = None
    tws.wait_for(lambda: broker.link.lost is not None)
    assert first is None or first.status in (OrderStatus.ACCEPTED, OrderStatus.FILLED)
    # The next order of the same cycle is not sent: the link was lost and not reconciled.
    with pytest.raises(NotSent, match=r"not sent: .*lost and has not been reconciled"):
        broker.submit(intent("BND", Side.BUY, "1"))
    # A lookup reconnects (the start-up sync reads IB's orders again) and finds the order.
    found = broker.get_order(lost.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.FILLED
    assert broker.link.generation == 2
    with pytest.raises(NotSent, match=r"has not been reconciled"):
        broker.submit(intent("BND", Side.BUY, "1"))
    # The next cycle reads the account first; then orders go out again. `submit` returns once
    # IB has answered: on a loaded machine its fill may come after (a CI run saw ACCEPTED).
    broker.snapshot(["BND"])
    again = intent("BND", Side.BUY, "1")
    assert broker.submit(again).status in (OrderStatus.ACCEPTED, OrderStatus.FILLED)
    assert [p.order_ref for p in tws.placed].count(again.client_order_id) == 1
    assert [p.order_ref for p in tws.placed].count(lost.client_order_id) == 1


def test_reconnects_back_off_while_ib_is_away(tws: FakeTws) -> None:
    broker = make_broker(tws.port)
    try:
        broker.snapshot(())
        tws.stop()
        tws.port = tws.port  # the same address, nothing listening
        time.sleep(0.05)
        with pytest.raises(TransientBrokerError, match="nothing is listening"):
            broker.snapshot(())
        with pytest.raises(TransientBrokerError, match=r"next reconnect to IB in \d+s") as waiting:
            broker.snapshot(())
        assert waiting.value.retry_after is not None
        assert waiting.value.retry_after > 0
    finally:
        broker.close()


def test_a_silent_ib_is_caught_by_the_heartbeat_before_an_order_goes_out(tws: FakeTws) -> None:
    broker = make_broker(tws.port, heartbeat_seconds=5, request_timeout_seconds="0.5")
    try:
        broker.snapshot(())
        tws.go_silent()
        broker.link._last_contact -= 10  # idle past the heartbeat (no sleeping in tests)
        with pytest.raises(NotSent, match="stopped answering"):
            broker.submit(intent("VTI", Side.BUY, "1"))
        assert tws.count("placeOrder") == 0
        assert broker.link.lost is not None
    finally:
        broker.close()


def test_the_background_heartbeat_notices_a_silent_ib_between_cycles(tws: FakeTws) -> None:
    broker = make_broker(tws.port, heartbeat_seconds=5, request_timeout_seconds="0.5")
    try:
        broker.snapshot(())
        tws.go_silent()
        broker.link._last_contact -= 10  # idle past the heartbeat (no sleeping in tests)
        tws.wait_for(lambda: broker.link.lost is not None, timeout=5)
        assert "heartbeat" in (broker.link.lost or "")
        assert tws.count("reqCurrentTime") == 1
        tws.resume()
        broker.get_order("any")  # the next use reconnects
        assert broker.link.generation == 2
    finally:
        broker.close()


def test_1100_stops_sending_and_1102_requires_reconciliation_first(
    tws: FakeTws, broker: IbkrBroker
) -> None:
    broker.snapshot(())
    tws.connectivity_lost()
    tws.wait_for(lambda: broker.link.lost is not None)
    with pytest.raises(NotSent, match="not sent"):
        broker.submit(intent("VTI", Side.BUY, "1"))
    tws.connectivity_restored(data_lost=False)
    tws.wait_for(lambda: broker.link.lost is None)
    with pytest.raises(NotSent, match="has not been reconciled"):
        broker.submit(intent("VTI", Side.BUY, "1"))
    broker.snapshot(())
    assert broker.submit(intent("VTI", Side.BUY, "1")).status is OrderStatus.FILLED
    assert tws.count("placeOrder") == 1


def test_farm_status_messages_are_information_only(tws: FakeTws, broker: IbkrBroker) -> None:
    broker.snapshot(())
    tws.farm_status(ok=True)
    broker.link.call(broker.link.ib.reqCurrentTimeAsync)
    assert broker.link.lost is None
    assert {e.code for e in broker.link.errors} >= {2104, 2106, 2158}


@pytest.mark.slow
def test_messages_stay_under_ibs_rate_limit(tws: FakeTws, broker: IbkrBroker) -> None:
    symbols = [f"S{n:03d}" for n in range(60)]
    from tests.fakes.tws import Instrument

    for n, symbol in enumerate(symbols):
        tws.state.add_instrument(Instrument(40_000_000 + n, symbol, "ARCA"))
        tws.state.set_price(40_000_000 + n, "10.00")
    broker.snapshot(symbols)  # 60 contract details and 60 market data requests
    assert tws.max_rate(1.0) <= 50
