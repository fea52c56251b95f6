"""Sales held back whole, and what `daemon.core.decide` plans again with around them.

A held holding with a target of 0 is out of band whatever its weight
(`daemon.core.planner.bands.outside_band`): the plan sells it, and with it rebalances the
account. When its whole sale is held back, by the tax step (a wash-sale guard with
`loss_sales = "defer"`, the gains budget) or by a pre-trade check that judges the order by
itself (`ORDER_CHECKS`), it stays held at a target of 0, and every cycle of the wait would
rebalance the account again, the rest of it trading for nothing. `decide` plans again with
each such holding:

- an alternate returning to its primary (`StandIns.returning`) stands in still
  (`stand_in_targets`' `held_back`): the pair is tested against the primary's target;
- any other is set aside (`set_aside`): out of the targets and, as a `policy.keep` holding
  is, out of the value the targets are weights of, so it sets nothing off and the money in
  it is not counted as there to invest.

A returning alternate's sale that the tax step cut to the shares that raise cash (a
withdrawal, the buffer: those are sold all the same) is held back too: standing in, the pool
gives up only what it holds above the primary's target, the other holdings the rest of the
cash. (Any other holding is not: set aside, it could not be sold for the cash at all.)

The decisions and refusals that held each sale back stay in the decision (`with_waiting`),
once each, and only for a holding the final plan neither sells nor decides on: its own
decisions say what it does. A refusal stays apart from the review (`Decision.waiting`), which
decides the plan's orders only, so a refused order is one the plan holds. Each cycle plans
afresh, so the first plan in which the sale can go ahead makes it.

A refusal by a check that refuses every order of the cycle (the kill switch, a halted
account, the market closed) sets nothing aside: nothing trades anyway, and the plan shows
what the account would do. Nor does one by a check that weighs the order against the others
(orders per cycle, cash) or that halts the account (turnover, orders per minute).
"""

from __future__ import annotations

__all__ = ["ORDER_CHECKS", "HeldBack", "held_back", "set_aside", "with_waiting"]

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from daemon.core.domain import Side
from daemon.core.planner import PlanInput, PlanningPolicy
from daemon.core.risk import Check, CheckDecision, RiskReview
from daemon.core.tax.plan_types import TaxAction, TaxDecision, TaxedPlan
from daemon.core.tax.tax_step import sold_all_the_same

ORDER_CHECKS = frozenset(
    {
        Check.SYMBOL_LIST,
        Check.PRICE,
        Check.PRICE_MOVE,
        Check.PRICE_COLLAR,
        Check.QUANTITY,
        Check.WOULD_SHORT,
        Check.OPEN_ORDER,
        Check.MIN_TRADE,
        Check.MAX_ORDER_NOTIONAL,
        Check.MAX_ORDER_PCT_NAV,
    }
)
"""The pre-trade checks that judge an order by itself: a sale one of them refuses waits."""
_HOLDING_BACK = (TaxAction.DEFERRED, TaxAction.BUDGET)
_ZERO = Decimal(0)
_ASIDE = "set aside: its sale is held back (see the plan's notes)"


@dataclass(frozen=True, slots=True)
class HeldBack:
    """The sales the rounds so far held back whole, and what held each back."""

    stand_in: frozenset[str] = frozenset()
    """Alternates returning to their primary that stand in still."""
    aside: frozenset[str] = frozenset()
    """Other holdings with a target of 0: out of the targets and the managed value."""
    decisions: tuple[TaxDecision, ...] = ()
    refusals: tuple[CheckDecision, ...] = ()

    @property
    def symbols(self) -> frozenset[str]:
        return self.stand_in | self.aside


def held_back(
    plan_input: PlanInput,
    taxed: TaxedPlan,
    review: RiskReview,
    returning: frozenset[str],
    before: HeldBack,
) -> HeldBack | None:
    """Return `before` with the sales of holdings with a target of 0 that this plan held back
    whole, or None when it held back none not held back before.

    `returning` are the alternates returning to their primary (`StandIns.returning`): they
    stand in still; the others are set aside. A holding of a pool (`PlanInput.stand_ins`) is
    tested with its pool, not alone, and is left out.
    """
    pooled = plan_input.stand_ins.keys() | set(plan_input.stand_ins.values())
    unwanted = {
        s
        for s, q in plan_input.holdings.items()
        if q > 0 and plan_input.targets.get(s, _ZERO) <= 0 and s not in pooled
    } - before.symbols
    if not unwanted:
        return None  # no holding with a target of 0 (beyond those held back before)
    sold = {o.symbol: o for o in taxed.plan.orders if o.side is Side.SELL}
    # A returning alternate's sale cut to the shares that raise cash is held back too: the
    # pool it stands in still gives up what it holds above the primary's target, and the
    # other holdings the rest. (Set aside, another holding would not be sold at all.)
    raising = {s for s in unwanted & returning if s in sold and sold[s].qty <= sold[s].raises}
    decisions = tuple(
        _whole(d) if d.symbol in raising else d
        for d in taxed.decisions
        if d.symbol in unwanted
        and (d.symbol not in sold or d.symbol in raising)
        and d.action in _HOLDING_BACK
    )
    refusals = tuple(
        d
        for d in review.denied
        if d.symbol in unwanted and d.side is Side.SELL and d.check in ORDER_CHECKS
    )
    found = {d.symbol for d in decisions} | {d.symbol for d in refusals}
    if not found:
        return None
    return HeldBack(
        stand_in=before.stand_in | (found & returning),
        aside=before.aside | (found - returning),
        decisions=(*before.decisions, *decisions),
        refusals=(*before.refusals, *refusals),
    )


def _whole(decision: TaxDecision) -> TaxDecision:
    """Return a decision that held back all of a sale but its shares that raise cash as it
    reads for a plan that sells none of it (`with_waiting` adds it only to such a plan)."""
    still = sold_all_the_same(decision.qty_after)
    if not decision.reason.endswith(still):
        return decision
    return dataclasses.replace(
        decision,
        qty_after=_ZERO,
        reason=f"{decision.reason.removesuffix(still)}; none sold: it stands in for its "
        "primary still, and the cash is raised without it",
    )


def set_aside(
    policy: PlanningPolicy, plan_input: PlanInput, aside: frozenset[str]
) -> tuple[PlanningPolicy, PlanInput]:
    """Return the policy and input that plan the account with `aside` set aside: kept (never
    traded, out of the managed value) and out of the targets, where a weight of 0 may name
    them."""
    if not aside:
        return policy, plan_input
    return (
        dataclasses.replace(policy, keep=policy.keep | aside),
        dataclasses.replace(
            plan_input,
            targets={s: w for s, w in plan_input.targets.items() if s not in aside},
        ),
    )


def with_waiting(
    taxed: TaxedPlan, review: RiskReview, held: HeldBack
) -> tuple[TaxedPlan, tuple[CheckDecision, ...]]:
    """Add what held back the sales that wait: the decisions, a note per decision and
    refusal, and a note per holding set aside (on its drift row too); return the plan and the
    refusals. The plan no longer sells them, but its notes (and the tax decisions) say why
    they are kept. Only for a holding the final plan neither sells nor decides on (its own
    decisions or refusals say what it does), and each once. The refusals are not added to
    the review: it decides the plan's orders, and their orders are not in it."""
    if not held.symbols:
        return taxed, ()
    # An earlier round's decision on a sale the final plan makes again, or decides again,
    # would describe a sale it does not plan: the final plan's own say what it does.
    sold = {o.symbol for o in taxed.plan.orders if o.side is Side.SELL}
    decided = sold | {d.symbol for d in taxed.decisions}
    reviewed = sold | {d.symbol for d in review.decisions if d.side is Side.SELL}
    decisions = tuple(
        {
            (d.symbol, d.action, d.reason): d for d in held.decisions if d.symbol not in decided
        }.values()
    )
    refusals = tuple(
        {
            (d.symbol, d.check, d.reason): d for d in held.refusals if d.symbol not in reviewed
        }.values()
    )
    notes = (
        *(f"tax: {d.symbol} {d.action.label}: {d.reason}" for d in decisions),
        *(f"{d.symbol}: sale refused ({d.check}: {d.reason})" for d in refusals),
        *(
            f"{s} set aside until its sale can go ahead: not traded, and out of the value "
            "the targets are weights of"
            for s in sorted(held.aside)
        ),
    )
    drift = tuple(
        dataclasses.replace(r, note=_ASIDE) if r.symbol in held.aside and not r.managed else r
        for r in taxed.plan.drift
    )
    plan = dataclasses.replace(taxed.plan, notes=(*taxed.plan.notes, *notes), drift=drift)
    return dataclasses.replace(taxed, plan=plan, decisions=(*taxed.decisions, *decisions)), refusals
