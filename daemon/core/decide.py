"""The decision step: what a cycle gathered in; the orders to send and every refusal out.

Pure: no clock, no I/O, no logging. The live cycle (`daemon.cycle.engine`), `trimtab plan`
(against a broker or a holdings file) and the backtest all call `decide`, so they cannot
disagree about what an account should trade. In order:

1. the strategy's targets are checked (`StrategyError` names a bad weight, a symbol
   outside the strategy's universe, or a weight above 0 on a `keep` symbol; a weight of 0
   on one is dropped);
2. the snapshot becomes the planner's input, every price checked (`DataError` names it);
3. held tax alternates stand in for their primaries (`daemon.core.tax.harvest`): a share
   of the primary's target, and one holding with it for the planner's band test; when
   step 5 or 6 holds back the whole sale of a holding with a target of 0, steps 3 to 6 run
   again with it standing in still (an alternate returning to its primary) or set aside,
   out of the value the targets are weights of (`daemon.core.held_back`);
4. the planner (`daemon.core.planner`) plans the trades;
5. the tax step (`daemon.core.tax.tax_step`): wash-sale guards, lots, gains budget, harvest;
   a sell that raises cash into a wash sale is planned again without that holding when the
   others can raise the cash, and held back when its loss would be lost for good
   (`_plan_unwashed`); when the sales that raise the buffer and withdrawal would bring in
   less than that once
   they pay the broker's costs (`daemon.core.costs`), steps 4 and 5 run again raising the
   difference too;
6. the pre-trade checks (`daemon.core.risk`), each refusal with its check and reason; a
   tax-loss harvest goes ahead whole or not at all: when the checks refuse one of its legs
   (the sell, or the alternate's buy) the other is refused too
   (`daemon.core.harvest_review`) and the tax decision says it was not harvested; when
   only the alternate's buy was refused (by a check that does not trip) and the symbol has
   another alternate, steps 4 to 6 run again with that alternate refused
   (`TaxContext.refused_alternates`), so the harvest buys the next one in the configured
   order;
7. trip rules: a malfunction check that refused anything holds the whole cycle;
8. the mode gate: plan only, dry-run, kill switch, nothing to send.

Bad input raises (`DataError`, `StrategyError`): the caller records the failed cycle and
sends nothing. Every other outcome is a `Decision`.
"""

from __future__ import annotations

__all__ = ["CycleState", "Decision", "DecisionInput", "Hold", "TaxInputs", "decide"]

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.domain import (
    AccountSnapshot,
    AccountType,
    Mode,
    OrderType,
    Side,
    TradingState,
)
from daemon.core.errors import DataError
from daemon.core.harvest_review import review_harvests, unharvest
from daemon.core.held_back import HeldBack, held_back, set_aside, with_waiting
from daemon.core.inputs import (
    check_held_weights,
    check_kept_weights,
    check_targets,
    managed_holdings,
    planning_input,
    snapshot_prices,
)
from daemon.core.money import CENT, cents_up, money
from daemon.core.planner import Plan, PlanInput, PlannedOrder, PlanningPolicy, plan_rebalance
from daemon.core.planner.reasons import quantity
from daemon.core.risk import (
    TRIPPING_CHECKS,
    CheckDecision,
    RiskConfig,
    RiskReview,
    RiskState,
)
from daemon.core.sizing import OrderTerms, limit_price
from daemon.core.tax.engine import TaxBook
from daemon.core.tax.guards import sale_what_if
from daemon.core.tax.harvest import StandIns, stand_in_targets
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.mismatch import LotMismatch
from daemon.core.tax.plan_types import TaxAction, TaxContext, TaxDecision, TaxedPlan, TaxPreview
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.tax_step import apply_tax, realized_this_year

_COST_ROUNDS = 4
"""Rounds of planning again to raise what the sales lose, beside one more per holding: a
later round covers what the extra sales of an earlier one lose (their slippage, a share's
rounding), and each holding a round adds to the sales brings a commission of its own (a
cent's sale of it once took a $4.95 commission, and four rounds ended two cents short)."""
_ZERO = Decimal(0)


class Hold(StrEnum):
    """Why a cycle sends nothing at all, in the order the gate asks."""

    PLAN_ONLY = "plan only"
    TRIPPED = "a risk limit tripped: account halted"
    DRY_RUN = "dry-run mode"
    KILL_SWITCH = "kill switch engaged"
    HALTED = "account halted: only `trimtab resume` lets it trade again"
    NOTHING_TO_SEND = "no orders to send"


@dataclass(frozen=True, slots=True)
class TaxInputs:
    """The household's ledger as the tax step needs it: a replay, and the account's rules."""

    book: TaxBook
    today: date
    settings: TaxSettings
    identical: SubstantiallyIdentical
    mismatches: tuple[LotMismatch, ...] = ()
    """The account's symbols whose open lots differ from the broker's position, compared at
    the edge (`daemon.cycle.tax`): the tax step does not trust their lots. Empty in a backtest,
    which owns both sides."""


@dataclass(frozen=True, slots=True)
class CycleState:
    """What trimtab and the account stand at when the cycle decides (read, not configured)."""

    kill_switch_reason: str | None = None
    """None while the kill switch is clear."""
    trading_state: TradingState = TradingState.ACTIVE
    trading_state_reason: str = ""
    market_open: bool = True
    """The exchange calendar and the broker's clock agree the market is open, or the account
    trades outside hours."""
    busy_symbols: frozenset[str] = frozenset()
    """Symbols with an open order at the broker or an unresolved one of trimtab's."""
    orders_in_last_minute: int = 0
    traded_today: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class DecisionInput:
    """Everything one account's decision depends on; nothing else is consulted."""

    account: str
    account_type: AccountType
    strategy: str
    """The strategy's name, for errors that name it."""
    targets: Mapping[str, Decimal]
    """The weights the strategy returned, unchecked."""
    universe: frozenset[str]
    """The symbols the strategy may give a weight (its `universe()`; a household member's:
    the household's): a target outside it and `CASH` is refused (`StrategyError`), unless the
    account holds the symbol and the weight is at most its current one (it is only sold)."""
    snapshot: AccountSnapshot
    planning: PlanningPolicy
    terms: OrderTerms
    limits: RiskConfig
    state: CycleState
    tax: TaxInputs
    now: datetime
    """The clock reading the quotes' ages are judged against."""
    max_quote_age: timedelta
    mode: Mode
    submit: bool
    """False for a plan-only run: everything is decided, nothing is to be sent."""
    withdrawal: Decimal = Decimal(0)
    alternates: frozenset[str] = field(default_factory=frozenset)
    """Symbols the tax step may trade beyond the strategy's (`tax.alternates`)."""
    costs: TradeCosts = NO_COSTS
    """What the broker takes beyond quantity x quote (`Broker.trade_costs`): sales that raise
    the buffer and the withdrawal raise it too."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The orders to send, and why every other planned order is not sent."""

    targets: Mapping[str, Decimal]
    """The strategy's targets, checked."""
    stand_ins: tuple[str, ...]
    """What held alternates changed in the targets."""
    plan_input: PlanInput
    taxed: TaxedPlan
    review: RiskReview
    tripped: CheckDecision | None
    """The first malfunction check that refused an order; the caller halts the account."""
    hold: Hold | None
    """Why nothing is sent; None when the approved orders go to the executor."""
    waiting: tuple[CheckDecision, ...] = ()
    """The refusals that held back the sales of holdings set aside (`daemon.core.held_back`):
    of orders an earlier round planned, not this plan's, so not in `review` (the plan's notes
    say them too)."""

    @property
    def plan(self) -> Plan:
        return self.taxed.plan

    @property
    def approved(self) -> tuple[PlannedOrder, ...]:
        """The orders to send: none while the cycle is held."""
        return () if self.hold is not None else self.review.approved

    @property
    def refusals(self) -> tuple[CheckDecision, ...]:
        """The refusals of the sales that wait, then those of this plan's orders."""
        return (*self.waiting, *self.review.denied)

    @property
    def checked(self) -> tuple[CheckDecision, ...]:
        """Every pre-trade decision the cycle records (`risk_decision`): the refusals of the
        sales that wait, then the review of this plan's orders. Whoever lists refusals (the
        daily report) sees both; a count of the plan's orders reads `review` alone."""
        return (*self.waiting, *self.review.decisions)


def decide(given: DecisionInput) -> Decision:
    """Decide one account's cycle; raise `DataError`/`StrategyError` on input it cannot trust."""
    held = {p.symbol for p in given.snapshot.positions if p.qty.is_finite() and p.qty > 0}
    targets = check_targets(given.targets, given.strategy, given.universe, held=held)
    # A kept holding is not traded: a weight of 0 on it is dropped, more is refused.
    targets = check_kept_weights(targets, given.strategy, given.planning.keep)
    checked = planning_input(
        given.snapshot,
        targets,
        now=given.now,
        max_quote_age=given.max_quote_age,
        withdrawal=given.withdrawal,
    )
    # A held symbol outside the universe: at most its current weight (it can only be sold).
    checked = check_held_weights(checked, given.strategy, given.universe, keep=given.planning.keep)
    targets = dict(checked.targets)
    stood_in = _stand_ins(given, checked, frozenset())
    given_aside, checked_aside, waiting = given, checked, HeldBack()
    # A holding with a target of 0 whose whole sale the tax step or a check holds back would
    # set off a rebalance every cycle of the wait (`daemon.core.held_back`): the account is
    # planned again with it standing in (a returning alternate) or set aside. Each round
    # holds back at least one more holding (or stops), so it ends.
    for _ in range(len(checked.holdings) + 1):
        planned = _plan_reviewed(given_aside, checked_aside, stood_in)
        found = held_back(
            planned.plan_input, planned.taxed, planned.review, stood_in.returning, waiting
        )
        if found is None:
            break
        waiting = found
        policy, checked_aside = set_aside(given.planning, checked, waiting.aside)
        given_aside = dataclasses.replace(given, planning=policy)
        stood_in = _stand_ins(given_aside, checked_aside, waiting.stand_in)
    review = planned.review
    taxed, refusals = with_waiting(planned.taxed, review, waiting)
    tripped = next((d for d in review.denied if d.check in TRIPPING_CHECKS), None)
    return Decision(
        targets=targets,
        stand_ins=tuple(planned.said),
        plan_input=planned.plan_input,
        taxed=taxed,
        review=review,
        tripped=tripped,
        hold=_hold(given, review, tripped=tripped is not None),
        waiting=refusals,
    )


def _stand_ins(given: DecisionInput, checked: PlanInput, held_back: frozenset[str]) -> StandIns:
    """Return the targets with the held alternates standing in (step 3); those in
    `held_back` stand in after their return to the primary too."""
    tax = given.tax
    # An alternate's share is of the value the planner's weights are of: cash, reserved cash
    # and the holdings not in `keep`.
    return stand_in_targets(
        checked.targets,
        managed_holdings(checked.holdings, given.planning.keep),
        checked.prices,
        checked.cash + checked.reserved_cash,
        settings=tax.settings,
        identical=tax.identical,
        loss_windows=tax.book.loss_windows(tax.today),
        today=tax.today,
        held_back=held_back,
    )


@dataclass(frozen=True, slots=True)
class _Planned:
    plan_input: PlanInput
    taxed: TaxedPlan
    said: list[str]
    review: RiskReview


def _plan_reviewed(given: DecisionInput, checked: PlanInput, stood_in: StandIns) -> _Planned:
    """Plan, tax and review the account with these alternates standing in (steps 4 to 6)."""
    tax = given.tax
    # Alternates stand in only where held, so the checked prices cover the new targets. The
    # planner tests each pair as one holding, against the primary's target and band.
    stood = dataclasses.replace(checked, targets=stood_in.targets, stand_ins=stood_in.pairs)
    first = context = _tax_context(given, stood)
    refused: dict[str, dict[str, str]] = {}
    # A harvest whose alternate's buy the checks refuse is planned again without that
    # alternate while the symbol has another. Each round refuses at least one more
    # alternate (or stops), so it ends.
    for _ in range(sum(len(a) for a in tax.settings.alternates.values()) + 1):
        if refused:
            context = dataclasses.replace(first, refused_alternates=refused)
        plan_input, taxed, said = _plan(given, stood, context, stood_in.notes)
        review, undone, tried = review_harvests(
            taxed,
            given.limits,
            _risk_state(given, plan_input, taxed.plan),
            tax.settings.alternates,
            refused,
        )
        if not tried:
            break
        refused = {s: {**refused.get(s, {}), **t} for s, t in (refused | tried).items()}
    return _Planned(plan_input, unharvest(taxed, undone, context), said, review)


def _plan(
    given: DecisionInput, plan_input: PlanInput, context: TaxContext, notes: list[str]
) -> tuple[PlanInput, TaxedPlan, list[str]]:
    """Plan and tax the account (steps 4 and 5), raising what the sales lose; return the
    notes too."""
    held: dict[str, TaxDecision] = {}
    base = plan_input
    plan_input, taxed = _plan_unwashed(given, base, context, held)
    # The planner raises the buffer and withdrawal at the quote; the sales then lose their
    # slippage, charges and cent rounding. Plan again raising all that the sales lose on top,
    # a cent over: the extra shares sold lose a little more (a new sale its commission too),
    # so a round rarely leaves a gap, and a further one closes it. Each round starts again
    # from the input before any washed sale was left out: the other holdings may have raised
    # the cash at the quote but not with what their sales lose, and then the washed sale
    # goes ahead after all (`_plan_unwashed`'s rule), rather than the cash staying short.
    for _ in range(_COST_ROUNDS + len(base.holdings)):
        short, lost = _raise_shortfall(given, plan_input, taxed.plan)
        if short <= 0:
            break
        allowance = plan_input.sale_costs
        allowance = max(allowance + cents_up(short), cents_up(lost)) + CENT
        base = dataclasses.replace(base, sale_costs=allowance)
        plan_input, taxed = _plan_unwashed(given, base, context, held)
    if plan_input.sale_costs:
        notes = [
            *notes,
            f"raising {money(plan_input.sale_costs)} more cash for what the sales lose to "
            "slippage, charges and rounding",
        ]
    return plan_input, _with_notes(_with_held(taxed, held, plan_input), notes), notes


@dataclass(frozen=True, slots=True)
class _Washed:
    """A sell that raises cash and that the tax step let through into a wash sale."""

    order: PlannedOrder
    disallowed: Decimal
    permanent: bool
    """The replacement is in a traditional IRA or a Roth: the loss is lost for good."""
    until: date | None


def _plan_unwashed(
    given: DecisionInput,
    plan_input: PlanInput,
    context: TaxContext,
    held: dict[str, TaxDecision],
) -> tuple[PlanInput, TaxedPlan]:
    """Plan and tax; a sell that raises cash into a wash sale is planned again without it.

    The tax step never defers a sell that raises cash the owner asked for, so a washed one
    goes ahead. Here, before it does: the holding is left out of the sales that raise cash
    (`PlanInput.raise_without`) when the others raise at least as much without the wash.
    That is done for every washed raising sell, except one the account allows
    (`loss_sales = "allow"`) whose loss is only deferred into the replacement. When nothing
    else can raise the cash, the washed sell still goes ahead (the decision shows the
    disallowed loss), unless the loss would be lost for good (a replacement in an IRA or a
    Roth, Rev. Rul. 2008-5): that sell is held back, the cash stays short and a later cycle
    tries again. What is left out is recorded in `held` as a deferral, with its reason.
    """
    taxed = apply_tax(plan_rebalance(plan_input, given.planning), context)
    # Each round leaves out at least one more holding, so it ends; the bound keeps a
    # pathological account from planning without end.
    for _ in range(len(plan_input.holdings)):
        washed = _washed_raises(given, context, taxed)
        if not washed:
            break
        raised = _raised(given, plan_input, taxed)
        tried_input, tried = _without(given, plan_input, context, frozenset(washed))
        if (
            not _still_washed(tried, frozenset(washed))
            and _raised(given, tried_input, tried) >= raised
        ):
            held.update((s, _avoided(w)) for s, w in washed.items())
            plan_input, taxed = tried_input, tried
            continue
        permanent = frozenset(s for s, w in washed.items() if w.permanent)
        if not permanent:
            break
        if permanent != frozenset(washed):
            tried_input, tried = _without(given, plan_input, context, permanent)
        if _still_washed(tried, permanent):
            break
        short = _need(given, plan_input) - _raised(given, tried_input, tried)
        held.update((s, _held_back(washed[s], short)) for s in sorted(permanent))
        plan_input, taxed = tried_input, tried
    return plan_input, taxed


def _without(
    given: DecisionInput, plan_input: PlanInput, context: TaxContext, symbols: frozenset[str]
) -> tuple[PlanInput, TaxedPlan]:
    tried = dataclasses.replace(plan_input, raise_without=plan_input.raise_without | symbols)
    return tried, apply_tax(plan_rebalance(tried, given.planning), context)


def _washed_raises(
    given: DecisionInput, context: TaxContext, taxed: TaxedPlan
) -> dict[str, _Washed]:
    """Return the sells that raise cash and go ahead washed, that are to be planned without."""
    if given.account_type is not AccountType.TAXABLE:
        return {}
    allowed = {
        d.symbol: d
        for d in taxed.decisions
        if d.action is TaxAction.ALLOWED and d.disallowed > 0 and d.qty_after > 0
    }
    found: dict[str, _Washed] = {}
    for order in taxed.plan.orders:
        decision = allowed.get(order.symbol)
        if order.side is not Side.SELL or order.raises <= 0 or decision is None:
            continue
        what_if = sale_what_if(context, order.symbol, order.qty)
        permanent = what_if is not None and what_if.previews()[0].permanent > 0
        if permanent or given.tax.settings.wash_sale.loss_sales != "allow":
            found[order.symbol] = _Washed(order, decision.disallowed, permanent, decision.until)
    return found


def _still_washed(taxed: TaxedPlan, symbols: frozenset[str]) -> bool:
    """Return whether the plan still sells one of `symbols` into a wash sale (a rebalancing
    sell the account's `loss_sales = "allow"` lets through)."""
    return any(
        d.symbol in symbols and d.action is TaxAction.ALLOWED and d.qty_after > 0
        for d in taxed.decisions
    )


def _need(given: DecisionInput, plan_input: PlanInput) -> Decimal:
    """Return the cash the planner raises: the buffer (not with `buy_only`), the withdrawal
    and what the sales lose."""
    policy = given.planning
    base = given.withdrawal if policy.buy_only else policy.cash_buffer + given.withdrawal
    return base + plan_input.sale_costs


def _raised(given: DecisionInput, plan_input: PlanInput, taxed: TaxedPlan) -> Decimal:
    """Return the cash the plan's sells bring the account to, at the quote, up to the need."""
    sells = (o.qty * o.price for o in taxed.plan.orders if o.side is Side.SELL)
    return min(plan_input.cash + sum(sells, _ZERO), _need(given, plan_input))


def _wash_cause(washed: _Washed) -> str:
    order = washed.order
    cause = (
        f"selling {quantity(order.qty)} {order.symbol} to raise cash would realize a loss that "
        f"a purchase of the group within the last 30 days would wash "
        f"({money(washed.disallowed)} disallowed"
    )
    if washed.permanent:
        return cause + ", lost for good: the purchase was in an IRA or a Roth, Rev. Rul. 2008-5)"
    return cause + ")"


def _avoided(washed: _Washed) -> TaxDecision:
    return TaxDecision(
        TaxAction.DEFERRED,
        washed.order.symbol,
        f"{_wash_cause(washed)}; not sold: the cash is raised from other holdings",
        qty_before=washed.order.qty,
        until=None if washed.until is None else washed.until + timedelta(days=1),
        disallowed=washed.disallowed,
    )


def _held_back(washed: _Washed, short: Decimal) -> TaxDecision:
    return TaxDecision(
        TaxAction.DEFERRED,
        washed.order.symbol,
        f"{_wash_cause(washed)}; not sold, and nothing else can raise the cash: "
        # A cash buffer or an income share is raised again by later cycles; a one-off
        # --withdraw is not, so the owner is told both ways out.
        f"{money(max(short, _ZERO))} stays unraised, a later cycle tries again (a one-off "
        "--withdraw: ask again once the 30 days have passed, or sell by hand and accept the "
        "lost loss)",
        qty_before=washed.order.qty,
        until=None if washed.until is None else washed.until + timedelta(days=1),
        disallowed=washed.disallowed,
    )


def _with_held(
    taxed: TaxedPlan, held: Mapping[str, TaxDecision], plan_input: PlanInput
) -> TaxedPlan:
    """Add the decisions of the washed sells left out of raising cash, and a note each."""
    kept = [held[s] for s in sorted(held) if s in plan_input.raise_without]
    if not kept:
        return taxed
    notes = tuple(f"tax: {d.symbol} {d.action.label}: {d.reason}" for d in kept)
    return TaxedPlan(
        plan=dataclasses.replace(taxed.plan, notes=(*taxed.plan.notes, *notes)),
        decisions=(*taxed.decisions, *kept),
        preview=taxed.preview,
        lots=taxed.lots,
        harvest=taxed.harvest,
    )


def _raise_shortfall(
    given: DecisionInput, plan_input: PlanInput, plan: Plan
) -> tuple[Decimal, Decimal]:
    """Return how far the cash after the plan's sales, net of what each loses at most
    (`TradeCosts.sale_cost_bound`), falls short of the cash the planner raises (the buffer
    and the withdrawal; with `buy_only`, the withdrawal), and what the sales lose. The
    shortfall is 0 when nothing is raised, or when the sales cannot cover it even at the
    quote (selling more would not help)."""
    policy = given.planning
    need = given.withdrawal if policy.buy_only else policy.cash_buffer + given.withdrawal
    cash = plan_input.cash
    if cash >= need:
        return _ZERO, _ZERO
    sells = [o for o in plan.orders if o.side is Side.SELL]
    at_quote = cash + sum((o.qty * o.price for o in sells), _ZERO)
    if at_quote < need:
        return _ZERO, _ZERO
    lost = sum((given.costs.sale_cost_bound(o.qty, o.price) for o in sells), _ZERO)
    return max(need - (at_quote - lost), _ZERO), lost


def _tax_context(given: DecisionInput, plan_input: PlanInput) -> TaxContext:
    """The tax step's view; the alternates' prices come from the snapshot, and a missing,
    stale or bad quote leaves an alternate out (a redirect into it is then refused, saying
    why)."""
    tax = given.tax
    prices = dict(plan_input.prices)
    for symbol in sorted(given.alternates - set(prices)):
        with contextlib.suppress(DataError):
            prices |= snapshot_prices(
                given.snapshot, {symbol}, now=given.now, max_age=given.max_quote_age
            )
    return TaxContext(
        account=given.account,
        account_type=given.account_type,
        today=tax.today,
        settings=tax.settings,
        identical=tax.identical,
        book=tax.book,
        loss_windows=tax.book.loss_windows(tax.today),
        purchase_windows=tax.book.purchase_windows(tax.today),
        realized=realized_this_year(tax.book.sales, given.account, tax.today.year),
        prices=prices,
        increments={s: given.planning.increment_for(s) for s in prices},
        min_trade=given.planning.min_trade,
        mismatches={m.symbol: m for m in tax.mismatches},
    )


def _with_notes(taxed: TaxedPlan, stand_ins: list[str]) -> TaxedPlan:
    """Add the stand-in notes (and the tax preview, when any lot is sold) to the plan's notes."""
    notes = [*stand_ins, _preview_note(taxed.preview)] if taxed.lots else stand_ins
    if not notes:
        return taxed
    return TaxedPlan(
        plan=dataclasses.replace(taxed.plan, notes=(*taxed.plan.notes, *notes)),
        decisions=taxed.decisions,
        preview=taxed.preview,
        lots=taxed.lots,
        harvest=taxed.harvest,
    )


def _preview_note(preview: TaxPreview) -> str:
    parts = [
        f"short-term gains {money(preview.short_term_gain)}",
        f"long-term gains {money(preview.long_term_gain)}",
        f"losses {money(preview.short_term_loss + preview.long_term_loss)}",
        f"disallowed {money(preview.disallowed)}",
    ]
    if preview.harvested:
        parts.append(f"harvested {money(preview.harvested)}")
    return "tax preview: " + ", ".join(parts)


def _risk_state(given: DecisionInput, plan_input: PlanInput, plan: Plan) -> RiskState:
    state = given.state
    return RiskState(
        cash=given.snapshot.cash,
        nav=_account_value(plan_input),
        holdings=plan_input.holdings,
        busy_symbols=state.busy_symbols,
        kill_switch_reason=state.kill_switch_reason,
        trading_state=state.trading_state,
        trading_state_reason=state.trading_state_reason,
        market_open=state.market_open,
        previous_closes={
            s: q.previous_close
            for s, q in given.snapshot.quotes.items()
            if q.previous_close is not None
        },
        # Market orders carry no limit (`limit_price` is None for every one of them).
        limit_prices={
            o.symbol: lp for o in plan.orders if (lp := limit_price(o, given.terms)) is not None
        }
        if given.terms.order_type is OrderType.LIMIT
        else {},
        orders_in_last_minute=state.orders_in_last_minute,
        traded_today=state.traded_today,
    )


def _account_value(plan_input: PlanInput) -> Decimal:
    """Return the account's value the risk limits are of: cash, the cash the broker holds for
    open buys, and every position at its quote. Not the planner's managed value (`Plan.nav`),
    which leaves out `keep` holdings, unsold dust and holdings set aside while their sale
    waits: setting one aside would shrink the limits of the rest."""
    prices = plan_input.prices
    held = sum((q * prices[s] for s, q in plan_input.holdings.items()), _ZERO)
    return plan_input.cash + plan_input.reserved_cash + held


def _hold(given: DecisionInput, review: RiskReview, *, tripped: bool) -> Hold | None:
    if not given.submit:
        return Hold.PLAN_ONLY
    if tripped:
        return Hold.TRIPPED
    if given.mode is Mode.DRY_RUN:
        return Hold.DRY_RUN
    if given.state.kill_switch_reason is not None:
        return Hold.KILL_SWITCH
    if not review.approved and given.state.trading_state is TradingState.HALTED:
        # Its orders were refused for the state, not because there was nothing to do.
        return Hold.HALTED
    if not review.approved:
        return Hold.NOTHING_TO_SEND
    return None
