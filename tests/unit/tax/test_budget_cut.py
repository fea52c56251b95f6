"""The gains budget keeps the most shares whose net gain per capped term fits, not a prefix
up to the first lot that overflows (a later lot at a loss gives room back)."""

from __future__ import annotations

from datetime import timedelta

from daemon.core.domain import Side
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.tax_step import apply_tax
from daemon.core.tax.types import Term
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)


def _house(*lots: tuple[int, int, int]) -> Household:
    """VTI lots of (days ago, shares, cost), bought in that order."""
    house = Household()
    for days_ago, qty, cost in lots:
        house.buy("brokerage", "VTI", TODAY - days_ago * DAY, qty, cost)
    return house


def _net(house: Household, qty: D, term: Term) -> D:
    """The net gain of `term` a FIFO sale of `qty` VTI at $100 realizes (the engine's own)."""
    sale = house.book().preview_sale("brokerage", "VTI", qty, TODAY, qty * 100)
    return sale.gain_by_term(term)


def test_a_sale_whose_net_gain_fits_is_not_cut() -> None:
    """The audit's case: FIFO relieves lot A (+$500 long-term), then lot B (-$400): the whole
    sale realizes +$100 against a budget of $300. The old cut stopped inside A: 6 sh, +$300."""
    house = _house((3000, 10, 500), (1000, 10, 1400))
    ctx = house.context(
        "brokerage", {"VTI": 100}, settings=settings(gains_budget={"long_term": "300"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 20, 100)), ctx)
    (sell,) = taxed.plan.orders
    assert sell.qty == 20
    assert taxed.decisions == ()
    assert taxed.preview.long_term_gain - taxed.preview.long_term_loss == D(100)


def test_a_cut_goes_on_past_a_lot_at_a_loss() -> None:
    """A (+$500), B (-$400), C (+$500), budget $300: the whole sale realizes +$600. After A and
    B the sale stands at +$100, and 4 sh of C (+$50 each) bring it to the $300."""
    house = _house((3000, 10, 500), (1000, 10, 1400), (900, 10, 500))
    ctx = house.context(
        "brokerage", {"VTI": 100}, settings=settings(gains_budget={"long_term": "300"})
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 30, 100)), ctx)
    (sell,) = taxed.plan.orders
    assert sell.qty == 24
    (cut,) = taxed.decisions
    assert (cut.action, cut.qty_before, cut.qty_after) == (TaxAction.BUDGET, 30, 24)
    assert _net(house, D(24), Term.LONG) == D(300)
    assert taxed.preview.long_term_gain - taxed.preview.long_term_loss == D(300)


def test_a_cut_keeps_part_of_a_lot_in_the_account_s_increment() -> None:
    """Fractional shares: after A and B (+$100), $200 of room buys 4 sh of C; with C at a gain
    of $30 a share, 6.66 sh of it in steps of 0.01 (6.67 would realize $300.10)."""
    house = _house((3000, 10, 500), (1000, 10, 1400), (900, 10, 700))
    ctx = house.context(
        "brokerage",
        {"VTI": 100},
        settings=settings(gains_budget={"long_term": "300"}),
        increments={"VTI": "0.01"},
    )
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 30, 100)), ctx)
    (sell,) = taxed.plan.orders
    assert sell.qty == D("26.66")
    assert _net(house, D("26.66"), Term.LONG) <= 300


def test_a_sale_that_nets_a_loss_goes_ahead_when_the_year_is_over_budget() -> None:
    """$900 of long-term gains realized already against a budget of $500: a sale that relieves
    a lot at +$500 and then one at -$900 lowers the year's gains. It used to be dropped at its
    first lot."""
    house = _house((3000, 10, 500), (1000, 10, 1900))
    house.buy("brokerage", "VXUS", TODAY - 900 * DAY, 10, 500)
    house.sell("brokerage", "VXUS", TODAY - 20 * DAY, 10, 1400)
    ctx = house.context(
        "brokerage", {"VTI": 100}, settings=settings(gains_budget={"long_term": "500"})
    )
    assert ctx.realized[Term.LONG] == 900
    taxed = apply_tax(plan_of(order(Side.SELL, "VTI", 20, 100)), ctx)
    (sell,) = taxed.plan.orders
    assert sell.qty == 20
    assert taxed.decisions == ()
