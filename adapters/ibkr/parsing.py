"""ib_async's objects read into trimtab's, at the boundary: floats become Decimals here.

ib_async 2.x gives prices and sizes as floats, with `UNSET_DOUBLE` (1.797e308) or `nan` for
"no value"; both become None. IB reports a rejection as status `Cancelled` with the error
code in the trade's log, so the log decides between rejected and cancelled:

| the order's log | trimtab |
|---|---|
| an error in `REJECTING_CODES` (201, 203, ...) | rejected, with IB's words (cancelled if some of it filled) |
| any other error that is not a notice nor about a cancel (388, 387, 163, ...), the order never `PreSubmitted` or `Submitted` and nothing filled | rejected, with IB's words |
| an error ib_async takes for a warning (321, 434) on an order IB never acknowledged, nothing after it | rejected: ib_async leaves it `ValidationError` |
| `Inactive` after an error that is not a notice, or a cancel IB answered 10148 "state: Inactive" | final: rejected as above, else cancelled with IB's words |
| `Inactive` with notices only | working: IB parks some orders as Inactive (held) |
| `Inactive` known only from IB's completed orders (no order or client id, not listed open) | final: cancelled |

Notices (`is_notice`: 399, 404, 10349, 2100-2199) leave an order working, whatever status
ib_async set on them (it marks an order `Cancelled` on any code outside its own short list).
An error outside `REJECTING_CODES` before IB's first status is a refusal only once IB confirms
it (`unconfirmed_refusal`; the broker waits for IB's status, then asks IB's open orders).
"""  # noqa: E501 (a table row per case reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "NOT_CANCELLABLE_INACTIVE",
    "UNSET",
    "account_value",
    "acknowledged",
    "broker_order",
    "decimal_or_none",
    "execution_time",
    "fill_of",
    "ib_status",
    "order_ref",
    "perm_of",
    "placer_unknown",
    "status_of",
    "trade_time",
    "unconfirmed_refusal",
]

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from daemon.core.domain import BrokerOrder, Fill, OrderStatus, OrderType, Side

_IB_PREFIX = re.compile(r"^(Error|Warning) -?\d+, reqId -?\d+: ")
UNSET = 1e300
"""Anything at or above this is IB's UNSET_DOUBLE (1.7976931348623157e308)."""
ACTIVE = frozenset({"PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel"})
CANCELLED = frozenset({"Cancelled", "ApiCancelled"})
REJECTING_CODES = frozenset({103, 110, 200, 201, 203, 382, 383, 10243})
WARNED_REFUSALS = frozenset({321, 434})
"""Refusals of a new order ib_async takes for warnings (`_refused_new`): 321, the request did
not validate (Read-Only API mode among others, where IB may not list its orders at all), and
434, the order's size is 0. Known refusals: no listing is asked to confirm them."""
"""Error codes on an order that mean IB refused it (it never worked at the exchange)."""
CANCEL_CODES = frozenset({161, 202, 10147, 10148})
"""Error codes about a cancel, not a refusal: 161 and 10148 not cancellable in its state, 202
cancelled, 10147 no such order to cancel."""
NOTICES = frozenset({399, 404, 10349})
"""IB's informational codes on an order, which leave it working (with 2100-2199): 399 order
message (e.g. held until the open), 404 held while shares are located, 10349 "Order TIF was set
to DAY based on order preset" (newer TWS; ib_async #191/#217: the order works and fills)."""
WORKED = frozenset({"PreSubmitted", "Submitted", "PendingCancel", "Filled"})
"""IB's statuses of an order it accepted: an error after one of them refuses no new order."""
NOT_CANCELLABLE_INACTIVE = "state: Inactive"
"""In IB's 10148 text when the order it cannot cancel is Inactive: IB no longer works it."""
UNANSWERED = frozenset({"PendingSubmit", "ApiPending", "ValidationError"})
"""ib_async's statuses of an order before IB's first status for it (`ValidationError`: an
error ib_async takes for a warning arrived on it)."""


def is_notice(code: int) -> bool:
    """Whether an error code on an order is one of IB's notices, which leave it working:
    `NOTICES` and 2100-2199 (e.g. 2109, outside regular hours ignored)."""
    return code in NOTICES or 2100 <= code < 2200


def _local_code(trade: Any) -> int:
    """The error code ib_async set the order's current status on (its own `Cancelled` or
    `ValidationError`, not IB's), else 0: ib_async marks an order `Cancelled` on any code
    outside its short list of warnings, whatever IB does with the order."""
    log = list(getattr(trade, "log", ()) or ())
    if not log:
        return 0
    code = int(getattr(log[-1], "errorCode", 0) or 0)
    return code if code and str(log[-1].status) == str(trade.orderStatus.status) else 0


def ib_status(trade: Any) -> str:
    """The order's status as IB last sent it: ib_async's, unless ib_async set it on an error
    (`_local_code`); then the last status before that error (`PendingSubmit` if none)."""
    if not _local_code(trade):
        return str(trade.orderStatus.status)
    sent = [str(e.status) for e in trade.log if not int(getattr(e, "errorCode", 0) or 0)]
    return sent[-1] if sent else "PendingSubmit"


def _status(trade: Any) -> str:
    """The status trimtab reads: ib_async's, except that one it set on one of IB's notices
    gives way to IB's own (`ib_status`): a notice leaves the order working."""
    code = _local_code(trade)
    return ib_status(trade) if code and is_notice(code) else str(trade.orderStatus.status)


def unconfirmed_refusal(trade: Any) -> tuple[int, str] | None:
    """Return (code, IB's words) of an error that only ib_async took for the order's end: not
    one of `REJECTING_CODES`, on an order IB has sent no status for. IB sends informational
    codes no list names before an order's first status (10349 did so before it was known), so
    only IB's own status or open-orders listing settles such an order."""
    refused = rejection(trade)
    if refused is None or refused[0] in REJECTING_CODES or refused[0] in WARNED_REFUSALS:
        return None
    return refused if _local_code(trade) and ib_status(trade) in UNANSWERED else None


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


def trade_time(ticker: Any) -> datetime | None:
    """Return when the ticker's last trade was (UTC), from IB's LAST_TIMESTAMP tick (45, which
    ib_async keeps as `lastTimestamp`) or its delayed one (88, `delayedLastTimestamp`): the
    earlier if both came, None if neither did (ib_async drops a 0)."""
    times = [
        t
        for t in (
            getattr(ticker, "lastTimestamp", None),
            getattr(ticker, "delayedLastTimestamp", None),
        )
        if isinstance(t, datetime) and t.tzinfo is not None
    ]
    return min(times).astimezone(UTC) if times else None


_UTC_FORM = re.compile(r"^(\d{8})-(\d{2}:\d{2}:\d{2})$")
_NAMED_FORM = re.compile(r"^(\d{8}) (\d{2}:\d{2}:\d{2}) (\S+)$")
_LOCAL_FORM = re.compile(r"^(\d{8}) +(\d{2}:\d{2}:\d{2})$")


def execution_time(text: str, tws_zone: str | None) -> datetime | None:
    """Return the instant of an execution time as TWS wrote it in execDetails, or None for a
    form not known here:

    | TWS wrote | read in |
    |---|---|
    | `20261206-14:30:01` | UTC (IB's `yyyymmdd-hh:mm:ss` form) |
    | `20261206 09:30:01 America/New_York` | the zone it names |
    | `20261206  09:30:01` (two spaces; TWS below server version 200) | the zone TWS is logged in with: `tws_zone`, else this host's |
    | `1796563801` | Unix seconds |
    """  # noqa: E501 (a table row per form reads better than wrapped cells)
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    for form in (_UTC_FORM, _NAMED_FORM, _LOCAL_FORM):
        match = form.match(text)
        if match is None:
            continue
        try:
            # Naive until the form says its zone, just below.
            naive = datetime.strptime(match[1] + match[2], "%Y%m%d%H:%M:%S")  # noqa: DTZ007
            if form is _UTC_FORM:
                return naive.replace(tzinfo=UTC)
            if form is _NAMED_FORM:
                return naive.replace(tzinfo=ZoneInfo(match[3]))
        except (KeyError, ValueError):  # no such date, or a zone name zoneinfo lacks
            return None
        # The host's zone when none is set: what ib_async itself does with a zone-less time.
        return naive.replace(tzinfo=ZoneInfo(tws_zone)) if tws_zone else naive.astimezone()
    return None


def order_ref(trade: Any) -> str:
    return str(getattr(trade.order, "orderRef", "") or "")


def rejection(trade: Any) -> tuple[int, str] | None:
    """Return (code, message) of the error that refused the order, if its log has one: one of
    `REJECTING_CODES`, or any error that is neither a notice nor about a cancel on an order IB
    never accepted (`WORKED`) and nothing of which filled (388, 387, 163 ...: IB's list of
    codes is long and grows)."""
    refused = _refused_new(trade)
    if refused is not None:
        return refused
    errors = _errors(trade)
    for code, words in reversed(errors):
        if code in REJECTING_CODES:
            return code, words
    if _worked(trade) or filled_of(trade) > 0:
        return None
    return next(((c, w) for c, w in reversed(errors) if c not in CANCEL_CODES), None)


def _errors(trade: Any) -> list[tuple[int, str]]:
    """The errors in the order's log that are not notices, oldest first, as (code, IB's
    words)."""
    found = []
    for entry in list(getattr(trade, "log", ()) or ()):
        code = int(getattr(entry, "errorCode", 0) or 0)
        if code and not is_notice(code):
            # ib_async prefixes IB's text with "Error 201, reqId 5: "; IB's words follow.
            found.append((code, _IB_PREFIX.sub("", str(entry.message), count=1)))
    return found


def _worked(trade: Any) -> bool:
    """Whether IB accepted the order at some point (its log or its status says so)."""
    statuses = {str(e.status) for e in list(getattr(trade, "log", ()) or ())}
    return bool((statuses | {str(trade.orderStatus.status)}) & WORKED)


def _refused_new(trade: Any) -> tuple[int, str] | None:
    """Return IB's refusal of an order it never acknowledged: the last thing heard of it is an
    error on its id that is not a notice (`is_notice`), with no permId, fill or status after.

    ib_async takes some refusals (321, 434, 110) for warnings and leaves the order
    `ValidationError` (or `PendingSubmit`): IB sends nothing more for it, so it is no working
    order, and waiting or looking it up would only find this local record again.
    """
    if perm_of(trade) or list(trade.fills) or str(trade.orderStatus.status) not in UNANSWERED:
        return None
    log = list(getattr(trade, "log", ()) or ())
    if not log:
        return None
    code = int(getattr(log[-1], "errorCode", 0) or 0)
    if code == 0 or is_notice(code):
        return None
    return code, _IB_PREFIX.sub("", str(log[-1].message), count=1)


def acknowledged(trade: Any) -> bool:
    """Whether IB answered for this order: it has IB's permId or a fill, or IB refused it.

    ib_async keeps its own record of every order it sent; one IB never answered (no permId,
    still `PendingSubmit` or `ValidationError` with a notice only) is not IB's order, and a
    lookup must not take it for one: an unknown outcome is resolved by what IB has.
    """
    return bool(perm_of(trade) or list(trade.fills) or rejection(trade) is not None)


def filled_of(trade: Any) -> Decimal:
    """Return how much of the order filled: its status, its fills, or a completed order's
    `filledQuantity`, whichever says most (a completed order carries no status numbers)."""
    candidates = [
        decimal_or_none(trade.orderStatus.filled),
        decimal_or_none(getattr(trade.order, "filledQuantity", None)),
        sum((decimal_or_none(f.execution.shares) or Decimal(0) for f in trade.fills), Decimal(0)),
    ]
    return max((c for c in candidates if c is not None), default=Decimal(0))


def placer_unknown(trade: Any) -> bool:
    """Whether ib_async knows the order by IB's permId alone, with no order id or client id:
    an order from IB's completed orders (which carry neither), or one typed into TWS."""
    return not int(trade.order.orderId or 0) and not int(trade.order.clientId or 0)


def status_of(trade: Any, *, completed: bool = False) -> tuple[OrderStatus, str]:
    """Return trimtab's status of an IB trade, and IB's words when they matter.

    `completed`: IB knows the order only among its completed orders (`placer_unknown` and not
    in IB's latest open-orders listing): it is final, and `Inactive` there is no held order.
    """
    status = _status(trade)
    filled = filled_of(trade)
    total = decimal_or_none(trade.order.totalQuantity) or Decimal(0)
    if status == "Filled" or (total > 0 and filled >= total):
        return OrderStatus.FILLED, ""
    refused = rejection(trade)
    if refused is not None and status in UNANSWERED:
        return OrderStatus.REJECTED, f"IB error {refused[0]}: {refused[1]}"
    if status in CANCELLED or status == "Inactive":
        if refused is not None and filled == 0:
            code, message = refused
            return OrderStatus.REJECTED, f"IB error {code}: {message}"
        errors = _errors(trade)
        if status == "Inactive":
            if not errors and completed:
                return OrderStatus.CANCELLED, "Inactive at IB (among its completed orders)"
            if not errors:
                # IB parks some orders as Inactive (held, outside hours): still working.
                return _working(filled), "Inactive at IB (held)"
            # Inactive after an error on it (or a cancel IB answered "cannot be cancelled,
            # state: Inactive"): IB no longer works it.
            code, message = errors[-1]
            return OrderStatus.CANCELLED, f"Inactive at IB after IB error {code}: {message}"
        if not errors:
            return OrderStatus.CANCELLED, ""
        code, message = errors[-1]
        return OrderStatus.CANCELLED, f"IB error {code}: {message}"
    return _working(filled), ""


def _working(filled: Decimal) -> OrderStatus:
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def broker_order(trade: Any, *, completed: bool = False) -> BrokerOrder:
    """Read an ib_async `Trade` into a `BrokerOrder`; `broker_order_id` is IB's permId
    (`completed`: see `status_of`)."""
    order = trade.order
    status, message = status_of(trade, completed=completed)
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


def perm_of(trade: Any) -> int:
    """IB's permId of the order (0 while IB has not given one)."""
    return int(trade.order.permId or trade.orderStatus.permId or 0)


def _perm_id(trade: Any) -> str:
    perm = perm_of(trade)
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
