"""`daemon.report.validation` on hand-made records: what counts, and the sign of slippage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from daemon.audit.events import AuditEvent, CycleFailed, RiskDecisions
from daemon.audit.record import AuditRecord
from daemon.core.domain import OrderStatus, Side
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
) -> OrderFact:
    return OrderFact(
        client_order_id=f"tt-{status}-{side}-{qty}",
        cycle_id=cycle_id,
        account="a",
        symbol="VTI",
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
        order(OrderStatus.UNKNOWN, qty="1"),
        order(OrderStatus.CANCELLED, qty="2", filled="1", fills=(FillFact(D(1), D(100), T0),)),
        order(OrderStatus.CANCELLED, qty="3", submitted=False, message="kill switch"),
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
    orders = [
        dataclasses.replace(
            order(status, qty="10", filled=str(filled), submitted=submitted),
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
    assert counted == summary.sent
    assert summary.sent + sum(1 for c in result.orders if c.outcome == "not sent") == len(facts)
    for check, (status, filled, submitted) in zip(result.orders, facts, strict=True):
        if not submitted:
            assert check.outcome == "not sent"
        elif check.outcome == "partial":
            assert filled > 0
            assert status is not OrderStatus.FILLED
        elif check.outcome == "filled":
            assert status is OrderStatus.FILLED
