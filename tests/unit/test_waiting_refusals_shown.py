"""A target-0 holding whose sale a pre-trade check refuses is set aside, and its refusal kept
apart from the review of the plan's own orders (`Decision.waiting`). It must still reach
everything that lists refusals: the `risk_decision` audit record the daily report reads, and
`trimtab plan`'s JSON and table, as docs/report.md and the README say."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from daemon.audit.events import PlanMade, RiskDecisions
from daemon.cli.render import plan_json
from daemon.core.decide import Decision
from daemon.core.domain import AccountType, Mode
from daemon.core.risk import RiskConfig
from daemon.report.activity import refusals_of
from tests.fakes.audit import audit_record, finished, started
from tests.hand_account_case import decide_account

AT = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
CYCLE = "a:2026-11-24:manual"


def _x_refused() -> Decision:
    """A and B to rebalance; X (target 0) refused by max_order_notional, so set aside."""
    decision = decide_account(
        today=date(2024, 3, 1),
        held={"A": 550, "B": 350, "X": 150},
        prices={"A": 100, "B": 100, "X": 100},
        targets={"A": "0.5", "B": "0.5"},
        universe={"A", "B", "X"},
        account_type=AccountType.ROTH_IRA,
        mode=Mode.PAPER,
        limits=RiskConfig(max_order_notional=Decimal(12000)),
    )
    assert [r.symbol for r in decision.waiting] == ["X"]
    assert "X" not in {o.symbol for o in decision.plan.orders}
    return decision


def test_the_audited_pre_trade_decisions_hold_the_waiting_refusal() -> None:
    decision = _x_refused()
    records = [
        audit_record(event, at=AT, cycle_id=CYCLE)
        for event in (
            started(submit=True, mode=Mode.PAPER),
            PlanMade(plan=decision.plan, prices_as_of={}),
            RiskDecisions(decision.checked),
            finished(submitted=True, planned_orders=len(decision.plan.orders)),
        )
        if event is not None
    ]
    refused = [(r.symbol, r.check) for r in refusals_of(records)]
    assert refused == [("X", "max_order_notional")]


def test_the_plan_json_lists_the_waiting_refusal() -> None:
    decision = _x_refused()
    shown = plan_json(decision.plan, decision.refusals)["refusals"]
    assert [(r["symbol"], r["check"]) for r in shown] == [("X", "max_order_notional")]
