"""ib_async's objects read into trimtab's, at the boundary: floats become Decimals here.

ib_async 2.x gives prices and sizes as floats, with `UNSET_DOUBLE` (1.797e308) or `nan` for
"no value"; both become None. IB reports a rejection as status `Cancelled` with the error
code in the trade's log, so the log decides between rejected and cancelled.
"""

from __future__ import annotations

__all__ = [
    "UNSET",
    "account_value",
    "broker_order",
    "decimal_or_none",
    "fill_of",
    "order_ref",
    "status_of",
]

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from daemon.core.domain import BrokerOrder, Fill, OrderStatus, OrderType, Side

_IB_PREFIX = re.compile(r"^(Error|Warning) -?\d+, reqId -?\d+: ")
UNSET = 1e300
"""Anything at or above this is IB's UNSET_DOUBLE (1.7976931348623157e308)."""
ACTIVE = frozenset({"PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel"})
CANCELLED = frozenset({"Cancelled", "ApiCancelled"})
REJECTING_CODES = frozenset({103, 110, 200, 201, 203, 382, 383, 10243})
"""Error codes on an order that mean IB refused it (it never worked at the exchange)."""


def decimal_or_none(value: float | int | str | None) -> Decimal | None:
    """Return IB's number as a Decimal (via its shortest repr), None when unset or nan."""
    if value is None or value == "":
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number) or abs(number) >= UNSET:
        return None
    exact = Decimal(repr(number))
    # 20.0 shares read as 20: IB sends whole quantities as floats.
    return exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact


def order_ref(trade: Any) -> str:
    return str(getattr(trade.order, "orderRef", "") or "")


def rejection(trade: Any) -> tuple[int, str] | None:
    """Return (code, message) of the error that refused the order, if its log has one."""
    for entry in reversed(list(getattr(trade, "log", ()) or ())):
        code = int(getattr(entry, "errorCode", 0) or 0)
        if code in REJECTING_CODES:
            # ib_async prefixes IB's text with "Error 201, reqId 5: "; IB's words follow.
            return code, _IB_PREFIX.sub("", str(entry.message), count=1)
    return None


def filled_of(trade: Any) -> Decimal:
    """Return how much of the order filled: its status, its fills, or a completed order's
    `filledQuantity`, whichever says most (a completed order carries no status numbers)."""
    candidates = [
        decimal_or_none(trade.orderStatus.filled),
        decimal_or_none(getattr(trade.order, "filledQuantity", None)),
        sum((decimal_or_none(f.execution.shares) or Decimal(0) for f in trade.fills), Decimal(0)),
    ]
    return max((c for c in candidates if c is not None), default=Decimal(0))


def status_of(trade: Any) -> tuple[OrderStatus, str]:
    """Return trimtab's status of an IB trade, and IB's words when they matter."""
    status = str(trade.orderStatus.status)
    filled = filled_of(trade)
    total = decimal_or_none(trade.order.totalQuantity) or Decimal(0)
    if status == "Filled" or (total > 0 and filled >= total):
        return OrderStatus.FILLED, ""
    refused = rejection(trade)
    if status in CANCELLED or status == "Inactive":
        if refused is not None and filled == 0:
            code, message = refused
            return OrderStatus.REJECTED, f"IB error {code}: {message}"
        if status == "Inactive":
            # IB parks some orders as Inactive (held, outside hours): still working.
            return _working(filled), "Inactive at IB (held)"
        return OrderStatus.CANCELLED, "" if refused is None else f"IB error {refused[0]}"
    return _working(filled), ""


def _working(filled: Decimal) -> OrderStatus:
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def broker_order(trade: Any) -> BrokerOrder:
    """Read an ib_async `Trade` into a `BrokerOrder`; `broker_order_id` is IB's permId."""
    order = trade.order
    status, message = status_of(trade)
    fills = list(trade.fills)
    filled = filled_of(trade)
    avg = decimal_or_none(trade.orderStatus.avgFillPrice) if trade.orderStatus.filled else None
    if avg is None and fills:
        shares = sum((_shares(f) for f in fills), Decimal(0))
        if shares:
            cost = sum(
                (
                    Decimal(repr(f.execution.shares)) * Decimal(repr(f.execution.price))
                    for f in fills
                ),
                Decimal(0),
            )
            avg = cost / shares
    is_limit = str(order.orderType) == "LMT"
    return BrokerOrder(
        client_order_id=order_ref(trade),
        broker_order_id=_perm_id(trade),
        symbol=str(trade.contract.symbol),
        side=Side.BUY if str(order.action) == "BUY" else Side.SELL,
        qty=decimal_or_none(order.totalQuantity) or Decimal(0),
        order_type=OrderType.LIMIT if is_limit else OrderType.MARKET,
        status=status,
        filled_qty=filled,
        avg_fill_price=avg if filled > 0 else None,
        limit_price=decimal_or_none(order.lmtPrice) if is_limit else None,
        # IB's open and completed orders carry no submission time, and the time this session
        # first saw one changes with every reconnect: the first execution's time (IB's own
        # stamp) stands in once there is one.
        submitted_at=min((_executed_at(f) for f in fills), default=None),
        message=message,
    )


def _shares(fill: Any) -> Decimal:
    return Decimal(repr(float(fill.execution.shares)))


def _perm_id(trade: Any) -> str:
    perm = int(trade.order.permId or trade.orderStatus.permId or 0)
    return str(perm) if perm else f"order-{trade.order.orderId}"


def _executed_at(fill: Any) -> datetime:
    """IB's time of an execution (to the second), UTC.

    Not ib_async's `Fill.time`: for a live fill that is when the message arrived, for a
    resynced one IB's stamp, so the same fill would change time across a reconnect.
    """
    at: datetime = fill.execution.time
    if not isinstance(at, datetime):
        at = fill.time
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)


def fill_of(fill: Any, commission: Decimal | None = None) -> Fill:
    """Read an ib_async `Fill` (execution + commission report) into trimtab's `Fill`."""
    execution = fill.execution
    at = _executed_at(fill)
    reported = decimal_or_none(fill.commissionReport.commission)
    return Fill(
        fill_id=str(execution.execId),
        client_order_id=str(execution.orderRef or ""),
        broker_order_id=str(execution.permId or f"order-{execution.orderId}"),
        symbol=str(fill.contract.symbol),
        side=Side.BUY if str(execution.side) == "BOT" else Side.SELL,
        qty=Decimal(repr(float(execution.shares))),
        price=Decimal(repr(float(execution.price))),
        at=at,
        commission=commission if commission is not None else abs(reported or Decimal(0)),
    )


def account_value(values: Iterable[Any], account: str, tag: str, currency: str) -> Decimal | None:
    """Return one account value (`updateAccountValue`) of `account`, or None if not sent."""
    for value in values:
        if value.account == account and value.tag == tag and value.currency == currency:
            try:
                return Decimal(str(value.value))
            except ArithmeticError:
                return None
    return None
