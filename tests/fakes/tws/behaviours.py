"""What the fake does with the next order it receives, queued by a test (`FakeTws.queue`).

Each behaviour applies to exactly one order, in the order queued: the next one that passes
TWS's checks (an order refused with 200, 321, 10243 or a margin 201 does not use one up),
except `DropBeforeAccept`, which takes the next placeOrder before any check (the message
never reached TWS). `CancelRace` is queued apart and applies to the next cancel of a working
order.
With none queued an order fills at once when it is marketable (a market order with a quote, a
limit order that crosses) and rests otherwise, as at IB during regular hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Reject:
    """IB refuses the order after receiving it: error `code` on the order id. With
    `status="Inactive"` (some IB rejections, e.g. missing trading permissions) an openOrder
    and orderStatus Inactive follow the error; otherwise nothing does (ib_async then shows
    the trade Cancelled)."""

    code: int = 201
    text: str = "Order rejected - reason:The order was rejected by the fake's script."
    status: str = "Cancelled"


@dataclass(frozen=True)
class PartialFill:
    """Fill these quantities one execution each, then leave the rest working."""

    quantities: tuple[Decimal, ...]


@dataclass(frozen=True)
class Hold:
    """Accept and leave working (no fill) until `FakeTws.fill` or a cancel."""


@dataclass(frozen=True)
class DelayedFill:
    """Accept now; fill the whole order `seconds` later."""

    seconds: float


@dataclass(frozen=True)
class DropAfterAccept:
    """Accept (openOrder + orderStatus Submitted reach the client), then close the client's
    socket; the order stays on the server and fills there (`fill=True`) or keeps working."""

    fill: bool = True


@dataclass(frozen=True)
class DropBeforeAccept:
    """The connection drops while the placeOrder is in flight: the fake closes the client's
    socket on receiving it and books nothing, so the order never appears in open orders,
    completed orders or executions, and its order id stays unused."""


@dataclass(frozen=True)
class CancelRace:
    """The next cancelOrder of a working order is acknowledged with orderStatus
    `PendingCancel` ("a cancel was sent but not yet confirmed", IB's order-status notes), and
    only later ends: `outcome="canceled"` as Cancelled (with error 202), `"filled"` as a fill of
    all that remains (at the limit for a limit order: the market traded through it while the
    cancel travelled), then Filled. The end comes `after` seconds later or, with `after=None`,
    when the test calls `FakeTws.finish_cancel(order_ref)` (or `finish_cancels()`); either
    call ends it at once."""

    outcome: str = "canceled"
    after: float | None = None

    def __post_init__(self) -> None:
        if self.outcome not in ("canceled", "filled"):
            raise ValueError(f"CancelRace outcome must be canceled or filled, not {self.outcome!r}")


@dataclass(frozen=True)
class SilentAfterAccept:
    """Accept, then stop writing anything to this client without closing the socket (a TWS
    or farm gone quiet); the order fills server-side when `fill`. `FakeTws.resume` ends it."""

    fill: bool = True


Behaviour = (
    Reject
    | PartialFill
    | Hold
    | DelayedFill
    | DropAfterAccept
    | DropBeforeAccept
    | SilentAfterAccept
)
