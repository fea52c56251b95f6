"""Alpaca JSON -> trimtab types: strings to Decimal, unknown enums recorded, never fatal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.alpaca.parsing import (
    ParseError,
    Unknowns,
    parse_account,
    parse_asset,
    parse_calendar,
    parse_clock,
    parse_dividend,
    parse_fill,
    parse_order,
    parse_position,
    parse_quote,
)
from daemon.core.domain import OrderStatus, OrderType, Side

ORDER = {
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "tt-abc-1",
    "created_at": "2026-11-30T17:00:00.123456789Z",
    "submitted_at": "2026-11-30T17:00:00.123456789Z",
    "symbol": "VTI",
    "qty": "1.5",
    "filled_qty": "0",
    "filled_avg_price": None,
    "type": "market",
    "side": "buy",
    "time_in_force": "day",
    "status": "new",
    "limit_price": None,
}


def test_account_money_is_decimal_and_the_retired_pdt_fields_are_not_needed() -> None:
    info = parse_account(
        {
            "id": "x",
            "account_number": "PA1",
            "status": "ACTIVE",
            "cash": "1234.56",
            "buying_power": "1000.10",
            "equity": "5000",
            "trading_blocked": True,
        },
        Unknowns(),
    )
    assert info.cash == Decimal("1234.56")
    assert info.trading_blocked
    assert not info.account_blocked
    check = info.check("main", "live")
    assert check.environment == "live"
    assert check.problems == ("the broker has blocked trading",)


def test_an_unknown_account_status_is_recorded_and_not_active() -> None:
    unknowns = Unknowns()
    info = parse_account(
        {"status": "SOMETHING_NEW", "cash": "0", "buying_power": "0", "equity": "0"}, unknowns
    )
    assert unknowns.seen == [("account.status", "SOMETHING_NEW")]
    assert not info.check("main", "paper").active


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("new", "0", OrderStatus.ACCEPTED),
        ("pending_new", "0", OrderStatus.ACCEPTED),
        ("accepted", "0", OrderStatus.ACCEPTED),
        ("done_for_day", "0.5", OrderStatus.PARTIALLY_FILLED),
        ("pending_cancel", "0", OrderStatus.ACCEPTED),
        ("partially_filled", "0.5", OrderStatus.PARTIALLY_FILLED),
        ("filled", "1.5", OrderStatus.FILLED),
        ("canceled", "0", OrderStatus.CANCELLED),
        ("replaced", "0", OrderStatus.CANCELLED),
        ("expired", "0", OrderStatus.EXPIRED),
        ("rejected", "0", OrderStatus.REJECTED),
    ],
)
def test_order_statuses_map_to_the_domain(status: str, filled: str, expected: OrderStatus) -> None:
    order = parse_order({**ORDER, "status": status, "filled_qty": filled}, Unknowns())
    assert order.status is expected
    assert order.filled_qty == Decimal(filled)


def test_an_order_with_a_status_no_one_knows_is_unknown_and_recorded() -> None:
    unknowns = Unknowns()
    order = parse_order({**ORDER, "status": "pending_settlement", "type": "twap"}, unknowns)
    assert order.status is OrderStatus.UNKNOWN
    assert ("order.status", "pending_settlement") in unknowns.seen
    assert ("order.type", "twap") in unknowns.seen
    assert order.order_type is OrderType.MARKET


def test_order_fields_keep_nanosecond_times_and_decimal_prices() -> None:
    order = parse_order(
        {**ORDER, "type": "limit", "limit_price": "250.13", "filled_avg_price": "250.1"},
        Unknowns(),
    )
    assert order.order_type is OrderType.LIMIT
    assert order.limit_price == Decimal("250.13")
    assert order.submitted_at == datetime(2026, 11, 30, 17, 0, 0, 123456, tzinfo=UTC)


def test_a_notional_order_without_qty_reads_its_filled_quantity() -> None:
    order = parse_order({**ORDER, "qty": None, "notional": "100"}, Unknowns())
    assert order.qty == Decimal(0)


def test_an_order_side_that_is_neither_buy_nor_sell_is_refused() -> None:
    with pytest.raises(ParseError, match="side"):
        parse_order({**ORDER, "side": "both"}, Unknowns())


def test_a_short_position_is_negative() -> None:
    position = parse_position({"symbol": "VTI", "qty": "3", "side": "short"})
    assert position.qty == Decimal(-3)


def test_a_fill_activity_reads_the_docs_sample() -> None:
    fill = parse_fill(
        {
            "activity_type": "FILL",
            "cum_qty": "1",
            "id": "20190524113406977::8efc7b9a-8b2b-4000-9955-d36e7db0df74",
            "leaves_qty": "0",
            "price": "1.63",
            "qty": "1",
            "side": "buy",
            "symbol": "LPCN",
            "transaction_time": "2019-05-24T15:34:06.977Z",
            "order_id": "904837e3-3b76-47ec-b432-046db621571b",
            "type": "fill",
        },
        "tt-1",
    )
    assert (fill.side, fill.qty, fill.price) == (Side.BUY, Decimal(1), Decimal("1.63"))
    assert fill.at == datetime(2019, 5, 24, 15, 34, 6, 977000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("DIV", "dividend"), ("DIVNRA", "withholding"), ("DIVREINV", "reinvestment")],
)
def test_dividend_activities(code: str, kind: str) -> None:
    dividend = parse_dividend(
        {
            "activity_type": code,
            "id": "x::1",
            "date": "2019-08-01",
            "net_amount": "1.02",
            "symbol": "T",
            "qty": "2",
            "per_share_amount": "0.51",
        }
    )
    assert (dividend.kind, dividend.on, dividend.net_amount) == (
        kind,
        date(2019, 8, 1),
        Decimal("1.02"),
    )


def test_an_asset_on_an_exchange_no_one_knows_is_still_read() -> None:
    unknowns = Unknowns()
    asset = parse_asset(
        {"symbol": "NEW", "status": "active", "tradable": True, "fractionable": True,
         "exchange": "ASCX2", "class": "crypto_perp"},
        unknowns,
    )  # fmt: skip
    assert asset.tradable
    assert asset.fractionable
    assert ("asset.exchange", "ASCX2") in unknowns.seen
    assert ("asset.class", "crypto_perp") in unknowns.seen


def test_the_calendar_is_new_york_wall_clock() -> None:
    (day,) = parse_calendar([{"date": "2024-07-03", "open": "09:30", "close": "13:00"}])
    assert day.open.astimezone(UTC) == datetime(2024, 7, 3, 13, 30, tzinfo=UTC)
    assert day.close.astimezone(UTC) == datetime(2024, 7, 3, 17, 0, tzinfo=UTC)


def test_the_clock_answer_expires_at_the_next_open_or_close() -> None:
    clock = parse_clock(
        {"is_open": True, "next_open": "2024-01-03T09:30:00-05:00",
         "next_close": "2024-01-02T16:00:00-05:00"}
    )  # fmt: skip
    assert clock.open_at(datetime(2024, 1, 2, 20, 59, tzinfo=UTC)) is True
    assert clock.open_at(datetime(2024, 1, 2, 21, 0, tzinfo=UTC)) is None


def test_a_quote_takes_the_previous_close_from_before_the_trade_day() -> None:
    snapshot = {
        "latestTrade": {"t": "2024-01-02T15:00:00Z", "p": 101.5},
        "latestQuote": {"t": "2024-01-02T15:00:01Z", "ap": 101.6, "bp": 101.4},
        "dailyBar": {"t": "2024-01-02T05:00:00Z", "c": 101.5},
        "prevDailyBar": {"t": "2023-12-29T05:00:00Z", "c": 99.0},
    }
    trade = parse_quote("VTI", snapshot, price="trade", feed="iex")
    assert trade is not None
    assert (trade.price, trade.previous_close) == (Decimal("101.5"), Decimal("99.0"))
    mid = parse_quote("VTI", snapshot, price="mid", feed="iex")
    assert mid is not None
    assert mid.price == Decimal("101.5")
    assert mid.source == "alpaca:iex:mid"
    # Before the open, the latest trade is yesterday's: its close is the daily bar's day.
    early = {**snapshot, "latestTrade": {"t": "2024-01-02T00:30:00Z", "p": 101.5}}
    before_open = parse_quote("VTI", early, price="trade", feed="iex")
    assert before_open is not None
    assert before_open.previous_close == Decimal("99.0")


def test_a_snapshot_without_a_trade_gives_no_quote() -> None:
    assert parse_quote("VTI", None, price="trade", feed="iex") is None
    assert parse_quote("VTI", {"latestTrade": None}, price="trade", feed="iex") is None


@given(st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(10**9), places=9))
def test_any_alpaca_quantity_string_reads_back_exactly(qty: Decimal) -> None:
    position = parse_position({"symbol": "VTI", "qty": str(qty), "side": "long"})
    assert position.qty == qty


@pytest.mark.parametrize("bad", [None, "", "abc", "NaN", True])
def test_a_money_field_that_is_not_a_number_names_the_field(bad: object) -> None:
    with pytest.raises(ParseError, match=r"account\.cash"):
        parse_account(
            {"status": "ACTIVE", "cash": bad, "buying_power": "0", "equity": "0"}, Unknowns()
        )
