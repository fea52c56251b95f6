"""Harvesting stays within the gains budget, leaves alone a symbol whose sell the tax rules
held back, and reports one harvested figure: the net loss of its sales."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from daemon.core.domain import Side
from daemon.core.tax.plan_types import TaxAction, TaxContext, TaxedPlan
from daemon.core.tax.tax_step import apply_tax
from daemon.core.tax.types import SameDayReplacements
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)
PRICES = {"VTI": 100, "ITOT": 50, "VXUS": 60, "BND": 70}
HARVEST = {"enabled": True, "min_loss_pct": "0.05", "min_loss_amount": "200"}


def _house() -> Household:
    """The audit's VTI: 10 sh bought at $50 long ago (+$500 long-term at $100), 100 sh at $130
    a hundred days ago (-$3,000 short-term); BND 10 sh at $50 long ago (+$200 long-term)."""
    house = Household()
    house.buy("brokerage", "VTI", TODAY - 2000 * DAY, 10, 500)
    house.buy("brokerage", "VTI", TODAY - 100 * DAY, 100, 13000)
    house.buy("brokerage", "BND", TODAY - 2000 * DAY, 10, 500)
    return house


def _context(house: Household, **values: Any) -> TaxContext:
    values = {"alternates": {"VTI": "ITOT"}, "harvest": HARVEST, **values}
    return house.context("brokerage", PRICES, settings=settings(**values))


def _orders(taxed: TaxedPlan) -> list[tuple[Side, str, D]]:
    return [(o.side, o.symbol, o.qty) for o in taxed.plan.orders]


def test_a_harvest_realizing_a_capped_gain_beyond_the_budget_is_not_made() -> None:
    """FIFO relieves the old lot (+$500 long-term) with 90 of the loss shares: the long-term
    budget is $0. It used to be harvested all the same, realizing the $500."""
    ctx = _context(_house(), lot_method="fifo", gains_budget={"long_term": "0"})
    taxed = apply_tax(plan_of(order(Side.BUY, "VXUS", 1, 60)), ctx)
    assert _orders(taxed) == [(Side.BUY, "VXUS", 1)]
    (decision,) = taxed.decisions
    assert decision.action is TaxAction.HARVEST
    assert "$500 of long-term gains, $0.00 left in the year's gains budget" in decision.reason
    assert taxed.preview.long_term_gain == 0
    assert taxed.harvest == frozenset()


def test_the_budget_left_is_what_the_plan_s_sells_did_not_use() -> None:
    """A long-term budget of $600 holds the harvest's $500 alone; after the plan's sale of BND
    (+$200 long-term) only $400 is left."""
    ctx = _context(_house(), lot_method="fifo", gains_budget={"long_term": "600"})
    alone = apply_tax(plan_of(), ctx)
    assert alone.harvest == {"VTI"}
    assert alone.preview.long_term_gain == 500
    with_bnd = apply_tax(plan_of(order(Side.SELL, "BND", 10, 70)), ctx)
    assert _orders(with_bnd) == [(Side.SELL, "BND", 10)]
    assert with_bnd.harvest == frozenset()
    assert "$500 of long-term gains, $400 left" in with_bnd.decisions[-1].reason


def test_under_specific_a_harvest_of_loss_lots_only_fits_any_budget() -> None:
    ctx = _context(_house(), lot_method="specific", gains_budget={"long_term": "0"})
    taxed = apply_tax(plan_of(), ctx)
    assert _orders(taxed) == [(Side.SELL, "VTI", 100), (Side.BUY, "ITOT", 200)]
    assert taxed.preview.long_term_gain == 0
    assert taxed.preview.harvested == 3000


def test_a_sell_the_budget_dropped_is_not_harvested_instead() -> None:
    """The rebalancing sell of 100 VTI is cut to nothing by the long-term budget; the harvest
    used to sell the same 100 sh right after."""
    ctx = _context(_house(), lot_method="fifo", gains_budget={"long_term": "0"})
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 100, 100)), ctx)
    assert taxed.plan.orders == ()
    budget, harvest = taxed.decisions
    assert (budget.action, budget.qty_after) == (TaxAction.BUDGET, 0)
    assert harvest.reason == "not harvested: the tax rules held back the plan's sell of it"


def test_a_sell_the_wash_guard_deferred_is_not_harvested_instead() -> None:
    """A loss lot, and 10 sh bought 5 days ago at a smaller loss: selling the old lot alone is
    washed by the new one, and the guard defers it. A harvest of both lots is not washed (the
    new shares are sold too), but it would undo the guard's decision: not made in that plan."""
    house = Household(same_day=SameDayReplacements.EXCLUDE)
    house.buy("brokerage", "VTI", TODAY - 400 * DAY, 10, 1300)
    house.buy("brokerage", "VTI", TODAY - 5 * DAY, 10, 1100)
    ctx = _context(
        house,
        wash_sale={"loss_sales": "defer"},
        harvest={**HARVEST, "min_loss_amount": "50"},
    )
    alone = apply_tax(plan_of(), ctx)
    assert _orders(alone) == [(Side.SELL, "VTI", 20), (Side.BUY, "ITOT", 40)]
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 10, 100)), ctx)
    assert taxed.plan.orders == ()
    deferred, harvest = taxed.decisions
    assert deferred.action is TaxAction.DEFERRED
    assert harvest.reason == "not harvested: the tax rules held back the plan's sell of it"


def test_the_harvested_figure_is_the_net_loss_everywhere_in_the_plan() -> None:
    """Without a budget, the FIFO harvest realizes +$500 long-term and -$2,700 short-term:
    $2,200 harvested, in the decision and in the preview (which said $2,700)."""
    ctx = _context(_house(), lot_method="fifo")
    taxed = apply_tax(plan_of(), ctx)
    assert _orders(taxed) == [(Side.SELL, "VTI", 100), (Side.BUY, "ITOT", 200)]
    assert (taxed.preview.long_term_gain, taxed.preview.short_term_loss) == (500, 2700)
    assert taxed.preview.harvested == 2200
    (decision,) = taxed.decisions
    assert decision.reason.startswith("harvested a $2,200 loss on 100 VTI")
