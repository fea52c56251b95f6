"""A cycle's notification counts as placed only the orders that left for the broker.

Before, a kill switch engaged (or a stop) mid-cycle left 1 order sent and 7 recorded "not
sent", and the owner's phone said "placed 8 order(s)", severity success; the daemon's
`cycle_finished` log said submitted 8.
"""

from __future__ import annotations

from decimal import Decimal

from daemon.core.cycle_report import NOT_SENT, CycleReport, OrderOutcome
from daemon.core.domain import OrderIntent, OrderStatus, OrderType, Side
from daemon.monitor.messages import cycle_message


def outcome(seq: int, status: OrderStatus, detail: str) -> OrderOutcome:
    intent = OrderIntent(
        client_order_id=f"tt-1-{seq:03d}",
        cycle_id="a1:2026-12-07:manual",
        account="a1",
        seq=seq,
        symbol=f"S{seq}",
        side=Side.BUY,
        qty=Decimal(1),
        order_type=OrderType.MARKET,
        reason="rebalance",
    )
    return OrderOutcome(intent, status, None, detail)


def test_orders_not_sent_are_counted_apart_and_make_it_a_warning() -> None:
    outcomes = (
        outcome(1, OrderStatus.FILLED, ""),
        *(
            outcome(n, OrderStatus.CANCELLED, f"{NOT_SENT}kill switch engaged (away)")
            for n in (2, 3)
        ),
    )
    report = CycleReport("a1:2026-12-07:manual", "a1", "succeeded", True, outcomes=outcomes)
    message = cycle_message(report, "paper")
    assert message is not None
    assert message.title == "trimtab: a1 placed 1 order(s), 2 not sent (paper)"
    assert message.severity == "warning"
    assert [o.sent for o in outcomes] == [True, False, False]


def test_a_cycle_that_sent_everything_reads_as_before() -> None:
    report = CycleReport(
        "a1:2026-12-07:manual",
        "a1",
        "succeeded",
        True,
        outcomes=(outcome(1, OrderStatus.FILLED, ""), outcome(2, OrderStatus.FILLED, "")),
    )
    message = cycle_message(report, "paper")
    assert message is not None
    assert message.title == "trimtab: a1 placed 2 order(s) (paper)"
    assert message.severity == "success"
