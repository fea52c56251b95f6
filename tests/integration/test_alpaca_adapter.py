"""The Alpaca adapter through the real alpaca-py, against the fake Alpaca on loopback.

Each of alpaca-py's sharp edges has a test here: no timeout, retries of order submissions on
429/504, error objects that fail on non-JSON bodies, strict enums; and each request the
adapter makes is counted, so a request made twice without cause shows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from structlog.testing import capture_logs

from adapters.alpaca.broker import AlpacaBroker
from adapters.alpaca.config import KEY_PREFIXES
from adapters.base import (
    AccountCheck,
    BrokerChecks,
    BrokerEnvironment,
    CashFlowReporter,
    CredentialsRejected,
)
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import (
    BrokerError,
    DuplicateClientOrderId,
    NotSent,
    OrderRejected,
    OutcomeUnknown,
    TransientBrokerError,
)
from daemon.core.movements import FlowKind
from daemon.cycle.retry import ReadRetrying
from daemon.store.cash_flows import flows_between, sync_flows
from daemon.store.db import open_database
from tests.fakes.alpaca_server import (
    KEY_ID,
    LIVE_KEY_ID,
    LIVE_SECRET,
    SECRET,
    AlpacaState,
    FakeAlpaca,
    Fault,
)
from tests.fakes.alpaca_server.client import household, make_broker, settings_for

D = Decimal
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def state() -> AlpacaState:
    made = household()
    made.set_position("BND", "10")
    return made


@pytest.fixture
def fake(state: AlpacaState) -> Iterator[FakeAlpaca]:
    with FakeAlpaca(state) as server:
        yield server


@pytest.fixture
def broker(fake: FakeAlpaca) -> Iterator[AlpacaBroker]:
    made = make_broker(fake)
    yield made
    made.close()


def intent(
    coid: str, symbol: str = "VTI", side: Side = Side.BUY, qty: str = "2", **kw: Any
) -> OrderIntent:
    return OrderIntent(
        client_order_id=coid,
        cycle_id="c",
        account="main",
        seq=1,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=OrderType(kw.pop("order_type", OrderType.MARKET)),
        reason="test",
        limit_price=kw.pop("limit_price", None),
    )


def test_the_snapshot_reads_everything_in_one_request_per_kind(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    with fake.counting() as made:
        snapshot = broker.snapshot(["VTI", "BND"])
    assert snapshot.cash == D(10000)
    assert snapshot.qty("BND") == D(10)
    assert snapshot.quotes["VTI"].price == D(250)
    assert snapshot.quotes["BND"].previous_close == D("72.5")
    assert snapshot.fractionable == frozenset({"VTI"})
    assert snapshot.market_open is True
    assert sorted(r.path for r in made) == [
        "/v2/account",
        "/v2/assets/BND",
        "/v2/assets/VTI",
        "/v2/clock",
        "/v2/orders",
        "/v2/positions",
        "/v2/stocks/snapshots",
    ]
    assert made[[r.path for r in made].index("/v2/orders")].query["limit"] == "500"
    # Assets hold for the day and the clock until the next open or close: not asked again.
    with fake.counting() as again:
        broker.snapshot(["VTI", "BND"])
    assert sorted(r.path for r in again) == [
        "/v2/account",
        "/v2/orders",
        "/v2/positions",
        "/v2/stocks/snapshots",
    ]


def test_an_order_goes_out_once_with_its_client_order_id_and_fills_later(
    broker: AlpacaBroker, fake: FakeAlpaca, state: AlpacaState
) -> None:
    broker.snapshot(["VTI"])
    with fake.counting() as made:
        order = broker.submit(intent("tt-a-1", qty="1.5"))
    assert [(r.method, r.path) for r in made] == [("POST", "/v2/orders")]
    body = made[0].body
    assert body["client_order_id"] == "tt-a-1"
    assert (body["qty"], body["time_in_force"], body["type"]) == (D("1.5"), "day", "market")
    assert order.status is OrderStatus.ACCEPTED
    state.fill("tt-a-1", "0.5")
    partial = broker.get_order("tt-a-1")
    assert partial is not None
    assert (partial.status, partial.filled_qty) == (OrderStatus.PARTIALLY_FILLED, D("0.5"))
    state.fill("tt-a-1")
    done = broker.get_order("tt-a-1")
    assert done is not None
    assert (done.status, done.filled_qty, done.avg_fill_price) == (
        OrderStatus.FILLED,
        D("1.5"),
        D(250),
    )
    assert [f.qty for f in broker.fills(EPOCH)] == [D("0.5"), D(1)]


def test_orders_this_process_sent_are_looked_up_together_in_one_listing(
    broker: AlpacaBroker, fake: FakeAlpaca, state: AlpacaState
) -> None:
    broker.snapshot(["VTI", "BND"])
    broker.submit(intent("tt-m-1", "VTI", qty="1"))
    broker.submit(intent("tt-m-2", "BND", qty="1"))
    broker.submit(intent("tt-m-3", "VTI", qty="2"))
    state.fill("tt-m-1")
    state.fill("tt-m-3", "1")
    with fake.counting() as made:
        found = broker.get_orders(["tt-m-1", "tt-m-2", "tt-m-3"])
    assert [(r.method, r.path) for r in made] == [("GET", "/v2/orders")]
    assert made[0].query["status"] == "all"
    assert {c: (o.status, o.filled_qty) for c, o in found.items()} == {
        "tt-m-1": (OrderStatus.FILLED, D(1)),
        "tt-m-2": (OrderStatus.ACCEPTED, D(0)),
        "tt-m-3": (OrderStatus.PARTIALLY_FILLED, D(1)),
    }
    # The listing starts at the earliest order still working; a finished one within it is
    # answered by the same listing.
    with fake.counting() as made:
        again = broker.get_orders(["tt-m-1", "tt-m-2", "tt-m-3"])
    assert again == found
    assert [(r.method, r.path) for r in made] == [("GET", "/v2/orders")]


def test_orders_the_listing_misses_or_this_process_never_sent_are_looked_up_by_id(
    broker: AlpacaBroker, fake: FakeAlpaca, state: AlpacaState
) -> None:
    broker.snapshot(["VTI"])
    broker.submit(intent("tt-n-1", "VTI", qty="1"))
    broker.submit(intent("tt-n-2", "VTI", qty="1"))
    fake.add_fault(Fault("GET", "/v2/orders", status=200, body="[]"))
    with fake.counting() as made:
        found = broker.get_orders(["tt-n-1", "tt-n-2", "tt-never"])
    assert set(found) == {"tt-n-1", "tt-n-2"}
    assert [(r.method, r.path) for r in made] == [
        ("GET", "/v2/orders"),
        ("GET", "/v2/orders:by_client_order_id"),
        ("GET", "/v2/orders:by_client_order_id"),
        ("GET", "/v2/orders:by_client_order_id"),
    ]


def test_a_504_after_the_order_was_accepted_is_an_unknown_outcome_resolved_by_lookup(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.add_fault(Fault("POST", "/v2/orders", status=504, after=True))
    with pytest.raises(OutcomeUnknown, match="504"):
        broker.submit(intent("tt-b-1"))
    # alpaca-py would have sent it four times; the adapter sends it once.
    assert fake.count("POST", "/v2/orders") == 1
    found = broker.get_order("tt-b-1")
    assert found is not None
    assert found.status is OrderStatus.ACCEPTED
    assert len(fake.state.orders) == 1


def test_a_resend_of_a_placed_order_is_a_duplicate_to_adopt(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    broker.submit(intent("tt-c-1"))
    with pytest.raises(DuplicateClientOrderId):
        broker.submit(intent("tt-c-1"))
    assert len(fake.state.orders) == 1


def test_a_429_on_a_submission_is_not_sent_and_sent_once(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.add_fault(Fault("POST", "/v2/orders", status=429))
    with pytest.raises(NotSent, match="rate limit"):
        broker.submit(intent("tt-d-1"))
    assert fake.count("POST", "/v2/orders") == 1
    assert fake.state.orders == []


def test_a_500_on_a_submission_is_unknown_not_a_rejection(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.add_fault(Fault("POST", "/v2/orders", status=500))
    with pytest.raises(OutcomeUnknown):
        broker.submit(intent("tt-e-1"))
    assert broker.get_order("tt-e-1") is None


def test_a_stalled_read_times_out_instead_of_hanging(fake: FakeAlpaca) -> None:
    broker = make_broker(fake, read_timeout_seconds=D("0.3"))
    fake.add_fault(Fault("GET", "/v2/account", stall=5))
    started = time.monotonic()
    with pytest.raises(TransientBrokerError, match="timeout"):
        broker.snapshot(())
    assert time.monotonic() - started < 3
    broker.close()


def test_a_stalled_submission_after_accepting_is_unknown(fake: FakeAlpaca) -> None:
    broker = make_broker(fake, read_timeout_seconds=D("0.3"))
    broker.snapshot(["VTI"])
    fake.add_fault(Fault("POST", "/v2/orders", stall=5, after=True))
    with pytest.raises(OutcomeUnknown):
        broker.submit(intent("tt-f-1"))
    assert fake.state.find("tt-f-1") is not None
    broker.close()


def test_a_reset_connection_on_a_read_is_transient(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.add_fault(Fault("GET", "/v2/positions", reset=True))
    with pytest.raises(TransientBrokerError):
        broker.snapshot(())


def test_a_non_json_error_page_is_read_not_crashed_on(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.add_fault(
        Fault(
            "GET",
            "/v2/account",
            status=502,
            body="<html>Bad Gateway</html>",
            content_type="text/html",
        )
    )
    with pytest.raises(TransientBrokerError, match="non-JSON answer: <html>Bad Gateway"):
        broker.snapshot(())


def test_a_rate_limited_read_waits_for_the_reset_then_the_retry_succeeds(fake: FakeAlpaca) -> None:
    waits: list[float] = []
    broker = make_broker(fake, rate_limit_max_wait_seconds=D(60))
    fake.add_fault(Fault("GET", "/v2/positions", status=429))
    retrying = ReadRetrying(broker, log=structlog.get_logger(), sleep=waits.append)
    snapshot = retrying.snapshot(())
    assert snapshot.qty("BND") == D(10)
    assert fake.count("GET", "/v2/positions") == 2  # the 429, then one retry: no SDK retries
    assert waits == [1.0]  # Retry-After from the fake, instead of the wrapper's own backoff
    broker.close()


def test_unknown_enum_values_are_recorded_not_fatal(fake: FakeAlpaca, state: AlpacaState) -> None:
    state.unknown_enums = True
    broker = make_broker(fake)
    broker.submit(intent("tt-g-1"))
    order = state.find("tt-g-1")
    assert order is not None
    order.raw_status = "pending_settlement"
    with capture_logs() as logs:
        snapshot = broker.snapshot(["VTI"])
    assert snapshot.qty("BND") == D(10)
    assert snapshot.open_orders[0].status is OrderStatus.UNKNOWN
    assert ("order.status", "pending_settlement") in broker.unknown_values
    assert ("asset.exchange", "NEWX") in broker.unknown_values
    assert {"alpaca_unknown_value"} == {e["event"] for e in logs if e["log_level"] == "warning"}
    broker.close()


def test_the_fake_refuses_a_wash_trade_and_the_adapter_says_why(
    broker: AlpacaBroker, state: AlpacaState
) -> None:
    broker.submit(
        intent("tt-h-1", "BND", Side.SELL, "5", order_type=OrderType.LIMIT, limit_price=D(90))
    )
    with pytest.raises(OrderRejected, match="potential wash trade"):
        broker.submit(intent("tt-h-2", "BND", Side.BUY, "1"))


def test_cancel_an_open_order_a_filled_one_and_an_unknown_one(
    broker: AlpacaBroker, state: AlpacaState
) -> None:
    broker.submit(intent("tt-i-1", order_type=OrderType.LIMIT, limit_price=D(200)))
    assert broker.cancel("tt-i-1").status is OrderStatus.CANCELLED
    broker.submit(intent("tt-i-2"))
    state.fill("tt-i-2")
    assert broker.cancel("tt-i-2").status is OrderStatus.FILLED
    with pytest.raises(BrokerError, match="no order with client order id tt-nope"):
        broker.cancel("tt-nope")


def test_fills_are_paged_oldest_first_and_external_orders_looked_up_once(
    fake: FakeAlpaca, state: AlpacaState
) -> None:
    state.cash = D(1_000_000)
    for n in range(120):
        body = {"symbol": "SCHD", "qty": "1", "side": "buy", "type": "market"}
        state.place({**body, "time_in_force": "day", "client_order_id": f"outside-{n}"})
        state.fill(f"outside-{n}")
    broker = make_broker(fake)
    with fake.counting() as made:
        fills = broker.fills(EPOCH)
    assert [f.client_order_id for f in fills] == [f"outside-{n}" for n in range(120)]
    assert [r.path for r in made].count("/v2/account/activities") == 2
    # 120 orders it never saw: one listing, not 120 lookups.
    assert [r.path for r in made].count("/v2/orders") == 1
    pages = [r for r in made if r.path == "/v2/account/activities"]
    assert pages[1].query["page_token"] == fills[99].fill_id
    assert pages[0].query["after"] == "2019-12-31T23:59:59+00:00"
    with fake.counting() as whole:
        broker.fills(datetime(1970, 1, 1, tzinfo=UTC))
    assert "after" not in whole[0].query  # trimtab's first read: all history, no odd date
    with fake.counting() as again:
        broker.fills(EPOCH)
    assert {r.path for r in again} == {"/v2/account/activities"}
    later = broker.fills(fills[50].at)
    assert later[0].fill_id == fills[50].fill_id
    broker.close()


def test_dividends_withholding_and_reinvestments_as_domain_objects(
    broker: AlpacaBroker, state: AlpacaState
) -> None:
    state.add_dividend("BND", "12.40", on=date(2026, 11, 2), qty="10")
    state.add_dividend("BND", "-1.86", on=date(2026, 11, 2), kind="DIVNRA")
    state.add_dividend("BND", "-10.54", on=date(2026, 11, 3), kind="DIVREINV", qty="0.145")
    state.add_dividend("BND", "5", on=date(2026, 10, 1))
    state.activities.append(
        {"id": "x::csd", "activity_type": "CSD", "date": "2026-11-05", "net_amount": "100"}
    )
    dividends = broker.dividends(date(2026, 11, 1))
    # Oldest first; Alpaca orders one day's activities by their ids, which carry a random part.
    assert [d.on for d in dividends] == [date(2026, 11, 2), date(2026, 11, 2), date(2026, 11, 3)]
    assert sorted((d.kind, d.net_amount, d.qty) for d in dividends[:2]) == [
        ("dividend", D("12.40"), D(10)),
        ("withholding", D("-1.86"), None),
    ]
    assert (dividends[2].kind, dividends[2].net_amount, dividends[2].qty) == (
        "reinvestment",
        D("-10.54"),
        D("0.145"),
    )


def test_deposits_withdrawals_and_cash_journals_are_reported_as_cash_flows(
    broker: AlpacaBroker, state: AlpacaState
) -> None:
    assert isinstance(broker, CashFlowReporter)
    deposit = state.add_cash_activity("CSD", "2500", on=date(2026, 11, 2))
    state.add_cash_activity("CSW", "-400", on=date(2026, 11, 4))
    state.add_cash_activity("JNLC", "-50.25", on=date(2026, 11, 5))
    state.add_cash_activity("CSD", "999", on=date(2026, 11, 6), status="canceled")
    state.add_cash_activity("CSD", "10", on=date(2026, 10, 1))  # before `since`
    state.add_dividend("BND", "12.40", on=date(2026, 11, 3), qty="10")  # return, not a flow
    flows = broker.cash_flows(datetime(2026, 11, 1, tzinfo=UTC))
    assert [(f.at, f.amount, f.kind) for f in flows] == [
        (datetime(2026, 11, 2, 21, 0, tzinfo=UTC), D(2500), FlowKind.DEPOSIT),
        (datetime(2026, 11, 4, 21, 0, tzinfo=UTC), D(-400), FlowKind.WITHDRAWAL),
        (datetime(2026, 11, 5, 21, 0, tzinfo=UTC), D("-50.25"), FlowKind.WITHDRAWAL),
    ]
    assert flows[0].external_id == deposit
    assert {f.source for f in flows} == {"alpaca"}
    assert {f.account for f in flows} == {"main"}
    # A flow counts at 16:00 New York on its date: a `since` after that leaves it out.
    later = broker.cash_flows(datetime(2026, 11, 4, 21, 0, 1, tzinfo=UTC))
    assert [f.amount for f in later] == [D("-50.25")]


def test_alpacas_deposits_read_again_are_recorded_once_for_the_returns(
    broker: AlpacaBroker, state: AlpacaState, tmp_path: Path
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'flows.db'}", tmp_path)
    state.add_cash_activity("CSD", "2500", on=date(2026, 11, 2))
    for _ in range(2):  # read again (as every cycle does): recorded once
        sync_flows(
            database=database,
            broker=ReadRetrying(broker, log=structlog.get_logger()),
            account="main",
            exchange="XNYS",
            clock=lambda: datetime(2026, 11, 30, tzinfo=UTC),
        )
    with database.transaction() as session:
        recorded = flows_between(session, "main")
    assert [(f.amount, f.source) for f in recorded] == [(D(2500), "alpaca")]
    database.close()


def test_daily_bars_follow_alpacas_pages(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    with fake.counting() as made:
        bars = broker.daily_bars(["VTI", "BND"], date(2026, 11, 16), date(2026, 11, 27))
    assert [d for d, _ in bars["VTI"]] == [
        date(2026, 11, d) for d in (16, 17, 18, 19, 20, 23, 24, 25, 26, 27)
    ]
    assert bars["BND"][0] == (date(2026, 11, 16), D("72.5"))
    assert len(made) == 7  # 20 bars, 3 a page
    assert made[0].query["feed"] == "iex"
    assert made[0].query["adjustment"] == "all"


def test_the_checks_for_trimtab_check(broker: AlpacaBroker, state: AlpacaState) -> None:
    assert isinstance(broker, BrokerChecks)
    check = broker.check_account()
    assert check == AccountCheck(
        "main", "PA3FAKE0001", "paper", "ACTIVE", True, False, False, False
    )
    state.trading_blocked = True
    assert broker.check_account().problems == ("the broker has blocked trading",)
    assets = broker.check_assets(["VTI", "BND", "NOPE"])
    assert (assets["VTI"].fractionable, assets["BND"].fractionable, assets["NOPE"].known) == (
        True,
        False,
        False,
    )
    days = broker.calendar(date(2026, 11, 27), date(2026, 12, 1))
    assert [d.day for d in days] == [date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1)]
    assert days[0].open == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


def broker_with_unchecked_keys(
    fake: FakeAlpaca, key: str, secret: str, **overrides: Any
) -> AlpacaBroker:
    """A broker on keys the settings never checked (`model_copy` does not validate).

    The settings refuse a key id with the other environment's prefix; should one get past
    them (a key of neither prefix behind a proxy), Alpaca's own 403 is the last guard.
    """
    fitting = KEY_PREFIXES[overrides.get("environment", "paper")] + "CHECKED"
    settings = settings_for(fake, api_key_id=fitting, **overrides).model_copy(
        update={"api_key_id": SecretStr(key), "api_secret_key": SecretStr(secret)}
    )
    env = BrokerEnvironment(account="main", state_dir=Path("/nonexistent"), clock=fake.state.now)
    return AlpacaBroker(settings, env)


@pytest.mark.parametrize(
    ("key", "secret", "words"),
    [
        ("PKWRONG", "wrong", "HTTP 401"),
        (LIVE_KEY_ID, LIVE_SECRET, "HTTP 403: forbidden); the key id looks like a live key"),
    ],
)
def test_rejected_keys_name_the_account_and_the_fix_never_the_key(
    fake: FakeAlpaca, key: str, secret: str, words: str
) -> None:
    broker = broker_with_unchecked_keys(fake, key, secret)
    with pytest.raises(CredentialsRejected) as caught:
        broker.check_account()
    text = str(caught.value)
    assert text.startswith("account main: Alpaca paper")
    assert words in text
    assert 'environment = "live"' in text
    assert key not in text
    assert secret not in text
    with pytest.raises(CredentialsRejected):
        broker.snapshot(["VTI"])
    broker.close()


def test_paper_keys_against_a_live_endpoint_are_refused_too(state: AlpacaState) -> None:
    with FakeAlpaca(state, environment="live") as live:
        broker = broker_with_unchecked_keys(live, KEY_ID, SECRET, environment="live")
        with pytest.raises(CredentialsRejected, match='environment = "paper"'):
            broker.check_account()
        broker.close()


@pytest.mark.parametrize(
    ("change", "symbol", "qty", "words"),
    [
        ("trading_blocked", "VTI", "1", "blocked trading"),
        ("account_blocked", "VTI", "1", "blocked the account"),
        (None, "NOPE", "1", "no symbol NOPE"),
        (None, "BND", "1.5", "only whole shares of BND"),
    ],
)
def test_bad_orders_are_refused_before_anything_is_sent(
    broker: AlpacaBroker,
    fake: FakeAlpaca,
    state: AlpacaState,
    change: str | None,
    symbol: str,
    qty: str,
    words: str,
) -> None:
    if change:
        setattr(state, change, True)
    broker.snapshot(())
    with fake.counting() as made, pytest.raises(OrderRejected, match=words) as caught:
        broker.submit(intent("tt-j-1", symbol, qty=qty))
    assert "account main" in caught.value.reason
    assert [r.method for r in made if r.method == "POST"] == []


def test_a_fraction_the_planner_did_not_round_is_floored_to_nine_decimals(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    broker.submit(intent("tt-k-1", qty="1.1234567891"))
    order = fake.state.find("tt-k-1")
    assert order is not None
    assert order.qty == D("1.123456789")


def test_an_unknown_or_untradable_target_symbol_has_no_quote_and_a_warning(
    broker: AlpacaBroker, state: AlpacaState
) -> None:
    state.assets["SCHD"].tradable = False
    with capture_logs() as logs:
        snapshot = broker.snapshot(["VTI", "NOPE", "SCHD"])
    assert "NOPE" not in snapshot.quotes
    warned = {(e["symbol"], e["problem"]) for e in logs if e["event"] == "alpaca_symbol_unusable"}
    assert warned == {("NOPE", "unknown at Alpaca"), ("SCHD", "not tradable (active)")}


def test_the_clock_is_asked_again_once_its_answer_expires(
    fake: FakeAlpaca, state: AlpacaState
) -> None:
    now = [datetime(2026, 11, 30, 20, 59, tzinfo=UTC)]
    state.clock = lambda: now[0]
    broker = make_broker(fake, clock=lambda: now[0])
    assert broker.snapshot(()).market_open is True
    now[0] += timedelta(minutes=2)  # 16:01 New York: past the close the clock announced
    assert broker.snapshot(()).market_open is False
    assert fake.count("GET", "/v2/clock") == 2
    broker.close()


def test_a_quantity_a_json_float_cannot_carry_is_refused_unsent(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    # alpaca-py sends qty as a binary float: 17 significant digits would arrive changed.
    with pytest.raises(OrderRejected, match="does not survive JSON"):
        broker.submit(intent("tt-l-1", qty="12345678.123456789"))
    assert fake.count("POST") == 0
