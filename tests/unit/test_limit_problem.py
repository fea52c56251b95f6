"""The limit-price rule every adapter refuses by before sending: one function, one table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.base import limit_problem
from daemon.core.domain import OrderIntent, OrderType, Side


def order(order_type: OrderType, limit: str | None) -> OrderIntent:
    return OrderIntent(
        client_order_id="c1",
        cycle_id="c",
        account="main",
        seq=1,
        symbol="VTI",
        side=Side.BUY,
        qty=Decimal(1),
        order_type=order_type,
        reason="test",
        limit_price=None if limit is None else Decimal(limit),
    )


@pytest.mark.parametrize(
    ("order_type", "limit", "says"),
    [
        (OrderType.LIMIT, "100.01", None),
        (OrderType.LIMIT, "1", None),
        (OrderType.LIMIT, "0.9999", None),  # below $1 the tick is $0.0001
        (OrderType.LIMIT, "0.0001", None),
        (OrderType.MARKET, None, None),
        (OrderType.LIMIT, None, "a limit order needs a positive limit price, got None"),
        (OrderType.LIMIT, "0", "needs a positive limit price, got 0"),
        (OrderType.LIMIT, "-5", "needs a positive limit price, got -5"),
        (OrderType.LIMIT, "NaN", "needs a positive limit price, got NaN"),
        (OrderType.LIMIT, "Infinity", "needs a positive limit price, got Infinity"),
        (OrderType.LIMIT, "100.001", "limit price 100.001 is not a multiple of the tick 0.01"),
        (OrderType.LIMIT, "1.005", "is not a multiple of the tick 0.01"),
        (OrderType.LIMIT, "0.99995", "limit price 0.99995 is not a multiple of the tick 0.0001"),
        (OrderType.MARKET, "10", "a market order must not carry a limit price"),
    ],
)
def test_limit_prices_on_the_tick_pass_and_others_name_the_problem(
    order_type: OrderType, limit: str | None, says: str | None
) -> None:
    problem = limit_problem(order(order_type, limit))
    if says is None:
        assert problem is None
    else:
        assert problem is not None
        assert says in problem
