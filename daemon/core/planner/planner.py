"""Plan the orders that bring an account back to its target allocation.

Pure: no clock, no I/O, no logging; the same input always gives the same plan, ties broken by
symbol name.

Semantics
---------
- Managed value N = cash + reserved cash + the value of every holding not in `keep` and not
  left unsold (below). Weights are fractions of N. Reserved cash (held by the broker's open
  buys, `PlanInput.reserved_cash`) is never spent: "cash" below, and every cash floor, is the
  spendable cash alone. The CASH drift row shows both, its note naming the reserved part.
  `keep` holdings are reported (managed=False) and never traded. A holding that is neither
  in the targets nor in `keep` has target 0 and is sold entirely (with `buy_only` it stays,
  and its drift row says so). In a symbol the broker takes in whole shares only
  (`whole_shares_only`) "entirely" is every whole share: a fraction held besides stays, and
  a plan note and the drift row say so.
- A held holding with a target of 0 (not in a stand-in pool) whose sale would be worth less
  than the minimum trade (all of it, or its whole shares where the broker takes whole shares
  only: 0.37 sh at IB) is left unsold (`Book.unsold`): no order could sell it, so it is out
  of N, as a `keep` holding is, sets off no rebalance, and a plan note and its drift row
  (managed=False) say why. (Counted in N at a target of 0, it was out of band on every plan,
  so every cycle rebalanced the account around it, and its money, counted as there to invest,
  kept the others short of their targets.) A plan in which its sale reaches the minimum trade
  (its price rose) sells it as any target-0 holding.
- Cash target C* = max(w_CASH * N, cash_buffer + withdrawal). When the buffer and withdrawal
  need more than w_CASH * N, the other targets are scaled down in proportion so everything
  still sums to N; drift rows show these effective targets and a plan note says why.
- Band half-width of a symbol = the smaller of absolute_pp / 100 and relative * target (of
  those given, around the effective target); low = max(0, target - h), high = target + h.
  A weight below low or above high (by more than `BAND_TOLERANCE`) is out of band; a held
  symbol with target 0 always is (unless left unsold: then it is not managed).
- A primary and the tax alternates standing in for it (`PlanInput.stand_ins`) are one holding
  for that test (`daemon.core.planner.bands`): their weights added up against their targets
  added up, with the primary's band; each is out of band when the pool is. Each row's band
  is its own target plus or minus the pool's half-width. `target` trades each leg to its own
  target. `band_edge` trades an out-of-band pool as a whole to the pool's edge (the pool's
  target plus or minus the primary's half-width, or `inner_band` of the way from there):
  what it is over that edge is sold from the legs above their own targets, what it is under
  bought for the legs below theirs, each leg at most to its own target, the primary first,
  then the alternates furthest from their targets (the tax step redirects or blocks a buy of
  the primary inside its wash-sale window). Excess and leftover cash buy a pool's legs only
  up to the pool's target; raising cash (phase A) and the funding trims take from a pool only
  what it holds above its target (the raise ranking it by that), and the trims never take from
  a pool the rebalance buys. (Traded leg by leg, a primary whose capped alternate took all
  of its target was sold whole, two alternates over their targets each kept a whole
  half-width, and a raise sold a standing alternate from a pool under its target.)
- Phase A, cash flows (always): cash above C* buys underweight holdings, in proportion to
  their shortfall and never past target, before anything is sold. Cash below cash_buffer +
  withdrawal is raised by selling overweight holdings, largest overweight first, each down to
  its target. What rounding to whole increments leaves short is taken from the holding furthest
  above its target, even past it (the owner asked for that cash); the spec's pro-rata step can
  only ever cover such residue, because the overweights add up to at least the need whenever
  the account can cover it at all. Holdings in `raise_without` are not sold for it. With
  `buy_only` cash is raised only up to the withdrawal
  (cash on hand counts toward it first; a plan note says selling happened for it) and a
  buffer shortfall sells nothing.
- Phase B, rebalance, only when a managed holding is out of band after phase A. `target`
  trades every holding to its target. `band_edge` trades each out-of-band holding to its band
  edge, or `inner_band` of the way from there to the target; buys are paid from cash above its
  floor, from those sells and, if short, from trimming the largest overweights toward target.
  `buy_only` never sells here; the drift rows say which holdings stay out of band and why.
- Leftover cash above C* after both phases (measured exactly, in Decimal) is spent on
  underweight holdings that were not sold, never past target: in proportion to shortfall,
  then greedily on the most underweight, so planning again on the filled account (same
  prices, same withdrawal) gives no orders. A holding is never both bought and sold.
- Every holding that ends outside its band, or (after a rebalance to target) more than one
  increment from target, gets a drift note saying why: buy_only, minimum trade, not enough
  cash, sold below target to raise cash, or an increment too coarse to land inside the band.
- The minimum trade is `min_trade_notional`, and never less than a cent (`SMALLEST_ORDER`,
  `PlanningPolicy.min_trade`): with 0 configured, the fraction of a cent a sale rounded up to
  whole increments raises beyond a withdrawal would otherwise buy "0.0001 sh ($0.00)".
- Rounding, cash floors and the minimum trade are applied by `daemon.core.planner.rounding`: buys
  never take cash below max(cash_buffer + withdrawal, min(cash, C*)) and, when even selling
  everything cannot cover cash_buffer + withdrawal, the plan only sells.
- `triggered` is true when a managed holding was out of band before the plan; the drift rows'
  `out_of_band` is that same test per holding.
"""

from __future__ import annotations

__all__ = ["plan_rebalance"]

from decimal import Context, Decimal, localcontext

import numpy as np
from numpy.typing import NDArray

from daemon.core.money import money
from daemon.core.planner.bands import Pools, outside_band
from daemon.core.planner.book import Book, open_book
from daemon.core.planner.drift import assemble
from daemon.core.planner.reasons import FRACTION_LEFT, Origin, Why, quantity, unsold_note
from daemon.core.planner.rounding import (
    ceil_steps,
    cut_to_budget,
    exact_cash,
    large_enough,
    room_to_buy,
    room_to_sell,
    sell_down,
    settle,
    spend_excess,
    step_slack,
)
from daemon.core.planner.types import Plan, PlanInput, PlanningPolicy
from daemon.core.planner.validate import validate_plan_input
from daemon.core.planner.work import Work

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]

# Enough digits for a quantity times a price summed over many holdings, whatever context the
# caller's thread has set.
_CONTEXT = Context(prec=40)
_ZERO = Decimal(0)


def plan_rebalance(inp: PlanInput, policy: PlanningPolicy) -> Plan:
    """Validate `inp` and return the plan that brings it back to its targets."""
    validate_plan_input(inp, policy)
    with localcontext(_CONTEXT):
        book = open_book(inp, policy)
        return _plan(book, policy)


def _plan(book: Book, policy: PlanningPolicy) -> Plan:
    nav = book.nav_f
    weights = book.values / nav if nav > 0 else np.zeros(book.size)
    out_before = outside_band(weights, book.limits, book.targets)
    work = Work.start(book)
    notes = _target_notes(book)
    floor = _cash_floor(book)
    if nav > 0:
        slack = step_slack(book.unit_values, book.tolerance)
        _cash_flows(work, policy, slack, notes)
        # What phase A sold raises cash; the rebalance may sell more of the same symbols.
        raised = (work.sells.copy(), work.sell_all.copy())
        rebalanced = _rebalance(work, policy, slack, floor, notes)
        _invest_leftover(work, policy, slack)
    else:
        # Nothing to plan with: say so on every symbol that has a target to reach.
        work.flag(book.targets > 0, Why.NO_CASH)
        raised = (work.sells.copy(), work.sell_all.copy())
        rebalanced = False
    settled = settle(
        book,
        sells=work.sells,
        sell_all=work.sell_all,
        buys=work.buys,
        cash_floor=floor,
        min_trade=policy.min_trade,
    )
    for i in settled.dropped:
        work.why[i] |= Why.MIN_TRADE
    for i in settled.cut:
        work.why[i] |= Why.NO_CASH
    _fractions_left(work, settled.sell_qty, notes)
    notes += _unsold_notes(book, policy)
    raise_to = _raise_to(book, policy)
    if settled.cash_after < raise_to <= book.nav:
        notes.append(f"could not raise cash to {money(raise_to)}")
    return assemble(
        book,
        policy,
        settled=settled,
        out_before=out_before,
        rebalanced=rebalanced,
        why=work.why,
        origin=work.origin,
        raised=raised,
        dropped=work.dropped,
        notes=notes,
    )


def _fractions_left(work: Work, sold: tuple[Decimal, ...], notes: list[str]) -> None:
    """Flag, and note, the holdings with target 0 whose fraction the broker refuses to take.

    Their whole shares are sold; the fraction stays (the broker's own process, or a person,
    sells it), rather than an order for all of it being refused every cycle.
    """
    book = work.book
    stuck = book.fraction_left & (book.target_values <= book.tolerance)
    if not stuck.any():
        return
    work.flag(stuck, Why.FRACTION)
    for i in np.flatnonzero(stuck).tolist():
        if sold[i] > 0 or book.max_steps[i] == 0:
            left = quantity(book.qty[i] % book.increment[i])
            notes.append(f"{book.symbols[i]}: {left} sh left unsold: {FRACTION_LEFT}")


def _unsold_notes(book: Book, policy: PlanningPolicy) -> list[str]:
    """Say which held holdings with a target of 0 are left unsold, and why (`Book.unsold`)."""
    notes = []
    for u in book.unsold:
        _, note = unsold_note(
            qty=u.qty,
            price=u.price,
            sellable=u.sellable,
            whole_only=u.whole_only,
            min_trade=policy.min_trade_words,
        )
        notes.append(f"{u.symbol}: {note}")
    return notes


def _raise_to(book: Book, policy: PlanningPolicy) -> Decimal:
    """Return the cash level phase A sells up to.

    With `buy_only` that is the withdrawal alone (and what its sales lose to costs): cash on
    hand counts toward it first, and the buffer is not refilled by selling. (Raising the
    withdrawal on top of a short buffer would find the buffer short again on the next run and
    sell again.)
    """
    return book.withdrawal + book.sale_costs if policy.buy_only else book.cash_need


def _cash_floor(book: Book) -> Decimal:
    """Return the cash level buys must leave: the need, or cash if below target, or C*."""
    return max(book.cash_need, min(book.cash, book.cash_target))


def _target_notes(book: Book) -> list[str]:
    notes: list[str] = []
    if book.scaled:
        notes.append(
            f"cash target raised to {money(book.cash_target)} to cover the cash buffer and "
            f"withdrawal ({money(book.cash_need)}); the other targets were scaled by "
            f"{_ratio(book.target_scale)} to make room"
        )
    if book.cash_need > book.nav:
        notes.append(
            f"cash buffer and withdrawal ({money(book.cash_need)}) exceed the managed value "
            f"({money(book.nav)}): only sells are planned"
        )
    return notes


def _ratio(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.0001")).normalize(), "f")


def _cash_flows(work: Work, policy: PlanningPolicy, slack: Floats, notes: list[str]) -> None:
    """Phase A: spend cash above its target, or raise the buffer and withdrawal."""
    book = work.book
    tol = book.tolerance
    min_trade = float(policy.min_trade)
    excess = book.cash - book.cash_target
    need = _raise_to(book, policy) - book.cash
    if policy.buy_only and need > 0:
        notes.append(f"buy_only, but selling to raise the {money(book.withdrawal)} withdrawal")
    if policy.buy_only and max(book.cash, book.withdrawal) < book.cash_need:
        notes.append("buy_only: cash below the cash buffer is not refilled by selling")
    if excess > 0:
        add = spend_excess(
            excess,
            _room_values(work, buying=True),
            book,
            slack=slack,
            eligible=np.ones(book.size, dtype=bool),
            bought=work.buys,
            min_trade=min_trade,
        )
        work.buy(add, Origin.EXCESS)
    elif need > 0:
        notes.append(f"raising {money(need)} of cash, largest overweights first")
        _raise_cash(work, float(need), _raise_to(book, policy), slack, min_trade)
        sold = (work.sells > 0) | work.sell_all
        work.flag(sold & (work.values < book.target_values - tol), Why.RAISED)


def _raise_cash(
    work: Work, need: float, raise_to: Decimal, slack: Floats, min_trade: float
) -> None:
    """Sell overweights down to target for `need`, then past target for what rounding left.

    A pool of a primary and its standing alternates is one holding: it ranks by what the pool
    holds over the pool's target and, down to targets, sells only that, from the legs in
    `_room_values`' order (the primary first). Leg by leg, a standing alternate was over its
    own target whenever the targets were scaled for cash, so it was sold from a pool under its
    target while another holding stayed over its own.
    """
    book = work.book
    past_target = False
    short = need
    # Three rounds at most: the first down to targets, then past them for the exact remainder
    # (a second round past target only ever covers Decimal dust).
    for _ in range(3):
        steps, whole = sell_down(
            short,
            work.values if past_target else _room_values(work, buying=False),
            book,
            slack=slack,
            eligible=(work.values > 0) & book.raises_from,
            sold=work.sells,
            sold_all=work.sell_all,
            min_trade=min_trade,
            past_target=past_target,
            # Past targets, what rounding left is raised leg by leg, furthest over its own
            # target first, as the rebalance after it counts them: ranked as pools there, a
            # primary under its own target was sold while an alternate stayed over its own,
            # and the next plan bought it back.
            order=None if past_target else _raise_order(work),
        )
        work.sell(steps, whole, Origin.RAISE)
        missing = raise_to - exact_cash(
            book, sells=work.sells, sell_all=work.sell_all, buys=work.buys
        )
        if missing <= 0 or (past_target and not (steps.any() or whole.any())):
            return
        short, past_target = float(missing), True


def _raise_order(work: Work) -> NDArray[np.intp] | None:
    """Return the order `_raise_cash` sells in, pools as one holding; None when none stands in.

    Largest overweight first, a pool's being the pool's value over the pool's target; within a
    pool the primary, then the alternates furthest over their own targets (ties in symbol
    order), as `_room_values` gives them the pool's room.
    """
    book = work.book
    pools = book.limits.pools
    if pools is None:
        return None
    values, target = work.values, book.target_values
    over = pools.add_up(values) - pools.add_up(target)
    gap = values - target
    of = pools.of.tolist()
    # Sort keys: the pool's overweight (largest first), the pool, then primary before its
    # alternates, furthest over first.
    keys = [
        (-float(over[pool]), pool, i != pool, -float(gap[i]) if i != pool else 0.0, i)
        for i, pool in enumerate(of)
    ]
    return np.array([k[-1] for k in sorted(keys)], dtype=np.intp)


def _rebalance(
    work: Work, policy: PlanningPolicy, slack: Floats, floor: Decimal, notes: list[str]
) -> bool:
    """Phase B: trade out-of-band holdings back; return whether anything was out of band."""
    book = work.book
    out = outside_band(work.values / book.nav_f, book.limits, book.targets)
    if not out.any():
        return False
    names = ", ".join(np.asarray(book.symbols)[out][:10])
    more = f" and {int(out.sum()) - 10} more" if out.sum() > 10 else ""
    notes.append(f"out of band: {names}{more}; rebalancing to {policy.rebalance_to}")
    sells, whole, buys = _wanted(work, policy, out, slack)
    _trade(work, policy, sells=sells, whole=whole, buys=buys, slack=slack, floor=floor)
    return True


def _wanted(
    work: Work, policy: PlanningPolicy, out: Flags, slack: Floats
) -> tuple[Floats, Flags, Floats]:
    """Return the increments phase B would sell and buy, and the holdings it would sell whole.

    Flags the holdings it cannot bring back: `buy_only` blocks the sell, or no whole number of
    increments lands inside the band.
    """
    book = work.book
    unit = book.unit_values
    target = book.target_values
    room_s = room_to_sell(work.values, book, slack, work.sells)
    room_b = room_to_buy(work.values, book, slack)
    zero_target = (target <= book.tolerance) & (work.values > 0)
    # Where the broker refuses the fraction, `room_s` already sells every whole increment.
    sell_whole = zero_target & ~book.fraction_left
    if policy.rebalance_to == "target":
        sells, whole, buys = room_s, sell_whole, room_b
    else:
        edge = _edge_values(book, work.values, float(policy.inner_band))
        over = out & (work.values > target)
        under = out & (work.values < target)
        sells = np.where(over, np.minimum(ceil_steps(work.values - edge, unit, slack), room_s), 0)
        whole = over & sell_whole
        buys = np.where(under, np.minimum(ceil_steps(edge - work.values, unit, slack), room_b), 0)
        if book.limits.pools is not None:
            _pools_to_edge(
                work, policy, book.limits.pools, out, slack, sells=sells, whole=whole, buys=buys
            )
    if policy.buy_only:
        work.flag(((sells > 0) | whole) & ~work.sell_all, Why.BUY_ONLY)
    # A holding is never bought and sold in one plan, whichever phase came first.
    can_sell = (work.buys == 0) & ~work.sell_all & (not policy.buy_only)
    sells = np.where(can_sell, sells, 0.0)
    whole = whole & can_sell
    buys = np.where((work.sells > 0) | work.sell_all, 0.0, buys)
    landing = np.where(whole, 0.0, work.values - sells * unit + buys * unit)
    coarse = out & outside_band(landing / book.nav_f, book.limits, book.targets)
    work.flag(coarse, Why.INCREMENT)
    return sells, whole, buys


def _trade(
    work: Work,
    policy: PlanningPolicy,
    *,
    sells: Floats,
    whole: Flags,
    buys: Floats,
    slack: Floats,
    floor: Decimal,
) -> None:
    """Record phase B's trades: minimum trade, funding trims (band_edge), then the cash limit."""
    book = work.book
    unit = book.unit_values
    min_trade = float(policy.min_trade)
    notional = np.where(whole, book.values, (work.sells + sells) * unit)
    small = work.drop_small((sells > 0) | whole, notional, min_trade)
    work.sell(np.where(small, 0.0, sells), whole & ~small, Origin.REBALANCE)
    small = work.drop_small(buys > 0, (work.buys + buys) * unit, min_trade)
    buys = np.where(small, 0.0, buys)

    budget = float(work.spare(floor))
    short = float((buys * unit).sum()) - budget
    if policy.rebalance_to == "band_edge" and not policy.buy_only and short > 0:
        # A whole holding it sells is a leg of a pool with a target of 0 (`_room_values`):
        # other holdings with a target of 0 were sold whole by the rebalance already.
        steps, whole = sell_down(
            short,
            _room_values(work, buying=False),
            book,
            slack=slack,
            eligible=(work.buys == 0) & _pooled(book, buys == 0),
            sold=work.sells,
            sold_all=work.sell_all,
            min_trade=min_trade,
        )
        work.sell(steps, whole, Origin.FUND)
        budget = float(work.spare(floor))
    kept = cut_to_budget(buys, budget, work.values, book)
    small = (kept > 0) & ~large_enough(work.buys + kept, unit, min_trade)
    work.flag((kept < buys) | small, Why.NO_CASH)
    work.buy(np.where(small, 0.0, kept), Origin.REBALANCE)


def _edge_values(book: Book, values: Floats, inner: float) -> Floats:
    """Return the value each out-of-band holding is traded to in `band_edge` mode."""
    t = book.targets
    low, high = book.limits.low, book.limits.high
    above = t + (1.0 - inner) * (high - t)
    below = low + inner * (t - low)
    weight = np.where(values > book.target_values, above, below)
    return np.where(t > 0, weight, 0.0) * book.nav_f


def _pools_to_edge(
    work: Work,
    policy: PlanningPolicy,
    pools: Pools,
    out: Flags,
    slack: Floats,
    *,
    sells: Floats,
    whole: Flags,
    buys: Floats,
) -> None:
    """Trade each out-of-band pool of more than one symbol as a whole to the pool's edge.

    Overwrites, in place, the `band_edge` trades of the pool's members (`sells`, `whole`,
    `buys`). A pool is a primary and the alternates standing in for it
    (`PlanInput.stand_ins`): its edge is the primary's band around the pool's target, and
    what it is over (under) that edge is sold (bought) from the members above (below) their
    own targets, each at most to its own target: the primary first, then the alternates,
    the furthest from target first (ties in symbol order). Traded leg by leg to each leg's
    own edge, a primary with a target of 0 would be sold whole and two alternates over their
    targets would each keep a whole half-width, leaving the pool off its band.
    """
    book = work.book
    unit, target = book.unit_values, book.target_values
    # A holding is never bought and sold in one plan: phase A's trades close the other side.
    room_s = np.where(
        (work.buys == 0) & ~work.sell_all, room_to_sell(work.values, book, slack, work.sells), 0.0
    )
    room_b = np.where(
        (work.sells == 0) & ~work.sell_all, room_to_buy(work.values, book, slack), 0.0
    )
    sell_whole = (target <= book.tolerance) & (work.values > 0) & ~book.fraction_left
    pooled = pools.add_up(work.values)
    pooled_target = pools.add_up(target)
    edge = _pool_edges(book, pools, pooled, float(policy.inner_band))
    members: dict[int, list[int]] = {}
    for i, pool in enumerate(pools.of.tolist()):
        members.setdefault(pool, []).append(i)
    for pool, group in members.items():
        if len(group) < 2 or not out[pool]:
            continue
        if pooled[pool] > pooled_target[pool]:
            amount, room, side = pooled[pool] - edge[pool], room_s, sells
            gap = work.values - target
        else:
            amount, room, side = edge[pool] - pooled[pool], room_b, buys
            gap = target - work.values
        others = sorted((i for i in group if i != pool), key=lambda i: (-gap[i], i))
        sells[group], buys[group], whole[group] = 0.0, 0.0, False
        for i in (pool, *others):
            if amount <= book.tolerance:
                break
            steps = min(
                float(ceil_steps(np.array([amount]), unit[i : i + 1], slack[i])[0]), room[i]
            )
            if steps <= 0:
                continue
            side[i] = steps
            # All of a holding with a target of 0: sell exactly what is held.
            whole[i] = side is sells and bool(sell_whole[i]) and steps >= room[i]
            amount -= steps * unit[i]


def _pool_edges(book: Book, pools: Pools, pooled: Floats, inner: float) -> Floats:
    """Return, per symbol, the value its pool is traded to in `band_edge` mode."""
    t = pools.add_up(book.targets)
    low, high = pools.low, pools.high
    above = t + (1.0 - inner) * (high - t)
    below = low + inner * (t - low)
    weight = np.where(pooled > t * book.nav_f, above, below)
    return np.where(t > 0, weight, 0.0) * book.nav_f


def _invest_leftover(work: Work, policy: PlanningPolicy, slack: Floats) -> None:
    """Spend cash still above its target on underweight holdings that were not sold."""
    book = work.book
    leftover = work.spare(book.cash_target)
    if leftover <= 0:
        return
    add = spend_excess(
        leftover,
        _room_values(work, buying=True),
        book,
        slack=slack,
        eligible=(work.sells == 0) & ~work.sell_all,
        bought=work.buys,
        min_trade=float(policy.min_trade),
    )
    work.buy(add, Origin.EXCESS)


def _room_values(work: Work, *, buying: bool) -> Floats:
    """Return the value each holding counts as for trades up to its target, pools as one.

    A pool of a primary and its standing alternates is one holding: buying excess cash into
    its legs, or trimming them to fund buys, goes to the pool's target, not past it, though
    a leg is further from its own (one leg below its target and another above). What the
    pool has to its target is given to its legs the primary first, then the furthest from
    their own targets (ties in symbol order); a leg given none counts as at its target. A leg
    with a target of 0 sells whole (`sell_down`), so counts as held only if the pool's room
    covers all of it.
    """
    book = work.book
    values = work.values
    pools = book.limits.pools
    if pools is None:
        return values
    target = book.target_values
    sign = -1.0 if buying else 1.0
    gap = sign * (values - target)
    room = np.maximum(0.0, sign * (pools.add_up(values) - pools.add_up(target)))
    counted = values.copy()
    members: dict[int, list[int]] = {}
    for i, pool in enumerate(pools.of.tolist()):
        members.setdefault(pool, []).append(i)
    for pool, group in members.items():
        if len(group) < 2:
            continue
        left = float(room[pool])
        others = sorted((i for i in group if i != pool), key=lambda i: (-gap[i], i))
        for i in (pool, *others):
            if gap[i] <= 0:
                continue
            share = min(float(gap[i]), left)
            left -= share
            if not buying and target[i] <= book.tolerance:
                counted[i] = values[i] if share >= values[i] - book.tolerance else 0.0
            else:
                counted[i] = target[i] - share if buying else target[i] + share
    return counted


def _pooled(book: Book, eligible: Flags) -> Flags:
    """Return `eligible` without the members of a pool of which any holding is not eligible.

    A pool of a primary and its standing alternates is one holding: the funding trims of
    `band_edge` selling one leg to buy another that the rebalance buys would pull the pool
    back off the edge it is bought to.
    """
    pools = book.limits.pools
    if pools is None:
        return eligible
    return eligible & ~(pools.add_up((~eligible).astype(np.float64)) > 0)
