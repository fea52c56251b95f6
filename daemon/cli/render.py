"""Rich tables for plans, drift and orders; the same data `--json` prints."""

from __future__ import annotations

__all__ = ["household_json", "plan_json", "print_plan"]

from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from daemon.cli.common import styled
from daemon.core.domain import CASH
from daemon.core.money import cents, usd

if TYPE_CHECKING:
    from collections.abc import Sequence

    from daemon.core.household import HouseholdSplit
    from daemon.core.planner import Plan
    from daemon.core.risk import CheckDecision


def _pct(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def print_plan(
    console: Console, title: str, plan: Plan, *, price_label: str = "", synthetic: bool = False
) -> None:
    """Print the drift table and the orders of one plan."""
    drift = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in (
        "Symbol",
        "Qty",
        "Price",
        "Value",
        "Weight",
        "Target",
        "Band",
        "",
        "After",
        "Note",
    ):
        drift.add_column(column, justify="left" if column in ("Symbol", "Note", "") else "right")
    for row in plan.drift:
        band = "" if row.symbol == CASH or not row.managed else f"{_pct(row.low)}–{_pct(row.high)}"
        flag = Text("OUT", style="bold red") if row.out_of_band else ""
        drift.add_row(
            row.symbol,
            _qty(row.qty) if row.symbol != CASH else "",
            usd(row.price) if row.symbol != CASH else "",
            usd(row.value),
            _pct(row.weight),
            _pct(row.target) if row.managed else "keep",
            band,
            flag,
            _pct(row.weight_after),
            row.note,
        )
    console.print(drift)
    summary = (
        f"value {usd(plan.nav)}  cash {usd(plan.cash_before)} -> "
        f"{usd(plan.cash_after)}  rebalance {'triggered' if plan.triggered else 'not needed'}"
    )
    if price_label:
        summary += f"  prices: {price_label}"
    console.print(styled(summary, (" (SYNTHETIC)", "bold yellow") if synthetic else ""))
    for note in plan.notes:
        console.print(f"  note: {note}")
    if not plan.orders:
        console.print("no orders", style="green")
        return
    orders = Table(title="orders", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Side", "Symbol", "Qty", "Price", "Notional", "Reason"):
        orders.add_column(
            column, justify="right" if column in ("Qty", "Price", "Notional") else "left"
        )
    for order in plan.orders:
        orders.add_row(
            str(order.side).upper(),
            order.symbol,
            _qty(order.qty),
            usd(order.price),
            usd(order.notional),
            order.reason,
        )
    console.print(orders)


# A weight or band to a millionth (0.0001 %) says everything a person or a script needs;
# the planner's exact quotients run to 28 digits and come out as `0E-40` when zero.
WEIGHT_PLACES = Decimal("0.000001")


def _weight(value: Decimal) -> str:
    return _plain(value.quantize(WEIGHT_PLACES, rounding=ROUND_HALF_EVEN))


def _money(value: Decimal) -> str:
    return _plain(cents(value))


def _plain(value: Decimal) -> str:
    """Return `value` in positional notation (never `1E+3` or `0E-40`), without `-0`."""
    return f"{value:f}" if value != 0 else f"{abs(value):f}"


def _amount(value: Decimal) -> str:
    """A quantity or a price as given, trailing zeros dropped, never with an exponent."""
    return _plain(value.normalize())


def plan_json(plan: Plan, refusals: Sequence[CheckDecision] = ()) -> dict[str, Any]:
    """The documented JSON shape of a plan (see README, "Offline planning"), with every
    order the pre-trade checks refused (`Decision.refusals`: the sales that wait, set aside,
    and this plan's orders).

    Numbers are strings in positional notation: money to the cent, weights and bands to six
    decimal places (fractions of one), quantities and prices as the plan has them.
    """
    return {
        "orders": [
            {
                "symbol": o.symbol,
                "side": o.side,
                "qty": _amount(o.qty),
                "price": _amount(o.price),
                "notional": _money(o.notional),
                "reason": o.reason,
            }
            for o in plan.orders
        ],
        "drift": [
            {
                "symbol": r.symbol,
                "weight": _weight(r.weight),
                "target": _weight(r.target),
                "low": _weight(r.low),
                "high": _weight(r.high),
                "out_of_band": r.out_of_band,
                "managed": r.managed,
                "qty": _amount(r.qty),
                "qty_after": _amount(r.qty_after),
                "weight_after": _weight(r.weight_after),
                "note": r.note,
            }
            for r in plan.drift
        ],
        "nav": _money(plan.nav),
        "cash_before": _money(plan.cash_before),
        "cash_after": _money(plan.cash_after),
        "triggered": plan.triggered,
        "notes": list(plan.notes),
        "refusals": [
            {
                "symbol": d.symbol,
                "side": d.side,
                "qty": _amount(d.qty),
                "notional": _money(d.notional),
                "check": d.check,
                "reason": d.reason,
            }
            for d in refusals
        ],
    }


def household_json(split: HouseholdSplit) -> dict[str, Any]:
    """The household view of `trimtab plan --json` (docs/household.md, "What you see"): the
    household against its target, the per-account targets, each placement with its reason,
    and the notes. Numbers as in `plan_json`."""
    return {
        "value": _money(split.value),
        # "" when the fixed household.targets gave them, else the household strategy's name.
        "targets_from": split.targets_from,
        "reasons": dict(sorted(split.reasons.items())),
        "rows": [
            {
                "symbol": r.symbol,
                "value": _money(r.value),
                "weight": _weight(r.weight),
                "target": _weight(r.target),
                "planned": _weight(r.planned),
                "low": _weight(r.low),
                "high": _weight(r.high),
                "out_of_band": r.out_of_band,
                "by_type": {t: _money(v) for t, v in sorted(r.by_type.items())},
            }
            for r in split.rows
        ],
        "accounts": [
            {
                "account": a.account,
                "type": str(a.type),
                "value": _money(a.value),
                "targets": {s: _weight(w) for s, w in sorted(a.targets.items())},
            }
            for a in split.accounts
        ],
        "placements": [
            {
                "account": p.account,
                "symbol": p.symbol,
                "held": _money(p.held),
                "value": _money(p.value),
                "reason": p.reason,
                "choice": p.choice,
            }
            for p in split.placements
        ],
        "notes": list(split.notes),
    }
