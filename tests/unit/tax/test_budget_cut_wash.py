"""A sell the gains budget cuts must not become a washed sale (a sibling of issue 13's case)."""

from __future__ import annotations

from datetime import timedelta

from daemon.core.domain import Side
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.tax_step import apply_tax
from daemon.core.tax.types import SameDayReplacements
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)


def _household() -> Household:
    """VTI: 10 shares at 130 long ago (a loss at 100), 20 at 70 five days ago (a gain)."""
    house = Household(same_day=SameDayReplacements.EXCLUDE)
    house.buy("brokerage", "VTI", TODAY - 200 * DAY, 10, 1300)
    house.buy("brokerage", "VTI", TODAY - 5 * DAY, 20, 1400)
    return house


def test_a_cut_that_would_be_washed_is_deferred() -> None:
    house = _household()
    budget = {"short_term": "100"}
    ctx = house.context("brokerage", {"VTI": 100}, settings=settings(gains_budget=budget))
    # The whole sale relieves both lots: the recent shares are sold, so they replace nothing.
    whole = house.book().preview_sale("brokerage", "VTI", D(30), TODAY, D(3000))
    assert whole.disallowed == 0
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 30, 100)), ctx)
    assert taxed.plan.orders == ()
    budget_cut, deferred = taxed.decisions
    assert budget_cut.action is TaxAction.BUDGET
    assert deferred.action is TaxAction.DEFERRED
    # The cut that fits the budget once its wash counts: 13 sh, all 300 of the loss disallowed.
    assert deferred.qty_before == 13
    assert deferred.disallowed == 300
    assert "left after the gains budget would be washed" in deferred.reason


def test_with_washes_allowed_the_cut_goes_ahead_and_says_what_is_disallowed() -> None:
    house = _household()
    ctx = house.context(
        "brokerage",
        {"VTI": 100},
        settings=settings(gains_budget={"short_term": "100"}, wash_sale={"loss_sales": "allow"}),
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 30, 100)), ctx)
    (sell,) = taxed.plan.orders
    # 23 sh fit before washes (-300 + 13 x 30 = 90), but leave 7 recent shares held: 210 of
    # the loss disallowed, 300 of gain reported against a budget of 100. 13 sh report 90.
    assert sell.qty == 13
    assert [d.action for d in taxed.decisions] == [TaxAction.BUDGET, TaxAction.ALLOWED]
    assert taxed.preview.disallowed == 300
    assert taxed.preview.short_term_gain == 90
