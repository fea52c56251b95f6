"""Alpaca's `OrderAbsence`: its rule from the settings, and a listing that misses no order."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from tests.fakes.alpaca_server import FakeAlpaca, FakeOrder
from tests.fakes.alpaca_server.client import household, make_broker


def test_the_rule_is_the_configured_grace_and_a_listing() -> None:
    with FakeAlpaca(household()) as fake:
        broker = make_broker(fake, unknown_order_grace_seconds=120)
        rule = broker.absence_rule()
        broker.close()
    assert rule.grace == timedelta(seconds=120)
    assert rule.listing
    assert "unknown_order_grace_seconds" in rule.why


def test_the_listing_pages_through_orders_submitted_in_the_same_instant() -> None:
    """More than a page (500) of orders, many in one instant: each is listed once."""
    state = household()
    at = state.now()
    with state.lock:
        for n in range(620):
            when = at + timedelta(seconds=n // 300)  # 300 orders share each instant
            state.orders.append(
                FakeOrder(
                    id=str(uuid.uuid4()), client_order_id=f"c-{n}", symbol="VTI", side="buy",
                    type="market", time_in_force="day", qty=Decimal(1), notional=None,
                    limit_price=None, created_at=when, status="canceled", updated_at=when,
                )
            )  # fmt: skip
    with FakeAlpaca(state) as fake:
        broker = make_broker(fake)
        listed = broker.orders_submitted(at, at + timedelta(seconds=3))
        outside = broker.orders_submitted(at + timedelta(seconds=10), at + timedelta(seconds=20))
        broker.close()
    assert sorted(o.client_order_id for o in listed) == sorted(f"c-{n}" for n in range(620))
    assert outside == []
