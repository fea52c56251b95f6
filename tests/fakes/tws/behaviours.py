"""What the fake does with the next order it receives, queued by a test (`FakeTws.queue`).

Each behaviour applies to exactly one order, in the order queued: the next one that passes
TWS's checks (an order refused with 200, 321, 10243 or a margin 201 does not use one up).
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
class SilentAfterAccept:
    """Accept, then stop writing anything to this client without closing the socket (a TWS
    or farm gone quiet); the order fills server-side when `fill`. `FakeTws.resume` ends it."""

    fill: bool = True


Behaviour = Reject | PartialFill | Hold | DelayedFill | DropAfterAccept | SilentAfterAccept
