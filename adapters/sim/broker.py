"""The simulated broker: a paper account kept in its own tables of trimtab's database.

Every call is one database transaction (`adapters.sim.store`) that first locks the account's row (so two processes
take turns) and then lets resting limit orders fill if the current price crosses their limit:
the sim's market moves only when someone looks at it. State lives only in the database, so a
paper account survives restarts.

| rule | what the sim does |
|---|---|
| market order | fills at once and completely at the quote with slippage |
| notional order (dollar amount) | market orders only, whole cents, at least $1, fractional accounts only; becomes shares at the fill price, floored to 9 decimals (as at Alpaca) |
| limit order | fills when the quote crosses the limit, at the better of limit and slipped quote; otherwise rests (as ACCEPTED, good until cancelled) |
| prices | buys round up and sells round down to the tick (0.01, or 0.0001 under $1); cash moves in whole cents, rounded against the account |
| commission | per order plus per share, rounded up to the cent, deducted from cash at the fill; `trade_costs` declares it and the slippage, so the executor sizes buys that fit and raises cash net of both |
| average cost | fill prices only (commissions excluded), kept to 6 decimals; the tax ledger holds the real basis |
| refusals | stored as REJECTED with the reason, then `OrderRejected`: no quote, quantity <= 0 or over 9 decimals, fractional when not allowed, a limit off the tick, selling more than held and not already offered (no shorting), buying more than cash not already committed (no margin), an open order on the other side of the symbol (potential wash trade) |
| buying-power hold | a market buy is checked at quote x (1 + `market_buy_hold_fraction`) when that is above its fill price (a broker's hold, like Alpaca's; default 0); it fills at once, so it holds nothing afterwards |
| malformed intent | a client order id or symbol that cannot be stored, a non-Decimal quantity: `OrderRejected`, nothing stored |
| taken client order id | `DuplicateClientOrderId`, nothing created (ids are unique forever, as at Alpaca) |
| `cancel` of an unknown id | `BrokerError`; of a finished order: the order, unchanged; of a partly filled one: CANCELLED, its filled quantity kept |
| price history | `daily_closes` from the price source, never a close that the clock has not reached (`PriceHistory`) |
| checks | `trimtab check` gets read-only answers from `adapters.sim.checks`: always active, symbols it quotes, `fractional`, a weekday calendar |
| faults | injected on purpose when `faults` is configured: latency, read errors, rejections, partial fills, lost answers, dropped submissions, cancels that race a fill, a crash after an accept (`adapters.sim.faults`) |
| absence | `OrderAbsence`: "no order with this id" is final at once (`AbsenceRule`, grace zero) |
"""  # noqa: E501 (a table row per rule reads better than wrapped cells)

from __future__ import annotations

__all__ = ["SimBroker"]

import dataclasses
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from adapters.base import (
    AbsenceRule,
    AccountCheck,
    AssetCheck,
    BrokerEnvironment,
    SessionDay,
    limit_problem,
    notional_problem,
)
from adapters.sim.checks import account_check, asset_check, weekday_sessions
from adapters.sim.config import SimSettings
from adapters.sim.faults import FaultInjector
from adapters.sim.prices import PriceSource, last_close_day
from adapters.sim.store import (
    OPEN_STATUSES,
    SimAccountRow,
    SimBook,
    SimCashMovementRow,
    SimFillRow,
    SimOrderRow,
    SimPositionRow,
    SimStore,
)
from daemon.core import fills
from daemon.core.costs import TradeCosts
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    check_transition,
)
from daemon.core.errors import BrokerError, DuplicateClientOrderId, OrderRejected, StateError
from daemon.core.money import cents, is_whole_cents
from daemon.core.movements import CashFlow, FlowKind

AVG_COST_STEP = Decimal("0.000001")
MAX_QTY_DECIMALS = 9
QTY_STEP = Decimal(1).scaleb(-MAX_QTY_DECIMALS)
MAX_CLIENT_ORDER_ID = 128  # Alpaca's limit; also the column's width
MAX_SYMBOL = 32
MAX_MAGNITUDE = Decimal(10) ** 15  # far above any real order, far below NUMERIC(38, 12)


class SimBroker:
    """A paper account in the database, priced by a `PriceSource`.

    `faults` applies `settings.faults`; tests hand in an injector whose sleep and crash they
    control. The injector's counters belong to this instance.
    """

    def __init__(
        self,
        settings: SimSettings,
        env: BrokerEnvironment,
        *,
        prices: PriceSource | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.settings = settings
        self.account = env.account
        self.prices = prices if prices is not None else settings.prices.build()
        self.faults = faults or FaultInjector(settings.faults, account=env.account)
        self._env = env
        self._store = SimStore(env.sql_engine)
        self._closed = False
        self._open_account()

    # -- the Broker protocol ----------------------------------------------------------------

    @property
    def market_buy_hold_fraction(self) -> Decimal:
        return self.settings.market_buy_hold_fraction

    @property
    def trade_costs(self) -> TradeCosts:
        return self.settings.trade_costs()

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        """Return cash, positions, quotes for held and requested symbols, and open orders."""
        with self.faults.call("snapshot", read=True), self._locked() as (book, now):
            positions = tuple(row.to_position() for row in book.positions())
            wanted = sorted({p.symbol for p in positions} | set(symbols))
            quotes = {s: q for s in wanted if (q := self.prices.quote(s, now)) is not None}
            return AccountSnapshot(
                account=self.account,
                as_of=now,
                cash=book.account.cash,
                positions=positions,
                quotes=quotes,
                open_orders=tuple(row.to_order() for row in book.open_orders()),
                # The sim takes fractions in every symbol or in none; it has no market clock.
                fractionable=frozenset(wanted) if self.settings.fractional else frozenset(),
            )

    def funds(self, symbols: Collection[str]) -> Funds:
        """Return cash and the quotes of `symbols` (a read, like `snapshot`, for faults)."""
        with self.faults.call("funds", read=True), self._locked() as (book, now):
            wanted = sorted(set(symbols))
            quotes = {s: q for s in wanted if (q := self.prices.quote(s, now)) is not None}
            return Funds(as_of=now, cash=book.account.cash, quotes=quotes)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        """Fill, rest or refuse one order; refusals are stored, then raised."""
        with self.faults.call("submit"):
            return self._submit(intent)

    def _submit(self, intent: OrderIntent) -> BrokerOrder:
        self.faults.dropped(str(intent.client_order_id))  # before anything is stored
        problem = _malformed(intent)
        if problem is not None:
            raise OrderRejected(str(intent.client_order_id), problem)
        with self._locked() as (book, now):
            if book.order(intent.client_order_id) is not None:
                raise DuplicateClientOrderId(intent.client_order_id)
            quote = self.prices.quote(intent.symbol, now)
            intent = self._in_shares(intent, quote)
            refusal, fill_price = self._check(book, intent, quote)
            row = SimOrderRow.from_intent(
                intent,
                account=self.account,  # never the intent's: a misrouted order stays here
                broker_order_id=str(uuid.uuid4()),
                seq=book.next_seq(SimOrderRow),
                status=OrderStatus.REJECTED if refusal else OrderStatus.ACCEPTED,
                message=refusal or "",
                at=now,
            )
            book.add(row)
            if refusal is None and fill_price is not None:
                qty = intent.qty
                if intent.order_type is OrderType.MARKET:
                    qty = self.faults.market_fill_qty(intent.qty)
                if qty > 0:
                    self._fill(book, row, fill_price, now, qty=qty)
            order = row.to_order()
        # Committed: a crash or a lost answer from here on leaves the order stored.
        self.faults.answered(order)
        if refusal is not None:
            raise OrderRejected(intent.client_order_id, refusal)
        return order

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        """Return the order with this client order id, or `None` if there is none."""
        with self.faults.call("get_order", read=True), self._locked() as (book, _now):
            row = book.order(client_order_id)
            return None if row is None else row.to_order()

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        """Return the orders with these client order ids that exist, by client order id."""
        with self.faults.call("get_order", read=True), self._locked() as (book, _now):
            rows = book.orders(client_order_ids)
            return {row.client_order_id: row.to_order() for row in rows}

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Cancel an open order; return a finished one unchanged; raise for an unknown id.

        A partly filled order ends CANCELLED with its filled quantity and fills kept.
        """
        with self.faults.call("cancel"), self._locked() as (book, now):
            row = book.order(client_order_id)
            if row is None:
                raise BrokerError(
                    f"sim account {self.account} has no order with client order id "
                    f"{client_order_id}; nothing to cancel"
                )
            if row.status in OPEN_STATUSES and not self.faults.cancel_pending(client_order_id):
                _set_status(row, OrderStatus.CANCELLED, now)
            return row.to_order()

    def fills(self, since: datetime) -> Sequence[Fill]:
        """Return the fills at or after `since`, oldest first."""
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError(f"fills(since) needs a timezone-aware time, got {since!r}")
        with self.faults.call("fills", read=True), self._locked() as (book, _now):
            rows = book.fills_since(since)
            return [row.to_fill() for row in rows]

    def close(self) -> None:
        """Refuse further calls; the engine belongs to the caller and stays open."""
        self._closed = True

    # -- OrderAbsence: the sim's store is the one truth, consistent at once ------------------

    def absence_rule(self) -> AbsenceRule:
        """An order is stored before `submit` answers, so "not found" is final at once."""
        return AbsenceRule(
            grace=timedelta(0),
            listing=False,
            why="the sim stores every order it takes before it answers, so an id it does not "
            "have was never taken",
        )

    def orders_submitted(self, start: datetime, end: datetime) -> Sequence[BrokerOrder]:
        """Return every order submitted in [start, end], oldest first."""
        with self.faults.call("orders_submitted", read=True), self._locked() as (book, _now):
            return [row.to_order() for row in book.submitted_between(start, end)]

    # -- deposits and withdrawals (adapters.base.CashFlowReporter) --------------------------

    def cash_flows(self, since: datetime) -> Sequence[CashFlow]:
        """Return deposits (the starting cash included) and withdrawals at or after `since`.

        Injected read errors do not apply: they are counted per read of the account, and a
        flow read happens only after a snapshot already succeeded.
        """
        with self.faults.call("cash_flows"), self._locked() as (book, _now):
            rows = book.movements_since(since)
            return [
                CashFlow(
                    account=self.account,
                    at=row.at,
                    amount=row.amount,
                    kind=FlowKind.DEPOSIT if row.amount > 0 else FlowKind.WITHDRAWAL,
                    source="sim",
                    external_id=str(row.id),
                    note=row.kind,
                )
                for row in rows
                if row.amount != 0
            ]

    # -- read-only answers to `trimtab check` (adapters.base.BrokerChecks) ---------------------

    def check_account(self) -> AccountCheck:
        """Return the account's standing; the sim's is always active (see `checks`)."""
        return account_check(self.account)

    def check_assets(self, symbols: Collection[str]) -> Mapping[str, AssetCheck]:
        """Return, per symbol, whether the sim quotes it, takes orders in it, and fractions."""
        now = self._now()
        return {
            symbol: asset_check(
                symbol, quoted=self.prices.quote(symbol, now) is not None, settings=self.settings
            )
            for symbol in symbols
        }

    def calendar(self, start: date, end: date) -> Sequence[SessionDay]:
        """Return the sim's synthetic sessions in [start, end]: weekdays, no holidays."""
        return weekday_sessions(start, end)

    # -- daily closes (adapters.base.PriceHistory) --------------------------------------------

    def daily_closes(self, symbol: str, start: date, end: date) -> Sequence[tuple[date, Decimal]]:
        """Return the price source's closes dated in `[start, end]` that the clock has reached."""
        known = last_close_day(self._now())
        return self.prices.closes(symbol, start, min(end, known))

    # -- for the CLI --------------------------------------------------------------------------

    def deposit(self, amount: Decimal) -> Decimal:
        """Add cash to the account; return the new balance."""
        _check_amount(amount)
        with self._locked() as (book, now):
            book.account.cash += amount
            book.add(SimCashMovementRow.record(self.account, amount, "deposit", now))
            return book.account.cash

    def withdraw(self, amount: Decimal) -> Decimal:
        """Take cash out of the account, never cash committed to open orders; return the rest."""
        _check_amount(amount)
        with self._locked() as (book, now):
            account = book.account
            available = account.cash - self._committed_cash(book)
            if amount > available:
                raise BrokerError(
                    f"cannot withdraw {amount} from sim account {self.account}: "
                    f"{_money(available)} is free ({_money(account.cash)} cash, "
                    f"{_money(account.cash - available)} held by open orders)"
                )
            account.cash -= amount
            book.add(SimCashMovementRow.record(self.account, -amount, "withdrawal", now))
            return account.cash

    def state(self, *, recent: int = 50) -> dict[str, Any]:
        """Return the account for display: JSON-ready, numbers as strings, newest first."""
        with self._locked() as (book, now):
            positions = []
            for row in book.positions():
                quote = self.prices.quote(row.symbol, now)
                value = None if quote is None else cents(quote.price * row.qty)
                positions.append(
                    row.to_json()
                    | {
                        "price": None if quote is None else str(quote.price),
                        "price_as_of": None if quote is None else quote.as_of.isoformat(),
                        "market_value": None if value is None else _money(value),
                    }
                )
            account = book.account
            orders = book.newest_orders(recent)
            fills = book.newest_fills(recent)
            movements = book.newest_movements(recent)
            return {
                "account": self.account,
                "as_of": now.isoformat(),
                "created_at": account.created_at.isoformat(),
                "cash": _money(account.cash),
                "cash_committed_to_open_orders": _money(self._committed_cash(book)),
                "prices": self.prices.describe(),
                "faults": self.settings.faults.describe(),
                "positions": positions,
                "open_orders": [row.to_json() for row in book.open_orders()],
                "recent_orders": [row.to_json() for row in orders],
                "fills": [row.to_json() for row in fills],
                "cash_movements": [row.to_json() for row in movements],
            }

    # -- internals ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._env.clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise StateError(f"the clock returned a naive datetime {now!r}; it must be UTC-aware")
        return now.astimezone(UTC)

    def _open_account(self) -> None:
        self._store.open_account(self.account, self.settings.starting_cash, self._now())

    @contextmanager
    def _locked(self) -> Iterator[tuple[SimBook, datetime]]:
        if self._closed:
            raise BrokerError(f"the sim broker of account {self.account} is closed")
        now = self._now()
        with self._store.locked(self.account) as book:
            self._fill_resting(book, now)
            self._end_pending_cancels(book, now)
            yield book, now

    def _end_pending_cancels(self, book: SimBook, now: datetime) -> None:
        """End the cancels `faults.cancel_race` held pending: canceled, or filled first."""
        for coid in self.faults.take_pending_cancels():
            row = book.order(coid)
            if row is None or row.status not in OPEN_STATUSES:
                continue
            if self.faults.settings.cancel_race == "filled":
                price = self._race_price(row, now)
                left = row.qty - row.filled_qty
                if price is not None and self._cash_after(book.account, row, price, left) >= 0:
                    self._fill(book, row, price, now)
                    continue
            _set_status(row, OrderStatus.CANCELLED, now)

    def _race_price(self, row: SimOrderRow, now: datetime) -> Decimal | None:
        """The price a cancel that lost the race fills at: the limit, else the quote."""
        if row.limit_price is not None:
            return row.limit_price
        quote = self.prices.quote(row.symbol, now)
        if quote is None:
            return None
        return fills.fill_price(Side(row.side), quote.price, self.settings.slippage_bps)

    def _fill_resting(self, book: SimBook, now: datetime) -> None:
        for row in book.open_orders():
            quote = self.prices.quote(row.symbol, now)
            if quote is None or row.limit_price is None:
                continue
            price = fills.limit_fill_price(
                Side(row.side), quote.price, row.limit_price, self.settings.slippage_bps
            )
            if price is None:
                continue
            cash_after = self._cash_after(book.account, row, price, row.qty - row.filled_qty)
            if cash_after < 0:
                # Only a raised commission (config changed while the order rested) gets here;
                # cancel like a broker would, rather than fail every later call.
                _set_status(row, OrderStatus.CANCELLED, now)
                row.message = f"cancelled by the sim: filling would leave cash at {cash_after}"
            else:
                self._fill(book, row, price, now)

    def _check(
        self, book: SimBook, intent: OrderIntent, quote: Quote | None
    ) -> tuple[str | None, Decimal | None]:
        """Return (why the order is refused or None, the price it fills at now or None)."""
        problem = self._shape_problem(intent) or self.faults.rejection(intent.symbol)
        if problem is not None:
            return problem, None
        if quote is None:
            return f"no price for {intent.symbol}: unknown symbol or not quoted yet", None
        for other in book.open_orders():
            if other.symbol == intent.symbol and other.side != intent.side.value:
                return (
                    f"potential wash trade: open {other.side} order {other.client_order_id} "
                    f"for {intent.symbol}; cancel it first"
                ), None
        qty, limit, bps = intent.qty, intent.limit_price, self.settings.slippage_bps
        if limit is None:
            fill_price: Decimal | None = fills.fill_price(intent.side, quote.price, bps)
        else:
            fill_price = fills.limit_fill_price(intent.side, quote.price, limit, bps)
        # A resting order is checked at its limit, the worst price it can fill at.
        worst = fill_price if fill_price is not None else limit
        assert worst is not None  # a market order always has a fill price
        commission = self._commission(qty)
        account = book.account
        committed = self._committed_cash(book)
        free_cash = account.cash - committed
        held_back = (
            f" ({_money(committed)} of {_money(account.cash)} held by open orders)"
            if committed
            else ""
        )
        if intent.side is Side.SELL:
            position = book.position(intent.symbol)
            held = position.qty if position is not None else Decimal(0)
            offered = sum(
                (
                    o.qty - o.filled_qty
                    for o in book.open_orders()
                    if o.symbol == intent.symbol and o.side == Side.SELL.value
                ),
                Decimal(0),
            )
            if qty > held - offered:
                return (
                    f"insufficient position: selling {qty} {intent.symbol}, "
                    f"{held - offered} available ({held} held, {offered} in open sell orders)"
                ), None
            if fills.proceeds(qty, worst) + free_cash < commission:
                return (
                    f"commission {commission} exceeds the proceeds plus {_money(free_cash)} "
                    f"free cash{held_back}"
                ), None
        else:
            cost = fills.cost(qty, worst) + commission
            if limit is None:  # a market buy: checked at the broker's hold above the quote
                held = quote.price * (1 + self.settings.market_buy_hold_fraction)
                cost = max(cost, fills.cost(qty, held) + commission)
            if cost > free_cash:
                return (
                    f"insufficient cash: the order needs {cost} with commission, "
                    f"{_money(free_cash)} is free{held_back}"
                ), None
        return None, fill_price

    def _in_shares(self, intent: OrderIntent, quote: Quote | None) -> OrderIntent:
        """Turn a notional order into shares at its fill price, floored to 9 decimals (as
        Alpaca does); anything the checks will refuse is returned as it came."""
        if intent.notional is None or quote is None or self._notional_problem(intent):
            return intent
        price = fills.fill_price(intent.side, quote.price, self.settings.slippage_bps)
        shares = (intent.notional / price).quantize(QTY_STEP, ROUND_FLOOR)
        return dataclasses.replace(intent, qty=shares)

    def _notional_problem(self, intent: OrderIntent) -> str | None:
        malformed = notional_problem(intent)
        if malformed is not None or intent.notional is None:
            return malformed
        if not self.settings.fractional:
            return (
                f"notional order for ${intent.notional}: this sim account trades whole shares only "
                "(fix: set broker_settings.fractional = true, or policy.notional_buys = false)"
            )
        return None

    def _shape_problem(self, intent: OrderIntent) -> str | None:
        """Return what is wrong with the order itself, whatever the account holds, or `None`."""
        qty = intent.qty
        if intent.account != self.account:
            return f"order for account {intent.account} sent to sim account {self.account}"
        notional_problem = self._notional_problem(intent)
        if notional_problem is not None:
            return notional_problem
        if qty <= 0:
            return f"quantity must be positive, got {qty}"
        if _decimals(qty.normalize()) > MAX_QTY_DECIMALS:
            return f"quantity {qty} has more than {MAX_QTY_DECIMALS} decimal places"
        if not self.settings.fractional and qty != qty.to_integral_value():
            return f"fractional quantity {qty}: this sim account trades whole shares only"
        return limit_problem(intent)

    def _fill(
        self,
        book: SimBook,
        order: SimOrderRow,
        price: Decimal,
        now: datetime,
        *,
        qty: Decimal | None = None,
    ) -> None:
        """Fill `qty` of the order (default: all that is left) at `price`."""
        remaining = order.qty - order.filled_qty
        qty = remaining if qty is None else qty
        if not 0 < qty <= remaining:
            raise StateError(
                f"sim order {order.client_order_id} cannot fill {qty}: {remaining} is left"
            )
        commission = self._fill_commission(order, qty)
        account = book.account
        cash_after = self._cash_after(account, order, price, qty)
        position = book.position(order.symbol)
        held = position.qty if position is not None else Decimal(0)
        if order.side == Side.BUY.value:
            new_qty = held + qty
            old_cost = position.avg_cost * held if position is not None else Decimal(0)
            avg_cost = ((old_cost + price * qty) / new_qty).quantize(AVG_COST_STEP)
        else:
            new_qty = held - qty
            avg_cost = position.avg_cost if position is not None else price
        if cash_after < 0 or new_qty < 0:
            # Order checks reserve cash and shares, so this is a bug: stop, never go negative.
            raise StateError(
                f"filling sim order {order.client_order_id} would leave cash {cash_after} and "
                f"{new_qty} {order.symbol}; refusing"
            )
        account.cash = cash_after
        if position is None:
            book.add(
                SimPositionRow(
                    account=self.account, symbol=order.symbol, qty=new_qty, avg_cost=avg_cost
                )
            )
        elif new_qty == 0:
            book.delete(position)
        else:
            position.qty, position.avg_cost = new_qty, avg_cost
        filled = order.filled_qty + qty
        if order.avg_fill_price is None:
            order.avg_fill_price = price
        else:
            paid = order.avg_fill_price * order.filled_qty + price * qty
            order.avg_fill_price = (paid / filled).quantize(AVG_COST_STEP)
        order.filled_qty = filled
        done = filled == order.qty
        _set_status(order, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, now)
        seq = book.next_seq(SimFillRow)
        book.add(order.fill_row(str(uuid.uuid4()), seq, qty, price, commission, now))

    def _cash_after(
        self, account: SimAccountRow, order: SimOrderRow, price: Decimal, qty: Decimal
    ) -> Decimal:
        commission = self._fill_commission(order, qty)
        if order.side == Side.BUY.value:
            return account.cash - fills.cost(qty, price) - commission
        return account.cash + fills.proceeds(qty, price) - commission

    def _commission(self, qty: Decimal) -> Decimal:
        s = self.settings
        return fills.commission(
            s.commission_per_order, s.commission_per_share, qty, first_fill=True
        )

    def _fill_commission(self, order: SimOrderRow, qty: Decimal) -> Decimal:
        """Return the commission of filling `qty` of `order`: per order on its first fill only."""
        s = self.settings
        return fills.commission(
            s.commission_per_order, s.commission_per_share, qty, first_fill=order.filled_qty == 0
        )

    def _committed_cash(self, book: SimBook) -> Decimal:
        """Return the cash open orders may still take: cost at the limit plus commission."""
        total = Decimal(0)
        for row in book.open_orders():
            total += self._fill_commission(row, row.qty - row.filled_qty)
            if row.side == Side.BUY.value and row.limit_price is not None:
                total += fills.cost(row.qty - row.filled_qty, row.limit_price)
        return total


def _malformed(intent: OrderIntent) -> str | None:
    """Return why an intent cannot even be recorded, or `None`."""
    coid, symbol = intent.client_order_id, intent.symbol
    if not isinstance(coid, str) or not coid or len(coid) > MAX_CLIENT_ORDER_ID:
        return f"client order id must be 1 to {MAX_CLIENT_ORDER_ID} characters"
    if not isinstance(symbol, str) or not symbol or symbol != symbol.strip():
        return f"symbol {symbol!r} is empty or has surrounding spaces"
    if len(symbol) > MAX_SYMBOL:
        return f"symbol {symbol!r} is longer than {MAX_SYMBOL} characters"
    for name, value in (("quantity", intent.qty), ("limit price", intent.limit_price)):
        if value is None:
            continue
        if not isinstance(value, Decimal) or not value.is_finite():
            return f"{name} must be a finite Decimal, got {value!r}"
        if abs(value) >= MAX_MAGNITUDE:
            return f"{name} {value} is out of range"
    return None


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked by _malformed
    return max(0, -exponent)


def _money(amount: Decimal) -> str:
    """Format cash for people: whole cents always shown (the database drops trailing zeros)."""
    return str(cents(amount))


def _check_amount(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise BrokerError(f"amount must be a positive Decimal, got {amount!r}")
    if not is_whole_cents(amount):
        raise BrokerError(f"amount must be whole cents, got {amount}")


def _set_status(row: SimOrderRow, status: OrderStatus, now: datetime) -> None:
    check_transition(OrderStatus(row.status), status)
    row.status, row.updated_at = status.value, now
