"""The fake Alpaca's account: cash, positions, orders, fills and activities, with Alpaca's rules.

Everything is guarded by one lock; the HTTP layer calls in, tests call in too (to fill an
order, move a price, block the account). Money is `Decimal` inside and a string in the
trading API's JSON, as at Alpaca; ids are UUIDs.

| rule (POST /v2/orders) | answer |
|---|---|
| client_order_id taken, ever | 422 40010001 "client_order_id must be unique" |
| both or neither of qty and notional | 422 40010001 |
| unknown symbol | 422 40010001 "asset not found" |
| asset not tradable / not active | 422 42210000 "asset X is not tradable" |
| fractional qty or notional on a non-fractionable asset | 422 42210000 'asset "X" is not fractionable' |
| fractional qty or notional with time_in_force other than day | 422 42210000 "fractional orders must be DAY orders" |
| notional on a limit order; notional with more than 2 decimals; qty with more than 9 | 422 |
| fractional limit order while `fractional_limit_orders` is off | 422 |
| extended_hours without limit + day | 422 |
| an open order on the other side of the symbol | 403 40310000 "potential wash trade detected. use complex orders" |
| sell more than held minus open sells (no shorting) | 403 40310000 "insufficient qty available for order" |
| buy whose hold exceeds buying power (cash minus the holds of open buys; with `multiplier = 2`, twice the excess equity minus them) | 403 40310000 "insufficient buying power", with `buying_power` and `cost_basis` |
| account blocked / trading blocked / not ACTIVE | 403 40310000 |
| market closed | accepted; fills wait for the open |

Order edges modelled from Alpaca's documentation (see also the faults of `server.py`):

| setting | what the account does |
|---|---|
| `cancel_race = "canceled"` | DELETE answers 204 and the order shows `pending_cancel` ("the order is waiting to be canceled"); after `pending_cancel_requests` more requests it is `canceled` |
| `cancel_race = "filled"` | as above, but the order fills (the rest, at its limit or the current price) before the cancel reaches the exchange: it ends `filled` |
| `visibility_lag` | an order taken less than this long ago is not found by client order id, by id or in listings yet (eventual consistency after a lost answer) |

The order lifecycle, from Alpaca's "Orders" page (statuses) and its users' reports (a `day`
order left open at the close ends `expired`, with `expired_at`: QuantConnect's
Lean.Brokerages.Alpaca issue 50; a rejection comes after the POST answered `accepted`:
alpacahq/Alpaca-API issue 107). Each step happens at the next request (or `step()`), never
inside the POST, as at Alpaca; `FakeOrder.history` keeps every status an order had.

| step | when | what changes |
|---|---|---|
| `accepted` | the POST | the answer; the order holds buying power and waits to be routed |
| `accepted -> new` | the market is open ("routed to exchanges"); outside the session it stays `accepted` | nothing else: it is working |
| `accepted -> rejected` | routing, for a symbol in `reject_when_routed` | `failed_at`; nothing filled, the hold released; Alpaca's order carries no reason |
| `new -> partially_filled -> filled` | `fill()`, or `auto_fill` | FILL activities, cash and positions |
| `-> expired` | a `day` order still open at the regular close (16:00 New York) of the session it was live in (placed after a close or on a closed day: the next session's); with a forced `market_open` no close comes by itself: `close_session()` is the close | `expired_at` (the close); the filled part stays filled, the hold of the rest is released |
"""  # noqa: E501 (a table row per rule reads better than wrapped cells)

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
CENT = Decimal("0.01")
OPEN_STATUSES = frozenset(
    {"new", "accepted", "pending_new", "partially_filled", "pending_cancel", "held"}
)
TIME_IN_FORCE = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})


class Refusal(Exception):
    """An Alpaca error answer: HTTP status, Alpaca's code and message, and any other fields
    Alpaca puts in the body (`details`)."""

    def __init__(
        self, status: int, code: int | None, message: str, details: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        # The market data API's refusals carry a message and no code.
        code = {} if self.code is None else {"code": self.code}
        return {**self.details, **code, "message": self.message}


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeOrder:
    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    created_at: datetime
    status: str = "accepted"
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    """The exact sum of quantity times price over the fills, so the average is rounded once."""
    updated_at: datetime | None = None
    extended_hours: bool = False
    raw_status: str | None = None
    """A status to report instead of the real one (the unknown-enum fault)."""
    held_price: Decimal = Decimal(0)
    """Buying power held per share while open (a buy): its limit, or for a market buy the
    price at submission marked up by the account's `market_buy_hold`."""
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    history: list[str] = field(default_factory=list)
    """Every status the order had, oldest first (what Alpaca's trade updates would stream)."""

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append(self.status)

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    def move(self, status: str, at: datetime) -> None:
        """Give the order a new status at `at` (the time Alpaca stamps on it)."""
        self.status, self.updated_at = status, at
        if status == "expired":
            self.expired_at = at
        elif status == "rejected":
            self.failed_at = at
        self.history.append(status)

    @property
    def remaining(self) -> Decimal:
        return (self.qty or Decimal(0)) - self.filled_qty

    @property
    def filled_avg_price(self) -> Decimal | None:
        """Return the volume-weighted price of the fills so far, as Alpaca reports it."""
        if self.filled_qty == 0:
            return None
        return (self.filled_notional / self.filled_qty).quantize(Decimal("0.0001"))

    def to_json(self) -> dict[str, Any]:
        updated = self.updated_at or self.created_at
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": stamp(self.created_at),
            "updated_at": stamp(updated),
            "submitted_at": stamp(self.created_at),
            "filled_at": stamp(updated) if self.status == "filled" else None,
            "expired_at": None if self.expired_at is None else stamp(self.expired_at),
            "canceled_at": stamp(updated) if self.status == "canceled" else None,
            "failed_at": None if self.failed_at is None else stamp(self.failed_at),
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.symbol)),
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": None if self.notional is None else num(self.notional),
            "qty": None if self.qty is None else num(self.qty),
            "filled_qty": num(self.filled_qty),
            "filled_avg_price": None
            if self.filled_avg_price is None
            else num(self.filled_avg_price),
            "order_class": "",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": f"{self.side}_to_open" if self.side == "buy" else "sell_to_close",
            "time_in_force": self.time_in_force,
            "limit_price": None if self.limit_price is None else num(self.limit_price),
            "stop_price": None,
            "status": self.raw_status or self.status,
            "extended_hours": self.extended_hours,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }


@dataclass
class FakeAsset:
    symbol: str
    tradable: bool = True
    fractionable: bool = True
    status: str = "active"
    exchange: str = "ARCA"
    asset_class: str = "us_equity"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.symbol)),
            "class": self.asset_class,
            "exchange": self.exchange,
            "symbol": self.symbol,
            "name": f"{self.symbol} fake asset",
            "status": self.status,
            "tradable": self.tradable,
            "marginable": True,
            "shortable": False,
            "easy_to_borrow": False,
            "fractionable": self.fractionable,
            "maintenance_margin_requirement": 100,
            "attributes": [],
        }


@dataclass
class AlpacaState:
    """One fake Alpaca account and its market. Tests read and change it under `lock`."""

    clock: Any = field(default=lambda: datetime.now(UTC))
    cash: Decimal = Decimal(0)
    account_number: str = "PA3FAKE0001"
    account_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "ACTIVE"
    trading_blocked: bool = False
    account_blocked: bool = False
    trade_suspended_by_user: bool = False
    fractional_trading: bool = True
    fractional_limit_orders: bool = True
    multiplier: int = 1
    """Alpaca's account `multiplier`: 1, a cash (limited margin) account, whose buying powers
    are the cash less open buys' holds; 2, a Reg T margin account: `buying_power` is
    max(equity - initial_margin, 0) x 2 (Alpaca's API reference), `non_marginable_buying_power`
    the excess equity once (Reg T pays non-marginable securities in full; Alpaca does not
    document its formula), both less the holds, with `initial_margin` half the long value."""
    sip_subscription: bool = True
    """The market data plan includes recent SIP data (Alpaca's paid plan). False: the free
    Basic plan, where a snapshot, latest trade or bars request with `feed=sip` that reaches
    into the last 15 minutes answers 403 "subscription does not permit querying recent SIP
    data" (`feed=iex`, `delayed_sip` and no feed at all are served)."""
    market_buy_hold: Decimal = Decimal("0.025")
    """A market buy is checked and held as a limit this far above the price (Alpaca: "2.5% to
    4% above the current market price"; 2.5%, the bottom of the range, by default)."""
    market_open: bool | None = None
    """None: open on weekdays 09:30-16:00 New York time outside `holidays`; else forced."""
    holidays: set[date] = field(default_factory=set)
    auto_fill: bool = False
    """Fill open orders that can fill when the next request arrives (fills are never inside
    the POST that placed the order, as at Alpaca)."""
    partial_fill_share: Decimal | None = None
    """With auto_fill: fill only this share of each order first (a partial fill), rest later."""
    unknown_enums: bool = False
    """Send enum values alpaca-py does not know (asset exchange and class, position exchange)."""
    reject_when_routed: set[str] = field(default_factory=set)
    """Symbols whose orders are rejected when routed, after the POST answered `accepted`."""
    assets: dict[str, FakeAsset] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    previous_closes: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    orders: list[FakeOrder] = field(default_factory=list)
    client_order_ids: set[str] = field(default_factory=set)
    activities: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # -- order edges (pending cancels, eventual consistency): see the module's second table --
    cancel_race: str | None = None
    """None: a cancel takes effect at once; "canceled" or "filled": it is pending first."""
    pending_cancel_requests: int = 1
    """Requests after the DELETE that still see `pending_cancel`."""
    pending_cancels: dict[str, int] = field(default_factory=dict)
    """Order id -> requests left before its pending cancel ends."""
    visibility_lag: timedelta = timedelta(0)

    # -- set-up by tests -------------------------------------------------------------------

    def add_asset(self, symbol: str, price: str, **flags: Any) -> None:
        with self.lock:
            self.assets[symbol] = FakeAsset(symbol, **flags)
            self.prices[symbol] = Decimal(price)
            self.previous_closes.setdefault(symbol, Decimal(price))

    def set_position(self, symbol: str, qty: str, avg_cost: str | None = None) -> None:
        with self.lock:
            cost = Decimal(avg_cost) if avg_cost is not None else self.prices[symbol]
            self.positions[symbol] = (Decimal(qty), cost)

    def now(self) -> datetime:
        value: datetime = self.clock()
        return value.astimezone(UTC)

    def is_open(self, at: datetime | None = None) -> bool:
        if self.market_open is not None:
            return self.market_open
        local = (at or self.now()).astimezone(EASTERN)
        if local.weekday() >= 5 or local.date() in self.holidays:
            return False
        return time(9, 30) <= local.time() < time(16, 0)

    # -- orders --------------------------------------------------------------------------------

    def place(self, body: dict[str, Any]) -> FakeOrder:
        """Validate and accept an order, or raise `Refusal` as Alpaca would answer."""
        with self.lock:
            coid = str(body.get("client_order_id") or uuid.uuid4())
            if len(coid) > 128:
                raise Refusal(422, 40010001, "client_order_id must be no more than 128 characters")
            if coid in self.client_order_ids:
                raise Refusal(422, 40010001, "client_order_id must be unique")
            order = self._checked(body, coid)
            self.client_order_ids.add(coid)
            self.orders.append(order)
            return order

    def _checked(self, body: dict[str, Any], coid: str) -> FakeOrder:
        symbol = str(body.get("symbol") or "")
        asset = self.assets.get(symbol)
        if asset is None:
            raise Refusal(422, 40010001, f"asset not found for {symbol}")
        side, kind, tif = body.get("side"), body.get("type"), body.get("time_in_force")
        if side not in ("buy", "sell"):
            raise Refusal(422, 40010001, "side is required")
        if kind not in ("market", "limit"):
            raise Refusal(422, 40010001, f"invalid order type {kind}")
        if tif not in TIME_IN_FORCE:
            raise Refusal(422, 40010001, "invalid time_in_force")
        qty = _decimal(body.get("qty"), "qty")
        notional = _decimal(body.get("notional"), "notional")
        if (qty is None) == (notional is None):
            raise Refusal(422, 40010001, "qty or notional is required, but not both")
        limit = _decimal(body.get("limit_price"), "limit_price")
        if kind == "limit" and limit is None:
            raise Refusal(422, 40010001, "limit_price is required for limit orders")
        if kind == "market" and limit is not None:
            raise Refusal(422, 40010001, "limit_price must not be given for market orders")
        if notional is not None and (kind != "market" or _places(notional) > 2):
            raise Refusal(422, 42210000, "notional orders must be market orders in cents")
        if qty is not None and (qty <= 0 or _places(qty) > 9):
            raise Refusal(422, 40010001, "qty must be positive with at most 9 decimals")
        self._check_asset_and_account(asset, qty, notional, kind, tif, body)
        price = limit if limit is not None else self.prices[symbol]
        amount = qty if qty is not None else (notional or Decimal(0)) / price
        self._check_wash_and_cover(symbol, side, amount, price, kind)
        now = self.now()
        held = self._held_price(price, kind) if side == "buy" else Decimal(0)
        return FakeOrder(
            id=str(uuid.uuid4()),
            client_order_id=coid,
            symbol=symbol,
            side=side,
            type=kind,
            time_in_force=tif,
            qty=qty,
            notional=notional,
            limit_price=limit,
            created_at=now,
            updated_at=now,
            extended_hours=body.get("extended_hours") is True,
            held_price=held,
        )

    def _check_asset_and_account(
        self,
        asset: FakeAsset,
        qty: Decimal | None,
        notional: Decimal | None,
        kind: str,
        tif: str,
        body: dict[str, Any],
    ) -> None:
        if self.account_blocked or self.trading_blocked or self.status != "ACTIVE":
            raise Refusal(403, 40310000, "account is not allowed to trade")
        if not asset.tradable or asset.status != "active":
            raise Refusal(422, 42210000, f"asset {asset.symbol} is not tradable")
        fractional = notional is not None or (qty is not None and qty != qty.to_integral_value())
        if fractional:
            if not asset.fractionable:
                raise Refusal(422, 42210000, f'asset "{asset.symbol}" is not fractionable')
            if not self.fractional_trading:
                raise Refusal(422, 40010001, "qty must be integer")
            if tif != "day":
                raise Refusal(422, 42210000, "fractional orders must be DAY orders")
            if kind != "market" and not self.fractional_limit_orders:
                raise Refusal(422, 42210000, "fractional orders must be market orders")
        if body.get("extended_hours") is True and (kind != "limit" or tif != "day"):
            raise Refusal(422, 42210000, "extended hours order must be DAY limit orders")

    def _check_wash_and_cover(
        self, symbol: str, side: str, amount: Decimal, price: Decimal, kind: str
    ) -> None:
        opposite = [o for o in self.orders if o.open and o.symbol == symbol and o.side != side]
        if opposite:
            raise Refusal(403, 40310000, "potential wash trade detected. use complex orders")
        if side == "sell":
            held = self.positions.get(symbol, (Decimal(0), Decimal(0)))[0]
            offered = sum(
                (
                    o.remaining
                    for o in self.orders
                    if o.open and o.symbol == symbol and o.side == "sell"
                ),
                Decimal(0),
            )
            if amount > held - offered:
                raise Refusal(
                    403,
                    40310000,
                    f"insufficient qty available for order (requested: {num(amount)}, "
                    f"available: {num(held - offered)})",
                )
            return
        self._check_buying_power(amount * self._held_price(price, kind))

    # -- buying power: the hold of open buys (Alpaca's "Buying Power" rules) -------------------

    def _held_price(self, price: Decimal, kind: str) -> Decimal:
        """Return what one share of a buy holds: its limit, or the price marked up."""
        return price * (1 + self.market_buy_hold) if kind == "market" else price

    def _check_buying_power(self, cost_basis: Decimal) -> None:
        available = self.buying_power()
        if cost_basis > available:
            raise Refusal(
                403,
                40310000,
                "insufficient buying power",
                {"buying_power": money(available), "cost_basis": num(cost_basis)},
            )

    def _hold_of(self, order: FakeOrder) -> Decimal:
        """Return what an open buy still holds: its unfilled quantity at its held price, or
        for a dollar-amount buy the unspent amount marked up."""
        if order.qty is None:
            unspent = (order.notional or Decimal(0)) - order.filled_notional
            return unspent * (1 + self.market_buy_hold)
        return order.remaining * order.held_price

    def _held(self) -> Decimal:
        return sum(
            (self._hold_of(o) for o in self.orders if o.open and o.side == "buy"), Decimal(0)
        )

    def _long_value(self) -> Decimal:
        return sum((q * self.prices.get(s, c) for s, (q, c) in self.positions.items()), Decimal(0))

    def _excess_equity(self) -> Decimal:
        """Equity above the initial margin (half the long value): a margin account's base."""
        long_value = self._long_value()
        return max(self.cash + long_value - long_value / 2, Decimal(0))

    def buying_power(self) -> Decimal:
        """What a buy (of a marginable security) may hold: see `multiplier`."""
        with self.lock:
            if self.multiplier == 1:
                return self.cash - self._held()
            return self._excess_equity() * self.multiplier - self._held()

    def non_marginable_buying_power(self) -> Decimal:
        """What a buy of a non-marginable security may hold: see `multiplier`."""
        with self.lock:
            if self.multiplier == 1:
                return self.cash - self._held()
            return self._excess_equity() - self._held()

    def find(self, key: str) -> FakeOrder | None:
        """Return the order with this id or client order id."""
        with self.lock:
            return next((o for o in self.orders if key in (o.id, o.client_order_id)), None)

    def cancel(self, order_id: str) -> None:
        with self.lock:
            order = self.find(order_id)
            if order is None or order.id != order_id:
                raise Refusal(404, 40410000, "order not found")
            if not order.open:
                raise Refusal(422, 42210000, f"order is not cancelable (status {order.status})")
            if self.cancel_race is not None:
                self._start_pending_cancel(order)
                return
            order.move("canceled", self.now())

    def fill(
        self, key: str, qty: str | Decimal | None = None, price: str | None = None
    ) -> FakeOrder:
        """Fill `qty` (default: all that is left) of an open order at `price` (default: the
        current price, or the limit when that is better)."""
        with self.lock:
            order = self.find(key)
            if order is None or not order.open:
                raise AssertionError(f"no open order {key} to fill")
            if order.qty is None:  # a notional order becomes shares at the fill price
                order.qty = ((order.notional or Decimal(0)) / self.prices[order.symbol]).quantize(
                    Decimal("0.000000001")
                )
            amount = order.remaining if qty is None else Decimal(qty)
            at = Decimal(price) if price is not None else self._fill_price(order)
            if at is None or not 0 < amount <= order.remaining:
                raise AssertionError(f"order {key} cannot fill {amount} at {at}")
            self._execute(order, amount, at)
            return order

    def _fill_price(self, order: FakeOrder) -> Decimal | None:
        price = self.prices[order.symbol]
        if order.limit_price is None:
            return price
        if order.side == "buy":
            return min(price, order.limit_price) if price <= order.limit_price else None
        return max(price, order.limit_price) if price >= order.limit_price else None

    def _execute(self, order: FakeOrder, amount: Decimal, price: Decimal) -> None:
        now = self.now()
        if order.status == "accepted":  # a fill means the order was routed first
            order.move("new", now)
        held, cost = self.positions.get(order.symbol, (Decimal(0), Decimal(0)))
        value = amount * price
        if order.side == "buy":
            self.cash -= value.quantize(CENT, ROUND_CEILING)
            new = held + amount
            cost = ((held * cost + value) / new).quantize(Decimal("0.0001"))
        else:
            self.cash += value.quantize(CENT)
            new = held - amount
        if new == 0:
            self.positions.pop(order.symbol, None)
        else:
            self.positions[order.symbol] = (new, cost)
        order.filled_qty += amount
        order.filled_notional += value
        order.move("filled" if order.remaining == 0 else "partially_filled", now)
        self.activities.append(
            {
                "id": f"{now.strftime('%Y%m%d%H%M%S%f')[:17]}::{uuid.uuid4()}",
                "activity_type": "FILL",
                "transaction_time": stamp(now),
                "type": "fill" if order.status == "filled" else "partial_fill",
                "price": num(price),
                "qty": num(amount),
                "side": order.side,
                "symbol": order.symbol,
                "leaves_qty": num(order.remaining),
                "order_id": order.id,
                "cum_qty": num(order.filled_qty),
                "order_status": order.status,
            }
        )

    # -- the lifecycle: the close, routing, fills (before each request, see the table) -------

    def step(self) -> None:
        """Do what Alpaca would have done by now: expire at the close, route, auto-fill."""
        with self.lock:
            self.expire_day_orders()
            self.route_accepted()
            self.auto_fill_open()

    def session_close_after(self, at: datetime) -> datetime:
        """Return the first regular close (16:00 New York, trading days only) after `at`."""
        day = at.astimezone(EASTERN).date()
        for session in trading_days(day, day + timedelta(days=14), self.holidays):
            close = session_bounds(session)[1]
            if close > at:
                return close
        raise AssertionError(f"no trading day within two weeks of {at}")

    def expire_day_orders(self) -> None:
        """Expire each open `day` order whose session has closed (calendar clock only)."""
        with self.lock:
            if self.market_open is not None:
                return  # a forced market has no close of its own: see `close_session`
            now = self.now()
            for order in self.orders:
                if order.open and order.time_in_force == "day":
                    close = self.session_close_after(order.created_at)
                    if close <= now:
                        order.move("expired", close)

    def close_session(self) -> None:
        """Close the session now (for a forced `market_open`): open `day` orders expire."""
        with self.lock:
            now = self.now()
            for order in self.orders:
                if order.open and order.time_in_force == "day":
                    order.move("expired", now)

    def route_accepted(self) -> None:
        """Route accepted orders while the market is open: `new`, or `rejected` for a symbol
        in `reject_when_routed`."""
        with self.lock:
            if not self.is_open():
                return
            now = self.now()
            for order in self.orders:
                if order.status == "accepted":
                    rejected = order.symbol in self.reject_when_routed
                    order.move("rejected" if rejected else "new", now)

    def auto_fill_open(self) -> None:
        """Fill what can fill now (used before each request when `auto_fill` is on)."""
        with self.lock:
            if not self.auto_fill or not self.is_open():
                return
            for order in [o for o in self.orders if o.open and o.status != "pending_cancel"]:
                if self._fill_price(order) is None:
                    continue
                amount = None
                if self.partial_fill_share is not None and order.filled_qty == 0:
                    share = (order.remaining * self.partial_fill_share).quantize(Decimal(1))
                    amount = share if 0 < share < order.remaining else None
                self.fill(order.id, amount)

    # -- order edges: pending cancels and eventual consistency ------------------------------

    def _start_pending_cancel(self, order: FakeOrder) -> None:
        order.move("pending_cancel", self.now())
        self.pending_cancels[order.id] = self.pending_cancel_requests

    def advance_pending_cancels(self) -> None:
        """Count one request against each pending cancel; end those whose time has come."""
        with self.lock:
            for order_id, left in list(self.pending_cancels.items()):
                if left > 0:
                    self.pending_cancels[order_id] = left - 1
                    continue
                del self.pending_cancels[order_id]
                order = self.find(order_id)
                if order is None or order.status != "pending_cancel":
                    continue
                if self.cancel_race == "filled":
                    at = order.limit_price if order.limit_price is not None else None
                    self.fill(order.id, price=None if at is None else str(at))
                else:
                    order.move("canceled", self.now())

    def visible(self, order: FakeOrder) -> bool:
        """Whether reads see the order yet (`visibility_lag` after it was taken)."""
        return order.created_at <= self.now() - self.visibility_lag

    def add_dividend(
        self, symbol: str, amount: str, *, on: date, kind: str = "DIV", qty: str | None = None
    ) -> None:
        with self.lock:
            net = Decimal(amount)
            self.cash += net
            self.activities.append(
                {
                    "id": f"{on.strftime('%Y%m%d')}000000000::{uuid.uuid4()}",
                    "activity_type": kind,
                    "date": on.isoformat(),
                    "net_amount": num(net),
                    "symbol": symbol,
                    "qty": qty,
                    "per_share_amount": None,
                    "description": f"{kind} {symbol}",
                    "status": "executed",
                }
            )

    def add_cash_activity(
        self, kind: str, amount: str, *, on: date, status: str = "executed"
    ) -> str:
        """Record a CSD (deposit), CSW (withdrawal) or JNLC (journal) and move the cash.

        `amount` is signed as Alpaca's `net_amount` is: negative for money leaving.
        """
        with self.lock:
            net = Decimal(amount)
            if status == "executed":
                self.cash += net
            activity_id = f"{on.strftime('%Y%m%d')}000000000::{uuid.uuid4()}"
            self.activities.append(
                {
                    "id": activity_id,
                    "activity_type": kind,
                    "date": on.isoformat(),
                    "net_amount": num(net),
                    "description": f"{kind} test",
                    "status": status,
                }
            )
            return activity_id

    # -- JSON views ------------------------------------------------------------------------

    def account_json(self) -> dict[str, Any]:
        with self.lock:
            long_value = self._long_value()
            margin = long_value / 2 if self.multiplier > 1 else Decimal(0)
            return {
                "id": self.account_id,
                "account_number": self.account_number,
                "status": self.status,
                "crypto_status": "ACTIVE",
                "currency": "USD",
                "cash": money(self.cash),
                "buying_power": money(self.buying_power()),
                "regt_buying_power": money(self.buying_power()),
                "non_marginable_buying_power": money(self.non_marginable_buying_power()),
                "options_buying_power": money(self.buying_power()),
                "portfolio_value": money(self.cash + long_value),
                "equity": money(self.cash + long_value),
                "last_equity": money(self.cash + long_value),
                "long_market_value": money(long_value),
                "short_market_value": "0",
                "initial_margin": money(margin),
                "maintenance_margin": "0",
                "sma": "0",
                "multiplier": str(self.multiplier),
                "accrued_fees": "0",
                "trading_blocked": self.trading_blocked,
                "transfers_blocked": False,
                "account_blocked": self.account_blocked,
                "trade_suspended_by_user": self.trade_suspended_by_user,
                "shorting_enabled": False,
                "created_at": "2024-01-02T15:00:00Z",
                "options_trading_level": 0,
            }

    def positions_json(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            for symbol, (qty, cost) in sorted(self.positions.items()):
                price = self.prices.get(symbol, cost)
                asset = self.assets.get(symbol) or FakeAsset(symbol)
                rows.append(
                    {
                        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
                        "symbol": symbol,
                        "exchange": "NEWX" if self.unknown_enums else asset.exchange,
                        "asset_class": asset.asset_class,
                        "asset_marginable": True,
                        "avg_entry_price": num(cost),
                        "qty": num(qty),
                        "qty_available": num(qty),
                        "side": "long",
                        "market_value": money(qty * price),
                        "cost_basis": money(qty * cost),
                        "unrealized_pl": money(qty * (price - cost)),
                        "unrealized_plpc": "0",
                        "current_price": num(price),
                        "lastday_price": num(self.previous_closes.get(symbol, price)),
                        "change_today": "0",
                    }
                )
            return rows

    def asset_json(self, symbol: str) -> dict[str, Any] | None:
        with self.lock:
            asset = self.assets.get(symbol)
            if asset is None:
                return None
            raw = asset.to_json()
            if self.unknown_enums:
                raw["exchange"], raw["class"] = "NEWX", "us_equity_plus"
            return raw


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise Refusal(422, 40010001, f"{name} is not a number") from exc
    if not number.is_finite():
        raise Refusal(422, 40010001, f"{name} is not a number")
    return number


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 99


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """Return a regular session's open and close (09:30-16:00 New York) on `day`."""
    return (
        datetime.combine(day, time(9, 30), EASTERN),
        datetime.combine(day, time(16, 0), EASTERN),
    )


def trading_days(start: date, end: date, holidays: set[date]) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += timedelta(days=1)
    return days
