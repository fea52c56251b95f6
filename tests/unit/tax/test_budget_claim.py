"""The sale of a holding with a target of 0 claims the gains budget before the plan's trims.

The budget's room went to the plan's sells in the plan's order (by symbol): a trim of a
holding still wanted could take it first and leave nothing for the sale of a holding the
strategy dropped, which then waited at a target of 0 (`daemon.core.held_back`) while the plan
made again without the trim left the room unused, cycle after cycle. And the decision said
"gains this year $1,467 + $145 from this sale against a budget of $1,717", leaving out what
the sales before it took: a cut that did not add up.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from daemon.core.domain import Side
from daemon.core.planner import DriftRow, Plan
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.tax_step import apply_tax
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)


def _row(symbol: str, qty: int, target: str) -> DriftRow:
    zero = Decimal(0)
    weight, goal = Decimal("0.5"), Decimal(target)
    return DriftRow(
        symbol, D(qty), D(100), D(qty * 100), weight, goal, goal, goal, True, True, zero,
        weight, "",
    )  # fmt: skip


def _plan(*, aaa_target: str, zzz_target: str) -> Plan:
    """Sell 10 AAA (+$300 short-term) and 10 ZZZ (+$200 short-term), in symbol order."""
    plan = plan_of(order(Side.SELL, "AAA", 10, 100), order(Side.SELL, "ZZZ", 10, 100))
    return Plan(
        orders=plan.orders,
        drift=(_row("AAA", 20, aaa_target), _row("ZZZ", 10, zzz_target)),
        nav=D(3000),
        cash_before=plan.cash_before,
        cash_after=plan.cash_after,
        triggered=True,
        notes=(),
    )


def _house() -> Household:
    house = Household()
    house.buy("brokerage", "AAA", TODAY - 100 * DAY, 20, 1400)
    house.buy("brokerage", "ZZZ", TODAY - 100 * DAY, 10, 800)
    return house


def test_the_sale_of_a_dropped_holding_takes_the_room_first() -> None:
    # A budget of $250: either sale fits alone, not both. ZZZ (target 0) is sold whole and
    # the trim of AAA is cut to the $50 left, though AAA comes first in the plan.
    ctx = _house().context(
        "brokerage",
        {"AAA": 100, "ZZZ": 100},
        settings=settings(gains_budget={"short_term": "250"}),
    )
    taxed = apply_tax(_plan(aaa_target="0.5", zzz_target="0"), ctx)
    sold = {o.symbol: o.qty for o in taxed.plan.orders}
    assert sold == {"AAA": 1, "ZZZ": 10}
    assert [o.symbol for o in taxed.plan.orders] == ["AAA", "ZZZ"]  # the plan's order kept
    (cut,) = taxed.decisions
    assert (cut.action, cut.symbol, cut.qty_before, cut.qty_after) == (
        TaxAction.BUDGET,
        "AAA",
        10,
        1,
    )
    # The reason adds up: $0 + $200 + $300 is over $250.
    assert cut.reason == (
        "sell of AAA cut from 10 to 1 sh: short-term gains this year $0.00 + $200 from the "
        "plan's sales before it + $300 from this sale against a budget of $250"
    )


def test_between_trims_the_plan_s_order_still_decides() -> None:
    # Both wanted: AAA, first, is cut to the 8 sh ($240) that fit, ZZZ to nothing.
    ctx = _house().context(
        "brokerage",
        {"AAA": 100, "ZZZ": 100},
        settings=settings(gains_budget={"short_term": "250"}),
    )
    taxed = apply_tax(_plan(aaa_target="0.5", zzz_target="0.5"), ctx)
    assert {o.symbol: o.qty for o in taxed.plan.orders} == {"AAA": 8}
    first, second = taxed.decisions
    assert (first.symbol, first.qty_after, second.symbol, second.qty_after) == ("AAA", 8, "ZZZ", 0)
    assert "this year $0.00 + $300 from this sale" in first.reason
    assert "this year $0.00 + $240 from the plan's sales before it + $200 from" in second.reason
