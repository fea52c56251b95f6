"""How `adapters.ibkr.parsing` reads an ib_async trade's status and log into trimtab's status,
on ib_async's own `Trade` objects as its wrapper leaves them (`ib_async/wrapper.py`: an error
it does not take for a warning sets `Cancelled` and logs the code; a warning sets
`ValidationError`; each orderStatus logs its status)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.ibkr.parsing import status_of
from adapters.ibkr.sdk import MarketOrder, Stock, Trade, TradeLogEntry
from daemon.core.domain import OrderStatus

AT = datetime(2026, 12, 4, 15, 45, tzinfo=UTC)


def trade(status: str, *log: tuple[str, int, str], filled: float = 0.0) -> Trade:
    """An order of 10 VTI with ib_async's status `status`, its log `(status, code, text)`
    after PendingSubmit, and `filled` shares filled."""
    from ib_async import OrderStatus as IbStatus

    made = Trade(
        contract=Stock("VTI", "SMART", "USD"),
        order=MarketOrder("BUY", 10, orderId=6, orderRef="ref-1"),
        orderStatus=IbStatus(orderId=6, status=status, filled=filled, remaining=10 - filled),
    )
    made.log.append(TradeLogEntry(AT, "PendingSubmit", "", 0))
    for entry_status, code, text in log:
        kind = "Error" if entry_status != "ValidationError" else "Warning"
        message = f"{kind} {code}, reqId 6: {text}" if code else text
        made.log.append(TradeLogEntry(AT, entry_status, message, code))
    return made


SIZE = "Order size 1 is smaller than the minimum required size of 100."
HELD = "Order Message:\nBUY 10 VTI SMART\nWarning: your order will not be placed at the exchange"


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        # A code trimtab does not name, on an order IB never accepted: IB's refusal.
        (
            trade("Cancelled", ("Cancelled", 388, SIZE)),
            (OrderStatus.REJECTED, f"IB error 388: {SIZE}"),
        ),
        # The same code after IB accepted the order: a cancel, with IB's words.
        (
            trade("Cancelled", ("Submitted", 0, ""), ("Cancelled", 388, SIZE)),
            (OrderStatus.CANCELLED, f"IB error 388: {SIZE}"),
        ),
        # 202 ("Order Canceled") is a cancel even before IB acknowledged anything.
        (
            trade("Cancelled", ("Cancelled", 202, "Order Canceled - reason:")),
            (OrderStatus.CANCELLED, "IB error 202: Order Canceled - reason:"),
        ),
        # A cancel without an error.
        (
            trade("Cancelled", ("Submitted", 0, ""), ("Cancelled", 0, "")),
            (OrderStatus.CANCELLED, ""),
        ),
        # A notice leaves the order working.
        (
            trade("PreSubmitted", ("ValidationError", 399, HELD), ("PreSubmitted", 0, "")),
            (OrderStatus.ACCEPTED, ""),
        ),
        # Inactive with notices only: held, still working.
        (
            trade("Inactive", ("ValidationError", 399, HELD), ("Inactive", 0, "")),
            (OrderStatus.ACCEPTED, "Inactive at IB (held)"),
        ),
        # Inactive after a refusal: final.
        (
            trade("Inactive", ("Cancelled", 388, SIZE), ("Inactive", 0, "")),
            (OrderStatus.REJECTED, f"IB error 388: {SIZE}"),
        ),
        # Inactive after an error once IB had accepted it: final, a cancel.
        (
            trade("Inactive", ("Submitted", 0, ""), ("Cancelled", 388, SIZE), ("Inactive", 0, "")),
            (OrderStatus.CANCELLED, f"Inactive at IB after IB error 388: {SIZE}"),
        ),
    ],
)
def test_status_and_ibs_words(made: Trade, expected: tuple[OrderStatus, str]) -> None:
    assert status_of(made) == expected


def test_an_error_after_a_fill_is_no_rejection_and_keeps_what_filled() -> None:
    partly = trade("Cancelled", ("Cancelled", 388, SIZE), filled=3.0)
    assert status_of(partly) == (OrderStatus.CANCELLED, f"IB error 388: {SIZE}")
