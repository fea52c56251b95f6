"""The planner's tax step: the plan in, the plan a taxable household should trade out.

Pure: no clock, no I/O. Runs after `plan_rebalance` and before the pre-trade checks:

1. Sells (taxable accounts): the lots each sell relieves are the account's method, or the
   minimum-tax choice under `specific`. A sell of a symbol the ledger lacks lots for, or
   whose lots disagree with the broker's position (`TaxContext.mismatches`), goes ahead as
   planned, `unknown_basis`: no gains estimate, no wash check, no budget. A sell the engine
   says would be washed goes through the loss-sale policy (`daemon.core.tax.guards`).
   Rebalancing sells are then capped by the year's realized-gains budget per term; sells
   that raise cash (a withdrawal, the buffer) are never capped, the owner asked for that cash,
   but what they realize is charged to the budget before any other sale's.
2. Buys (every account): a buy inside a wash-sale window of its group is blocked or
   redirected; in an IRA it is always blocked. The plan's own loss sells open windows too.
3. Buys are cut back by what the held-back sells no longer pay for.
4. Tax-loss harvesting, when enabled (`daemon.core.tax.harvest`), within what is left of the
   gains budget, and never of a symbol whose sell step 1 held back.
5. The preview: estimated short- and long-term gains and losses, disallowed amounts, and the
   harvested losses (the net loss of each harvest sale, `harvested_loss`).

Every change is a `TaxDecision` with its reason, audited by the caller.
"""

from __future__ import annotations

__all__ = ["apply_tax", "realized_this_year", "sold_all_the_same"]

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

from daemon.core.domain import CASH, AccountType, Side
from daemon.core.money import money
from daemon.core.planner import DriftRow, Plan, PlannedOrder
from daemon.core.planner.reasons import quantity
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.guards import (
    OpenLoss,
    WindowEnds,
    floor_to,
    guard_buy,
    guard_loss_sale,
    open_losses,
    sale_preview,
    sale_what_if,
)
from daemon.core.tax.harvest import harvest, harvested_loss
from daemon.core.tax.plan_types import TaxAction, TaxContext, TaxDecision, TaxedPlan, TaxPreview
from daemon.core.tax.types import LotPick, RealizedSale, SalePreview, Term

_ZERO = Decimal(0)
_CUT_TRIES = 8
"""Times a budget cut is made again when it reports more gain than a cap (cents in the
engine's split, or a wash of the cut): each try leaves more shares held, so a wash can take
a few; a cut still over after them is not made (nothing sold beyond the budget)."""
_TOLERANCE = Decimal("1e-12")


def realized_this_year(
    sales: Iterable[RealizedSale], account: str, year: int
) -> dict[Term, Decimal]:
    """Return an account's net realized gain per term in `year` (taxable sales only)."""
    totals = {Term.SHORT: _ZERO, Term.LONG: _ZERO}
    for sale in sales:
        if sale.trade.account != account or sale.trade.date.year != year or not sale.taxable:
            continue
        for piece in sale.pieces:
            totals[piece.term] += piece.gain
    return totals


def apply_tax(plan: Plan, ctx: TaxContext) -> TaxedPlan:
    """Return the plan adjusted by the wash-sale guards, the gains budget and harvesting."""
    decisions: list[TaxDecision] = []
    previews: dict[str, SalePreview] = {}
    taxable = ctx.account_type is AccountType.TAXABLE
    sells: list[PlannedOrder] = []
    held_back: set[str] = set()
    room = _budget_room(ctx)
    ends = WindowEnds(ctx)
    raising = _raising_claims(plan, ctx, room, ends) if taxable else {}
    kept_at: dict[int, PlannedOrder] = {}
    for at, order in _claim_order(plan):
        if at in raising:  # its own raising shares are part of its sale: decided with it
            _spend(raising[at], room, back=True)
        kept = _sell(order, ctx, room, previews, decisions, ends) if taxable else order
        if kept is not None:
            kept_at[at] = kept
        else:
            held_back.add(order.symbol)
    sells += (kept_at[at] for at in sorted(kept_at))
    planned = [_planned_loss(ctx, p) for p in previews.values() if _has_loss(p)]
    losses = open_losses(ctx.loss_windows, [p for p in planned if p is not None], ctx.today)
    sold = frozenset(o.symbol for o in sells)
    buys: list[PlannedOrder] = []
    if not losses:
        # No loss a purchase could wash: the guard passes every buy as it is.
        buys = [o for o in plan.orders if o.side is Side.BUY]
    else:
        for order in (o for o in plan.orders if o.side is Side.BUY):
            verdict = guard_buy(order, ctx, losses, sold)
            if verdict.decision is not None:
                decisions.append(verdict.decision)
            if verdict.order is not None:
                buys.append(verdict.order)
    lost = _proceeds(plan.orders, Side.SELL) - _proceeds(sells, Side.SELL)
    buys = _fund(buys, lost, ctx, decisions)
    harvested = (
        harvest(ctx, sells, buys, losses, room=room, held_back=frozenset(held_back))
        if taxable
        else None
    )
    if harvested is not None:
        sells += harvested.sells
        buys += harvested.buys
        decisions += harvested.decisions
        previews.update(harvested.previews)
    orders = tuple(sells + buys)
    changed = orders != plan.orders
    notes = plan.notes
    if decisions:
        notes += (f"tax: {len(decisions)} decision(s): " + "; ".join(_short(decisions)),)
    taxed = plan
    if changed or decisions:
        cash_after = plan.cash_before + _proceeds(sells, Side.SELL) - _proceeds(buys, Side.BUY)
        taxed = dataclasses.replace(
            plan,
            orders=orders,
            cash_after=cash_after,
            notes=notes,
            drift=_redrift(plan, orders, decisions, cash_after),
        )
    kept_previews = {o.symbol: previews[o.symbol] for o in sells if o.symbol in previews}
    return TaxedPlan(
        plan=taxed,
        decisions=tuple(decisions),
        preview=_preview(kept_previews.values(), harvested.symbols if harvested else frozenset()),
        lots={s: _picks(p) for s, p in kept_previews.items()},
        harvest=harvested.symbols if harvested else frozenset(),
    )


def _raising_claims(
    plan: Plan, ctx: TaxContext, room: dict[Term, Decimal | None], ends: WindowEnds
) -> dict[int, SalePreview]:
    """Charge the room with the shares of each sell that raise cash, and return each one's
    preview by the sell's place.

    Those shares are sold whatever the budget (`_sell`), so they claim the room before any
    other sale: a target-0 sale or a trim taking it first would leave the year over budget
    once they are sold all the same. Each sell gives its own claim back when it is decided
    (the room its whole sale is decided against includes its raising shares).
    """
    if all(limit is None for limit in room.values()):
        return {}
    claims: dict[int, SalePreview] = {}
    for at, order in enumerate(plan.orders):
        raises = min(order.raises, order.qty)
        if order.side is not Side.SELL or raises <= 0:
            continue
        part = order if raises == order.qty else _resized(order, raises, "its raising shares")
        # As `_sell` would sell them alone, on scratch records: only the preview is kept.
        found: dict[str, SalePreview] = {}
        _sell_as(part, ctx, dict(room), found, [], ends, raises_cash=True)
        if order.symbol in found:
            claims[at] = found[order.symbol]
            _spend(found[order.symbol], room)
    return claims


def _claim_order(plan: Plan) -> list[tuple[int, PlannedOrder]]:
    """Return the plan's sells with their places, in the order they claim the gains budget:
    first the sales of holdings with a target of 0, then the rest, each in the plan's order.
    (The shares of any sell that raise cash claim it before all of them: `_raising_claims`.)

    A holding the strategy no longer weighs (or an alternate returning to its primary) is
    always out of band: its sale is what the plan is for, and the trims of holdings still
    wanted are rebalancing that waits more easily. Taken first, a trim could use up the
    budget and leave that sale held back, the holding waiting at a target of 0 while the
    plan made again without the trim (`daemon.core.held_back`) left the room unused.
    """
    leaving = {r.symbol for r in plan.drift if r.managed and not r.pool and r.target <= 0}
    sells = [(at, o) for at, o in enumerate(plan.orders) if o.side is Side.SELL]
    return sorted(sells, key=lambda item: item[1].symbol not in leaving)


def _sell(
    order: PlannedOrder,
    ctx: TaxContext,
    room: dict[Term, Decimal | None],
    previews: dict[str, SalePreview],
    decisions: list[TaxDecision],
    ends: WindowEnds,
) -> PlannedOrder | None:
    """Return the sell as the tax rules leave it (None: held back), recording what they did.

    The shares of it that raise cash the owner asked for (`order.raises`) are always sold:
    a sell that also rebalances is first decided as a whole, as a rebalancing sell; when the
    rules hold back so much that those shares would not be sold, they are sold alone.
    """
    raises = min(order.raises, order.qty)
    if raises <= 0 or raises == order.qty:
        return _sell_as(order, ctx, room, previews, decisions, ends, raises_cash=raises > 0)
    tried_room, tried_previews = dict(room), dict(previews)
    tried: list[TaxDecision] = []
    kept = _sell_as(order, ctx, tried_room, tried_previews, tried, ends, raises_cash=False)
    if kept is not None and kept.qty >= raises:
        room.update(tried_room)
        previews.update(tried_previews)
        decisions += tried
        return kept
    still = sold_all_the_same(raises)
    decisions += [
        dataclasses.replace(d, qty_after=raises, reason=d.reason + still)
        if d.symbol == order.symbol and d.qty_after < raises
        else d
        for d in tried
    ]
    part = _resized(order, raises, "tax rules: only the shares that raise cash")
    return _sell_as(part, ctx, room, previews, decisions, ends, raises_cash=True)


def sold_all_the_same(qty: Decimal) -> str:
    """Return the clause `_sell` ends a decision with when it held back all of a sale but
    the `qty` shares that raise cash."""
    return f"; the {quantity(qty)} sh that raise cash are sold all the same"


def _sell_as(
    order: PlannedOrder,
    ctx: TaxContext,
    room: dict[Term, Decimal | None],
    previews: dict[str, SalePreview],
    decisions: list[TaxDecision],
    ends: WindowEnds,
    *,
    raises_cash: bool,
) -> PlannedOrder | None:
    mismatch = ctx.mismatches.get(order.symbol)
    # Lots that do not match the broker's shares (a split, a transfer) are not asked at all.
    what_if = None if mismatch is not None else sale_what_if(ctx, order.symbol, order.qty)
    if what_if is None:
        reason = (
            f"the ledger has no lots for some of the {quantity(order.qty)} {order.symbol} "
            "sold: gains unknown, no wash-sale check (import lots: trimtab tax import)"
            if mismatch is None
            else f"{mismatch.reason}; {mismatch.fix}"
        )
        decisions.append(
            TaxDecision(
                TaxAction.UNKNOWN_BASIS,
                order.symbol,
                reason,
                qty_before=order.qty,
                qty_after=order.qty,
            )
        )
        return order
    washed = what_if.disallowed()[0]
    verdict = guard_loss_sale(order, ctx, washed, raises_cash=raises_cash, window_ends=ends)
    if verdict.decision is not None:
        decisions.append(verdict.decision)
    if verdict.qty <= 0:
        return None
    # Only a sell that goes ahead needs its records: a deferred one was decided on `washed`.
    qty = verdict.qty
    preview = verdict.preview or what_if.previews()[0]
    if not raises_cash:
        caps = _caps(preview, room)
        if caps is not None:
            allowed, cut = _budget_cut(ctx, order, preview, caps)
            decisions.append(_budget_decision(order, qty, allowed, preview, ctx, room))
            if cut is None:
                return None
            if cut.disallowed > 0 and not _washed_cut(order, allowed, cut, ctx, decisions, ends):
                return None
            qty, preview = allowed, cut
    # Every sale is charged, one that raises cash too: it is sold whatever the room, but
    # what it realizes is realized, and the sales after it have that much less.
    _spend(preview, room)
    previews[order.symbol] = preview
    return order if qty == order.qty else _resized(order, qty, "tax rules")


def _washed_cut(
    order: PlannedOrder,
    qty: Decimal,
    cut: SalePreview,
    ctx: TaxContext,
    decisions: list[TaxDecision],
    ends: WindowEnds,
) -> bool:
    """Decide a sell the budget cut into a washed one; say whether it still goes ahead.

    Cutting can wash a sale that was not: shares bought in the last 30 days that the whole
    sale relieved with the loss lots stay held, and replace their loss. The account's
    loss-sale policy decides, as for any washed sale, except that lots are not chosen again
    (other lots would have to fit the budget too): it is deferred unless washes are allowed.
    """
    until = ends(order.symbol)
    cause = (
        f"the {quantity(qty)} sh of {order.symbol} left after the gains budget would be "
        f"washed ({money(cut.disallowed)} disallowed): shares bought in the last 30 days that "
        "the whole sale sold would stay held and replace its loss"
    )
    if ctx.settings.wash_sale.loss_sales == "allow":
        decisions.append(
            TaxDecision(
                TaxAction.ALLOWED,
                order.symbol,
                f"{cause}; allowed by policy",
                qty_before=qty,
                qty_after=qty,
                until=until,
                disallowed=cut.disallowed,
            )
        )
        return True
    decisions.append(
        TaxDecision(
            TaxAction.DEFERRED,
            order.symbol,
            f"{cause}; deferred until after {until}",
            qty_before=qty,
            until=until + timedelta(days=1),
            disallowed=cut.disallowed,
        )
    )
    return False


def _budget_room(ctx: TaxContext) -> dict[Term, Decimal | None]:
    budget = ctx.settings.gains_budget
    limits = {Term.SHORT: budget.short_term, Term.LONG: budget.long_term}
    return {
        term: None if limit is None else limit - ctx.realized.get(term, _ZERO)
        for term, limit in limits.items()
    }


def _caps(preview: SalePreview, room: Mapping[Term, Decimal | None]) -> dict[Term, Decimal] | None:
    """Return the most gain a cut of the sale may realize per capped term; None: it all fits.

    The whole sale fits when its net gain in each capped term is within the room left (a
    term it realizes nothing or a loss in always fits). A cut realizes at most the room, and
    never more than the whole sale would: later lots at a loss can make the whole sale
    realize less than a part of it.
    """
    caps: dict[Term, Decimal] = {}
    fits = True
    for term, limit in room.items():
        if limit is None:
            continue
        gain = preview.gain_by_term(term)
        fits = fits and gain <= max(limit, _ZERO)
        caps[term] = min(max(limit, _ZERO), max(gain, _ZERO))
    return None if fits else caps


def _budget_cut(
    ctx: TaxContext, order: PlannedOrder, preview: SalePreview, caps: Mapping[Term, Decimal]
) -> tuple[Decimal, SalePreview | None]:
    """Return how many shares of the sale are sold within `caps`, and that sale's preview.

    The shares are the first ones of the preview's relief order. The engine splits money in
    cents, so the cut sale can realize a cent or so more than the shares' part of the whole
    sale; and a cut can be washed where the whole sale was not (the shares it leaves held
    replace its loss), so it reports more gain than its shares' part. The cut is measured on
    the gain it reports and, when over, made again against caps lowered by what it went over:
    with washes allowed, a washed cut that reported its disallowed loss as gain took the year
    past its budget. A washed cut within the caps goes to the loss-sale policy (`_washed_cut`).
    """
    increment = ctx.increment(order.symbol)
    limits = dict(caps)
    for _ in range(_CUT_TRIES):
        allowed = _within_budget(preview, limits, increment)
        if allowed <= 0 or allowed * order.price < ctx.min_trade:
            return allowed, None
        cut = sale_preview(ctx, order.symbol, allowed, _prefix(preview, allowed))
        if cut is None:
            return allowed, None
        gains = {term: cut.gain_by_term(term) for term in (Term.SHORT, Term.LONG)}
        over = {t: gains[t] - c for t, c in caps.items() if gains[t] > c}
        if not over:
            return allowed, cut
        limits = {t: c - over.get(t, _ZERO) for t, c in limits.items()}
    return _ZERO, None


def _within_budget(
    preview: SalePreview, caps: Mapping[Term, Decimal], increment: Decimal
) -> Decimal:
    """Return the most shares, in relief order and whole increments, within `caps` per term.

    Not the shares up to the first lot that overflows: a lot at a loss after it gives room
    back, so the cumulative gain of a term can fall below its cap again later in the sale.
    Each piece's shares move the gain of its own term linearly; within a piece the shares
    that fit are one interval, and the answer is the end of one of those intervals, rounded
    down to the increment and checked again.
    """
    best = _ZERO
    gains = {Term.SHORT: _ZERO, Term.LONG: _ZERO}
    start = _ZERO
    for piece in preview.pieces:
        end = start + piece.qty
        cap = caps.get(piece.term)
        others = all(gains[t] <= c for t, c in caps.items() if t is not piece.term)
        before, gain = gains[piece.term], piece.gain
        top: Decimal | None = None
        if others and (cap is None or before + gain <= cap):
            top = end  # a piece at a loss ends lower than it starts
        elif others and cap is not None and gain > 0 and before <= cap:
            top = start + (cap - before) * piece.qty / gain
        if top is not None:
            qty = floor_to(top, increment)
            if qty > best and _fits(_gains_at(preview, qty), caps):
                best = qty
        gains[piece.term] = before + gain
        start = end
    return best


def _gains_at(preview: SalePreview, qty: Decimal) -> dict[Term, Decimal]:
    """Return the gain per term of the first `qty` shares of the preview, pro rata."""
    gains = {Term.SHORT: _ZERO, Term.LONG: _ZERO}
    left = qty
    for piece in preview.pieces:
        take = min(piece.qty, left)
        if take <= 0:
            break
        gains[piece.term] += piece.gain if take == piece.qty else piece.gain * take / piece.qty
        left -= take
    return gains


def _fits(gains: Mapping[Term, Decimal], caps: Mapping[Term, Decimal]) -> bool:
    # The tolerance absorbs the last digit of a pro-rata division; the cut sale's own
    # preview, in cents, is checked exactly (`_budget_cut`).
    return all(gains[t] <= c + _TOLERANCE for t, c in caps.items())


def _spend(preview: SalePreview, room: dict[Term, Decimal | None], *, back: bool = False) -> None:
    """Take the sale's net gain per term from the room (`back`: give it back)."""
    for piece in preview.pieces:
        limit = room[piece.term]
        if limit is not None:
            room[piece.term] = limit + piece.gain if back else limit - piece.gain


def _budget_decision(
    order: PlannedOrder,
    qty: Decimal,
    allowed: Decimal,
    preview: SalePreview,
    ctx: TaxContext,
    room: Mapping[Term, Decimal | None],
) -> TaxDecision:
    """Say why a sale was cut: the year's realized gain, what the plan's sales decided before
    it realize (they took the room first), this sale's gain, and the budget."""
    budget = ctx.settings.gains_budget
    parts = []
    for term, limit in ((Term.SHORT, budget.short_term), (Term.LONG, budget.long_term)):
        gain = preview.gain_by_term(term)
        left = room[term]
        if limit is None or left is None or gain <= 0:
            continue
        realized = ctx.realized.get(term, _ZERO)
        planned = limit - realized - left
        before = (
            ""
            if planned == 0
            else f"+ {money(planned)} from the plan's sales before it "
            if planned > 0
            else f"- {money(-planned)} lost by the plan's sales before it "
        )
        parts.append(
            f"{term}-term gains this year {money(realized)} {before}+ "
            f"{money(gain)} from this sale against a budget of {money(limit)}"
        )
    return TaxDecision(
        TaxAction.BUDGET,
        order.symbol,
        f"sell of {order.symbol} cut from {quantity(qty)} to {quantity(max(allowed, _ZERO))} sh: "
        + "; ".join(parts),
        qty_before=qty,
        qty_after=max(allowed, _ZERO),
    )


def _prefix(preview: SalePreview, qty: Decimal) -> list[LotPick]:
    """Return the first `qty` shares of the preview's relief order as named lots."""
    picks: dict[str, Decimal] = {}
    left = qty
    for piece in preview.pieces:
        take = min(piece.qty, left)
        if take > 0:
            picks[piece.source_id] = picks.get(piece.source_id, _ZERO) + take
            left -= take
    return [LotPick(s, q) for s, q in picks.items()]


def _has_loss(preview: SalePreview) -> bool:
    return any(p.loss_before_wash > 0 for p in preview.pieces)


def _planned_loss(ctx: TaxContext, preview: SalePreview) -> OpenLoss | None:
    loss = sum((p.loss_before_wash for p in preview.pieces), _ZERO)
    if loss <= 0:
        return None
    return OpenLoss(
        symbols=ctx.identical.members(preview.symbol),
        ends=ctx.today + timedelta(days=WINDOW_DAYS),
        account=ctx.account,
        symbol=preview.symbol,
        loss=loss,
    )


def _proceeds(orders: Iterable[PlannedOrder], side: Side) -> Decimal:
    return sum((o.notional for o in orders if o.side is side), _ZERO)


def _fund(
    buys: list[PlannedOrder], lost: Decimal, ctx: TaxContext, decisions: list[TaxDecision]
) -> list[PlannedOrder]:
    """Cut buys in proportion to the sell proceeds the tax rules held back."""
    total = _proceeds(buys, Side.BUY)
    if lost <= 0 or total <= 0:
        return buys
    factor = max(_ZERO, (total - lost) / total)
    funded = []
    for order in buys:
        qty = floor_to(order.qty * factor, ctx.increment(order.symbol))
        if qty == order.qty:
            funded.append(order)
            continue
        keep = qty > 0 and qty * order.price >= ctx.min_trade
        decisions.append(
            TaxDecision(
                TaxAction.FUNDING,
                order.symbol,
                f"buy of {order.symbol} cut from {quantity(order.qty)} to "
                f"{quantity(qty if keep else _ZERO)} sh: sells held back by tax rules no "
                f"longer pay for it ({money(lost)} less sold)",
                qty_before=order.qty,
                qty_after=qty if keep else _ZERO,
            )
        )
        if keep:
            funded.append(_resized(order, qty, "sells held back by tax rules"))
    return funded


def _resized(order: PlannedOrder, qty: Decimal, why: str) -> PlannedOrder:
    notional = qty * order.price
    return dataclasses.replace(
        order,
        qty=qty,
        notional=notional,
        reason=f"{order.reason}; cut to {quantity(qty)} sh ({money(notional)}) by {why}",
        raises=min(order.raises, qty),
    )


def _preview(previews: Iterable[SalePreview], harvest: frozenset[str]) -> TaxPreview:
    st_gain = lt_gain = st_loss = lt_loss = disallowed = harvested = _ZERO
    for preview in previews:
        for piece in preview.pieces:
            gain = piece.gain
            if piece.term is Term.LONG:
                lt_gain += max(gain, _ZERO)
                lt_loss += max(-gain, _ZERO)
            else:
                st_gain += max(gain, _ZERO)
                st_loss += max(-gain, _ZERO)
            disallowed += piece.disallowed
        if preview.symbol in harvest:
            harvested += harvested_loss(preview)
    return TaxPreview(st_gain, lt_gain, st_loss, lt_loss, disallowed, harvested)


def _redrift(
    plan: Plan,
    orders: Sequence[PlannedOrder],
    decisions: Sequence[TaxDecision],
    cash_after: Decimal,
) -> tuple[DriftRow, ...]:
    """Return the drift rows with the quantities and weights after the taxed orders.

    A holding the tax step changed says why in its note. An alternate the plan now buys that
    has no row of its own shows up in the orders only.
    """
    delta: dict[str, Decimal] = {}
    for o in orders:
        delta[o.symbol] = delta.get(o.symbol, _ZERO) + o.side.signed(o.qty)
    why = {d.symbol: d for d in decisions}
    nav = plan.nav
    rows = []
    for row in plan.drift:
        if row.symbol == CASH:  # the reserved cash is in the row, never spent
            held = cash_after + plan.reserved_cash
            share = held / nav if nav > 0 else _ZERO
            rows.append(dataclasses.replace(row, qty_after=held, weight_after=share))
            continue
        after = row.qty + delta.get(row.symbol, _ZERO)
        decision = why.get(row.symbol)
        if not row.managed or (after == row.qty_after and decision is None):
            rows.append(row)
            continue
        note = row.note if decision is None else _note(decision)
        weight = after * row.price / nav if nav > 0 else _ZERO
        rows.append(dataclasses.replace(row, qty_after=after, weight_after=weight, note=note))
    return tuple(rows)


def _picks(preview: SalePreview) -> tuple[LotPick, ...]:
    merged: dict[str, Decimal] = {}
    for piece in preview.pieces:
        merged[piece.source_id] = merged.get(piece.source_id, _ZERO) + piece.qty
    return tuple(LotPick(s, q) for s, q in merged.items())


def _short(decisions: Sequence[TaxDecision]) -> list[str]:
    return [f"{d.symbol} {d.action.label}" for d in decisions[:10]]


def _note(decision: TaxDecision) -> str:
    """Return a drift row's note on what the tax step did to it, in words."""
    action, until = decision.action, decision.until
    label = action.label
    if action is TaxAction.REDIRECTED and decision.alternate:
        label = f"{decision.alternate} bought instead"
    if action is TaxAction.ALLOWED:
        label += f" ({money(decision.disallowed)} disallowed)"
    if until is None:
        return f"tax: {label}"
    if action is TaxAction.DEFERRED:
        return f"tax: {label} to {until} (wash sale)"  # `until` is the first day it can sell
    return f"tax: {label}, wash-sale window until {until}"
