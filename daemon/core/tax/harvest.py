"""Tax-loss harvesting, and alternates standing in for their primary in the targets.

Harvesting (opt-in per taxable account): a lot qualifies when its unrealized loss, against its
wash-adjusted basis, is at least `min_loss_pct` of that basis AND at least `min_loss_amount`.
Qualifying lots are sold and the proceeds buy the symbol's configured alternate (a similar
fund that is not substantially identical), unless anything would wash the loss: a purchase of
the group in the last 30 days anywhere in the household (the engine's preview) or a buy of the
group in this plan. A symbol's alternates are tried in their configured order; one is passed
over when it is substantially identical to the symbol, inside a loss window itself, already
traded by the plan, without a fresh quote, too dear for the proceeds to buy one increment of,
or refused by the pre-trade checks in an earlier round of the decision step
(`TaxContext.refused_alternates`); the decision names each passed over and why. Nor is a
symbol whose lots in the ledger disagree with the broker's position (`TaxContext.mismatches`):
after a split the old basis against the new price is a loss that does not exist.

Nothing is harvested beyond the year's gains budget: a sale under a lot method other than
`specific` can relieve lots at a gain together with the lots at a loss, and the gain of a
capped term it would realize must fit what the plan's other sells left of the budget. A symbol
whose sell the plan had, and the budget or the wash-sale guards held back, is not harvested
either: that would undo their decision.

The harvested loss of a sale is its net loss (`harvested_loss`): what the decision, the plan's
preview, the report and the backtest all call harvested.

After a harvest (or a redirected buy) the account holds the alternate, which is not in the
strategy's targets: `stand_in_targets` lets it count towards its primary's target, and pairs
them (`PlanInput.stand_ins`): the planner tests the pair as one holding against the primary's
target and band, so it neither sells the alternate nor buys the primary back inside the
window while the pair is in its band. When the pair (or another holding) is out of band, each
is traded to its own target: the primary's is what the alternate left of it, and the tax step
redirects or blocks a buy of it inside the window. With `return_to_primary`, once no window
of the primary's group is open, the alternate stops standing in and the planner sells it and
buys the primary; while the tax step holds that sale back, it stands in still (`held_back`).
"""

from __future__ import annotations

__all__ = [
    "Harvested",
    "StandIns",
    "harvest",
    "harvested_loss",
    "stand_in_targets",
    "tried_first",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.domain import CASH, Side
from daemon.core.money import money
from daemon.core.planner import PlannedOrder
from daemon.core.planner.reasons import percent, quantity
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.guards import OpenLoss, floor_to, refused_note, sale_preview
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.plan_types import TaxAction, TaxContext, TaxDecision
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.types import LossWindow, Lot, LotPick, RealizedSale, SalePreview, Term

_ZERO = Decimal(0)
_TRIED = " (not "
"""Where a harvest's decision starts naming the alternates not bought (`refused_note`)."""


@dataclass(frozen=True, slots=True)
class Harvested:
    sells: list[PlannedOrder]
    buys: list[PlannedOrder]
    decisions: list[TaxDecision]
    previews: dict[str, SalePreview]
    symbols: frozenset[str]


def harvested_loss(sale: SalePreview | RealizedSale) -> Decimal:
    """Return the loss a harvest sale harvests: its net realized loss, 0 for a net gain.

    Net of the pieces at a gain a lot method other than `specific` can relieve with the lots
    at a loss, and of any disallowed part (the reported gain): the figure of the decision,
    the plan's preview, the report and the backtest.
    """
    return max(-sale.gain, _ZERO)


def tried_first(decision: TaxDecision) -> str:
    """Return, of a harvest's decision, the alternates tried before the one bought and why
    they were not bought ("; not ITOT: ...; not SCHB: ..."), or "": for the decision that
    says the harvest was undone after all."""
    _, found, note = decision.reason.partition(_TRIED)
    return f"; not {note.removesuffix(')')}" if found else ""


def _loss(lot: Lot, price: Decimal) -> Decimal:
    return lot.adjusted_basis - lot.qty * price


def qualifies(loss: Decimal, basis: Decimal, settings: TaxSettings) -> bool:
    """Say whether a loss clears both thresholds (at the thresholds counts)."""
    h = settings.harvest
    return loss > 0 and loss >= h.min_loss_amount and loss >= h.min_loss_pct * basis


def harvest(
    ctx: TaxContext,
    sells: Sequence[PlannedOrder],
    buys: Sequence[PlannedOrder],
    losses: Sequence[OpenLoss],
    *,
    room: Mapping[Term, Decimal | None],
    held_back: frozenset[str] = frozenset(),
) -> Harvested | None:
    """Return the harvest sells and alternate buys to add to the plan, or None if disabled.

    `room` is what the plan's sells left of the gains budget per term (None: no cap);
    `held_back` the symbols whose planned sells the tax rules did not let through.
    """
    if not ctx.settings.harvest.enabled:
        return None
    out = Harvested([], [], [], {}, frozenset())
    left = dict(room)
    traded = {o.symbol for o in (*sells, *buys)}
    bought = {s for o in buys for s in ctx.identical.members(o.symbol)}
    windows = list(losses)
    done: set[str] = set()
    # Only symbols with an alternate can be harvested: the proceeds must stay invested.
    for symbol in sorted(ctx.settings.alternates):
        price = ctx.prices.get(symbol)
        if symbol in traded or price is None:
            continue
        lots = [
            lot
            for lot in ctx.book.lots(ctx.account, symbol)
            if qualifies(_loss(lot, price), lot.adjusted_basis, ctx.settings)
        ]
        if not lots:
            continue
        mismatch = ctx.mismatches.get(symbol)
        if mismatch is not None:
            # The loss is the ledger's basis against a price of other shares: not harvested.
            out.decisions.append(
                TaxDecision(TaxAction.HARVEST, symbol, f"not harvested: {mismatch.reason}")
            )
            continue
        alternates = ctx.settings.alternates.get(symbol, ())
        refused = [
            (a, why)
            for a in alternates
            if (why := _why_not(symbol, a, ctx, windows, traded | bought))
        ]
        candidates = [a for a in alternates if a not in dict(refused)]
        why_not = (
            "the tax rules held back the plan's sell of it"
            if symbol in held_back
            else _joined(refused)
            if not candidates
            else ""
        )
        preview = None if why_not else _harvest_preview(ctx, symbol, lots, price)
        why_not = why_not or _sale_problem(preview, ctx, left)
        buy = None if why_not or preview is None else _buy(ctx, preview, candidates, refused)
        refused.sort(key=lambda r: alternates.index(r[0]))
        if buy is None or preview is None:
            reason = why_not or _joined(refused)
            out.decisions.append(TaxDecision(TaxAction.HARVEST, symbol, f"not harvested: {reason}"))
            continue
        alternate = buy.symbol
        earlier = [r for r in refused if alternates.index(r[0]) < alternates.index(alternate)]
        loss = harvested_loss(preview)
        for term, limit in left.items():
            if limit is not None:
                left[term] = limit - preview.gain_by_term(term)
        sell = PlannedOrder(
            symbol=symbol,
            side=Side.SELL,
            qty=preview.qty,
            price=price,
            notional=preview.qty * price,
            reason=f"{symbol}: harvest a {money(loss)} loss "
            f"({percent(loss / preview.basis)} of basis): sell {quantity(preview.qty)} sh "
            f"({money(preview.qty * price)})",
        )
        out.sells.append(sell)
        out.buys.append(buy)
        out.previews[symbol] = preview
        done.add(symbol)
        windows.append(
            OpenLoss(
                ctx.identical.members(symbol),
                ctx.today + timedelta(days=WINDOW_DAYS),
                ctx.account,
                symbol,
                loss,
            )
        )
        traded |= {symbol, alternate}
        bought |= ctx.identical.members(alternate)
        out.decisions.append(
            TaxDecision(
                TaxAction.HARVEST,
                symbol,
                f"harvested a {money(loss)} loss on {quantity(preview.qty)} {symbol}; "
                f"proceeds buy {quantity(buy.qty)} {alternate}{refused_note(earlier)}",
                qty_before=_ZERO,
                qty_after=preview.qty,
                until=ctx.today + timedelta(days=WINDOW_DAYS),
                alternate=alternate,
            )
        )
    return Harvested(out.sells, out.buys, out.decisions, out.previews, frozenset(done))


def _why_not(
    symbol: str, alternate: str, ctx: TaxContext, windows: Sequence[OpenLoss], busy: set[str]
) -> str:
    """Say why the harvest of `symbol` cannot buy `alternate`, or ""."""
    group = ctx.identical.members(symbol)
    refused = ctx.refused_alternates.get(symbol, {}).get(alternate)
    if refused:
        return f"{alternate} refused by the pre-trade checks ({refused})"
    if alternate in group:
        return f"its alternate {alternate} is substantially identical to it"
    if group & busy:
        return "the plan buys or trades the group this cycle"
    if alternate in busy:
        return f"the plan already trades its alternate {alternate}"
    if any(alternate in w.symbols for w in windows):
        return f"its alternate {alternate} is in a wash-sale window"
    if alternate not in ctx.prices:
        return f"no quote for its alternate {alternate}"
    return ""


def _joined(refused: Sequence[tuple[str, str]]) -> str:
    """Say why no alternate was bought: each reason once, in the alternates' order."""
    return "; ".join(dict.fromkeys(why for _, why in refused))


def _sale_problem(
    preview: SalePreview | None, ctx: TaxContext, room: Mapping[Term, Decimal | None]
) -> str:
    """Say why the harvest sale itself is not made, whichever the alternate, or ""."""
    if preview is None:
        return "the lots at a loss are less than one tradable increment"
    if preview.disallowed > 0:
        return "a purchase of the group in the last 30 days would wash the loss"
    if not qualifies(-preview.gain, preview.basis, ctx.settings):
        return (
            f"the account's lot method ({ctx.settings.lot_method}) would relieve lots "
            "without enough loss"
        )
    return _over_budget(preview, room)


def _buy(
    ctx: TaxContext,
    preview: SalePreview,
    candidates: Sequence[str],
    refused: list[tuple[str, str]],
) -> PlannedOrder | None:
    """Return the buy of the first candidate the proceeds buy enough of; add the others
    tried to `refused`."""
    for candidate in candidates:
        buy = _alternate_buy(ctx, candidate, preview)
        if buy is not None:
            return buy
        # Whole shares of it (or the least trade) cost more than the sale brings in.
        refused.append((candidate, f"{money(preview.proceeds)} buys too little {candidate}"))
    return None


def _over_budget(preview: SalePreview, room: Mapping[Term, Decimal | None]) -> str:
    """Say why the sale realizes more gain in a capped term than the budget has left, or ""."""
    for term, limit in room.items():
        gain = preview.gain_by_term(term)
        if limit is not None and gain > 0 and gain > limit:
            return (
                f"the account's lot method ({preview.method}) would relieve lots at a gain: "
                f"{money(gain)} of {term}-term gains, {money(max(limit, _ZERO))} left in the "
                "year's gains budget"
            )
    return ""


def _harvest_preview(
    ctx: TaxContext, symbol: str, lots: Sequence[Lot], price: Decimal
) -> SalePreview | None:
    increment = ctx.increment(symbol)
    total = floor_to(sum((lot.qty for lot in lots), _ZERO), increment)
    if total <= 0:
        return None
    picks: list[LotPick] = []
    if ctx.settings.lot_method == "specific":
        merged: dict[str, Decimal] = {}
        left = total
        for lot in sorted(lots, key=lambda lot: -_loss(lot, price)):
            take = min(lot.qty, left)
            if take > 0:
                merged[lot.source_id] = merged.get(lot.source_id, _ZERO) + take
                left -= take
        picks = [LotPick(s, q) for s, q in merged.items()]
    return sale_preview(ctx, symbol, total, picks)


def _alternate_buy(ctx: TaxContext, alternate: str, preview: SalePreview) -> PlannedOrder | None:
    price = ctx.prices[alternate]
    qty = floor_to(preview.proceeds / price, ctx.increment(alternate))
    notional = qty * price
    if qty <= 0 or notional < ctx.min_trade:
        return None
    return PlannedOrder(
        symbol=alternate,
        side=Side.BUY,
        qty=qty,
        price=price,
        notional=notional,
        reason=f"{alternate}: stands in for harvested {preview.symbol}: buy {quantity(qty)} sh "
        f"({money(notional)})",
    )


@dataclass(frozen=True, slots=True)
class StandIns:
    """The targets with held alternates standing in, and what stood in for what."""

    targets: dict[str, Decimal]
    notes: list[str]
    """What was moved, for the plan's notes."""
    pairs: dict[str, str]
    """Alternate -> the primary it stands in for: the planner's `PlanInput.stand_ins`."""
    returning: frozenset[str] = frozenset()
    """Held alternates that stopped standing in (`return_to_primary`, no window open): the
    planner sells them for their primary."""
    held_back: frozenset[str] = frozenset()
    """Of those, the ones standing in still because the tax step holds back their sale."""


def stand_in_targets(
    targets: Mapping[str, Decimal],
    holdings: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    cash: Decimal,
    *,
    settings: TaxSettings,
    identical: SubstantiallyIdentical,
    loss_windows: Sequence[LossWindow],
    today: date,
    held_back: frozenset[str] = frozenset(),
) -> StandIns:
    """Let held alternates count towards their primary's target weight; say what was moved.

    `holdings` and `cash` are what the planner's weights are of: the managed holdings (no
    `keep` symbol) and the cash with the reserved cash, so that an alternate's share is the
    weight the planner sees it at.

    A primary's held alternates take their share in the configured order, an alternate's own
    alternates (a second harvest, of the alternate) right after it: each its own weight, at
    most what its primary's weight has left, so that the pool's drift shows on the primary.
    One the others left nothing still joins the pool, with a share of 0: the pool is tested
    whole. The planner tests each pool as one holding against the primary's whole target
    (`StandIns.pairs`, `PlanInput.stand_ins`, each alternate paired with the primary its
    chain starts from). An alternate already in the targets is the strategy's own business
    and is left alone, and so are its alternates. Each alternate has one primary: the
    settings refuse one listed by two.
    With `return_to_primary`, an alternate stops standing in once no loss window of its
    primary's group is open (a window of a symbol between them in a chain does not count:
    buying the primary back does not wash it), unless it is in `held_back`: the tax step
    holds back its sale (a wash-sale guard on its own purchases, the gains budget), so it
    stands in until the sale can go ahead (`daemon.core.decide` plans again with it). At a
    target of 0 it would be out of band every cycle, and each would rebalance the account
    and buy the primary beside it.
    """
    adjusted = dict(targets)
    notes: list[str] = []
    stood: dict[str, str] = {}
    returning: set[str] = set()
    if not settings.alternates:
        return StandIns(adjusted, notes, stood)  # nothing can stand in: the value unneeded
    nav = cash + sum((q * prices.get(s, _ZERO) for s, q in holdings.items()), _ZERO)
    if nav <= 0:
        return StandIns(adjusted, notes, stood)
    for primary in sorted(settings.alternates):
        weight = targets.get(primary, _ZERO)
        if weight <= 0 or primary == CASH:
            continue
        chain = _chain(primary, targets, settings)
        held = [a for a in chain if holdings.get(a, _ZERO) > 0 and a not in stood]
        if not held:
            continue
        group = identical.members(primary)
        open_window = any(w.ends >= today and w.symbols & group for w in loss_windows)
        waiting = ""
        if settings.harvest.return_to_primary and not open_window:
            back = [a for a in held if a not in held_back]
            returning.update(back)
            notes.extend(
                f"{a} no longer stands in for {primary}: returning to {primary}" for a in back
            )
            held = [a for a in held if a in held_back]
            if not held:
                continue
            waiting = f" until the tax step lets it be sold: returning to {primary} then"
        for alternate in held:
            share = min(holdings[alternate] * prices.get(alternate, _ZERO) / nav, weight)
            weight -= share
            adjusted[alternate] = share
            stood[alternate] = primary
            taken = "" if share > 0 else f": the others took all of {primary}'s target"
            notes.append(
                f"{alternate} stands in for {primary} ({percent(share)} of the account{taken})"
                f"{waiting}"
            )
        adjusted[primary] = weight
    return StandIns(
        adjusted, notes, stood, frozenset(returning), frozenset(held_back & stood.keys())
    )


def _chain(primary: str, targets: Mapping[str, Decimal], settings: TaxSettings) -> list[str]:
    """Return the alternates that may stand in for `primary`, in the order they take their
    share: each configured alternate, then its own alternates, depth first; none in the
    targets (nor `CASH`), each once."""
    found: list[str] = []
    seen = {primary}

    def walk(symbol: str) -> None:
        for alternate in settings.alternates.get(symbol, ()):
            if alternate in seen or alternate in targets or alternate == CASH:
                continue
            seen.add(alternate)
            found.append(alternate)
            walk(alternate)

    walk(primary)
    return found
