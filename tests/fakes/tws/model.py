"""What the fake TWS knows, kept apart from any connection: accounts, contracts, quotes, orders
and executions. It lives as long as the test wants (a real TWS keeps its orders and the day's
executions while API clients come and go), and survives a fake-server restart when the same
`TwsState` is handed to the next `FakeTws` (or saved with `save`/`load`).

Money and quantities are `Decimal`. Every change goes through `TwsState.lock`: the socket
server runs in its own thread and tests script the state from theirs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

Clock = Callable[[], datetime]
"""What the fake reads as now: a timezone-aware time (default `datetime.now(UTC)`)."""


def _system_clock() -> datetime:
    return datetime.now(UTC)


CENT = Decimal("0.01")
EXCHANGE_RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "CAD": Decimal("0.73")}
OPEN_STATUSES = frozenset({"PendingSubmit", "PreSubmitted", "Submitted", "PendingCancel"})


@dataclass(frozen=True)
class Instrument:
    """One listing IB knows: what `reqContractDetails` answers and orders trade."""

    con_id: int
    symbol: str
    primary_exchange: str
    sec_type: str = "STK"
    currency: str = "USD"
    long_name: str = ""
    stock_type: str = "COMMON"
    min_tick: Decimal = Decimal("0.01")

    @property
    def trading_class(self) -> str:
        # IB's trading class of a US stock is its symbol (NMS for some Nasdaq names; not modelled).
        return self.symbol


@dataclass
class Quote:
    """What TWS sends for a listing's market data. `last_time` is when the last trade was
    (IB's LAST_TIMESTAMP tick, 45, or 88 when delayed: Unix seconds in a tickString, sent
    with the last); None sends the last without its time."""

    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    close: Decimal | None = None
    last_time: datetime | None = None

    def mark(self) -> Decimal | None:
        """The price TWS values a position at: last, else the midpoint, else the close."""
        if self.last is not None:
            return self.last
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.close


@dataclass(frozen=True)
class DailyBar:
    """One session's bar as IB's historical data service keeps it (trades, unadjusted);
    `adjustment` is the factor ADJUSTED_LAST applies to its prices (below 1 before a
    dividend or a split). Answered by `tests.fakes.tws.history`."""

    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 1_000_000
    adjustment: Decimal = Decimal(1)


@dataclass
class Holding:
    quantity: Decimal
    average_cost: Decimal  # per share, commissions included, as IB reports `avgCost` for stocks


@dataclass
class Account:
    account_id: str
    cash: dict[str, Decimal] = field(default_factory=dict)  # currency -> balance
    holdings: dict[int, Holding] = field(default_factory=dict)  # conId -> holding
    realized_pnl: Decimal = Decimal(0)

    @property
    def paper(self) -> bool:
        # IB's paper account ids start with D (DU..., DF...).
        return self.account_id.startswith("D")


@dataclass
class ServerOrder:
    """An order as TWS holds it: the client's fields plus the server's ids and progress."""

    order_id: int
    client_id: int
    perm_id: int
    account: str
    con_id: int
    action: str  # BUY / SELL
    quantity: Decimal
    order_type: str  # MKT / LMT
    limit_price: Decimal | None
    tif: str
    order_ref: str
    outside_rth: bool
    status: str = "PreSubmitted"
    filled: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    last_fill_price: Decimal = Decimal(0)
    placed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed_at: datetime | None = None
    completed_status: str = ""
    commission_paid: Decimal = Decimal(0)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class Execution:
    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    account: str
    con_id: int
    side: str  # BOT / SLD
    shares: Decimal
    price: Decimal
    cum_qty: Decimal
    average_price: Decimal
    order_ref: str
    time: datetime
    commission: Decimal
    currency: str
    realized_pnl: Decimal | None  # None until a sale closes shares (IB sends UNSET)


@dataclass(frozen=True)
class Commissions:
    """IB's fixed pricing for US stocks: per share, with a minimum and a cap of a share of value."""

    per_share: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal("1.00")
    maximum_fraction: Decimal = Decimal("0.01")

    def of(self, shares: Decimal, value: Decimal) -> Decimal:
        """The fee for an order's `shares` so far, worth `value`: the minimum is per order."""
        fee = max(self.minimum, shares * self.per_share)
        return min(fee, value * self.maximum_fraction).quantize(Decimal("0.0001"), ROUND_HALF_UP)


class TwsState:
    """The server side of IB: all managed accounts of one login, and the day's orders."""

    def __init__(self, commissions: Commissions | None = None, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        # The time of executions, placements and completions, and of the historical-data
        # pacing window: injectable so a test shares one clock with the code it drives
        # (IB stamps executions to the second; a test clock stepping whole seconds keeps
        # "at or after `since`" exact without sleeping).
        self.clock: Clock = clock or _system_clock
        self.accounts: dict[str, Account] = {}
        self.instruments: list[Instrument] = []
        self.quotes: dict[int, Quote] = {}
        self.market_data_subscribed = True
        # Regular trading hours: when closed, orders wait (PreSubmitted) unless they are
        # limit orders with outsideRth.
        self.market_open = True
        self.orders: dict[int, ServerOrder] = {}  # permId -> order
        self.executions: list[Execution] = []
        self.commissions = commissions or Commissions()
        self.next_order_id = 1
        # TWS keeps each client id's order-id sequence across sessions: an id not above the
        # highest one used is a duplicate (error 103).
        self.highest_order_ids: dict[int, int] = {}
        self.next_perm_id = 1_900_000_001
        self.next_exec = 1
        # conId -> daily bars of IB's historical data service, any order (`history.py`).
        self.bars: dict[int, list[DailyBar]] = {}
        # Currency -> its value in USD (the accounts' base currency), for the base-currency
        # totals IB reports (illustrative rates; tests set their own).
        self.exchange_rates: dict[str, Decimal] = dict(EXCHANGE_RATES)

    # -- scripting: accounts, contracts, prices -------------------------------------------

    def add_account(self, account_id: str, cash: Decimal | int | str = 0) -> Account:
        with self.lock:
            account = self.accounts.setdefault(account_id, Account(account_id))
            account.cash["USD"] = Decimal(cash)
            return account

    def set_cash(self, account_id: str, amount: Decimal | int | str, currency: str = "USD") -> None:
        with self.lock:
            self.accounts[account_id].cash[currency] = Decimal(amount)

    def set_exchange_rate(self, currency: str, usd: Decimal | int | str) -> None:
        """Say what one unit of `currency` is worth in USD (the base currency)."""
        with self.lock:
            self.exchange_rates[currency] = Decimal(usd)

    def exchange_rate(self, currency: str) -> Decimal:
        """One unit of `currency` in USD; a currency without a rate is a scripting error."""
        with self.lock:
            if currency not in self.exchange_rates:
                raise KeyError(f"no exchange rate for {currency}: call set_exchange_rate first")
            return self.exchange_rates[currency]

    def add_instrument(self, instrument: Instrument, quote: Quote | None = None) -> Instrument:
        with self.lock:
            self.instruments = [i for i in self.instruments if i.con_id != instrument.con_id]
            self.instruments.append(instrument)
            self.quotes.setdefault(instrument.con_id, quote or Quote())
            return instrument

    def set_position(
        self,
        account_id: str,
        con_id: int,
        quantity: Decimal | int | str,
        average_cost: Decimal | int | str,
    ) -> None:
        with self.lock:
            holdings = self.accounts[account_id].holdings
            if Decimal(quantity) == 0:
                holdings.pop(con_id, None)
            else:
                holdings[con_id] = Holding(Decimal(quantity), Decimal(average_cost))

    def set_price(
        self,
        con_id: int,
        last: Decimal | int | str,
        spread: Decimal | int | str = "0.02",
        close: Decimal | int | str | None = None,
        last_time: datetime | None = None,
    ) -> None:
        """Quote around `last`: bid and ask half the spread either side, close as given, the
        last trade at `last_time` (None: its time is not sent)."""
        with self.lock:
            mid, half = Decimal(last), Decimal(spread) / 2
            quote = self.quotes.setdefault(con_id, Quote())
            quote.last, quote.bid, quote.ask = mid, mid - half, mid + half
            quote.last_time = last_time
            quote.close = Decimal(close) if close is not None else quote.close or mid

    def add_bars(self, con_id: int, bars: list[DailyBar]) -> None:
        """Record daily bars for a listing; a bar for a day already known replaces it."""
        with self.lock:
            days = {b.day for b in bars}
            kept = [b for b in self.bars.get(con_id, []) if b.day not in days]
            self.bars[con_id] = sorted([*kept, *bars], key=lambda b: b.day)

    def instrument(self, con_id: int) -> Instrument:
        with self.lock:
            for listing in self.instruments:
                if listing.con_id == con_id:
                    return listing
        raise KeyError(con_id)

    def by_symbol(self, symbol: str) -> Instrument:
        """The one listing of `symbol` (for scripting; an ambiguous symbol raises)."""
        with self.lock:
            found = [i for i in self.instruments if i.symbol == symbol]
        if len(found) != 1:
            raise KeyError(f"{symbol}: {len(found)} listings")
        return found[0]

    # -- lookups -----------------------------------------------------------------------------

    def order_by_id(self, client_id: int, order_id: int) -> ServerOrder | None:
        with self.lock:
            for order in self.orders.values():
                if order.client_id == client_id and order.order_id == order_id:
                    return order
        return None

    def order_by_ref(self, order_ref: str) -> ServerOrder:
        with self.lock:
            found = [o for o in self.orders.values() if o.order_ref == order_ref]
        if len(found) != 1:
            raise KeyError(f"orderRef {order_ref!r}: {len(found)} orders")
        return found[0]

    def net_liquidation(self, account_id: str) -> Decimal:
        with self.lock:
            account = self.accounts[account_id]
            value = sum((v * self.exchange_rate(c) for c, v in account.cash.items()), Decimal(0))
            for con_id, holding in account.holdings.items():
                price = self.quotes[con_id].mark() or holding.average_cost
                value += (
                    holding.quantity * price * self.exchange_rate(self.instrument(con_id).currency)
                )
            return value

    # -- server-side actions -----------------------------------------------------------------

    def new_perm_id(self) -> int:
        with self.lock:
            self.next_perm_id += 1
            return self.next_perm_id - 1

    def record_fill(self, order: ServerOrder, shares: Decimal, price: Decimal) -> Execution:
        """Fill `shares` of `order` at `price`: book the execution, the position and the cash."""
        with self.lock:
            account = self.accounts[order.account]
            instrument = self.instrument(order.con_id)
            value = order.average_price * order.filled + shares * price
            # Each execution pays what brings the order's total to its fee so far.
            commission = self.commissions.of(order.filled + shares, value) - order.commission_paid
            order.commission_paid += commission
            signed = shares if order.action == "BUY" else -shares
            realized = _move_position(account, order.con_id, signed, price, commission)
            account.cash[instrument.currency] = (
                account.cash.get(instrument.currency, Decimal(0)) - signed * price - commission
            )
            order.filled += shares
            order.average_price = value / order.filled
            order.last_fill_price = price
            now = self.clock()
            execution = Execution(
                exec_id=f"0000e0d5.{self.next_exec:08x}.01.01",
                order_id=order.order_id,
                client_id=order.client_id,
                perm_id=order.perm_id,
                account=order.account,
                con_id=order.con_id,
                side="BOT" if order.action == "BUY" else "SLD",
                shares=shares,
                price=price,
                cum_qty=order.filled,
                average_price=order.average_price,
                order_ref=order.order_ref,
                time=now,
                commission=commission,
                currency=instrument.currency,
                realized_pnl=realized,
            )
            self.next_exec += 1
            self.executions.append(execution)
            if order.remaining <= 0:
                order.status, order.completed_at, order.completed_status = (
                    "Filled",
                    now,
                    "Filled",
                )
            else:
                order.status = "Submitted"
            return execution

    def finish(self, order: ServerOrder, status: str, completed_status: str) -> None:
        with self.lock:
            order.status = status
            order.completed_at = self.clock()
            order.completed_status = completed_status

    # -- persistence across fake-server processes ----------------------------------------

    def save(self, path: Path) -> None:
        with self.lock:
            data = {
                "accounts": [_account_json(a) for a in self.accounts.values()],
                "instruments": [asdict(i) for i in self.instruments],
                "quotes": {str(k): asdict(q) for k, q in self.quotes.items()},
                "market_data_subscribed": self.market_data_subscribed,
                "market_open": self.market_open,
                "orders": [asdict(o) for o in self.orders.values()],
                "executions": [asdict(e) for e in self.executions],
                "counters": [self.next_order_id, self.next_perm_id, self.next_exec],
                "highest_order_ids": {str(k): v for k, v in self.highest_order_ids.items()},
                "bars": {str(k): [asdict(b) for b in v] for k, v in self.bars.items()},
                "exchange_rates": self.exchange_rates,
            }
        # Written whole then renamed, so a reader (or a kill) never sees half a file.
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(data, default=_json_default, indent=1))
        partial.replace(path)

    @classmethod
    def load(
        cls, path: Path, commissions: Commissions | None = None, clock: Clock | None = None
    ) -> TwsState:
        data = json.loads(path.read_text())
        state = cls(commissions, clock)
        for raw in data["accounts"]:
            account = Account(raw["account_id"], realized_pnl=Decimal(raw["realized_pnl"]))
            account.cash = {k: Decimal(v) for k, v in raw["cash"].items()}
            account.holdings = {
                int(k): Holding(Decimal(q), Decimal(c)) for k, (q, c) in raw["holdings"].items()
            }
            state.accounts[account.account_id] = account
        state.instruments = [Instrument(**_decimals(i, {"min_tick"})) for i in data["instruments"]]
        state.quotes = {
            int(k): Quote(**_times(_decimals(q, {"bid", "ask", "last", "close"}), {"last_time"}))
            for k, q in data["quotes"].items()
        }
        state.market_data_subscribed = data["market_data_subscribed"]
        state.market_open = data.get("market_open", True)
        money = {
            "quantity",
            "limit_price",
            "filled",
            "average_price",
            "last_fill_price",
            "commission_paid",
        }
        for raw in data["orders"]:
            order = ServerOrder(**_times(_decimals(raw, money), {"placed_at", "completed_at"}))
            state.orders[order.perm_id] = order
        money = {"shares", "price", "cum_qty", "average_price", "commission", "realized_pnl"}
        state.executions = [
            Execution(**_times(_decimals(raw, money), {"time"})) for raw in data["executions"]
        ]
        state.next_order_id, state.next_perm_id, state.next_exec = data["counters"]
        state.highest_order_ids = {int(k): v for k, v in data["highest_order_ids"].items()}
        prices = {"open", "high", "low", "close", "adjustment"}
        state.bars = {
            int(k): [
                DailyBar(**{**_decimals(b, prices), "day": date.fromisoformat(b["day"])}) for b in v
            ]
            for k, v in data.get("bars", {}).items()
        }
        state.exchange_rates.update(
            (k, Decimal(v)) for k, v in data.get("exchange_rates", {}).items()
        )
        return state


def _move_position(
    account: Account, con_id: int, signed: Decimal, price: Decimal, commission: Decimal
) -> Decimal | None:
    """Apply a fill to the holding; return the P&L it realised (None when it only opened)."""
    holding = account.holdings.get(con_id)
    if holding is None or holding.quantity == 0:
        account.holdings[con_id] = Holding(signed, price + commission / abs(signed))
        return None
    if (holding.quantity > 0) == (signed > 0):
        total = holding.quantity + signed
        cost = holding.average_cost * holding.quantity + price * signed + commission
        account.holdings[con_id] = Holding(total, cost / total)
        return None
    closed = min(abs(signed), abs(holding.quantity))
    direction = 1 if holding.quantity > 0 else -1
    realized = (price - holding.average_cost) * closed * direction - commission
    account.realized_pnl += realized
    remaining = holding.quantity + signed
    if remaining == 0:
        del account.holdings[con_id]
    elif (remaining > 0) == (holding.quantity > 0):
        account.holdings[con_id] = Holding(remaining, holding.average_cost)
    else:  # crossed through zero: the rest opens at the fill price
        account.holdings[con_id] = Holding(remaining, price)
    return realized


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "cash": {k: str(v) for k, v in account.cash.items()},
        "holdings": {
            str(k): [str(h.quantity), str(h.average_cost)] for k, h in account.holdings.items()
        },
        "realized_pnl": str(account.realized_pnl),
    }


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    raise TypeError(type(value))


def _decimals(raw: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {k: (Decimal(v) if k in names and v is not None else v) for k, v in raw.items()}


def _times(raw: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {
        k: (datetime.fromisoformat(v) if k in names and v is not None else v)
        for k, v in raw.items()
    }
