"""The wash-sale guards: pure checks of one planned buy or sell against the open windows.

- A buy of a symbol (or anything substantially identical) within 30 days after a taxable
  loss sale of the group, anywhere in the household, would wash that loss: it is blocked, or
  redirected to the symbol's configured alternates, the first in their order that is outside
  the group, in no window, not sold in the plan, quoted, and buys at least an increment.
- In a traditional or Roth IRA such a buy is always blocked: the loss would be lost for good
  (Rev. Rul. 2008-5), and a redirect would still be a trade the owner did not plan.
- A taxable sale at a loss within 30 days after a purchase of the group (any account, a
  dividend reinvestment or an IRA purchase included) would be washed: the engine's preview
  says by how much; the policy chooses other lots, defers the sale, or allows it knowingly.

Which trades wash and by how much is the tax engine's decision (`daemon.core.tax.engine`); these
functions only read its windows and previews.
"""

from __future__ import annotations

__all__ = [
    "BuyVerdict",
    "SellVerdict",
    "WindowEnds",
    "floor_to",
    "guard_buy",
    "guard_loss_sale",
    "open_losses",
    "refused_note",
    "sale_preview",
    "sale_what_if",
]

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from daemon.core.domain import AccountType, Side
from daemon.core.money import money
from daemon.core.planner import PlannedOrder
from daemon.core.planner.reasons import quantity
from daemon.core.tax.dates import WINDOW_DAYS
from daemon.core.tax.plan_types import TaxAction, TaxContext, TaxDecision
from daemon.core.tax.preview import SalesWhatIf
from daemon.core.tax.relief import BROKER_RANKED, rank, relieved
from daemon.core.tax.types import (
    LossWindow,
    LotMethod,
    LotPick,
    PurchaseWindow,
    SalePreview,
    SaleRequest,
    TaxDataError,
)

_ZERO = Decimal(0)
_DAY = timedelta(days=1)


def floor_to(qty: Decimal, increment: Decimal) -> Decimal:
    """Round `qty` down to a whole number of `increment`s (never up: never oversell)."""
    if increment <= 0:
        return qty
    return (qty / increment).to_integral_value(rounding=ROUND_FLOOR) * increment


@dataclass(frozen=True, slots=True)
class OpenLoss:
    """A loss a buy of `symbols` before `ends` would wash: recorded, or planned in this plan."""

    symbols: frozenset[str]
    ends: date
    account: str
    symbol: str
    loss: Decimal


def open_losses(
    windows: Iterable[LossWindow], planned: Iterable[OpenLoss], today: date
) -> list[OpenLoss]:
    """Return the losses still open on `today`: recorded windows and this plan's loss sells."""
    found = [
        OpenLoss(w.symbols, w.ends, w.account, w.symbol, w.unwashed_loss)
        for w in windows
        if w.ends >= today and w.unwashed_qty > 0
    ]
    return found + [p for p in planned if p.ends >= today]


@dataclass(frozen=True, slots=True)
class BuyVerdict:
    order: PlannedOrder | None
    decision: TaxDecision | None


def guard_buy(
    order: PlannedOrder, ctx: TaxContext, losses: Sequence[OpenLoss], sold: frozenset[str]
) -> BuyVerdict:
    """Pass, block or redirect one planned buy; `sold` are the symbols the plan sells."""
    hits = [loss for loss in losses if order.symbol in loss.symbols]
    if not hits:
        return BuyVerdict(order, None)
    last = max(hits, key=lambda loss: loss.ends)
    cause = (
        f"{last.symbol} was sold at a loss of {money(last.loss)} in {last.account}; "
        f"buying {order.symbol} until {last.ends} would wash it"
    )
    if ctx.account_type is not AccountType.TAXABLE:
        return _blocked(
            order,
            last,
            f"{cause}, and in an IRA the loss would be lost for good (Rev. Rul. 2008-5)",
        )
    if ctx.settings.wash_sale.buys == "block":
        return _blocked(order, last, cause)
    alternates = ctx.settings.alternates.get(order.symbol, ())
    if not alternates:
        problem = _alternate_problem(order.symbol, None, ctx, losses, sold)
        return _blocked(order, last, f"{cause}; not redirected: {problem}")
    # The alternates in the configured order: the first that can be bought is.
    refused: list[tuple[str, str]] = []
    for alternate in alternates:
        problem = _alternate_problem(order.symbol, alternate, ctx, losses, sold)
        redirected = None if problem else _redirected(order, alternate, ctx, last)
        if redirected is None:
            price = ctx.prices.get(alternate, _ZERO)
            problem = problem or (
                f"{money(order.notional)} buys too little {alternate} at {money(price)}"
            )
            refused.append((alternate, problem))
            continue
        return BuyVerdict(
            redirected,
            TaxDecision(
                TaxAction.REDIRECTED,
                order.symbol,
                f"{cause}; bought {alternate} instead{refused_note(refused)}",
                qty_before=order.qty,
                qty_after=redirected.qty,
                until=last.ends,
                alternate=alternate,
            ),
        )
    why = "; ".join(dict.fromkeys(problem for _, problem in refused))
    return _blocked(order, last, f"{cause}; not redirected: {why}")


def refused_note(refused: Sequence[tuple[str, str]]) -> str:
    """Say which earlier alternates were not bought, and why: " (not ITOT: ...)" or ""."""
    if not refused:
        return ""
    return " (" + "; ".join(f"not {alternate}: {why}" for alternate, why in refused) + ")"


def _redirected(
    order: PlannedOrder, alternate: str, ctx: TaxContext, last: OpenLoss
) -> PlannedOrder | None:
    price = ctx.prices[alternate]
    qty = floor_to(order.notional / price, ctx.increment(alternate))
    notional = qty * price
    if qty <= 0 or notional < ctx.min_trade:
        return None
    return PlannedOrder(
        symbol=alternate,
        side=Side.BUY,
        qty=qty,
        price=price,
        notional=notional,
        reason=f"{alternate} instead of {order.symbol} (wash-sale window until {last.ends}): "
        f"buy {quantity(qty)} sh ({money(notional)})",
    )


def _alternate_problem(
    symbol: str,
    alternate: str | None,
    ctx: TaxContext,
    losses: Sequence[OpenLoss],
    sold: frozenset[str],
) -> str:
    if alternate is None:
        return f"no alternate is configured for {symbol} (tax.alternates)"
    if alternate in ctx.identical.members(symbol):
        return f"its alternate {alternate} is substantially identical to it"
    if any(alternate in loss.symbols for loss in losses):
        return f"its alternate {alternate} is in a wash-sale window too"
    if alternate in sold:
        return f"the plan sells its alternate {alternate}"
    if alternate not in ctx.prices:
        return f"no quote for its alternate {alternate}"
    return ""


def _blocked(order: PlannedOrder, loss: OpenLoss, reason: str) -> BuyVerdict:
    return BuyVerdict(
        None,
        TaxDecision(TaxAction.BLOCKED, order.symbol, reason, qty_before=order.qty, until=loss.ends),
    )


def sale_preview(
    ctx: TaxContext, symbol: str, qty: Decimal, picks: Sequence[LotPick] = ()
) -> SalePreview | None:
    """Return the engine's preview of selling `qty` now, or None when the ledger lacks lots.

    With `specific` identification and no lots named, the minimum-tax order is the choice.
    Under the broker's `hifo` or `min_tax`, the lots are those the broker would pick
    (`_relief`).
    """
    if qty <= 0:
        return None
    price = ctx.prices[symbol]
    method = _method(ctx, picks)
    try:
        return ctx.book.preview_sale(
            ctx.account,
            symbol,
            qty,
            ctx.today,
            qty * price,
            method,
            _relief(ctx, symbol, qty, picks),
        )
    except TaxDataError:
        # Fewer shares in the ledger than sold (lots never imported), or an account the
        # ledger has never seen: the caller says so instead of guessing.
        return None


def sale_what_if(ctx: TaxContext, symbol: str, qty: Decimal) -> SalesWhatIf | None:
    """Return selling `qty` now worked out as `sale_preview` would, or None when lots are missing.

    Its `disallowed()` decides a washed sell without the preview's records; its `previews()`
    give the preview `sale_preview` would, for a sell that goes ahead.
    """
    if qty <= 0:
        return None
    request = SaleRequest(
        ctx.account,
        symbol,
        qty,
        qty * ctx.prices[symbol],
        _method(ctx, ()),
        _relief(ctx, symbol, qty, ()),
    )
    try:
        return ctx.book.what_if(ctx.today, (request,))
    except TaxDataError:
        return None


def _method(ctx: TaxContext, picks: Sequence[LotPick]) -> LotMethod:
    method = LotMethod(ctx.settings.lot_method)
    if method is LotMethod.SPECIFIC and not picks:
        return LotMethod.MIN_TAX
    return method


def _relief(
    ctx: TaxContext, symbol: str, qty: Decimal, picks: Sequence[LotPick]
) -> tuple[LotPick, ...]:
    """Return the lots a sale names: `picks`, or those the broker's own method would relieve.

    The broker ranks `hifo` and `min_tax` lots by the basis it knows, without washes from
    other accounts or symbols (`BookView.broker_lots`): the preview names the lots it would
    sell, and the ledger records the same ones when the fill comes
    (`daemon.store.tax_sources.relieve`). `specific` without picks is trimtab's own choice,
    made on the household's basis.
    """
    method = LotMethod(ctx.settings.lot_method)
    if picks or method not in BROKER_RANKED:
        return tuple(picks)
    lots = ctx.book.broker_lots(ctx.account, symbol)
    return relieved(lots, method, ctx.today, ctx.prices[symbol], qty)


class WindowEnds:
    """The last day a purchase of a symbol's group already made can wash a loss.

    Built once per plan from `ctx.purchase_windows` (a household can have hundreds open), so
    that each washed sell looks its symbol up instead of going through them all.
    """

    __slots__ = ("_default", "_ends")

    def __init__(self, ctx: TaxContext) -> None:
        self._default = ctx.today + timedelta(days=WINDOW_DAYS)
        self._ends: dict[str, date] = {}
        windows: Sequence[PurchaseWindow] = ctx.purchase_windows
        for window in windows:
            if window.available_qty <= 0:
                continue
            for symbol in window.symbols:
                known = self._ends.get(symbol)
                if known is None or window.ends > known:
                    self._ends[symbol] = window.ends

    def __call__(self, symbol: str) -> date:
        return self._ends.get(symbol, self._default)


@dataclass(frozen=True, slots=True)
class SellVerdict:
    """What becomes of a sell: `qty` 0 is deferred; `preview` is set when other lots are sold.

    With `preview` None and `qty` above 0, the sell goes ahead as planned.
    """

    qty: Decimal
    preview: SalePreview | None
    decision: TaxDecision | None


def guard_loss_sale(
    order: PlannedOrder,
    ctx: TaxContext,
    washed: Decimal,
    *,
    raises_cash: bool = False,
    window_ends: WindowEnds | None = None,
) -> SellVerdict:
    """Apply the account's loss-sale policy to a sell whose loss the engine says is `washed`.

    `washed` is the disallowed amount of the sell as planned (`sale_what_if`). A sell that
    raises cash the owner asked for (a withdrawal, the cash buffer) is never deferred or cut:
    it is allowed, and the decision shows the disallowed loss; `daemon.core.decide` then
    plans the cash again from other holdings where they can raise it, and holds back one
    whose loss would be lost for good. Pass the plan's `window_ends`
    when guarding many sells of one plan.
    """
    if washed <= 0:
        return SellVerdict(order.qty, None, None)
    ends = (window_ends or WindowEnds(ctx))(order.symbol)
    cause = (
        f"selling {quantity(order.qty)} {order.symbol} realizes a loss that a purchase of the "
        f"group within the last 30 days would wash ({money(washed)} disallowed)"
    )
    policy = ctx.settings.wash_sale.loss_sales
    if policy == "choose_other_lots":
        qty, other = _without_losses(order, ctx)
        enough = qty == order.qty or not raises_cash
        if qty > 0 and other is not None and other.disallowed == 0 and enough:
            return SellVerdict(
                qty,
                other,
                TaxDecision(
                    TaxAction.OTHER_LOTS,
                    order.symbol,
                    f"{cause}; sold {quantity(qty)} sh from lots at a gain instead",
                    qty_before=order.qty,
                    qty_after=qty,
                    until=ends,
                ),
            )
        cause += "; no lots at a gain to sell instead"
    if policy == "allow" or raises_cash:
        why = "allowed by policy" if policy == "allow" else "allowed: the sale raises cash"
        return SellVerdict(
            order.qty,
            None,
            TaxDecision(
                TaxAction.ALLOWED,
                order.symbol,
                f"{cause}; {why}",
                qty_before=order.qty,
                qty_after=order.qty,
                until=ends,
                disallowed=washed,
            ),
        )
    return SellVerdict(
        _ZERO,
        None,
        TaxDecision(
            TaxAction.DEFERRED,
            order.symbol,
            f"{cause}; deferred until after {ends}",
            qty_before=order.qty,
            until=ends + _DAY,
            disallowed=washed,
        ),
    )


def _without_losses(order: PlannedOrder, ctx: TaxContext) -> tuple[Decimal, SalePreview | None]:
    """Return how much can be sold from lots that are not at a loss, and that sale's preview."""
    price = ctx.prices[order.symbol]
    lots = [
        lot
        for lot in ctx.book.lots(ctx.account, order.symbol)
        if lot.adjusted_basis <= lot.qty * price
    ]
    picks: list[LotPick] = []
    need = order.qty
    for lot in rank(lots, LotMethod.MIN_TAX, ctx.today, price):
        take = min(lot.qty, need)
        picks.append(LotPick(lot.source_id, take))
        need -= take
        if need <= 0:
            break
    qty = floor_to(order.qty - need, ctx.increment(order.symbol))
    if qty <= 0 or qty * price < ctx.min_trade:
        return _ZERO, None
    trimmed = _trim(picks, qty)
    return qty, sale_preview(ctx, order.symbol, qty, trimmed)


def _trim(picks: Sequence[LotPick], qty: Decimal) -> list[LotPick]:
    """Return the picks cut to `qty` shares in total (merging pieces of one purchase)."""
    merged: dict[str, Decimal] = {}
    left = qty
    for pick in picks:
        take = min(pick.qty or _ZERO, left)
        if take > 0:
            merged[pick.source_id] = merged.get(pick.source_id, _ZERO) + take
            left -= take
    return [LotPick(source_id, q) for source_id, q in merged.items()]
