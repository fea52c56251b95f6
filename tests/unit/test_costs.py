"""`daemon.core.costs.TradeCosts`: the bounds on what a broker takes, worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.domain import Side

D = Decimal
SIM = TradeCosts(slippage_bps=D(10), per_order=D("4.95"), per_share=D("0.01"))
IB = TradeCosts(per_share=D("0.01"), minimum=D(1), sale_fee_fraction=D("0.0001"))


@pytest.mark.parametrize(
    ("costs", "qty", "commission"),
    [
        (NO_COSTS, D(500), D(0)),
        (SIM, D(1), D("4.96")),
        (SIM, D("0.333"), D("4.96")),  # 4.95333 rounded up to the cent
        (IB, D(7), D("1.00")),  # the minimum
        (IB, D(250), D("2.50")),
    ],
)
def test_the_commission_is_per_order_plus_per_share_at_least_the_minimum(
    costs: TradeCosts, qty: Decimal, commission: Decimal
) -> None:
    assert costs.commission(qty) == commission
    assert costs.buy_charge_bound(qty) == commission


def test_fills_are_slipped_then_put_on_the_tick_against_the_trader() -> None:
    assert SIM.fill_bound(Side.BUY, D("100.00")) == D("100.10")
    assert SIM.fill_bound(Side.SELL, D("100.00")) == D("99.90")
    assert SIM.fill_bound(Side.BUY, D("10.001")) == D("10.02")  # 10.011001 up to the cent
    # No slippage: a quote between ticks (a bid-ask midpoint) still fills on one.
    assert NO_COSTS.fill_bound(Side.BUY, D("9.995")) == D("10.00")
    assert NO_COSTS.fill_bound(Side.SELL, D("9.995")) == D("9.99")
    assert NO_COSTS.fill_bound(Side.BUY, D("0.43215")) == D("0.4322")  # the sub-dollar tick


def test_a_sale_loses_its_slippage_rounding_commission_and_fees() -> None:
    # 12.5 sh at 80.00: fills at 79.92, proceeds 999.00 (exactly), 1,000 at the quote.
    assert SIM.sale_cost_bound(D("12.5"), D("80.00")) == D("1.00") + D("5.08")
    # No costs but cent rounding: 3 sh at 0.3333 bring in 0.99 of 0.9999.
    assert NO_COSTS.sale_cost_bound(D(3), D("0.3333")) == D("0.0099")
    # IB: commission 1.00 (the minimum) and the fee 0.0001 x 500.00 = 0.05.
    assert IB.sale_cost_bound(D(5), D("100.00")) == D("1.05")
    fees = TradeCosts(sale_fee_per_share=D("0.0003"))
    assert fees.sale_cost_bound(D(10), D("50.00")) == D("0.01")  # 0.003 up to the cent
