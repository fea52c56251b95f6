"""The gains budget caps rebalancing sells; harvesting fires at and above its thresholds only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from daemon.core.domain import Side
from daemon.core.tax.harvest import stand_in_targets
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.tax_step import apply_tax
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)


def gains_household() -> Household:
    """Two long-term VTI lots with gains of $100 and $50 a share; one short-term BND lot."""
    house = Household()
    house.buy("brokerage", "VTI", TODAY - 800 * DAY, 10, 1500)  # 150/sh
    house.buy("brokerage", "VTI", TODAY - 500 * DAY, 10, 2000)  # 200/sh
    house.buy("brokerage", "BND", TODAY - 100 * DAY, 100, 6000)  # 60/sh
    return house


def test_no_budget_sells_everything_planned() -> None:
    ctx = gains_household().context("brokerage", {"VTI": 250, "BND": 70})
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 20, 250)), ctx)
    assert taxed.plan.orders[0].qty == 20
    assert taxed.preview.long_term_gain == D(1500)


def test_the_long_term_budget_caps_a_rebalancing_sell_and_says_why() -> None:
    ctx = gains_household().context(
        "brokerage", {"VTI": 250}, settings=settings(gains_budget={"long_term": "1200"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 20, 250)), ctx)
    # FIFO: 10 sh at +100 = 1,000, then 200 left buys 4 sh at +50.
    (sell,) = taxed.plan.orders
    assert sell.qty == 14
    assert taxed.preview.long_term_gain == D(1200)
    (decision,) = taxed.decisions
    assert decision.action is TaxAction.BUDGET
    assert "budget of $1,200" in decision.reason
    assert "cut to 14 sh" in sell.reason


def test_gains_realized_earlier_this_year_use_the_budget() -> None:
    house = gains_household()
    house.buy("brokerage", "VXUS", TODAY - 900 * DAY, 10, 500)
    house.sell("brokerage", "VXUS", TODAY - 20 * DAY, 10, 1400)  # +900 long-term
    ctx = house.context(
        "brokerage", {"VTI": 250}, settings=settings(gains_budget={"long_term": "1200"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 20, 250)), ctx)
    assert taxed.plan.orders[0].qty == 3  # 300 of room left at $100 a share


def test_an_exhausted_budget_drops_the_sell_and_cuts_the_buys_it_paid_for() -> None:
    ctx = gains_household().context(
        "brokerage",
        {"VTI": 250, "BND": 70, "VXUS": 50},
        settings=settings(gains_budget={"long_term": "0"}),
    )
    plan = plan_of(order(Side.SELL, "VTI", 20, 250), order(Side.BUY, "VXUS", 100, 50))
    taxed = apply_tax(plan, ctx)
    assert taxed.plan.orders == ()
    assert [d.action for d in taxed.decisions] == [TaxAction.BUDGET, TaxAction.FUNDING]
    assert taxed.plan.cash_after == taxed.plan.cash_before


def test_the_budget_is_per_term() -> None:
    ctx = gains_household().context(
        "brokerage", {"BND": 70}, settings=settings(gains_budget={"long_term": "0"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "BND", 50, 70)), ctx)
    assert taxed.plan.orders[0].qty == 50
    assert taxed.preview.short_term_gain == D(500)


def test_sells_that_raise_cash_are_never_capped() -> None:
    ctx = gains_household().context(
        "brokerage", {"VTI": 250}, settings=settings(gains_budget={"long_term": "0"})
    )
    raising = order(
        Side.SELL, "VTI", 20, 250, "VTI 50% vs target 40%: sell 20 sh to raise cash", raises=20
    )
    taxed = apply_tax(plan_of(raising), ctx)
    assert taxed.plan.orders[0].qty == 20


def test_a_budget_cut_keeps_the_shares_that_raise_cash() -> None:
    """A sell of 20 of which 8 raise cash, under a long-term budget of 0: the 12 that
    rebalance are cut, the 8 are sold."""
    ctx = gains_household().context(
        "brokerage", {"VTI": 250}, settings=settings(gains_budget={"long_term": "0"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 20, 250, raises=8)), ctx)
    (sold,) = taxed.plan.orders
    assert (sold.qty, sold.raises) == (8, 8)
    (cut,) = taxed.decisions
    assert (cut.qty_before, cut.qty_after) == (20, 8)
    assert "the 8 sh that raise cash are sold all the same" in cut.reason


def harvest_house(basis: str) -> Household:
    house = Household(groups=[["VTI", "VTSAX"]])
    house.buy("brokerage", "VTI", TODAY - 200 * DAY, 10, basis)
    return house


HARVEST = {
    "harvest": {"enabled": True, "min_loss_pct": "0.10", "min_loss_amount": "200"},
    "alternates": {"VTI": "ITOT"},
}


@pytest.mark.parametrize(
    ("basis", "fires"),
    [
        ("2000", True),  # loss 200 = 10.0% of basis: both thresholds met exactly
        ("2500", True),  # loss 700, 28%
        ("1999.99", False),  # loss 199.99: below the dollar threshold
        ("1900", False),  # loss 100
    ],
)
def test_harvest_fires_at_and_above_both_thresholds(basis: str, fires: bool) -> None:
    ctx = harvest_house(basis).context(
        "brokerage", {"VTI": 180, "ITOT": 90}, settings=settings(**HARVEST)
    )
    taxed = apply_tax(plan_of(), ctx)
    if fires:
        assert [(o.side, o.symbol, o.qty) for o in taxed.plan.orders] == [
            (Side.SELL, "VTI", 10),
            (Side.BUY, "ITOT", 20),
        ]
        assert taxed.harvest == {"VTI"}
        assert taxed.preview.harvested == Decimal(basis) - 1800
    else:
        assert taxed.plan.orders == ()


def test_harvest_needs_the_percentage_too() -> None:
    house = Household()
    house.buy("brokerage", "VTI", TODAY - 200 * DAY, 100, 20000)
    # Loss 1,000 on 20,000 is 5%: above $200 but below 10%.
    ctx = house.context("brokerage", {"VTI": 190, "ITOT": 90}, settings=settings(**HARVEST))
    assert apply_tax(plan_of(), ctx).plan.orders == ()


def test_harvest_is_off_unless_enabled() -> None:
    ctx = harvest_house("2500").context(
        "brokerage", {"VTI": 180, "ITOT": 90}, settings=settings(alternates={"VTI": "ITOT"})
    )
    assert apply_tax(plan_of(), ctx).plan.orders == ()


def test_harvest_respects_a_recent_purchase_of_the_group() -> None:
    house = harvest_house("2500")
    house.buy("spouse", "VTSAX", TODAY - 12 * DAY, 1, 100)
    ctx = house.context("brokerage", {"VTI": 180, "ITOT": 90}, settings=settings(**HARVEST))
    taxed = apply_tax(plan_of(), ctx)
    assert taxed.plan.orders == ()
    assert "would wash the loss" in taxed.decisions[0].reason


def test_harvest_needs_an_alternate_outside_any_window() -> None:
    house = harvest_house("2500")
    house.buy("brokerage", "ITOT", TODAY - 300 * DAY, 10, 1000)
    house.sell("brokerage", "ITOT", TODAY - 5 * DAY, 10, 900)
    ctx = house.context("brokerage", {"VTI": 180, "ITOT": 90}, settings=settings(**HARVEST))
    taxed = apply_tax(plan_of(), ctx)
    assert taxed.plan.orders == ()
    assert "ITOT is in a wash-sale window" in taxed.decisions[0].reason


def test_harvest_skips_a_symbol_the_plan_buys_in_its_group() -> None:
    ctx = harvest_house("2500").context(
        "brokerage", {"VTI": 180, "VTSAX": 90, "ITOT": 90}, settings=settings(**HARVEST)
    )
    taxed = apply_tax(plan_of(order(Side.BUY, "VTSAX", 5, 90)), ctx)
    assert [o.symbol for o in taxed.plan.orders] == ["VTSAX"]


def test_a_held_alternate_stands_in_for_its_primary_until_the_window_closes() -> None:
    house = harvest_house("2500")
    house.sell("brokerage", "VTI", TODAY - 10 * DAY, 10, 1800)
    house.buy("brokerage", "ITOT", TODAY - 10 * DAY, 20, 1800)
    tax = settings(
        alternates={"VTI": "ITOT"},
        harvest={"enabled": True, "return_to_primary": True},
    )
    book = house.book()
    args = ({"VTI": D("0.6"), "BND": D("0.4")}, {"ITOT": D(20)}, {"ITOT": D(90)}, D(1200))
    stood = stand_in_targets(
        *args,
        settings=tax,
        identical=house.identical,
        loss_windows=book.loss_windows(TODAY),
        today=TODAY,
    )
    assert stood.targets == {"VTI": D("0"), "ITOT": D("0.6"), "BND": D("0.4")}
    assert stood.pairs == {"ITOT": "VTI"}
    assert "ITOT stands in for VTI" in stood.notes[0]
    later = TODAY + 25 * DAY
    stood = stand_in_targets(
        *args,
        settings=tax,
        identical=house.identical,
        loss_windows=book.loss_windows(later),
        today=later,
    )
    assert stood.targets == {"VTI": D("0.6"), "BND": D("0.4")}
    assert stood.pairs == {}
    assert "returning to VTI" in stood.notes[0]
