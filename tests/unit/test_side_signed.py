"""`Side.signed`: the one place the sign of a side is written (fills, reconciliation, the tax
step's quantities after, the manual broker's positions, the validation's slippage)."""

from __future__ import annotations

from decimal import Decimal

from daemon.core.domain import Side


def test_a_buy_adds_and_a_sell_takes_away() -> None:
    assert Side.BUY.signed(Decimal("2.5")) == Decimal("2.5")
    assert Side.SELL.signed(Decimal("2.5")) == Decimal("-2.5")
    assert Side("sell").signed(Decimal(-1)) == Decimal(1)
