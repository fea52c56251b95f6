"""Tables keep every column and every value whole at 80 and 100 columns (and narrower), and
`plan --json` prints numbers a person can read."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from rich import box
from rich.table import Table

from daemon.cli.common import PlainConsole
from daemon.cli.render import plan_json, print_plan
from daemon.cli.tables import fit
from daemon.core.planner import Band, Plan, PlanInput, PlanningPolicy, plan_rebalance

D = Decimal
WIDTHS = (100, 80, 60, 40)


def console_of(width: int) -> tuple[PlainConsole, io.StringIO]:
    out = io.StringIO()
    return PlainConsole(file=out, width=width, markup=False, color_system=None), out


def household_plan() -> Plan:
    return plan_rebalance(
        PlanInput(
            cash=D("1000.00"),
            holdings={"VTI": D(297), "VXUS": D(404), "BND": D("131.5")},
            prices={"VTI": D("184.87"), "VXUS": D("74.14"), "BND": D("98.53")},
            targets={"VTI": D("0.55"), "VXUS": D("0.30"), "BND": D("0.15")},
            withdrawal=D(0),
        ),
        PlanningPolicy(default_band=Band(absolute_pp=D(1))),
    )


def words(text: str) -> str:
    """The printed text without borders and line breaks: what a reader can piece together."""
    return re.sub(r"[\s│┃┏┓┗┛┡┩└┘├┤┼━─╇╈┳┻╋═╭╮╰╯]+", "", text)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_plan_tables_show_every_column_and_value_whole(width: int) -> None:
    plan = household_plan()
    assert plan.orders, "the case must print the orders table too"
    console, out = console_of(width)
    print_plan(console, "brokerage (brokerage:2026-12-04:1545)", plan, price_label="alpaca")
    text = out.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    lines = text.splitlines()
    for header in ("Symbol", "Qty", "Price", "Value", "Weight", "Target", "Band", "After"):
        assert any(header in line for line in lines), header
    for value in ("$184.87", "$74.14", "$98.53", "131.5", "297", "404", "$54,906.39"):
        # Whole on one line: a number is never folded or cut.
        assert any(value in line for line in lines), value
    for order in plan.orders:
        assert any(order.symbol in line and f"${order.notional:,.2f}" in line for line in lines)
        # A reason is text and may wrap, but every word of it is there.
        assert words(order.reason) in words(text)


def wide_table() -> Table:
    table = Table(title="orders on 2026-12-04 (America/New_York)", box=box.SIMPLE_HEAD)
    names = ("Time", "Account", "Client order id", "Slot", "Symbol", "Side", "Qty")
    for name in names:
        table.add_column(name, no_wrap=True)
    for name in ("Status", "Filled", "Avg", "Broker id", "Message"):
        table.add_column(name)
    table.add_row(
        "15:45:02",
        "brokerage",
        "tt-60f903074d5f10d6-001",
        "1545",
        "VXUS",
        "buy",
        "404",
        "filled",
        "404",
        "$74.16",
        "b7f1c2d4-1111-4f9a-9c77-0123456789ab",
        "insufficient buying power for the order as sized at the snapshot price",
    )
    return table


@pytest.mark.parametrize("width", WIDTHS)
def test_a_twelve_column_table_keeps_every_column(width: int) -> None:
    console, out = console_of(width)
    console.print(wide_table())
    text = out.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    flat = words(text)
    for value in (
        "Time",
        "Client order id".replace(" ", ""),
        "Message",
        "tt-60f903074d5f10d6-001",
        "b7f1c2d4-1111-4f9a-9c77-0123456789ab",
        "$74.16",
        "insufficientbuyingpowerfortheorderassizedatthesnapshotprice",
    ):
        assert value in flat, value
    # The id must not wrap: it is one line somewhere.
    assert any("tt-60f903074d5f10d6-001" in line for line in text.splitlines())


def test_a_table_that_fits_is_left_as_it_is() -> None:
    table = Table()
    table.add_column("A")
    table.add_row("1")
    console, _ = console_of(80)
    assert fit(table, console) is table
    assert table.columns[0].width is None


def test_too_narrow_for_columns_prints_labelled_blocks() -> None:
    console, out = console_of(50)
    console.print(wide_table())
    lines = out.getvalue().splitlines()
    assert lines[0] == "orders on 2026-12-04 (America/New_York)"
    assert any(line.startswith("Client order id tt-60f903074d5f10d6-001") for line in lines)
    assert any(line.startswith("Symbol") and "VXUS" in line for line in lines)


def test_plan_json_rounds_weights_and_money_without_exponents() -> None:
    plan = plan_rebalance(
        PlanInput(
            cash=D(1000),
            holdings={"VTI": D(7), "BND": D(0)},
            prices={"VTI": D("33.33"), "BND": D("71.17")},
            targets={"VTI": D("0.3333333333"), "BND": D("0.6666666667")},
            withdrawal=D(0),
        ),
        PlanningPolicy(default_band=Band(absolute_pp=D(5))),
    )
    assert any(len(str(r.weight_after)) > 30 for r in plan.drift), "the case needs long weights"
    data = plan_json(plan)
    bnd = next(r for r in data["drift"] if r["symbol"] == "BND")
    assert bnd["weight"] == "0.000000"  # was 0E-40
    assert bnd["target"] == "0.666667"
    vti = next(r for r in data["drift"] if r["symbol"] == "VTI")
    assert vti["weight"] == "0.189174"
    assert (data["nav"], data["cash_before"]) == ("1233.31", "1000.00")
    for row in data["drift"]:
        for key in ("weight", "target", "low", "high", "weight_after"):
            assert re.fullmatch(r"\d\.\d{6}", row[key]), (key, row[key])
    for order in data["orders"]:
        assert re.fullmatch(r"\d+\.\d\d", order["notional"])
        assert "E" not in order["qty"] + order["price"]
