"""Pure translation of Alpaca's JSON (alpaca-py with `raw_data=True`) into trimtab's types.

alpaca-py's own models use strict enums, so one new value from Alpaca (an exchange, an asset
class, an order status) fails a whole list. trimtab reads the raw JSON instead: a value it
does not know is recorded in `Unknowns` and mapped to the safest meaning, never fatal. Money
and quantities are read as `Decimal` from Alpaca's strings (trading API) or numbers (data
API, read through `str` so no binary float reaches a price).

| Alpaca order status | trimtab status |
|---|---|
| new, accepted, pending_new, accepted_for_bidding, pending_review, held, calculated, pending_cancel, pending_replace, done_for_day, stopped, suspended | ACCEPTED (PARTIALLY_FILLED once something filled) |
| partially_filled | PARTIALLY_FILLED |
| filled | FILLED |
| canceled, replaced | CANCELLED (trimtab never replaces orders) |
| expired | EXPIRED (message: when, and how much had filled) |
| rejected | REJECTED (message: when; Alpaca's order carries no reason) |
| anything else | UNKNOWN (recorded): resolved by a later lookup |
"""  # noqa: E501 (a table row per status reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "AccountInfo",
    "AssetInfo",
    "Dividend",
    "MarketClock",
    "ParseError",
    "Unknowns",
    "parse_account",
    "parse_asset",
    "parse_bars",
    "parse_calendar",
    "parse_clock",
    "parse_dividend",
    "parse_fill",
    "parse_order",
    "parse_position",
    "parse_quote",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

from adapters.base import AccountCheck, AssetCheck, SessionDay
from daemon.core.domain import BrokerOrder, Fill, OrderStatus, OrderType, Position, Quote, Side
from daemon.core.errors import BrokerError
from daemon.core.movements import FLOW_TIME, CashFlow, FlowKind

EASTERN = ZoneInfo("America/New_York")

_S = OrderStatus
_STATUS: Mapping[str, OrderStatus] = {
    **dict.fromkeys(
        (
            "new",
            "accepted",
            "pending_new",
            "accepted_for_bidding",
            "pending_review",
            "held",
            "calculated",
            "pending_cancel",
            "pending_replace",
            "done_for_day",
            "stopped",
            "suspended",
        ),
        _S.ACCEPTED,
    ),
    "partially_filled": _S.PARTIALLY_FILLED,
    "filled": _S.FILLED,
    "canceled": _S.CANCELLED,
    "replaced": _S.CANCELLED,
    "expired": _S.EXPIRED,
    "rejected": _S.REJECTED,
}
_LIMIT_TYPES = frozenset({"limit", "stop_limit"})
_KNOWN_TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
_ACTIVE_ACCOUNT = "ACTIVE"
_KNOWN_ACCOUNT_STATUSES = frozenset(
    {
        "ONBOARDING",
        "SUBMISSION_FAILED",
        "SUBMITTED",
        "ACCOUNT_UPDATED",
        "APPROVAL_PENDING",
        "ACTIVE",
        "REJECTED",
        "DISABLED",
        "ACCOUNT_CLOSED",
        "INACTIVE",
    }
)
DIVIDEND_KINDS: Mapping[str, str] = {
    "DIV": "dividend",
    "DIVCGL": "capital_gain_long",
    "DIVCGS": "capital_gain_short",
    "DIVROC": "return_of_capital",
    "DIVTXEX": "tax_exempt_dividend",
    "DIVNRA": "withholding",
    "DIVWH": "withholding",
    "DIVREINV": "reinvestment",
}
"""Alpaca activity types of dividends and what each is (DIVREINV is not in alpaca-py 0.44's
list; it is read if Alpaca sends it)."""


class ParseError(BrokerError):
    """Alpaca sent something trimtab cannot read safely; names the field and the object."""


@dataclass
class Unknowns:
    """Values of Alpaca enums trimtab does not know, as (field, value), first seen first."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def note(self, name: str, value: object) -> None:
        key = (name, str(value))
        if key not in self.seen:
            self.seen.append(key)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """The parts of `GET /v2/account` trimtab uses."""

    number: str
    status: str
    cash: Decimal
    buying_power: Decimal
    equity: Decimal
    currency: str
    trading_blocked: bool
    account_blocked: bool
    trade_suspended_by_user: bool
    non_marginable_buying_power: Decimal | None = None
    """What a buy of a non-marginable security may spend; optional in Alpaca's account."""

    def check(self, account: str, environment: str) -> AccountCheck:
        """Return the account's standing as `trimtab check` reads it."""
        env: Literal["paper", "live"] = "live" if environment == "live" else "paper"
        return AccountCheck(
            account=account,
            broker_account=self.number,
            environment=env,
            status=self.status,
            active=self.status == _ACTIVE_ACCOUNT,
            trading_blocked=self.trading_blocked,
            account_blocked=self.account_blocked,
            trade_suspended_by_user=self.trade_suspended_by_user,
        )


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """The parts of `GET /v2/assets/{symbol}` trimtab uses."""

    symbol: str
    status: str
    tradable: bool
    fractionable: bool
    min_trade_increment: Decimal | None

    def check(self) -> AssetCheck:
        return AssetCheck(
            symbol=self.symbol,
            known=True,
            tradable=self.tradable and self.status == "active",
            fractionable=self.fractionable,
            status=self.status,
            min_trade_increment=self.min_trade_increment,
        )


@dataclass(frozen=True, slots=True)
class Dividend:
    """One dividend-related account activity: cash paid, withheld, or reinvested."""

    activity_id: str
    activity_type: str
    """Alpaca's code (DIV, DIVWH, DIVREINV, ...)."""
    kind: str
    """What it is: dividend, capital_gain_long, capital_gain_short, return_of_capital,
    tax_exempt_dividend, withholding, reinvestment."""
    symbol: str
    on: date
    net_amount: Decimal
    """Cash in (positive) or out (negative, e.g. withholding and reinvestment)."""
    qty: Decimal | None
    """Shares the dividend was paid on, or shares bought by a reinvestment."""
    per_share_amount: Decimal | None
    description: str


def decimal(value: Any, what: str) -> Decimal:
    """Read a money or quantity field; Alpaca sends strings, the data API numbers."""
    if isinstance(value, bool) or value is None:
        raise ParseError(f"{what} is missing or not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ParseError(f"{what} is not a number: {value!r}") from exc
    if not number.is_finite():
        raise ParseError(f"{what} is not finite: {value!r}")
    return number


def optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value is None or value == "" else decimal(value, what)


def timestamp(value: Any, what: str) -> datetime:
    """Read an RFC 3339 time (Alpaca sends up to nanoseconds and `Z` or an offset)."""
    if not isinstance(value, str):
        raise ParseError(f"{what} is missing or not a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ParseError(f"{what} is not a time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ParseError(f"{what} has no time zone: {value!r}")
    return parsed


def _text(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ParseError(f"{what}: field {key} is missing")
    return value


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    # Missing flags are read as "not blocked": Alpaca has dropped fields before (PDT).
    return raw.get(key) is True


def parse_account(raw: Mapping[str, Any], unknowns: Unknowns) -> AccountInfo:
    """Read `GET /v2/account`; the retired PDT fields are neither needed nor expected."""
    status = _text(raw, "status", "account")
    if status not in _KNOWN_ACCOUNT_STATUSES:
        unknowns.note("account.status", status)
    return AccountInfo(
        number=str(raw.get("account_number") or raw.get("id") or "?"),
        status=status,
        cash=decimal(raw.get("cash"), "account.cash"),
        buying_power=decimal(raw.get("buying_power"), "account.buying_power"),
        equity=decimal(raw.get("equity"), "account.equity"),
        currency=str(raw.get("currency") or "USD"),
        trading_blocked=_flag(raw, "trading_blocked"),
        account_blocked=_flag(raw, "account_blocked"),
        trade_suspended_by_user=_flag(raw, "trade_suspended_by_user"),
        non_marginable_buying_power=optional_decimal(
            raw.get("non_marginable_buying_power"), "account.non_marginable_buying_power"
        ),
    )


def parse_position(raw: Mapping[str, Any]) -> Position:
    """Read one entry of `GET /v2/positions`; a short position has a negative quantity."""
    symbol = _text(raw, "symbol", "position")
    qty = decimal(raw.get("qty"), f"position {symbol} qty")
    if raw.get("side") == "short" and qty > 0:
        qty = -qty
    return Position(symbol, qty, optional_decimal(raw.get("avg_entry_price"), f"{symbol} cost"))


def parse_order(raw: Mapping[str, Any], unknowns: Unknowns) -> BrokerOrder:
    """Read an order; unknown statuses and types are recorded and read as safely as possible."""
    coid = _text(raw, "client_order_id", "order")
    what = f"order {coid}"
    symbol = _text(raw, "symbol", what)
    side_text = raw.get("side")
    if side_text not in ("buy", "sell"):
        # No safe reading exists: buying and selling are opposites.
        raise ParseError(f"{what}: side {side_text!r} is neither buy nor sell")
    filled = optional_decimal(raw.get("filled_qty"), f"{what} filled_qty") or Decimal(0)
    qty = optional_decimal(raw.get("qty"), f"{what} qty")
    if qty is None:
        # A notional order (dollar amount) has no share quantity until it fills.
        qty = filled
    status_text = str(raw.get("status"))
    status = _STATUS.get(status_text)
    if status is None:
        unknowns.note("order.status", status_text)
        status = _S.UNKNOWN
    elif status is _S.ACCEPTED and filled > 0:
        status = _S.PARTIALLY_FILLED
    type_text = str(raw.get("type") or raw.get("order_type"))
    if type_text not in _KNOWN_TYPES:
        unknowns.note("order.type", type_text)
    submitted = raw.get("submitted_at") or raw.get("created_at")
    return BrokerOrder(
        client_order_id=coid,
        broker_order_id=_text(raw, "id", what),
        symbol=symbol,
        side=Side(side_text),
        qty=qty,
        order_type=OrderType.LIMIT if type_text in _LIMIT_TYPES else OrderType.MARKET,
        status=status,
        filled_qty=filled,
        avg_fill_price=optional_decimal(raw.get("filled_avg_price"), f"{what} filled_avg_price"),
        limit_price=optional_decimal(raw.get("limit_price"), f"{what} limit_price"),
        submitted_at=None if submitted is None else timestamp(submitted, f"{what} submitted_at"),
        message=_ending(raw, status, status_text, filled),
        notional=optional_decimal(raw.get("notional"), f"{what} notional"),
    )


def _ending(raw: Mapping[str, Any], status: OrderStatus, status_text: str, filled: Decimal) -> str:
    """Say what Alpaca's order tells of an end trimtab did not ask for ("" for the others).

    Alpaca's order object has no reason field: a rejection or an expiry says only when
    (`failed_at`, `expired_at`), so that, and what had filled, is the broker's account of it.
    """
    if status is _S.REJECTED:
        return f"rejected by Alpaca{_when(raw.get('failed_at'))}; Alpaca's order gives no reason"
    if status is _S.EXPIRED:
        ordered = raw.get("qty")
        size = f"${raw.get('notional')}" if ordered is None else f"{ordered}"
        return (
            f"expired at Alpaca{_when(raw.get('expired_at'))} (time in force "
            f"{raw.get('time_in_force')}); {filled} of {size} filled"
        )
    return status_text if status is _S.UNKNOWN else ""


def _when(value: Any) -> str:
    """Return " at <UTC time>" for an Alpaca timestamp, or "" when it is missing or unreadable
    (it only words a message: never a reason to refuse the order's report)."""
    try:
        at = timestamp(value, "time")
    except ParseError:
        return ""
    return f" at {at.astimezone(UTC).isoformat(timespec='seconds')}"


def parse_fill(raw: Mapping[str, Any], client_order_id: str) -> Fill:
    """Read one FILL activity; Alpaca's activity id is unique per account."""
    fill_id = _text(raw, "id", "fill activity")
    what = f"fill {fill_id}"
    side = raw.get("side")
    if side not in ("buy", "sell", "sell_short"):
        raise ParseError(f"{what}: side {side!r} is neither buy nor sell")
    return Fill(
        fill_id=fill_id,
        client_order_id=client_order_id,
        broker_order_id=_text(raw, "order_id", what),
        symbol=_text(raw, "symbol", what),
        side=Side.BUY if side == "buy" else Side.SELL,
        qty=decimal(raw.get("qty"), f"{what} qty"),
        price=decimal(raw.get("price"), f"{what} price"),
        at=timestamp(raw.get("transaction_time"), f"{what} transaction_time"),
    )


def parse_dividend(raw: Mapping[str, Any]) -> Dividend:
    """Read one dividend-type activity (see `DIVIDEND_KINDS`)."""
    activity_id = _text(raw, "id", "dividend activity")
    what = f"activity {activity_id}"
    code = _text(raw, "activity_type", what)
    day = raw.get("date")
    try:
        on = date.fromisoformat(str(day)[:10])
    except ValueError as exc:
        raise ParseError(f"{what}: date {day!r} is not a date") from exc
    return Dividend(
        activity_id=activity_id,
        activity_type=code,
        kind=DIVIDEND_KINDS.get(code, code.lower()),
        symbol=_text(raw, "symbol", what),
        on=on,
        net_amount=decimal(raw.get("net_amount"), f"{what} net_amount"),
        qty=optional_decimal(raw.get("qty"), f"{what} qty"),
        per_share_amount=optional_decimal(raw.get("per_share_amount"), f"{what} per_share"),
        description=str(raw.get("description") or ""),
    )


FLOW_KINDS: Mapping[str, FlowKind | None] = {
    "CSD": FlowKind.DEPOSIT,
    "CSW": FlowKind.WITHDRAWAL,
    "JNLC": None,  # a cash journal between accounts: its sign says which way it went
}
"""Alpaca's activity types of money moved into or out of the account from outside."""


def parse_cash_flow(raw: Mapping[str, Any], account: str) -> CashFlow | None:
    """Read a deposit, withdrawal or cash journal; None for one not executed (or of $0).

    Alpaca dates these activities without a time: each counts at 16:00 New York that day,
    as a flow the operator enters by date does. The direction comes from the type (CSD in,
    CSW out) and for a journal from the sign of its amount.
    """
    activity_id = _text(raw, "id", "cash activity")
    what = f"activity {activity_id}"
    code = _text(raw, "activity_type", what)
    if code not in FLOW_KINDS:
        raise ParseError(f"{what}: {code} is not a deposit, withdrawal or cash journal")
    if str(raw.get("status") or "executed") != "executed":
        return None
    day = raw.get("date")
    try:
        on = date.fromisoformat(str(day)[:10])
    except ValueError as exc:
        raise ParseError(f"{what}: date {day!r} is not a date") from exc
    net = decimal(raw.get("net_amount"), f"{what} net_amount")
    if net == 0:
        return None
    kind = FLOW_KINDS[code] or (FlowKind.DEPOSIT if net > 0 else FlowKind.WITHDRAWAL)
    return CashFlow(
        account=account,
        at=datetime.combine(on, FLOW_TIME, EASTERN),
        amount=abs(net) if kind is FlowKind.DEPOSIT else -abs(net),
        kind=kind,
        source="alpaca",
        external_id=activity_id,
        note=f"{code} {raw.get('description') or ''}".strip(),
    )


def parse_asset(raw: Mapping[str, Any], unknowns: Unknowns) -> AssetInfo:
    """Read `GET /v2/assets/{symbol}`; an unknown exchange or class is recorded, not fatal."""
    symbol = _text(raw, "symbol", "asset")
    status = str(raw.get("status") or "unknown")
    if status not in ("active", "inactive"):
        unknowns.note("asset.status", status)
    for key, known in (
        ("exchange", {"AMEX", "ARCA", "BATS", "NYSE", "NASDAQ", "NYSEARCA", "OTC", "ASCX"}),
        ("class", {"us_equity", "us_option", "crypto"}),
    ):
        if raw.get(key) is not None and raw.get(key) not in known:
            unknowns.note(f"asset.{key}", raw.get(key))
    return AssetInfo(
        symbol=symbol,
        status=status,
        tradable=raw.get("tradable") is True,
        fractionable=raw.get("fractionable") is True,
        min_trade_increment=optional_decimal(
            raw.get("min_trade_increment"), f"{symbol} min_trade_increment"
        ),
    )


@dataclass(frozen=True, slots=True)
class MarketClock:
    """`GET /v2/clock`: whether the market is open, and until when that answer holds."""

    is_open: bool
    next_open: datetime
    next_close: datetime

    def open_at(self, now: datetime) -> bool | None:
        """Return whether the market is open at `now`, or None once this answer is stale."""
        until = self.next_close if self.is_open else self.next_open
        return self.is_open if now < until else None


def parse_clock(raw: Mapping[str, Any]) -> MarketClock:
    return MarketClock(
        is_open=raw.get("is_open") is True,
        next_open=timestamp(raw.get("next_open"), "clock.next_open"),
        next_close=timestamp(raw.get("next_close"), "clock.next_close"),
    )


def parse_calendar(raw: Sequence[Mapping[str, Any]]) -> list[SessionDay]:
    """Read `GET /v2/calendar`: open and close are "HH:MM" New York wall-clock times."""
    days = []
    for entry in raw:
        try:
            day = date.fromisoformat(str(entry.get("date")))
            opens = time.fromisoformat(str(entry.get("open")))
            closes = time.fromisoformat(str(entry.get("close")))
        except ValueError as exc:
            raise ParseError(f"calendar entry {dict(entry)!r} is not a trading day") from exc
        days.append(
            SessionDay(
                day=day,
                open=datetime.combine(day, opens, EASTERN),
                close=datetime.combine(day, closes, EASTERN),
            )
        )
    return sorted(days, key=lambda d: d.day)


def parse_quote(
    symbol: str, raw: Mapping[str, Any] | None, *, price: str, feed: str
) -> Quote | None:
    """Read one symbol of `GET /v2/stocks/snapshots`; None when it carries no usable trade.

    `price` is "trade" (the latest trade) or "mid" (the bid/ask midpoint when both sides are
    positive, else the trade). The previous close is the last daily bar before the trade's
    New York day.
    """
    if not raw:
        return None
    trade = raw.get("latestTrade") or {}
    if trade.get("p") is None or trade.get("t") is None:
        return None
    value = decimal(trade.get("p"), f"{symbol} latest trade price")
    as_of = timestamp(trade.get("t"), f"{symbol} latest trade time")
    source = f"alpaca:{feed}:trade"
    quote = raw.get("latestQuote") or {}
    if price == "mid" and quote.get("ap") and quote.get("bp"):
        ask = decimal(quote.get("ap"), f"{symbol} ask")
        bid = decimal(quote.get("bp"), f"{symbol} bid")
        if ask > 0 and bid > 0 and ask >= bid:
            value = (ask + bid) / 2
            as_of = max(as_of, timestamp(quote.get("t"), f"{symbol} quote time"))
            source = f"alpaca:{feed}:mid"
    if value <= 0:
        return None
    trade_day = as_of.astimezone(EASTERN).date()
    previous = None
    for key in ("dailyBar", "prevDailyBar"):
        bar = raw.get(key) or {}
        if bar.get("c") is None or bar.get("t") is None:
            continue
        bar_day = timestamp(bar.get("t"), f"{symbol} {key} time").astimezone(EASTERN).date()
        if bar_day < trade_day:
            previous = decimal(bar.get("c"), f"{symbol} {key} close")
            break
    return Quote(symbol, value, as_of, source, previous_close=previous)


def parse_bars(raw: Mapping[str, Any], symbol: str) -> list[tuple[date, Decimal]]:
    """Read daily bars of one symbol as (New York day, close), oldest first."""
    bars = raw.get(symbol) or []
    closes = {}
    for bar in bars:
        at = timestamp(bar.get("t"), f"{symbol} bar time")
        # A daily bar is stamped at midnight New York time (04:00 or 05:00 UTC).
        closes[at.astimezone(EASTERN).date()] = decimal(bar.get("c"), f"{symbol} bar close")
    return sorted(closes.items())
