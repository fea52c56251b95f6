"""The planner's wash-sale guards, each policy, against a real replay of a household's trades."""

from __future__ import annotations

from datetime import timedelta

import pytest

from daemon.core.domain import AccountType, Side
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.tax_step import apply_tax
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)


def loss_sold(days_ago: int, *, account: str = "brokerage", symbol: str = "VTI") -> Household:
    """VTI bought at 300 long ago and sold at a 50/share loss `days_ago` days before TODAY."""
    house = Household(groups=[["VTI", "VTSAX"]])
    house.account("brokerage")
    house.account("spouse", owner="spouse")
    house.account("ira", AccountType.TRADITIONAL_IRA)
    house.buy(account, symbol, TODAY - 400 * DAY, 10, 3000)
    house.sell(account, symbol, TODAY - days_ago * DAY, 10, 2500)
    return house


@pytest.mark.parametrize("days_ago", [0, 1, 30])
def test_a_buy_inside_the_window_after_a_loss_sale_is_blocked(days_ago: int) -> None:
    house = loss_sold(days_ago)
    ctx = house.context("brokerage", {"VTI": 250})
    taxed = apply_tax(plan_of(order(Side.BUY, "VTI", 4, 250)), ctx)
    assert taxed.plan.orders == ()
    (decision,) = taxed.decisions
    assert decision.action is TaxAction.BLOCKED
    assert decision.until == TODAY - days_ago * DAY + 30 * DAY
    assert "would wash it" in decision.reason


def test_on_day_31_the_buy_goes_through() -> None:
    house = loss_sold(31)
    taxed = apply_tax(
        plan_of(order(Side.BUY, "VTI", 4, 250)), house.context("brokerage", {"VTI": 250})
    )
    assert [o.symbol for o in taxed.plan.orders] == ["VTI"]
    assert taxed.decisions == ()


def test_a_substantially_identical_symbol_is_blocked_in_another_account() -> None:
    house = loss_sold(5)
    ctx = house.context("spouse", {"VTSAX": 100})
    taxed = apply_tax(plan_of(order(Side.BUY, "VTSAX", 10, 100)), ctx)
    assert taxed.plan.orders == ()
    assert taxed.decisions[0].action is TaxAction.BLOCKED


def test_redirect_buys_the_alternate_for_the_same_money() -> None:
    house = loss_sold(5)
    ctx = house.context(
        "brokerage",
        {"VTI": 250, "ITOT": 120},
        settings=settings(wash_sale={"buys": "redirect"}, alternates={"VTI": "ITOT"}),
    )
    taxed = apply_tax(plan_of(order(Side.BUY, "VTI", 4, 250)), ctx)
    (redirected,) = taxed.plan.orders
    assert (redirected.symbol, redirected.qty, redirected.notional) == ("ITOT", 8, D(960))
    assert taxed.decisions[0].action is TaxAction.REDIRECTED
    assert taxed.decisions[0].alternate == "ITOT"


def test_redirect_to_an_alternate_in_the_same_group_is_refused() -> None:
    house = loss_sold(5)
    ctx = house.context(
        "brokerage",
        {"VTI": 250, "VTSAX": 100},
        settings=settings(wash_sale={"buys": "redirect"}, alternates={"VTI": "VTSAX"}),
    )
    taxed = apply_tax(plan_of(order(Side.BUY, "VTI", 4, 250)), ctx)
    assert taxed.plan.orders == ()
    assert "substantially identical" in taxed.decisions[0].reason


def test_an_ira_buy_after_a_taxable_loss_is_always_blocked_even_with_redirect() -> None:
    house = loss_sold(3)
    ctx = house.context(
        "ira",
        {"VTI": 250, "ITOT": 120},
        settings=settings(wash_sale={"buys": "redirect"}, alternates={"VTI": "ITOT"}),
    )
    taxed = apply_tax(plan_of(order(Side.BUY, "VTI", 4, 250)), ctx)
    assert taxed.plan.orders == ()
    assert taxed.decisions[0].action is TaxAction.BLOCKED
    assert "lost for good" in taxed.decisions[0].reason


def test_a_loss_already_washed_in_full_opens_no_window() -> None:
    house = loss_sold(10)
    house.buy("spouse", "VTI", TODAY - 5 * DAY, 10, 2500)
    taxed = apply_tax(
        plan_of(order(Side.BUY, "VTI", 4, 250)), house.context("brokerage", {"VTI": 250})
    )
    assert len(taxed.plan.orders) == 1


def recently_bought(*, where: str = "spouse", days_ago: int = 10) -> Household:
    """Brokerage holds VTI at a loss; the group was bought `days_ago` days ago in `where`."""
    house = Household(groups=[["VTI", "VTSAX"]])
    house.account("brokerage")
    house.account("spouse", owner="spouse")
    house.account("ira", AccountType.ROTH_IRA)
    house.buy("brokerage", "VTI", TODAY - 400 * DAY, 10, 3000)
    house.buy("brokerage", "VTI", TODAY - 300 * DAY, 10, 2000)
    house.buy(where, "VTSAX", TODAY - days_ago * DAY, 5, 500)
    return house


@pytest.mark.parametrize("where", ["spouse", "ira", "brokerage"])
def test_a_loss_sale_after_a_household_purchase_is_deferred(where: str) -> None:
    house = recently_bought(where=where)
    ctx = house.context("brokerage", {"VTI": 250, "VTSAX": 100})
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 10, 250)), ctx)
    assert taxed.plan.orders == ()
    (decision,) = taxed.decisions
    assert decision.action is TaxAction.DEFERRED
    assert decision.disallowed == D(250)  # FIFO sells the $300 lot: 5 replacements x $50
    assert decision.until == TODAY - 10 * DAY + 31 * DAY


def test_allow_keeps_the_sale_and_shows_the_disallowed_loss() -> None:
    house = recently_bought()
    ctx = house.context(
        "brokerage", {"VTI": 250}, settings=settings(wash_sale={"loss_sales": "allow"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 10, 250)), ctx)
    assert len(taxed.plan.orders) == 1
    assert taxed.decisions[0].action is TaxAction.ALLOWED
    assert taxed.preview.disallowed == D(250)
    assert taxed.preview.long_term_loss == D(250)  # the $500 loss less what is washed


def test_choose_other_lots_sells_the_gain_lot_instead() -> None:
    house = recently_bought()
    ctx = house.context(
        "brokerage",
        {"VTI": 250},
        settings=settings(lot_method="specific", wash_sale={"loss_sales": "choose_other_lots"}),
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 10, 250)), ctx)
    (sell,) = taxed.plan.orders
    assert sell.qty == 10
    assert taxed.decisions[0].action is TaxAction.OTHER_LOTS
    ((picked,),) = [taxed.lots["VTI"]]
    assert picked.source_id == "t2"  # bought at 200: a gain at 250
    assert taxed.preview.disallowed == 0
    assert taxed.preview.short_term_gain == D(500)  # held 300 days


def test_choose_other_lots_sells_less_when_gain_lots_are_short() -> None:
    house = recently_bought()
    ctx = house.context(
        "brokerage",
        {"VTI": 250},
        settings=settings(lot_method="specific", wash_sale={"loss_sales": "choose_other_lots"}),
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 15, 250)), ctx)
    (sell,) = taxed.plan.orders
    assert sell.qty == 10
    assert taxed.decisions[0].qty_after == 10


def test_a_gain_sale_is_never_guarded() -> None:
    house = recently_bought()
    ctx = house.context("brokerage", {"VTI": 400})
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 10, 400)), ctx)
    assert len(taxed.plan.orders) == 1
    assert taxed.decisions == ()
    assert taxed.preview.long_term_gain == D(1000)


def test_a_purchase_31_days_ago_does_not_defer_the_sale() -> None:
    house = recently_bought(days_ago=31)
    taxed = apply_tax(
        plan_of(order(Side.SELL, "VTI", 10, 250)), house.context("brokerage", {"VTI": 250})
    )
    assert len(taxed.plan.orders) == 1
    assert taxed.preview.long_term_loss == D(500)


def test_a_loss_sell_blocks_a_buy_of_its_group_in_the_same_plan() -> None:
    house = Household(groups=[["VTI", "VTSAX"]])
    house.buy("brokerage", "VTI", TODAY - 400 * DAY, 10, 3000)
    plan = plan_of(order(Side.SELL, "VTI", 10, 250), order(Side.BUY, "VTSAX", 20, 100))
    taxed = apply_tax(plan, house.context("brokerage", {"VTI": 250, "VTSAX": 100}))
    assert [(o.side, o.symbol) for o in taxed.plan.orders] == [(Side.SELL, "VTI")]
    assert taxed.decisions[0].action is TaxAction.BLOCKED


def test_an_ira_sale_is_not_guarded() -> None:
    house = Household(groups=[["VTI", "VTSAX"]])
    house.account("ira", AccountType.TRADITIONAL_IRA)
    house.buy("ira", "VTI", TODAY - 400 * DAY, 10, 3000)
    house.buy("ira", "VTI", TODAY - 3 * DAY, 1, 250)
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 10, 250)), house.context("ira", {"VTI": 250}))
    assert len(taxed.plan.orders) == 1
    assert taxed.decisions == ()


def test_a_sell_without_recorded_lots_is_let_through_and_said_so() -> None:
    house = Household()
    house.buy("brokerage", "BND", TODAY - 10 * DAY, 1, 70)
    taxed = apply_tax(
        plan_of(order(Side.SELL, "VTI", 10, 250)), house.context("brokerage", {"VTI": 250})
    )
    assert len(taxed.plan.orders) == 1
    assert taxed.decisions[0].action is TaxAction.UNKNOWN_BASIS


@pytest.mark.parametrize("policy", ["defer", "choose_other_lots"])
def test_a_sell_that_raises_cash_is_allowed_not_deferred(policy: str) -> None:
    house = recently_bought()
    method = "specific" if policy == "choose_other_lots" else "fifo"
    ctx = house.context(
        "brokerage",
        {"VTI": 250},
        settings=settings(lot_method=method, wash_sale={"loss_sales": policy}),
    )
    raising = order(
        Side.SELL, "VTI", 15, 250, "VTI 50% vs target 40%: sell 15 sh to raise cash", raises=15
    )
    taxed = apply_tax(plan_of(raising), ctx)
    assert taxed.plan.orders[0].qty == 15
    assert taxed.decisions[0].action is TaxAction.ALLOWED
    assert "raises cash" in taxed.decisions[0].reason
    assert taxed.preview.disallowed > 0


def test_a_sell_that_rebalances_and_raises_cash_still_sells_the_raising_shares() -> None:
    """A sell of 15 of which 5 raise a withdrawal: the defer policy holds back the 10 that
    rebalance, never the 5 (before, the whole sell was deferred and the cash not raised)."""
    house = recently_bought()
    ctx = house.context("brokerage", {"VTI": 250})
    both = order(Side.SELL, "VTI", 15, 250, "VTI 50% vs target 40%: sell 15 sh", raises=5)
    taxed = apply_tax(plan_of(both), ctx)
    (sold,) = taxed.plan.orders
    assert (sold.qty, sold.raises) == (5, 5)
    assert "only the shares that raise cash" in sold.reason
    deferred, allowed = taxed.decisions
    assert deferred.action is TaxAction.DEFERRED
    assert (deferred.qty_before, deferred.qty_after) == (15, 5)
    assert "the 5 sh that raise cash are sold all the same" in deferred.reason
    assert allowed.action is TaxAction.ALLOWED
    assert "raises cash" in allowed.reason
    assert taxed.plan.cash_after == 5 * 250


def test_a_mixed_sell_the_rules_let_through_goes_whole() -> None:
    house = recently_bought(days_ago=31)  # no purchase in the window: nothing to defer
    taxed = apply_tax(
        plan_of(order(Side.SELL, "VTI", 15, 250, raises=5)),
        house.context("brokerage", {"VTI": 250}),
    )
    (sold,) = taxed.plan.orders
    assert (sold.qty, sold.raises) == (15, 5)
    assert taxed.decisions == ()


def test_each_deferred_sell_waits_for_its_own_groups_last_open_purchase() -> None:
    house = Household(groups=[["VTI", "VTSAX"]])
    house.account("brokerage")
    house.account("spouse", owner="spouse")
    house.account("ira", AccountType.TRADITIONAL_IRA)
    house.buy("brokerage", "VTI", TODAY - 400 * DAY, 10, 3000)
    house.buy("brokerage", "BND", TODAY - 400 * DAY, 10, 1000)
    house.buy("spouse", "VTSAX", TODAY - 12 * DAY, 5, 500)
    house.buy("spouse", "VTSAX", TODAY - 10 * DAY, 5, 500)
    house.buy("ira", "BND", TODAY - 20 * DAY, 5, 400)
    # Bought and sold again: no shares left to wash anything, so its window does not count.
    house.buy("ira", "VTI", TODAY - 3 * DAY, 2, 500)
    house.sell("ira", "VTI", TODAY - 2 * DAY, 2, 500)
    ctx = house.context("brokerage", {"VTI": 250, "BND": 80, "VTSAX": 100})
    taxed = apply_tax(
        plan_of(order(Side.SELL, "VTI", 10, 250), order(Side.SELL, "BND", 10, 80)), ctx
    )
    assert taxed.plan.orders == ()
    assert [(d.symbol, d.action, d.until) for d in taxed.decisions] == [
        ("VTI", TaxAction.DEFERRED, TODAY - 10 * DAY + 31 * DAY),
        ("BND", TaxAction.DEFERRED, TODAY - 20 * DAY + 31 * DAY),
    ]


def test_two_sells_of_one_group_are_each_checked_against_all_its_replacements() -> None:
    # Each sell is previewed on its own, as if it were the only one: both see the spouse's
    # five VTSAX shares, so both are deferred with $50 x 5 disallowed. (Previewed together,
    # the first loss would take the five shares and the second sell would go through.)
    house = Household(groups=[["VTI", "VTSAX"]])
    house.account("brokerage")
    house.account("spouse", owner="spouse")
    house.buy("brokerage", "VTI", TODAY - 400 * DAY, 10, 3000)
    house.buy("brokerage", "VTSAX", TODAY - 380 * DAY, 10, 1500)
    house.buy("spouse", "VTSAX", TODAY - 10 * DAY, 5, 500)
    ctx = house.context("brokerage", {"VTI": 250, "VTSAX": 100})
    taxed = apply_tax(
        plan_of(order(Side.SELL, "VTI", 10, 250), order(Side.SELL, "VTSAX", 10, 100)), ctx
    )
    assert taxed.plan.orders == ()
    assert [(d.symbol, d.action, d.disallowed) for d in taxed.decisions] == [
        ("VTI", TaxAction.DEFERRED, D(250)),
        ("VTSAX", TaxAction.DEFERRED, D(250)),
    ]
