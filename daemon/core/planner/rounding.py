"""Whole increments: from float amounts to order quantities, and back to exact Decimal orders.

This is the one place where the planner rounds. The rules, in order of precedence:

1. A sell never exceeds the holding; selling a whole holding sells exactly the held quantity,
   except in a symbol the broker takes in whole increments only (`Book.fraction_left`): there
   it sells the whole increments held, and the fraction stays. A holding is sold whole only
   where it may go to nothing (a target of 0, or past target for a cash need); down to a
   target above 0 its fraction of an increment stays.
2. Buys never spend cash below the cash floor: the final check is exact, in Decimal, and cuts
   buys (never adds them) until `cash_after >= floor`.
3. A trade never moves a holding away from its target: sells and buys are capped at the whole
   number of increments between the holding and its target. The one exception is a sell that
   raises a cash need (withdrawal or buffer): when nothing else is left to sell, it may go up to
   one increment past the target, because the owner asked for that cash; and no more
   increments are sold past targets than the need takes (`_sell_less`).
4. Orders below the minimum trade notional are dropped (the planner passes
   `PlanningPolicy.min_trade`, never under a cent: a sub-cent order is dust).

Float comparisons get a slack of `VALUE_TOLERANCE` of the managed value (never more than half
an increment), so an amount that is a whole number of increments in Decimal is one in float too.
"""

from __future__ import annotations

__all__ = [
    "CASH_SLACK",
    "Settled",
    "ceil_steps",
    "cut_to_budget",
    "exact_cash",
    "floor_steps",
    "large_enough",
    "room_to_buy",
    "room_to_sell",
    "sell_down",
    "settle",
    "spend_excess",
    "step_slack",
]

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.core.planner.book import Book

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]

CASH_SLACK = 1e-9
"""Increments by which an amount of cash may fall short of buying one and still buy it.

Only cancels float noise; the exact Decimal check in `settle` takes back anything overspent.
"""

_MIN_TRADE_SLACK = 1e-12
_ZERO = Decimal(0)
_ONE = Decimal(1)


def step_slack(unit_values: Floats, tolerance: float) -> Floats:
    """Return, per symbol, the float slack in increments (at most 0.49 of one)."""
    return np.minimum(0.49, tolerance / unit_values + CASH_SLACK)


def floor_steps(amount: Floats, unit_values: Floats, slack: Floats | float) -> Floats:
    """Return the whole increments that fit in `amount`."""
    return np.maximum(0.0, np.floor(amount / unit_values + slack))


def ceil_steps(amount: Floats, unit_values: Floats, slack: Floats | float) -> Floats:
    """Return the whole increments needed to cover `amount`."""
    return np.maximum(0.0, np.ceil(amount / unit_values - slack))


def room_to_sell(values: Floats, book: Book, slack: Floats, sold: Floats) -> Floats:
    """Return how many more increments can be sold without going below target or the holding."""
    room = floor_steps(values - book.target_values, book.unit_values, slack)
    return np.minimum(room, book.max_steps - sold)


def room_to_buy(values: Floats, book: Book, slack: Floats) -> Floats:
    """Return how many increments can be bought without going above target."""
    return floor_steps(book.target_values - values, book.unit_values, slack)


def large_enough(steps: Floats, unit_values: Floats, min_trade: float) -> Flags:
    """Return which orders of `steps` increments reach the minimum trade notional."""
    # Lenient by a hair: `settle` repeats the test exactly in Decimal.
    return steps * unit_values >= min_trade * (1.0 - _MIN_TRADE_SLACK)


def spend_excess(
    excess: Decimal,
    values: Floats,
    book: Book,
    *,
    slack: Floats,
    eligible: Flags,
    bought: Floats,
    min_trade: float,
) -> Floats:
    """Return increments to buy with `excess` cash, never past any target.

    Allocate in proportion to each holding's shortfall, then spend what rounding left over on
    the most underweight holdings, each taking the most whole increments that fit. What is
    left is counted exactly: float noise on it can exceed a small increment's price, and then
    planning again on the filled account would find that increment still affordable.
    """
    unit = book.unit_values
    room = np.where(eligible, room_to_buy(values, book, slack), 0.0)
    shortfall = np.where(room > 0, np.maximum(0.0, book.target_values - values), 0.0)
    total = float(shortfall.sum())
    if excess <= 0 or total <= 0:
        return np.zeros_like(values)
    share = shortfall * min(1.0, float(excess) / total)
    add = np.minimum(floor_steps(share, unit, CASH_SLACK), room)
    add = np.where(large_enough(bought + add, unit, min_trade), add, 0.0)
    left = _give_back(book, add, excess - _cost(book, add))

    after = values + add * unit
    room = np.where(eligible, room_to_buy(after, book, slack), 0.0)
    candidates = np.flatnonzero(room > 0)
    # Most underweight first; the stable sort keeps ties in symbol order.
    candidates = candidates[np.argsort(-(book.target_values - after)[candidates], kind="stable")]
    cheapest = float(unit[candidates].min()) if candidates.size else math.inf
    floor_trade = min_trade * (1.0 - _MIN_TRADE_SLACK)
    for i in candidates.tolist():
        if float(left) < cheapest * (1.0 - CASH_SLACK):
            break
        k = min(int(room[i]), int(left // book.unit_value[i]))
        if k < 1 or (bought[i] + add[i] + k) * unit[i] < floor_trade:
            continue
        add[i] += k
        left -= k * book.unit_value[i]
    return add


def _cost(book: Book, steps: Floats) -> Decimal:
    """Return what buying `steps` increments costs, exactly."""
    unit = book.unit_value
    counts = steps.tolist()
    return sum((int(counts[i]) * unit[i] for i in np.flatnonzero(steps).tolist()), _ZERO)


def _give_back(book: Book, add: Floats, left: Decimal) -> Decimal:
    """Undo increments of `add` (in place), largest first, until `left` is not negative."""
    for i in np.argsort(-add, kind="stable").tolist():
        if left >= 0 or add[i] <= 0:
            break
        unit = book.unit_value[i]
        less = min(int(add[i]), int((-left / unit).to_integral_value(rounding=ROUND_CEILING)))
        add[i] -= less
        left += less * unit
    return left


def sell_down(
    short: float,
    values: Floats,
    book: Book,
    *,
    slack: Floats,
    eligible: Flags,
    sold: Floats,
    sold_all: Flags,
    min_trade: float,
    past_target: bool = False,
    order: NDArray[np.intp] | None = None,
) -> tuple[Floats, Flags]:
    """Return more increments (and whole holdings) to sell, largest overweight first.

    Sell each holding down to its target before moving to the next, until `short` more cash is
    raised. With `past_target`, holdings may be sold below target (down to nothing): only a cash
    need the owner asked for may do that, and only for what rounding toward targets left short.
    `order`, when given, is the order to sell in instead (every index once).
    """
    unit = book.unit_values
    tol = book.tolerance
    steps = np.zeros_like(values)
    whole = np.zeros_like(sold_all)
    if order is None:
        order = np.argsort(-(values - book.target_values), kind="stable")
    floor_trade = min_trade * (1.0 - _MIN_TRADE_SLACK)
    chosen: list[int] = []
    for i in order:
        if short <= 0:
            break
        if not eligible[i] or sold_all[i] or values[i] <= 0:
            continue
        left = float(book.max_steps[i] - sold[i])
        # The broker refuses the fraction: what cannot be sold in whole increments stays.
        partial = bool(book.fraction_left[i])
        if partial and left < 1:
            continue
        # The whole holding, to its last fraction, only where it may go to nothing: past
        # target, or a target of 0. Down to a target above 0 the fraction stays (its whole
        # increments, all over the target, may be sold): selling it too went past the target,
        # and a holding of less than one increment (0.0095 sh in steps of 0.01, 93% against
        # 16.7%) was sold to nothing to fund a buy.
        to_nothing = past_target or book.target_values[i] <= tol
        if to_nothing:
            room = left
        else:
            over = (values[i] - book.target_values[i]) / unit[i] + slack[i]
            room = min(left, math.floor(over))
        first = sold[i] == 0
        # Within the slack a shortfall is float noise, except past target, where the caller
        # measures what is still missing exactly and comes back for it.
        k = math.ceil(short / unit[i] - (0.0 if past_target else slack[i]))
        if first:
            k = max(k, math.ceil(floor_trade / unit[i]))
        if k >= left and room >= left and not partial and to_nothing:
            if first and book.values[i] < floor_trade:
                continue
            whole[i] = True
            short -= float(values[i])
            chosen.append(int(i))
            continue
        k = min(k, int(room))
        if k < 1 or (first and k * unit[i] < floor_trade):
            continue
        steps[i] = k
        short -= k * float(unit[i])
        chosen.append(int(i))
    if past_target and short < -tol:
        _sell_less(-short, chosen, steps, whole, values, book, sold, floor_trade)
    return steps, whole


def _sell_less(
    over: float,
    chosen: list[int],
    steps: Floats,
    whole: Flags,
    values: Floats,
    book: Book,
    sold: Floats,
    floor_trade: float,
) -> None:
    """Sell less of what `sell_down` chose past target where the sales raised `over` more than
    asked, the last chosen first: the furthest over its target took all it could, and the
    one after it, for the cents left, a whole increment of its own, so the first need not
    have sold its last ones (once all five of a $55.73 holding and a $73.34 share for $112.31:
    $72.49 over, and the next plan bought one back). A sale is cut to whole increments, kept
    at the minimum trade where it is the symbol's first, or dropped; never below what is
    asked (the caller measures the cash exactly and comes back for float noise)."""
    unit = book.unit_values
    for i in reversed(chosen):
        amount = float(values[i]) if whole[i] else float(steps[i] * unit[i])
        # The fewest increments that still leave the sales at least what was asked (exactly
        # what was asked counts: within float noise of it, the caller's exact measure says).
        k = max(0, math.ceil((amount - over) / unit[i] - CASH_SLACK))
        if k and sold[i] == 0:
            k = max(k, math.ceil(floor_trade / unit[i]))
        left = float(book.max_steps[i] - sold[i])
        if k >= (left if whole[i] else steps[i]):
            continue
        whole[i] = False
        steps[i] = k
        over -= amount - k * float(unit[i])


def cut_to_budget(buys: Floats, budget: Floats | float, values: Floats, book: Book) -> Floats:
    """Return `buys` scaled down to cost at most `budget`, refilling the most underweight first.

    Within float noise of the budget counts as within it (`book.tolerance`, `CASH_SLACK`):
    `settle`'s exact check takes back what truly overspends. Without it, 9,548 shares at
    $1.02 summed to $9,738.960000000001 against $9,738.96 and were cut to 9,547, a hair
    outside the band the buy was sized to enter, and the next plan bought again.
    """
    unit = book.unit_values
    cost = float((buys * unit).sum())
    budget = float(budget)
    if cost <= 0 or cost <= budget + book.tolerance:
        return buys
    cut = np.floor(buys * (max(0.0, budget) / cost))
    left = budget - float((cut * unit).sum())
    after = values + cut * unit
    candidates = np.flatnonzero(buys > cut)
    candidates = candidates[np.argsort(-(book.target_values - after)[candidates], kind="stable")]
    for i in candidates:
        k = min(float(buys[i] - cut[i]), math.floor(left / unit[i] + CASH_SLACK))
        if k >= 1:
            cut[i] += k
            left -= k * float(unit[i])
    return cut


def exact_cash(book: Book, *, sells: Floats, sell_all: Flags, buys: Floats) -> Decimal:
    """Return the cash the increments so far would leave, exactly.

    Float cash carries noise of about 1e-16 of the account's value, which can be more than a
    whole small increment; what is left to spend is measured here instead.
    """
    cash = book.cash
    whole = sell_all.tolist()
    net = (sells - buys).tolist()
    unit = book.unit_value
    for i in np.flatnonzero((sells > 0) | sell_all | (buys > 0)).tolist():
        if whole[i]:
            cash += book.value[i] - int(buys[i]) * unit[i]
        else:
            cash += int(net[i]) * unit[i]
    return cash


@dataclass(frozen=True, slots=True)
class Settled:
    """Exact order quantities per symbol (0 for no order) and the cash they leave."""

    sell_qty: tuple[Decimal, ...]
    buy_qty: tuple[Decimal, ...]
    cash_after: Decimal
    dropped: frozenset[int]
    cut: frozenset[int]


def settle(
    book: Book,
    *,
    sells: Floats,
    sell_all: Flags,
    buys: Floats,
    cash_floor: Decimal,
    min_trade: Decimal,
) -> Settled:
    """Convert increments to Decimal quantities and enforce the money rules exactly.

    Drops orders below `min_trade`, then cuts buys, closest to target first, until the cash left
    is at least `cash_floor`. Buys are only ever made smaller here, so the result never spends
    more than the float plan did.
    """
    dropped: set[int] = set()
    cut: set[int] = set()
    sell_qty = [_ZERO] * book.size
    buy_qty = [_ZERO] * book.size
    cash = book.cash
    whole = sell_all.tolist()
    steps = sells.tolist()
    for i in np.flatnonzero((sells > 0) | sell_all).tolist():
        held = book.qty[i]
        qty = held if whole[i] else min(held, int(steps[i]) * book.increment[i])
        notional = qty * book.price[i]
        if notional < min_trade:
            dropped.add(i)
            continue
        sell_qty[i] = qty
        cash += notional
    steps = buys.tolist()
    wanted = np.flatnonzero(buys > 0).tolist()
    for i in wanted:
        qty = int(steps[i]) * book.increment[i]
        notional = qty * book.price[i]
        if notional < min_trade:
            dropped.add(i)
            continue
        buy_qty[i] = qty
        cash -= notional
    if cash < cash_floor and wanted:
        cash = _cut_buys(book, buy_qty, cash, cash_floor, min_trade, cut)
    return Settled(
        sell_qty=tuple(sell_qty),
        buy_qty=tuple(buy_qty),
        cash_after=cash,
        dropped=frozenset(dropped),
        cut=frozenset(cut),
    )


def _cut_buys(
    book: Book,
    buy_qty: list[Decimal],
    cash: Decimal,
    cash_floor: Decimal,
    min_trade: Decimal,
    cut: set[int],
) -> Decimal:
    """Shrink buys, closest to target first, until `cash >= cash_floor`; return the new cash."""
    nav = book.nav_f
    shortfall = {
        i: float(book.targets[i]) - float((book.qty[i] + q) * book.price[i]) / nav
        for i, q in enumerate(buy_qty)
        if q > 0
    }
    for i in sorted(shortfall, key=lambda j: (shortfall[j], j)):
        unit = book.increment[i] * book.price[i]
        # Decimal division rounds; step down again until the floor is met or the buy is gone.
        while cash < cash_floor and buy_qty[i] > 0:
            steps = ((cash_floor - cash) / unit).to_integral_value(rounding=ROUND_CEILING)
            less = min(buy_qty[i], max(steps, _ONE) * book.increment[i])
            qty = buy_qty[i] - less
            if qty * book.price[i] < min_trade:
                less, qty = buy_qty[i], _ZERO
            cash += less * book.price[i]
            buy_qty[i] = qty
            cut.add(i)
    return cash
