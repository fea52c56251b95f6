"""The tax step's notes on the drift table and the plan: words a person reads, not enum values."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from daemon.core.domain import Side
from daemon.core.planner import DriftRow, Plan
from daemon.core.tax.plan_types import TaxAction
from daemon.core.tax.tax_step import apply_tax
from tests.fakes.tax_household import TODAY, D, Household, order, plan_of, settings

DAY = timedelta(days=1)


def _row(symbol: str, qty: int, price: int) -> DriftRow:
    value = D(qty * price)
    return DriftRow(
        symbol, D(qty), D(price), value, D("0.5"), D("0.5"), D("0.45"), D("0.55"),
        False, True, D(qty), D("0.5"), "",
    )  # fmt: skip


def _plan(*orders: tuple[Side, str, int, int]) -> Plan:
    plan = plan_of(*(order(side, symbol, qty, price) for side, symbol, qty, price in orders))
    drift = tuple(_row(symbol, 10, price) for _, symbol, _, price in orders)
    return dataclasses.replace(plan, drift=drift, nav=D(10_000))


def _bought_recently() -> Household:
    """VTI bought at 300 long ago, and again 5 days ago: a loss sale of VTI now is washed."""
    house = Household()
    house.buy("brokerage", "VTI", TODAY - 400 * DAY, 10, 3000)
    house.buy("brokerage", "VTI", TODAY - 5 * DAY, 1, 260)
    return house


def test_a_deferred_sale_says_so_in_words_with_the_day_it_can_sell() -> None:
    ctx = _bought_recently().context("brokerage", {"VTI": 250})
    taxed = apply_tax(_plan((Side.SELL, "VTI", 4, 250)), ctx)
    (decision,) = taxed.decisions
    assert decision.action is TaxAction.DEFERRED
    (row,) = taxed.plan.drift
    assert row.note == f"tax: sale deferred to {TODAY + 26 * DAY} (wash sale)"
    assert "VTI sale deferred" in taxed.plan.notes[-1]


def test_an_allowed_wash_names_the_disallowed_loss_and_the_window() -> None:
    ctx = _bought_recently().context(
        "brokerage", {"VTI": 250}, settings=settings(wash_sale={"loss_sales": "allow"})
    )
    taxed = apply_tax(_plan((Side.SELL, "VTI", 4, 250)), ctx)
    (row,) = taxed.plan.drift
    assert row.note == (
        f"tax: sold despite a wash sale ($50.00 disallowed), wash-sale window until "
        f"{TODAY + 25 * DAY}"
    )
    assert "allowed_wash" not in " ".join(taxed.plan.notes)


def test_every_action_has_words() -> None:
    for action in TaxAction:
        assert action.label
        assert "_" not in action.label
