"""What Alpaca's order report says of an end trimtab did not ask for: an expiry, a rejection.

Alpaca's order object has no reason field; its `expired_at`/`failed_at` and what filled are
the broker's whole account of it, and become the recorded detail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.alpaca.parsing import Unknowns, parse_order
from daemon.core.domain import OrderStatus

ORDER: dict[str, Any] = {
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "tt-abc-1",
    "created_at": "2026-11-30T20:59:30.1Z",
    "submitted_at": "2026-11-30T20:59:30.1Z",
    "symbol": "VTI",
    "qty": "5",
    "filled_qty": "2",
    "filled_avg_price": "99.9",
    "type": "limit",
    "limit_price": "100.5",
    "side": "buy",
    "time_in_force": "day",
    "status": "expired",
    "expired_at": "2026-11-30T21:00:00Z",
    "failed_at": None,
}


def test_an_expired_order_says_when_and_how_much_had_filled() -> None:
    order = parse_order(ORDER, Unknowns())
    assert (order.status, order.filled_qty) == (OrderStatus.EXPIRED, Decimal(2))
    assert order.message == (
        "expired at Alpaca at 2026-11-30T21:00:00+00:00 (time in force day); 2 of 5 filled"
    )


def test_an_expired_dollar_amount_order_names_the_amount() -> None:
    raw = {**ORDER, "qty": None, "notional": "500", "type": "market", "limit_price": None}
    assert parse_order(raw, Unknowns()).message.endswith("; 2 of $500 filled")


def test_a_rejection_says_when_and_that_alpaca_gives_no_reason() -> None:
    raw = {**ORDER, "status": "rejected", "filled_qty": "0", "filled_avg_price": None,
           "expired_at": None, "failed_at": "2026-11-30T17:00:00.06Z"}  # fmt: skip
    order = parse_order(raw, Unknowns())
    assert order.status is OrderStatus.REJECTED
    assert order.message == (
        "rejected by Alpaca at 2026-11-30T17:00:00+00:00; Alpaca's order gives no reason"
    )


@pytest.mark.parametrize("stamp", [None, "", "yesterday", 17])
def test_a_missing_or_unreadable_time_only_leaves_the_time_out(stamp: object) -> None:
    order = parse_order({**ORDER, "status": "rejected", "failed_at": stamp}, Unknowns())
    assert order.status is OrderStatus.REJECTED
    assert order.message == "rejected by Alpaca; Alpaca's order gives no reason"


@pytest.mark.parametrize("status", ["new", "accepted", "partially_filled", "filled", "canceled"])
def test_other_statuses_carry_no_message(status: str) -> None:
    assert parse_order({**ORDER, "status": status, "expired_at": None}, Unknowns()).message == ""
