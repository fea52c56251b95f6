"""A refusal that set a holding aside is not a refusal of the final plan's orders.

X (target 0) is refused by `max_order_notional` and set aside (`daemon.core.held_back`); the
plan made again sells A and buys B. `with_waiting` put X's refusal into the review's decisions
though X's order is not in the plan, so `trimtab validate` of a dry-run cycle counted planned
2, denied 1, not sent 1: planned = denied + not sent + sent broke (both orders were not sent).
Now the review decides the plan's orders only; X's refusal is the decision's waiting refusal,
and the plan's notes say why X waits. Validate counts only refusals of planned orders, so the
records written before this change count right too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D  # noqa: N817

from daemon.audit.events import PlanMade, RiskDecisions
from daemon.core.decide import Decision
from daemon.core.domain import AccountType, Mode, Side
from daemon.core.risk import Check, CheckDecision, RiskConfig
from daemon.report.validation import AccountSummary, validate
from tests.fakes.audit import audit_record, finished, started
from tests.hand_account_case import decide_account

AT = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
CYCLE = "a:2026-11-24:manual"
REFUSED = "$15,000.00 exceeds max_order_notional $12,000.00"


def _decide() -> Decision:
    return decide_account(
        today=date(2024, 3, 1),
        held={"A": 550, "B": 350, "X": 150},
        prices={"A": 100, "B": 100, "X": 100},
        targets={"A": "0.5", "B": "0.5"},
        universe={"A", "B", "X"},
        account_type=AccountType.ROTH_IRA,
        mode=Mode.DRY_RUN,
        limits=RiskConfig(max_order_notional=D(12000)),
    )


def _validate(decision: Decision, decisions: tuple[CheckDecision, ...]) -> AccountSummary:
    records = [
        audit_record(event, at=AT, cycle_id=CYCLE)
        for event in (
            started(submit=True, mode=Mode.DRY_RUN),
            PlanMade(plan=decision.plan, prices_as_of={}),
            RiskDecisions(decisions),
            finished(
                submitted=False,
                planned_orders=len(decision.plan.orders),
                why_not_submitted="dry-run mode",
            ),
        )
    ]
    result = validate(
        ["a"], records, [], since=AT, until=AT + timedelta(days=1), max_slippage_bps=D(20)
    )
    (summary,) = result.accounts
    return summary


def test_the_review_decides_the_plans_orders_and_the_waiting_refusal_stays_apart() -> None:
    decision = _decide()
    planned = sorted((o.symbol, o.side) for o in decision.plan.orders)
    assert planned == [("A", Side.SELL), ("B", Side.BUY)]
    assert sorted((d.symbol, d.side) for d in decision.review.decisions) == planned
    assert decision.review.denied == ()
    (waiting,) = decision.waiting
    assert (waiting.symbol, waiting.side, waiting.check) == ("X", Side.SELL, "max_order_notional")
    assert waiting.check == Check.MAX_ORDER_NOTIONAL
    assert decision.refusals == (waiting,)
    assert f"X: sale refused (max_order_notional: {REFUSED})" in decision.plan.notes
    assert any(n.startswith("X set aside") for n in decision.plan.notes)


def test_validate_counts_planned_equal_to_denied_not_sent_and_sent() -> None:
    decision = _decide()
    summary = _validate(decision, decision.review.decisions)
    assert (summary.planned, summary.denied, summary.not_sent, summary.sent) == (2, 0, 2, 0)


def test_validate_leaves_out_a_recorded_refusal_of_an_order_the_plan_does_not_hold() -> None:
    # A risk_decision record written before the change: X's refusal beside the plan's orders.
    decision = _decide()
    (waiting,) = decision.waiting
    summary = _validate(decision, (waiting, *decision.review.decisions))
    assert (summary.planned, summary.denied, summary.not_sent, summary.sent) == (2, 0, 2, 0)
