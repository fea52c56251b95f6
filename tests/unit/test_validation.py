"""`daemon.report.validation` on hand-made records: what counts, and the sign of slippage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from daemon.audit.log import AuditRecord
from daemon.core.domain import OrderStatus, Side
from daemon.report.validation import FillFact, OrderFact, validate

D = Decimal
T0 = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)


def record(
    kind: str, cycle_id: str | None, payload: dict[str, Any], account: str = "a"
) -> AuditRecord:
    return AuditRecord(0, T0, kind, account, cycle_id, payload, "", "")


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
        record("cycle_started", "a:2026-11-24:plan-154500", {"submit": False}),
        record("plan", "a:2026-11-24:plan-154500", {"plan": {"orders": [{}], "drift": []}}),
        record("cycle_started", "a:2026-11-24:manual", {"submit": True}),
        record("cycle_failed", "a:2026-11-24:manual", {"error": "TransientBrokerError: down"}),
        record("cycle_started", "b:2026-11-24:manual", {"submit": True}, account="b"),
    ]
    result = run(records, [])
    (summary,) = result.accounts
    assert (summary.cycles, summary.failed_cycles, summary.planned) == (1, 1, 0)
    (finding,) = result.findings
    assert finding.kind == "failed_cycles"
    assert "down" in finding.what
    assert not result.ok


def test_slots_the_daemon_skipped_are_counted_and_watched() -> None:
    skipped = {"outcome": "skipped", "submitted": False, "skipped_count": 3}
    records = [
        record("cycle_finished", "a:2026-11-24:close-15m", skipped),
        record("cycle_finished", "b:2026-11-24:close-15m", skipped, account="b"),
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
    plan: dict[str, Any] = {"plan": {"orders": [{}] * 6, "drift": []}}
    decisions = {"decisions": [{"allowed": False}, {"allowed": True}]}
    records = [
        record("cycle_started", cycle, {"submit": True}),
        record("plan", cycle, plan),
        record("risk_decision", cycle, decisions),
        record("cycle_finished", cycle, {"submitted": True}),
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
