"""A tax-loss harvest goes ahead whole or not at all: the pre-trade review of a plan with
harvests (step 6 of `daemon.core.decide`).

A harvest sells at a loss and buys the alternate with the proceeds: the sell alone leaves the
money in cash for the 30 days the primary cannot be bought back. When the checks refuse one
leg, the other is refused too (`HARVEST_PAIR`), and the tax decision, lots and preview no
longer claim the loss (`unharvest`).
"""

from __future__ import annotations

__all__ = ["HARVEST_PAIR", "review_harvests", "unharvest"]

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal

from daemon.core.domain import Side
from daemon.core.planner.reasons import quantity
from daemon.core.risk import (
    TRIPPING_CHECKS,
    CheckDecision,
    RiskConfig,
    RiskReview,
    RiskState,
    review_orders,
)
from daemon.core.tax.guards import sale_preview
from daemon.core.tax.harvest import harvested_loss, tried_first
from daemon.core.tax.plan_types import TaxAction, TaxContext, TaxDecision, TaxedPlan, TaxPreview
from daemon.core.tax.types import SalePreview, Term

_ZERO = Decimal(0)
HARVEST_PAIR = "harvest_pair"
"""The check named by the refusal of a harvest leg whose other leg the checks refused. Not a
tripping check: the other leg's own refusal says whether anything is wrong with trimtab."""


def _harvest_pairs(taxed: TaxedPlan) -> dict[str, str]:
    """Return each harvested symbol's alternate: the sell and the buy that go together."""
    return {
        d.symbol: d.alternate
        for d in taxed.decisions
        if d.action is TaxAction.HARVEST and d.alternate and d.symbol in taxed.harvest
    }


def review_harvests(
    taxed: TaxedPlan,
    limits: RiskConfig,
    state: RiskState,
    alternates: Mapping[str, Sequence[str]],
    refused_before: Mapping[str, Mapping[str, str]],
) -> tuple[RiskReview, dict[str, str], dict[str, dict[str, str]]]:
    """Review the plan's orders; a harvest is approved whole or refused whole.

    A harvest sells at a loss and buys the alternate with the proceeds: the sell alone
    leaves the money in cash for the 30 days the primary cannot be bought back. When the
    checks refuse either leg, the other is refused too (naming the refused leg's check) and
    the rest are reviewed again without the pair, so the count, turnover and cash the pair
    used go to the other orders. Returns the review; per harvest undone, why; and per
    harvest to try again with its next alternate, the alternate whose buy alone was refused
    and why (`refused_before` holds those refused in earlier rounds). A refusal by a
    tripping check is not tried around: it halts the account.
    """
    pairs = _harvest_pairs(taxed)
    orders = taxed.plan.orders
    refused: dict[tuple[str, Side], CheckDecision] = {}
    undone: dict[str, str] = {}
    tried: dict[str, dict[str, str]] = {}
    review = review_orders(orders, limits, state)
    # Each round undoes at least one more harvest (or stops), so it ends.
    for _ in range(len(pairs)):
        verdicts = {(d.symbol, d.side): d for d in review.decisions}
        broken = {
            s: a
            for s, a in pairs.items()
            if s not in undone
            and (s, Side.SELL) in verdicts
            and (a, Side.BUY) in verdicts
            and not (verdicts[(s, Side.SELL)].allowed and verdicts[(a, Side.BUY)].allowed)
        }
        if not broken:
            break
        for symbol, alternate in sorted(broken.items()):
            sell, buy = verdicts[(symbol, Side.SELL)], verdicts[(alternate, Side.BUY)]
            first, other = (buy, sell) if not buy.allowed else (sell, buy)
            why = f"{_leg(first)} refused ({first.check}: {first.reason})"
            if (
                sell.allowed
                and buy.check not in TRIPPING_CHECKS
                and _untried(alternates, symbol, {*refused_before.get(symbol, {}), alternate})
            ):
                tried[symbol] = {alternate: f"{buy.check}: {buy.reason}"}
            refused[(first.symbol, first.side)] = first
            refused[(other.symbol, other.side)] = (
                other
                if not other.allowed
                else dataclasses.replace(
                    other,
                    allowed=False,
                    check=HARVEST_PAIR,
                    reason=f"a harvest trades both legs or neither: {why}",
                    passed=(),
                )
            )
            undone[symbol] = why
        left = tuple(o for o in orders if (o.symbol, o.side) not in refused)
        review = review_orders(left, limits, state)
    if not undone:
        return review, undone, tried
    verdicts = {(d.symbol, d.side): d for d in review.decisions} | refused
    ordered = sorted(orders, key=lambda o: o.side != Side.SELL)
    return (
        RiskReview(review.approved, tuple(verdicts[(o.symbol, o.side)] for o in ordered)),
        undone,
        tried,
    )


def _untried(alternates: Mapping[str, Sequence[str]], symbol: str, refused: set[str]) -> bool:
    """Say whether `symbol` has an alternate the checks have not refused yet."""
    return any(a not in refused for a in alternates.get(symbol, ()))


def _leg(decision: CheckDecision) -> str:
    what = "the alternate's buy" if decision.side is Side.BUY else "the harvest sell"
    return f"{what} of {quantity(decision.qty)} {decision.symbol}"


def unharvest(taxed: TaxedPlan, undone: Mapping[str, str], context: TaxContext) -> TaxedPlan:
    """Say a harvest the checks refused was not harvested: its decision, its lots, the
    preview's figures and the harvested symbols no longer claim a loss that is not realized."""
    if not undone:
        return taxed
    decisions = tuple(
        TaxDecision(
            TaxAction.HARVEST, d.symbol, f"not harvested: {undone[d.symbol]}{tried_first(d)}"
        )
        if d.action is TaxAction.HARVEST and d.symbol in undone
        else d
        for d in taxed.decisions
    )
    preview = taxed.preview
    for symbol in sorted(undone):
        order = next(o for o in taxed.plan.orders if o.symbol == symbol and o.side is Side.SELL)
        sale = sale_preview(context, symbol, order.qty, taxed.lots.get(symbol, ()))
        if sale is not None:
            preview = _without_sale(preview, sale)
    notes = tuple(f"tax: {s} not harvested: {why}" for s, why in sorted(undone.items()))
    return TaxedPlan(
        plan=dataclasses.replace(taxed.plan, notes=(*taxed.plan.notes, *notes)),
        decisions=decisions,
        preview=preview,
        lots={s: p for s, p in taxed.lots.items() if s not in undone},
        harvest=taxed.harvest - set(undone),
    )


def _without_sale(preview: TaxPreview, sale: SalePreview) -> TaxPreview:
    """Return the preview less one harvest sale's figures (as `tax_step` added them)."""
    st_gain, lt_gain, st_loss, lt_loss, disallowed = (
        preview.short_term_gain,
        preview.long_term_gain,
        preview.short_term_loss,
        preview.long_term_loss,
        preview.disallowed,
    )
    for piece in sale.pieces:
        if piece.term is Term.LONG:
            lt_gain -= max(piece.gain, _ZERO)
            lt_loss -= max(-piece.gain, _ZERO)
        else:
            st_gain -= max(piece.gain, _ZERO)
            st_loss -= max(-piece.gain, _ZERO)
        disallowed -= piece.disallowed
    harvested = preview.harvested - harvested_loss(sale)
    return TaxPreview(st_gain, lt_gain, st_loss, lt_loss, disallowed, harvested)
