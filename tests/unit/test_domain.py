"""The order status transition table."""

from __future__ import annotations

import pytest

from daemon.core.domain import ORDER_TRANSITIONS, OrderStatus, check_transition
from daemon.core.errors import InvalidTransition

S = OrderStatus


def test_every_status_has_a_row() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.PLANNED, S.SUBMITTING),
        (S.SUBMITTING, S.UNKNOWN),
        (S.SUBMITTING, S.EXPIRED),  # found by hypothesis (test_order_reports): expired unheard
        (S.UNKNOWN, S.FILLED),
        (S.ACCEPTED, S.PARTIALLY_FILLED),
        (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (S.CANCELLED, S.FILLED),  # a fill reported after the cancel was acknowledged
        (S.EXPIRED, S.PARTIALLY_FILLED),
        (S.UNKNOWN, S.NEVER_REACHED),  # a lost submission the broker's rule says never arrived
        (S.SUBMITTING, S.NEVER_REACHED),  # a crash before the answer, and the same rule
    ],
)
def test_real_world_orders_of_events_are_allowed(current: OrderStatus, new: OrderStatus) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.FILLED, S.CANCELLED),
        (S.REJECTED, S.ACCEPTED),
        (S.PLANNED, S.FILLED),  # nothing fills that was never sent
        (S.ACCEPTED, S.SUBMITTING),
        (S.UNKNOWN, S.PLANNED),
        (S.ACCEPTED, S.NEVER_REACHED),  # the broker said it had the order
        (S.NEVER_REACHED, S.FILLED),  # final: an order found later contradicts the rule
        (S.PLANNED, S.NEVER_REACHED),  # never sent at all: that is CANCELLED (not sent)
    ],
)
def test_impossible_transitions_are_refused(current: OrderStatus, new: OrderStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current} to {new}"):
        check_transition(current, new)


def test_terminal_and_open_states() -> None:
    assert {s for s in OrderStatus if s.is_terminal} == {S.FILLED, S.REJECTED, S.NEVER_REACHED}
    assert not S.NEVER_REACHED.is_open
    assert S.UNKNOWN.is_open
    assert S.SUBMITTING.is_open
    assert not S.CANCELLED.is_open
