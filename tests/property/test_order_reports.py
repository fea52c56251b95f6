"""The order status table against broker reports that arrive late, twice and out of order.

A true order life is generated (accepted, fills adding up, perhaps a cancel or an expiry, or
a rejection); the broker's reports of it are then delivered shuffled, with duplicates and
gaps. Folding them into trimtab's record must never fail, never lose a fill, and must end
in the true final state whenever the final report arrived.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.domain import OrderStatus, check_transition, merge_report
from tests.hypothesis_profiles import scaled

S = OrderStatus
Report = tuple[OrderStatus, Decimal]


@st.composite
def order_lives(draw: st.DrawFn) -> list[Report]:
    qty = Decimal(draw(st.integers(min_value=1, max_value=20)))
    if draw(st.booleans()) and draw(st.booleans()):
        return [(S.REJECTED, Decimal(0))]
    life: list[Report] = [(S.ACCEPTED, Decimal(0))]
    filled = Decimal(0)
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        step = Decimal(draw(st.integers(min_value=1, max_value=int(qty))))
        filled = min(qty, filled + step)
        life.append((S.FILLED if filled == qty else S.PARTIALLY_FILLED, filled))
        if filled == qty:
            return life
    ending = draw(st.sampled_from([S.CANCELLED, S.EXPIRED, None]))
    if ending is not None:
        life.append((ending, filled))
        # A fill the exchange made just before the cancel reached it, reported afterwards.
        if draw(st.booleans()) and filled < qty:
            life.append((S.PARTIALLY_FILLED if filled + 1 < qty else S.FILLED, filled + 1))
    return life


@settings(max_examples=scaled(400), deadline=None)
@given(data=st.data(), life=order_lives())
def test_reports_in_any_order_fold_into_the_truth(data: st.DataObject, life: list[Report]) -> None:
    delivered = data.draw(
        st.lists(st.sampled_from(life), min_size=0, max_size=12).flatmap(
            lambda extra: st.permutations([*life, *extra])
        )
    )
    keep = data.draw(st.lists(st.booleans(), min_size=len(delivered), max_size=len(delivered)))
    delivered = [r for r, kept in zip(delivered, keep, strict=True) if kept or r == life[-1]]
    status, filled = S.SUBMITTING, Decimal(0)
    for reported, reported_filled in delivered:
        merged = merge_report(status, filled, reported, reported_filled)
        if merged is None:
            continue
        check_transition(status, merged[0])  # every move the fold makes is in the table
        assert merged[1] >= filled, "a fill was lost"
        status, filled = merged
    assert filled == max(f for _, f in delivered)
    final_status, final_filled = life[-1]
    if final_status in (S.FILLED, S.REJECTED):
        assert (status, filled) == (final_status, final_filled)
    elif final_status in (S.CANCELLED, S.EXPIRED):
        assert status == final_status
    else:
        assert filled == final_filled


def test_a_rejected_order_that_fills_is_a_contradiction() -> None:
    import pytest

    from daemon.core.errors import InvalidTransition

    with pytest.raises(InvalidTransition, match="rejected"):
        merge_report(S.REJECTED, Decimal(0), S.FILLED, Decimal(5))
