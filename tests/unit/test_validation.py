"""`daemon.report.validation` on hand-made records: what counts, and the sign of slippage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from daemon.audit.events import AuditEvent, CycleFailed, PlanMade, RiskDecisions
from daemon.audit.record import AuditRecord
from daemon.core.domain import Mode, OrderStatus, Side
from daemon.core.planner import Plan, PlannedOrder
from daemon.report.validation import FillFact, OrderFact, validate
from tests.fakes.audit import audit_record, decision, finished, planned, started

D = Decimal
T0 = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)


def record(event: AuditEvent, cycle_id: str | None, account: str = "a") -> AuditRecord:
    return audit_record(event, at=T0, cycle_id=cycle_id, account=account)


def order(
    status: OrderStatus,
    *,
    side: Side = Side.BUY,
    qty: str = "10",
    filled: str = "0",
    reference: str | None = "100",
    fills: tuple[FillFact, ...] = (),
    submitted: bool = True,
    message: str = "",
    cycle_id: str = "a:2026-11-24:manual",
    symbol: str = "VTI",
) -> OrderFact:
    return OrderFact(
        client_order_id=f"tt-{status}-{side}-{qty}-{symbol}",
        cycle_id=cycle_id,
        account="a",
        symbol=symbol,
        side=side,
        qty=D(qty),
        reference_price=None if reference is None else D(reference),
        status=status,
        filled_qty=D(filled),
        avg_fill_price=None,
        message=message,
        created_at=T0,
        submitted_at=T0 if submitted else None,
        filled_at=None,
        fills=fills,
    )


def run(records: list[AuditRecord], orders: list[OrderFact]) -> Any:
    return validate(
        ["a"], records, orders, since=T0, until=T0 + timedelta(days=1), max_slippage_bps=D(20)
    )


def test_plan_only_runs_are_left_out_and_failed_cycles_are_problems() -> None:
    records = [
        record(started(submit=False), "a:2026-11-24:plan-154500"),
        record(planned(1), "a:2026-11-24:plan-154500"),
        record(started(submit=True), "a:2026-11-24:manual"),
        record(
            CycleFailed(error_type="TransientBrokerError", error="TransientBrokerError: down"),
            "a:2026-11-24:manual",
        ),
        record(started(submit=True), "b:2026-11-24:manual", account="b"),
    ]
    result = run(records, [])
    (summary,) = result.accounts
    assert (summary.cycles, summary.failed_cycles, summary.planned) == (1, 1, 0)
    (finding,) = result.findings
    assert finding.kind == "failed_cycles"
    assert "down" in finding.what
    assert not result.ok


def test_slots_the_daemon_skipped_are_counted_and_watched() -> None:
    skipped = finished("skipped", submitted=False, skipped_count=3)
    records = [
        record(skipped, "a:2026-11-24:close-15m"),
        record(skipped, "b:2026-11-24:close-15m", account="b"),
    ]
    result = run(records, [])
    (summary,) = result.accounts
    assert (summary.cycles, summary.skipped_slots) == (0, 3)
    (finding,) = result.findings
    assert (finding.kind, finding.severity) == ("skipped", "watch")
    assert "3 scheduled slot(s) skipped" in finding.what
    assert result.ok


def test_outcomes_by_status_and_what_was_never_sent() -> None:
    cycle = "a:2026-11-24:manual"
    decisions = RiskDecisions(
        (
            decision("VTI", Side.BUY, "1", allowed=False, check="max_order_notional", reason="big"),
            decision("VTI", Side.BUY, "1", allowed=True, check="all", reason=""),
        )
    )
    records = [
        record(started(submit=True), cycle),
        record(planned(6), cycle),
        record(decisions, cycle),
        record(finished(submitted=True, planned_orders=6, sent=3), cycle),
    ]
    orders = [
        order(OrderStatus.FILLED, filled="10", fills=(FillFact(D(10), D(100), T0),)),
        order(OrderStatus.UNKNOWN, qty="1", symbol="BND"),
        order(
            OrderStatus.CANCELLED,
            qty="2",
            filled="1",
            fills=(FillFact(D(1), D(100), T0),),
            symbol="VXUS",
        ),
        order(OrderStatus.CANCELLED, qty="3", submitted=False, message="kill switch", symbol="X"),
    ]
    result = run(records, orders)
    (summary,) = result.accounts
    assert [o.outcome for o in result.orders] == ["filled", "unresolved", "partial", "not sent"]
    assert (summary.planned, summary.denied, summary.sent, summary.not_sent) == (6, 1, 3, 2)
    assert summary.cycles_drift_unknown == 1  # it sent orders but recorded no drift after
    assert {f.kind for f in result.findings} == {"unresolved", "unfilled", "drift_unknown"}
    assert result.orders[0].seconds_to_fill == 0


prices = st.decimals(min_value=D("0.01"), max_value=D(5000), places=2)
quantities = st.integers(min_value=1, max_value=10_000)


@given(
    st.lists(
        st.tuples(st.sampled_from([Side.BUY, Side.SELL]), prices, prices, quantities),
        min_size=1,
        max_size=8,
    )
)
def test_slippage_is_positive_when_worse_and_the_average_lies_between_orders(
    trades: list[tuple[Side, Decimal, Decimal, int]],
) -> None:
    orders = [
        order(
            OrderStatus.FILLED,
            side=side,
            qty=str(qty),
            filled=str(qty),
            reference=str(reference),
            fills=(FillFact(D(qty), fill, T0),),
        )
        for side, reference, fill, qty in trades
    ]
    orders = [dataclasses.replace(o, client_order_id=f"tt-{i}") for i, o in enumerate(orders)]
    result = run([], orders)
    for check, (side, reference, fill, _) in zip(result.orders, trades, strict=True):
        assert check.slippage_bps is not None
        paid_more = (fill - reference) if side is Side.BUY else (reference - fill)
        # Prices in cents, references at most 5000: any difference is at least 0.02 bps.
        assert (check.slippage_bps > 0) == (paid_more > 0)
        assert (check.slippage_bps < 0) == (paid_more < 0)
    (summary,) = result.accounts
    bps = [c.slippage_bps for c in result.orders if c.slippage_bps is not None]
    assert summary.slippage_bps is not None
    assert min(bps) - D("0.01") <= summary.slippage_bps <= max(bps) + D("0.01")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(OrderStatus)),
            st.integers(min_value=0, max_value=10),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_every_order_has_exactly_one_outcome_and_the_counts_add_up(
    facts: list[tuple[OrderStatus, int, bool]],
) -> None:
    orders = [  # each its own planned order: a plan holds one order per symbol and side
        dataclasses.replace(
            order(status, qty="10", filled=str(filled), submitted=submitted, symbol=f"S{i}"),
            client_order_id=f"tt-{i}",
        )
        for i, (status, filled, submitted) in enumerate(facts)
    ]
    result = run([], orders)
    (summary,) = result.accounts
    counted = (
        summary.filled
        + summary.partially_filled
        + summary.rejected
        + summary.unfilled
        + summary.unresolved
    )
    assert counted == summary.sent == summary.sent_pieces
    assert summary.sent + sum(1 for c in result.orders if c.outcome == "not sent") == len(facts)
    for check, (status, filled, submitted) in zip(result.orders, facts, strict=True):
        if not submitted:
            assert check.outcome == "not sent"
        elif check.outcome == "partial":
            assert filled > 0
            assert status is not OrderStatus.FILLED
        elif check.outcome == "filled":
            assert status is OrderStatus.FILLED


# -- counts per planned order: a buy sent in pieces is one order -----------------------------


def plan_of(*orders: tuple[str, Side]) -> PlanMade:
    """Return a plan of one order per (symbol, side), as the planner makes them."""
    made = tuple(PlannedOrder(s, side, D(1), D(100), D(100), "drifted") for s, side in orders)
    plan = Plan(
        orders=made,
        drift=(),
        nav=D(100_000),
        cash_before=D(100_000),
        cash_after=D(100_000),
        triggered=bool(made),
        notes=(),
    )
    return PlanMade(plan=plan, prices_as_of={})


def piece(
    cycle_id: str, symbol: str, seq: int, status: OrderStatus, *, filled: str = "0"
) -> OrderFact:
    """Return intent `seq` of `cycle_id`: a buy of `symbol`, 1 share planned at $100."""
    fact = order(status, qty="1", filled=filled, symbol=symbol, cycle_id=cycle_id)
    return dataclasses.replace(fact, client_order_id=f"{cycle_id}-{seq:03d}")


def test_a_dry_run_then_a_paper_cycle_whose_buy_went_in_pieces() -> None:
    # The audit's week: a dry run of 2 orders, then paper the same day: BND and VTI, VTI sent
    # in 3 pieces (the rest twice after Alpaca's hold was freed). Shown before: planned 4,
    # not sent 0, sent 4 (pieces counted as orders, the dry run's 2 hidden).
    dry, paper = "a:2026-12-07:manual", "a:2026-12-07:manual.2"
    both = plan_of(("BND", Side.BUY), ("VTI", Side.BUY))
    records = [
        record(started(submit=True, mode=Mode.DRY_RUN), dry),
        record(both, dry),
        record(finished(submitted=False, why_not_submitted="dry-run mode"), dry),
        record(started(submit=True), paper),
        record(both, paper),
    ]
    filled = OrderStatus.FILLED
    orders = [
        piece(paper, "BND", 1, filled, filled="1"),
        piece(paper, "VTI", 2, filled, filled="1"),
        piece(paper, "VTI", 3, filled, filled="1"),
        piece(paper, "VTI", 4, filled, filled="1"),
    ]
    (summary,) = run(records, orders).accounts
    assert (summary.planned, summary.denied, summary.not_sent, summary.sent) == (4, 0, 2, 2)
    assert (summary.sent_pieces, summary.filled) == (4, 2)
    assert (summary.partially_filled, summary.unfilled, summary.rejected) == (0, 0, 0)


def test_a_planned_orders_outcome_comes_from_all_its_pieces() -> None:
    cycle = "a:2026-11-24:manual"
    symbols = ["VTI", "BND", "VXUS", "SCHD", "IAU"]
    records = [
        record(started(submit=True), cycle),
        record(plan_of(*((s, Side.BUY) for s in symbols)), cycle),
    ]
    f, c, r, u = (
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.UNKNOWN,
    )
    orders = [
        piece(cycle, "VTI", 1, f, filled="1"),
        piece(cycle, "VTI", 6, c),  # the rest, cancelled unfilled: partly filled
        piece(cycle, "BND", 2, f, filled="1"),
        piece(cycle, "BND", 7, r),  # the rest, rejected
        piece(cycle, "VXUS", 3, f, filled="1"),
        piece(cycle, "VXUS", 8, u),  # the rest, outcome unknown
        piece(cycle, "SCHD", 4, c),  # one piece, nothing filled
        piece(cycle, "IAU", 5, c),
        dataclasses.replace(piece(cycle, "IAU", 9, c), submitted_at=None),  # never sent
    ]
    result = run(records, orders)
    (summary,) = result.accounts
    assert (summary.planned, summary.sent, summary.not_sent, summary.sent_pieces) == (5, 5, 0, 8)
    assert (summary.filled, summary.partially_filled, summary.rejected) == (0, 1, 1)
    assert (summary.unfilled, summary.unresolved) == (2, 1)
    assert len(result.orders) == len(orders)  # the order rows stay one per piece


PIECE = st.tuples(st.sampled_from(list(OrderStatus)), st.integers(0, 2), st.booleans())


@given(
    st.lists(
        st.tuples(st.booleans(), st.lists(PIECE, max_size=3)),  # denied?, its pieces
        max_size=6,
    )
)
@example([(False, [(OrderStatus.FILLED, 1, True)] * 3)])
@example([(True, []), (False, []), (False, [(OrderStatus.REJECTED, 1, True)])])
def test_counts_are_per_planned_order_and_add_up(
    planned_orders: list[tuple[bool, list[tuple[OrderStatus, int, bool]]]],
) -> None:
    cycle = "a:2026-11-24:manual"
    symbols = [f"S{i}" for i in range(len(planned_orders))]
    decisions = RiskDecisions(
        tuple(
            decision(s, Side.BUY, "1", allowed=not denied, check="all", reason="")
            for s, (denied, _) in zip(symbols, planned_orders, strict=True)
        )
    )
    records = [
        record(started(submit=True), cycle),
        record(plan_of(*((s, Side.BUY) for s in symbols)), cycle),
        record(decisions, cycle),
    ]
    orders = [
        dataclasses.replace(
            piece(cycle, s, seq, status, filled=str(filled)),
            client_order_id=f"{cycle}-{s}-{seq}",
            submitted_at=T0 if submitted else None,
        )
        for s, (denied, pieces) in zip(symbols, planned_orders, strict=True)
        if not denied  # a denied order is never an intent
        for seq, (status, filled, submitted) in enumerate(pieces)
    ]
    (summary,) = run(records, orders).accounts
    reached = [[p for p in pieces if p[2]] for denied, pieces in planned_orders if not denied]
    assert summary.planned == len(planned_orders)
    assert summary.denied == sum(1 for denied, _ in planned_orders if denied)
    assert summary.sent == sum(1 for sent in reached if sent)
    assert summary.planned == summary.denied + summary.not_sent + summary.sent
    assert summary.sent_pieces == sum(len(sent) for sent in reached)
    outcomes = (
        summary.filled,
        summary.partially_filled,
        summary.rejected,
        summary.unfilled,
        summary.unresolved,
    )
    assert sum(outcomes) == summary.sent
    assert summary.filled == sum(
        1 for sent in reached if sent and all(p[0] is OrderStatus.FILLED for p in sent)
    )
