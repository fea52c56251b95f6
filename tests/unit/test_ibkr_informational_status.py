"""ib_async's local `Cancelled` on a code it does not know (`ib_async/wrapper.py` marks an
order `Cancelled` on any code outside its warnings) against IB's own statuses
(`adapters.ibkr.parsing`: `ib_status`, `status_of`, `unconfirmed_refusal`)."""

from __future__ import annotations

from adapters.ibkr.parsing import ib_status, status_of, unconfirmed_refusal
from daemon.core.domain import OrderStatus
from tests.unit.test_ibkr_order_status import SIZE, trade

TIF = "Order TIF was set to DAY based on order preset."


def test_10349_before_the_first_status_is_no_refusal() -> None:
    made = trade("Cancelled", ("Cancelled", 10349, TIF))
    assert ib_status(made) == "PendingSubmit"
    assert status_of(made) == (OrderStatus.ACCEPTED, "")
    assert unconfirmed_refusal(made) is None


def test_10349_on_a_working_order_leaves_it_working() -> None:
    made = trade("Cancelled", ("Submitted", 0, ""), ("Cancelled", 10349, TIF))
    assert ib_status(made) == "Submitted"
    assert status_of(made) == (OrderStatus.ACCEPTED, "")


def test_an_unnamed_code_before_ibs_status_is_unconfirmed_until_ib_answers() -> None:
    alone = trade("Cancelled", ("Cancelled", 388, SIZE))
    assert unconfirmed_refusal(alone) == (388, SIZE)
    # IB's own status after the code settles it either way.
    working = trade("Submitted", ("Cancelled", 388, SIZE), ("Submitted", 0, ""))
    assert unconfirmed_refusal(working) is None
    assert status_of(working) == (OrderStatus.ACCEPTED, "")
    ended = trade("Inactive", ("Cancelled", 388, SIZE), ("Inactive", 0, ""))
    assert unconfirmed_refusal(ended) is None
    assert status_of(ended) == (OrderStatus.REJECTED, f"IB error 388: {SIZE}")


def test_a_named_refusal_needs_no_confirmation() -> None:
    made = trade("Cancelled", ("Cancelled", 201, "Order rejected - reason:NO."))
    assert unconfirmed_refusal(made) is None
    assert status_of(made) == (OrderStatus.REJECTED, "IB error 201: Order rejected - reason:NO.")


def test_161_is_about_a_cancel() -> None:
    text = "Cancel attempted when order is not in a cancellable state."
    made = trade("Cancelled", ("Cancelled", 161, text))
    assert status_of(made) == (OrderStatus.CANCELLED, f"IB error 161: {text}")
