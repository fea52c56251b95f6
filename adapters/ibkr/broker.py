"""The Interactive Brokers broker: ib_async against TWS / IB Gateway (`adapters.ibkr.transport`).

Only the configured `account_id` is read or traded, even when the login manages several.

| method | IB messages | notes |
|---|---|---|
| `snapshot(symbols)` | `reqAllOpenOrders`; `reqContractDetails` once per symbol and New York day; one `reqMktData` snapshot per quoted symbol | positions and cash come from ib_async's live state (start-up sync plus streamed updates); open orders are this client's (streamed) and every other client's IB listed just now (IB streams no update of another client's order, so an older listing is stale); a symbol IB sends no price or close for is a `DataError` (never priced at the portfolio's mark); a last trade without a bid and ask is dated to its trade time, or is no price without one (`adapters.ibkr.quotes`); a holding of a listing other than the SMART/USD one its symbol qualifies to (by conId) is a `DataError` |
| `funds(symbols)` | market data snapshots | cash from the streamed account values |
| `submit(intent)` | one `placeOrder`, never resent; one `reqAllOpenOrders` after an error only ib_async takes for a refusal | checked first (`adapters.ibkr.orders`); refused unsent when the link is down, or was lost and not reconciled since, or the `orderRef` is already known; an error not known as a refusal before IB's first status waits for IB's status, then IB's listing (`unconfirmed_refusal`) |
| `get_order(coid)`, `get_orders(coids)` | none when the order is known; else one full sync for all missing: `reqAllOpenOrders`, `reqCompletedOrders`, `reqExecutions` | by `orderRef` |
| `cancel(coid)` | `cancelOrder` (not again while `PendingCancel`), then `reqCurrentTime` (a round trip) | returns the order once IB has answered: cancelled, or still open while IB shows `PendingCancel` (a fill can still come; the executor waits for the end); an order another API client placed is not sent a cancel (IB lets only that client cancel it): `BrokerError` naming its client id; an order known only from IB's completed orders (not listed open) is returned as it stands |
| `fills(since)` | none (executions of this session and the start-up sync) | with commissions; an execution waits briefly for its commission report |
| `check_account()`, `check_assets(symbols)`, `calendar(start, end)` | a read-only connection; contract details | `BrokerChecks` for `trimtab check` |
| `absence_rule()`, `orders_submitted(start, end)` | a full sync | `OrderAbsence`: an `orderRef` absent from open orders, completed orders and executions after the grace and a full sync was never placed |
| `maintenance(at)` | none | `MaintenanceWindows`: the Gateway's nightly restart and the weekly re-login |
| `daily_closes(symbol, start, end)` | `reqContractDetails` (once a day per symbol), one `reqHistoricalData` (1 day, ADJUSTED_LAST, no end date) | `PriceHistory`: final adjusted closes only (`adapters.ibkr.history`); an unknown symbol or no data is an empty history |
"""  # noqa: E501 (a table row per method reads better than wrapped cells)

from __future__ import annotations

__all__ = ["IbkrBroker"]

import asyncio
import contextlib
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from adapters.base import (
    AbsenceRule,
    AccountCheck,
    AssetCheck,
    BrokerEnvironment,
    CalendarUnavailable,
    CheckNote,
    SessionDay,
)
from adapters.ibkr import history
from adapters.ibkr.account import Cash, Holding, cash_of, holdings_of, listing_problem
from adapters.ibkr.config import IbkrSettings
from adapters.ibkr.costs import TRADE_COSTS
from adapters.ibkr.orders import (
    PreparedOrder,
    exposure_problem,
    prepare_order,
    prices_needed,
)
from adapters.ibkr.parsing import (
    NOT_CANCELLABLE_INACTIVE,
    account_value,
    acknowledged,
    broker_order,
    decimal_or_none,
    fill_of,
    ib_status,
    order_ref,
    perm_of,
    placer_unknown,
    rejection,
    trade_time,
    unconfirmed_refusal,
)
from adapters.ibkr.quotes import CLOSE_SOURCE, quote_of
from adapters.ibkr.sdk import ExecutionFilter, LimitOrder, MarketOrder, Stock, TradeLogEntry
from adapters.ibkr.transport import (
    READ_ONLY_FIX,
    IbError,
    IbLink,
    LinkDown,
    read_only_refusal,
)
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    OrderType,
    Position,
    Quote,
)
from daemon.core.errors import (
    BrokerError,
    DataError,
    DuplicateClientOrderId,
    NotSent,
    OrderRejected,
    OutcomeUnknown,
    TransientBrokerError,
)

NEW_YORK = ZoneInfo("America/New_York")
MARKET_BUY_HOLD = Decimal("0.01")
"""IB checks a market buy's cost against the account's funds at a price a little above the
last (its price-cap protection); IB does not publish the figure, so trimtab keeps 1% back."""
COMMISSION_WAIT = 2.0
"""Seconds a fill read waits for commission reports IB sends just after each execution."""
NOT_CANCELLABLE = 10148
"""IB's answer to a cancel of an order not in a cancellable state."""
SETTLED = frozenset(
    {"Submitted", "PreSubmitted", "Filled", "Cancelled", "ApiCancelled", "Inactive"}
)
CONFIRM_WAIT = 2.0
"""Seconds a new order waits, after an error only ib_async takes for its end
(`unconfirmed_refusal`), for IB's own status, before IB's open orders are asked."""

_log = structlog.get_logger("adapters.ibkr")


class IbkrBroker:
    """One IB account behind TWS / IB Gateway, as a trimtab `Broker` with `BrokerChecks`,
    `OrderAbsence` and `MaintenanceWindows`."""

    market_buy_hold_fraction = MARKET_BUY_HOLD

    trade_costs = TRADE_COSTS

    def __init__(self, settings: IbkrSettings, env: BrokerEnvironment) -> None:
        self.settings = settings
        self.account = env.account
        self._clock = env.clock
        self.link = IbLink(settings, env.account)
        self._placed = 0
        """Orders this process sent: cash read before the latest one is stale."""
        self._account_read: tuple[int, int] | None = None
        """(connection, orders sent) at the last account download."""
        self._contracts: dict[str, tuple[date, Any | None, str]] = {}
        """symbol -> (New York day looked up, qualified contract or None, why none)."""
        self._listed: tuple[int, frozenset[int]] = (-1, frozenset())
        """(connection, permIds) of the orders IB listed open at the last `reqAllOpenOrders`:
        another client's order counts as open only while that listing has it."""

    # -- the Broker protocol ----------------------------------------------------------------

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        """Return cash, positions, quotes for held and requested symbols, and open orders.

        A snapshot after a reconnect is the reconciliation the link waits for before it lets
        orders out again: it is read only after a full sync of orders and executions.
        """
        self._ready()
        resync = not self.link.reconciled
        if resync:
            self._full_sync()
        else:
            self._list_open_orders()
        self._refresh_account()
        holdings, open_orders, cash, _ = self.link.run(self._state)
        positions = self._positions(holdings)
        if cash.not_spent:
            _log.warning(
                "ibkr_cash_not_spent",
                account=self.account,
                balances={c: str(v) for c, v in cash.not_spent.items()},
                why="trimtab buys USD listings with the USD balance only and never converts "
                "currencies",
                fix="convert it to USD in TWS or Client Portal if it is meant to be invested",
            )
        wanted = sorted({p.symbol for p in positions} | set(symbols))
        quotes = self._quotes(wanted)
        if resync:
            self.link.reconciled = True
            _log.info("ibkr_reconciled_after_reconnect", account=self.account)
        return AccountSnapshot(
            account=self.account,
            as_of=self._now(),
            cash=cash.usd,
            positions=positions,
            quotes=quotes,
            open_orders=open_orders,
            fractionable=frozenset(),
            market_open=None,
        )

    def funds(self, symbols: Collection[str]) -> Funds:
        """Return cash and quotes of `symbols`, cash read afresh (IB's account download)."""
        self._ready()
        self._refresh_account()
        _, _, cash, _ = self.link.run(self._state)
        return Funds(as_of=self._now(), cash=cash.usd, quotes=self._quotes(sorted(set(symbols))))

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        """Check the order, then place it once; a refusal raises, and nothing is ever resent."""
        coid = intent.client_order_id
        prepared = prepare_order(
            intent,
            account=self.account,
            account_id=self.settings.account_id,
            outside_rth=self.settings.outside_rth,
        )
        if isinstance(prepared, str):
            _log.warning("ibkr_order_refused", client_order_id=coid, reason=prepared)
            raise OrderRejected(coid, prepared)
        contract = self._checked(prepared, intent)
        order = _ib_order(prepared)
        generation = self.link.generation
        self._placed += 1
        try:
            trade = self.link.run(lambda: self.link.ib.placeOrder(contract, order))
        except ConnectionError as exc:  # ib_async refuses to send on a closed socket
            raise NotSent(coid, f"the link to IB is down ({exc})") from exc
        except TimeoutError as exc:
            raise OutcomeUnknown(coid, f"placeOrder did not return: {exc}") from exc
        confirm = min(CONFIRM_WAIT, float(self.settings.request_timeout_seconds) / 2)
        try:
            self.link.call(lambda: _settled(trade, self.link, confirm))
        except TimeoutError as exc:
            raise OutcomeUnknown(
                coid, f"IB did not acknowledge the order within the request timeout ({exc})"
            ) from exc
        if self.link.lost is None and self.link.run(lambda: unconfirmed_refusal(trade)):
            self._confirm_refusal(coid, trade)
        if self.link.lost is not None or self.link.generation != generation:
            raise OutcomeUnknown(coid, f"the link to IB was lost while sending ({self.link.lost})")
        result = self.link.run(lambda: broker_order(trade))
        if result.status.name == "REJECTED":
            refused = self.link.run(lambda: rejection(trade))
            reason = result.message if refused is None else f"IB error {refused[0]}: {refused[1]}"
            if "Read-Only" in reason:
                reason += f" ({READ_ONLY_FIX})"
            _log.warning("ibkr_order_rejected", client_order_id=coid, reason=reason)
            raise OrderRejected(coid, reason)
        return result

    def _confirm_refusal(self, coid: str, trade: Any) -> None:
        """Settle a new order that only ib_async marked ended (`unconfirmed_refusal`) by IB's
        open orders: listed there, it is working (whatever ib_async set); not listed, IB's
        error on it is its refusal. Raises `OutcomeUnknown` when IB did not list its orders."""
        seen = len(self.link.errors)
        try:
            trades = self._all_open_orders()
        except TimeoutError as exc:
            why = self._listing_failed(exc, seen, "open orders")
            raise OutcomeUnknown(
                coid, f"IB sent an error on the order and no status, and {why}"
            ) from exc
        if self.link.run(lambda: any(t is trade or _same_order(t, trade) for t in trades)):
            self.link.run(lambda: _listed_working(trade))
            _log.info(
                "ibkr_order_listed_after_error",
                client_order_id=coid,
                status=self.link.run(lambda: ib_status(trade)),
            )

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        """Return IB's order with this `orderRef`, or `None` if IB has none."""
        return self.get_orders([client_order_id]).get(client_order_id)

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        """Return IB's orders with these `orderRef`s; one full sync for any not known yet."""
        self._ready()
        wanted = sorted(set(client_order_ids))
        found = self.link.run(lambda: self._orders_by_ref(wanted))
        missing = [c for c in wanted if c not in found]
        if missing:
            self._full_sync()
            found.update(self.link.run(lambda: self._orders_by_ref(missing)))
        return found

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Ask IB to cancel; return the order as it stands afterwards."""
        self._ready()
        trades = self.link.run(lambda: self._trades_by_ref([client_order_id], answered=True))
        if not trades:
            self._full_sync()
            trades = self.link.run(lambda: self._trades_by_ref([client_order_id], answered=True))
        if not trades:
            raise BrokerError(
                f"IB account {self.account} has no order with orderRef {client_order_id}; "
                "nothing to cancel"
            )
        # An order whose placer ib_async knows tells over its record from completed orders.
        known = self.link.run(lambda: [t for t in trades if not placer_unknown(t)])
        trade = (known or trades)[-1]
        if not known:
            # Known by permId alone: open only while IB's latest listing has it.
            self._list_open_orders()
        order = self.link.run(lambda: self._order_of(trade))
        if order.status.is_terminal or (not known and not order.status.is_open):
            return order
        placer = self.link.run(lambda: int(trade.order.clientId or 0))
        if placer != self.settings.client_id or not known:
            raise BrokerError(self._not_ours(trade, placer))
        seen = len(self.link.errors)
        try:
            if self.link.run(lambda: trade.orderStatus.status) != "PendingCancel":
                # Never twice: IB answers a second cancel of a pending one with 10148, which
                # ib_async takes for a cancel while IB still works (and may fill) the order.
                self.link.run(lambda: self.link.ib.cancelOrder(trade.order))
            self.link.call(lambda: _cancel_answered(trade, self.link))
        except (ConnectionError, TimeoutError) as exc:
            _log.warning("ibkr_cancel_unanswered", client_order_id=client_order_id, error=str(exc))
        self.link.run(lambda: _note_not_cancellable(trade, self.link.errors[seen:]))
        return self.link.run(lambda: broker_order(trade))

    def fills(self, since: datetime) -> Sequence[Fill]:
        """Return the executions at or after `since` known to this session, oldest first.

        IB's API keeps the current day's executions (the start-up sync reads them); older
        ones come only from its Flex reports, which trimtab does not read (docs/ibkr.md).
        """
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError(f"fills(since) needs a timezone-aware time, got {since!r}")
        self._ready()
        with contextlib.suppress(TimeoutError):
            self.link.call(self._commissions_in, timeout=COMMISSION_WAIT + 1)
        found = self.link.run(self._session_fills)
        return sorted((f for f in found if f.at >= since), key=lambda f: (f.at, f.fill_id))

    def close(self) -> None:
        """Disconnect from IB and stop the link's thread."""
        self.link.close()

    # -- PriceHistory -------------------------------------------------------------------------

    def daily_closes(self, symbol: str, start: date, end: date) -> Sequence[tuple[date, Decimal]]:
        """Return `symbol`'s final adjusted closes in `[start, end]` (`PriceHistory`)."""
        now = self._now()
        today = now.astimezone(NEW_YORK).date()
        if start > end or start > today:
            return []
        self._ready()
        contract = self._contract(symbol)
        if isinstance(contract, str):
            _log.warning("ibkr_no_history", account=self.account, symbol=symbol, why=contract)
            return []
        asked = time.monotonic()
        span = history.duration(start, today)
        try:
            bars = self.link.call(
                lambda: self.link.ib.reqHistoricalDataAsync(
                    contract, "", span, history.BAR_SIZE, history.WHAT_TO_SHOW, True,
                    formatDate=1, timeout=0,
                )
            )  # fmt: skip
        except TimeoutError as exc:
            raise TransientBrokerError(
                f"account {self.account}: daily bars of {symbol}: {exc}"
            ) from exc
        errors = self.link.run(
            lambda: [
                (e.code, e.text)
                for e in self.link.errors
                if e.req_id == bars.reqId and e.at >= asked
            ]
        )
        refused = history.error_of(self.account, symbol, errors)
        if refused is not None:
            raise refused
        closes = history.bar_closes(symbol, bars)
        return history.final_closes([(d, c) for d, c in closes if start <= d <= end], now)

    # -- OrderAbsence ---------------------------------------------------------------------

    def absence_rule(self) -> AbsenceRule:
        """IB does not deduplicate `orderRef`, but trimtab's ids are unique: an id absent from
        open orders, completed orders and executions after the grace and a full sync was
        never placed."""
        grace = self.settings.unknown_order_grace_seconds
        return AbsenceRule(
            grace=timedelta(seconds=grace),
            listing=True,
            why=f"IB had no order with this orderRef among its open orders, completed orders "
            f"and executions {grace}s after the submission "
            "(broker_settings.unknown_order_grace_seconds), read again by a full sync",
        )

    def orders_submitted(self, start: datetime, end: datetime) -> Sequence[BrokerOrder]:
        """Return every order IB lists after a full sync (open, completed, executed).

        IB's completed orders carry no submission time, so orders outside [start, end] may
        be returned too; callers look orders up by id in the answer.
        """
        del start, end
        self._ready()
        self._full_sync()
        return list(self.link.run(lambda: self._orders_by_ref(None)).values())

    # -- MaintenanceWindows ---------------------------------------------------------------

    def maintenance(self, at: datetime) -> str | None:
        """Return why IB is not to be used at `at` (a configured window), or None."""
        window = self.settings.maintenance_at(at)
        if window is None:
            return None
        when = "daily" if window.day == "daily" else f"on {window.day}"
        return (
            f"IB maintenance window {window.hours} {window.timezone} {when} "
            "(the Gateway's restart, IB's nightly reset or the weekly re-login; "
            "broker_settings.maintenance_windows)"
        )

    # -- BrokerChecks ---------------------------------------------------------------------

    def check_account(self) -> AccountCheck:
        """Connect, and say whether the login manages the account (`CredentialsRejected`
        naming the account and the fix when it does not). Connects read-only: IB's orders
        are not read."""
        self._ready(read_only=True)
        acct = self.settings.account_id
        values = self.link.run(lambda: list(self.link.ib.accountValues(acct)))
        kind = account_value(values, acct, "AccountType", "") or "managed"
        return AccountCheck(
            account=self.account,
            broker_account=acct,
            environment="paper" if acct.startswith("D") else "live",
            status=str(kind),
            active=True,
            trading_blocked=False,
            account_blocked=False,
            trade_suspended_by_user=False,
        )

    def check_assets(self, symbols: Collection[str]) -> Mapping[str, AssetCheck]:
        """Return whether each symbol qualifies as a SMART-routed USD stock or ETF."""
        self._ready(read_only=True)
        result = {}
        for symbol in sorted(set(symbols)):
            contract = self._contract(symbol, fresh=True)
            known = not isinstance(contract, str)
            result[symbol] = AssetCheck(
                symbol,
                known=known,
                tradable=known,
                fractionable=False,
                status="qualified" if known else _short(str(contract)),
            )
        return result

    def calendar(self, start: date, end: date) -> Sequence[SessionDay]:
        """IB's API has no trading calendar (contract details list a week of hours, for one
        contract at a time): `CalendarUnavailable`, so the check says so."""
        raise CalendarUnavailable(
            "IB's API offers no trading calendar; trimtab gates IB orders with the exchange "
            "calendar"
        )

    def more_checks(self, symbols: Collection[str]) -> Sequence[CheckNote]:
        """Return what IB says of market data for `symbols`, and the account's value."""
        self._ready(read_only=True)
        notes = [self._write_access_note(), self._market_data_note(sorted(set(symbols)))]
        acct = self.settings.account_id
        values = self.link.run(lambda: list(self.link.ib.accountValues(acct)))
        net = account_value(values, acct, "NetLiquidation", "USD")
        if net is None or account_value(values, acct, "TotalCashValue", "USD") is None:
            notes.append(
                CheckNote(
                    "account values",
                    "fail",
                    f"IB sent no USD net liquidation or cash for {acct}",
                    "trimtab trades USD accounts: check the account's base currency in Client "
                    "Portal",
                )
            )
            return notes
        try:
            cash = cash_of(values, self.account, acct)  # what snapshot() plans with
        except DataError as exc:
            notes.append(
                CheckNote(
                    "account values",
                    "fail",
                    str(exc),
                    "settle the balance in TWS or Client Portal; cycles stop until then",
                )
            )
            return notes
        notes.append(
            CheckNote("account values", "ok", f"net liquidation {net} USD, cash {cash.usd} USD")
        )
        if cash.not_spent:
            notes.append(
                CheckNote(
                    "cash in other currencies",
                    "warn",
                    f"{cash.named()} not spent: trimtab buys USD listings with the USD balance "
                    "only and never converts currencies",
                    "convert it to USD in TWS or Client Portal if it is meant to be invested",
                )
            )
        return notes

    def _write_access_note(self) -> CheckNote:
        """Ask IB for this client's completed orders: with 'Read-Only API' on, IB lists no
        orders to the API (error 321) and refuses every order, so the check sees the setting
        without placing one. Nothing is sent but the listing request."""
        seen = len(self.link.errors)
        wait = float(self.settings.request_timeout_seconds)
        try:
            refused = self.link.call(lambda: _completed_or_refused(self.link, seen), wait)
        except TimeoutError:
            return CheckNote(
                "read-only API",
                "warn",
                f"IB did not list completed orders within {wait:g}s, so whether IB Gateway's "
                "'Read-Only API' setting is on could not be seen",
                "make sure 'Read-Only API' is off in IB Gateway or TWS (Configure, Settings, "
                "API; IBC: READ_ONLY_API=no): with it on, IB refuses every order",
            )
        if refused is not None:
            return CheckNote(
                "read-only API",
                "fail",
                f"IB Gateway's 'Read-Only API' setting is on: IB lists no orders to the API "
                f"and refuses every order trimtab places (error 321: {refused.text})",
                READ_ONLY_FIX.removeprefix("fix: "),
            )
        return CheckNote("read-only API", "ok", "off: IB lists orders to the API")

    def _market_data_note(self, symbols: Sequence[str]) -> CheckNote:
        """Ask one snapshot per symbol; compare the type IB sends with the configured one."""
        wanted = self.settings.market_data_type
        contracts = [c for s in symbols if not isinstance(c := self._contract(s), str)]
        if not contracts:
            return CheckNote("market data", "ok", "no qualified symbol to price")
        try:
            tickers = self.link.call(lambda: self.link.ib.reqTickersAsync(*contracts))
        except TimeoutError as exc:
            raise TransientBrokerError(
                f"account {self.account}: IB sent no market data snapshot in time ({exc})"
            ) from exc
        # Priced as a cycle prices it (a last without its trade time is no price), and only
        # by IB's market data: a close-only quote is yesterday's, not a subscription.
        now, delayed = self._now(), wanted in (3, 4)
        unpriced = sorted(
            str(t.contract.symbol)
            for t in tickers
            if (q := self._quote_of_ticker(str(t.contract.symbol), t, now=now, delayed=delayed))
            is None
            or q.source == CLOSE_SOURCE
        )
        sent = sorted({int(t.marketDataType) for t in tickers})
        names = {1: "live", 2: "frozen", 3: "delayed", 4: "delayed frozen"}
        got = ", ".join(f"{n} ({names.get(n, '?')})" for n in sent)
        if unpriced:
            return CheckNote(
                "market data",
                "fail",
                f"IB sent no price for {', '.join(unpriced)} (type {wanted} requested, "
                f"IB sent {got or 'nothing'})",
                "subscribe to US market data for the account in Client Portal, or set "
                "broker_settings.market_data_type = 3 (delayed, free)",
            )
        if sent and max(sent) < wanted:
            # IB sends live data to an account subscribed to it, whatever type was asked.
            return CheckNote(
                "market data",
                "warn",
                f"type {wanted} ({names[wanted]}) requested, IB sends {got}: the account "
                "has a market data subscription for these symbols, and IB sends the better "
                "data it may",
                f"nothing is missing; set broker_settings.market_data_type = {max(sent)} to "
                "say what IB sends",
            )
        if sent != [wanted]:
            return CheckNote(
                "market data",
                "warn",
                f"type {wanted} ({names[wanted]}) requested, IB sends {got}",
                "subscribe to live US market data, or set broker_settings.market_data_type "
                f"= {sent[-1]} to say what IB sends",
            )
        return CheckNote(
            "market data", "ok", f"type {wanted} ({names[wanted]}) for all {len(tickers)} symbols"
        )

    # -- internals ------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _ready(self, *, read_only: bool = False) -> None:
        try:
            self.link.ensure(read_only=read_only)
        except TimeoutError as exc:
            raise TransientBrokerError(f"account {self.account}: {exc}") from exc

    def _state(
        self,
    ) -> tuple[tuple[Holding, ...], tuple[BrokerOrder, ...], Cash, dict[int, Decimal]]:
        """Read stock holdings, open orders, cash and IB's portfolio marks by conId (on the
        loop)."""
        ib = self.link.ib
        acct = self.settings.account_id
        holdings = holdings_of(ib.positions(acct))
        # ib_async's open trades include orders it does not count as done but IB refused
        # (a 321 leaves one `ValidationError`): those are final, never working orders.
        # Another client's order is open while IB's latest listing has it: IB streams no
        # update of it to this client, so ib_async's record of it goes stale.
        generation, listed = self._listed
        current = generation == self.link.generation
        open_orders = tuple(
            order
            for t in ib.openTrades()
            if _account_of(t) in (acct, "")
            and (
                int(t.order.clientId or 0) == self.settings.client_id
                or (current and perm_of(t) in listed)
            )
            and (order := broker_order(t)).status.is_open
        )
        cash = cash_of(ib.accountValues(acct), self.account, acct)
        marks = {}
        for item in ib.portfolio(acct):
            price = decimal_or_none(item.marketPrice)
            if price is not None and price > 0:
                # By listing: a mark of BMO on the TSE is in CAD, never NYSE BMO's price.
                marks[int(item.contract.conId)] = price
        return holdings, open_orders, cash, marks

    def _positions(self, holdings: Sequence[Holding]) -> tuple[Position, ...]:
        """Return the holdings as trimtab's positions, or raise `DataError` naming each one
        that is not of the listing trimtab trades for its symbol (`listing_problem`)."""
        problems = [
            problem
            for holding in holdings
            if (problem := listing_problem(self.account, holding, self._contract(holding.symbol)))
            is not None
        ]
        if problems:
            _log.warning("ibkr_holding_not_traded", account=self.account, problems=problems)
            raise DataError("; ".join(problems))
        # IB's avgCost includes commissions; trimtab's avg_cost is the average fill price,
        # which IB does not report: left unknown rather than subtly wrong. One listing per
        # symbol is left, so one position per symbol.
        return tuple(Position(symbol=h.symbol, qty=h.qty) for h in holdings)

    def _marks_by_symbol(self, marks: Mapping[int, Decimal]) -> dict[str, Decimal]:
        """IB's portfolio marks of the listings trimtab trades, by symbol (looked up
        already: no request)."""
        return {
            symbol: marks[int(contract.conId)]
            for symbol, (_, contract, _) in self._contracts.items()
            if contract is not None and int(contract.conId) in marks
        }

    def _refresh_account(self) -> None:
        """Ask IB for the account's values again and wait for the download's end.

        IB streams account values when they change but promises them only every few
        minutes; cash that buys are sized by must include the fills just made, so it is read
        with a defined end (`accountDownloadEnd`) rather than taken from the stream.
        """
        acct = self.settings.account_id
        read = (self.link.generation, self._placed)
        if self._account_read is None or self._account_read[0] != read[0]:
            # A new connection has just downloaded the account (and streams it since).
            self._account_read = read
            return
        if self._account_read == read:
            return  # downloaded since the last order went out: nothing of ours changed it
        try:
            self.link.call(lambda: self.link.ib.reqAccountUpdatesAsync(acct))
        except TimeoutError as exc:
            raise TransientBrokerError(
                f"account {self.account}: IB sent no account values for {acct} in time ({exc})"
            ) from exc
        self._account_read = read

    def _checked(self, prepared: PreparedOrder, intent: OrderIntent) -> Any:
        """Return the contract to send `prepared` on, or raise `OrderRejected` (nothing sent,
        for good), `NotSent` (nothing sent, for a cause that may pass: the link lost or not
        reconciled since, a timeout) or `DuplicateClientOrderId` (IB has the orderRef
        already: it is never sent twice)."""
        coid = intent.client_order_id
        try:
            self._ready()
            if not self.link.reconciled:
                raise LinkDown(
                    f"account {self.account}: the link to IB was lost and has not been "
                    "reconciled since; the next cycle reads the account first"
                )
            if self.link.run(lambda: self._trades_by_ref([coid])):
                raise DuplicateClientOrderId(coid)
            contract = self._contract(prepared.symbol)
            if isinstance(contract, str):
                raise OrderRejected(coid, contract)
            problem = self._exposure(prepared, intent.reference_price, contract)
            if problem is not None:
                _log.warning("ibkr_order_refused", client_order_id=coid, reason=problem)
                raise OrderRejected(coid, problem)
            self.link.probe()
        except (DuplicateClientOrderId, OrderRejected):
            raise
        except TransientBrokerError as exc:  # LinkDown among them
            # Nothing was sent, and the cause may pass: never an unknown outcome.
            raise NotSent(coid, str(exc), retry_after=exc.retry_after) from exc
        except TimeoutError as exc:
            raise NotSent(coid, f"IB did not answer in time ({exc})") from exc
        except (BrokerError, DataError) as exc:
            # Nothing was sent: a definitive "not placed", never an unknown outcome.
            raise OrderRejected(coid, f"not sent: {exc}") from exc
        return contract

    def _exposure(
        self, order: PreparedOrder, reference: Decimal | None, contract: Any
    ) -> str | None:
        """Check the order against holdings, open orders and cash (`exposure_problem`)."""
        holdings, open_orders, cash, marks = self.link.run(self._state)
        # Only shares of the listing the order goes to (its conId) can be sold: BMO held on
        # the TSE is not NYSE BMO, and selling NYSE BMO would sell short.
        held = sum((h.qty for h in holdings if h.con_id == int(contract.conId)), Decimal(0))
        # Each symbol at its own price: the plan's for the order's symbol, else IB's mark of
        # a held one, else one market data snapshot request for all the symbols still
        # unpriced (a bare market buy's, and those of open market buys).
        prices = self._marks_by_symbol(marks)
        if reference is not None and reference > 0:
            prices[order.symbol] = reference
        missing = sorted(prices_needed(order, open_orders) - prices.keys())
        if missing:
            # Unpriced ones stay missing: exposure_problem names the open buy they concern.
            found = self._quotes(missing, partial=True)
            prices.update((s, q.price) for s, q in found.items())
        return exposure_problem(
            order,
            account=self.account,
            held=held,
            open_orders=open_orders,
            cash=cash.usd,
            prices=prices,
            hold_fraction=MARKET_BUY_HOLD,
        )

    def _contract(self, symbol: str, *, fresh: bool = False) -> Any:
        """Return the qualified SMART/USD stock for `symbol`, or why it does not qualify."""
        today = self._now().astimezone(NEW_YORK).date()
        cached = self._contracts.get(symbol)
        if cached is None or cached[0] != today or fresh:
            try:
                details = self.link.call(
                    lambda: self.link.ib.reqContractDetailsAsync(Stock(symbol, "SMART", "USD"))
                )
            except TimeoutError as exc:
                raise TransientBrokerError(
                    f"account {self.account}: contract details of {symbol}: {exc}"
                ) from exc
            contract, why = _qualified(self.account, symbol, details)
            cached = (today, contract, why)
            self._contracts[symbol] = cached
        return cached[1] if cached[1] is not None else cached[2]

    def _quotes(self, symbols: Sequence[str], *, partial: bool = False) -> dict[str, Quote]:
        """Return a quote per qualified symbol, or raise `DataError` naming those IB sent no
        price or close for (no market data subscription, error 354): `trimtab check` fails
        on the same, and IB's portfolio mark, undated, is no quote to plan on. `partial`
        returns the quotes there are instead."""
        contracts = {}
        for symbol in symbols:
            contract = self._contract(symbol)
            if isinstance(contract, str):
                _log.warning(
                    "ibkr_symbol_unusable", account=self.account, symbol=symbol, problem=contract
                )
                continue
            contracts[symbol] = contract
        now = self._now()
        quotes: dict[str, Quote] = {}
        unpriced: list[str] = []
        tickers: list[Any] = []
        if contracts:
            try:
                tickers = self.link.call(lambda: self.link.ib.reqTickersAsync(*contracts.values()))
            except TimeoutError as exc:
                raise TransientBrokerError(
                    f"account {self.account}: IB sent no market data snapshot in time ({exc})"
                ) from exc
        by_symbol = {str(t.contract.symbol): t for t in tickers}
        delayed = self.settings.market_data_type in (3, 4)
        for symbol in contracts:
            quote = self._quote_of_ticker(symbol, by_symbol.get(symbol), now=now, delayed=delayed)
            if quote is None:
                unpriced.append(symbol)
                continue
            quotes[symbol] = quote
        if unpriced and not partial:
            _log.warning("ibkr_no_price", account=self.account, symbols=unpriced)
            raise DataError(
                f"account {self.account}: IB sent no price for {', '.join(unpriced)} (type "
                f"{self.settings.market_data_type} requested; no market data subscription?), "
                "and trimtab does not plan on IB's undated portfolio marks (fix: set "
                "broker_settings.market_data_type = 3 (delayed, free), or subscribe to US "
                "market data in Client Portal; trimtab check shows what IB sends)"
            )
        return quotes

    def _quote_of_ticker(
        self, symbol: str, ticker: Any | None, *, now: datetime, delayed: bool
    ) -> Quote | None:
        """Return the quote a cycle plans on from IB's snapshot `ticker` (None: IB sent none),
        as `quote_of` reads it; `trimtab check` reads the same."""
        market = close = traded_at = None
        bid_ask = False
        if ticker is not None:
            market = decimal_or_none(self.link.run(ticker.marketPrice))
            # Without a real bid and ask the market price is the last trade, dated to its
            # trade time (IB's tick 45) if IB sent it (`quote_of`).
            bid_ask = bool(self.link.run(ticker.hasBidAsk))
            traded_at = trade_time(ticker)
            close = decimal_or_none(ticker.close)
        return quote_of(
            symbol,
            market=market,
            bid_ask=bid_ask,
            traded_at=traded_at,
            close=close,
            now=now,
            delayed=delayed,
        )

    def _trades_by_ref(self, refs: Sequence[str], *, answered: bool = False) -> list[Any]:
        """ib_async's trades with these orderRefs; with `answered`, only those IB answered
        for (`acknowledged`). The duplicate check takes every one: an orderRef sent once is
        never sent again, even if IB never answered."""
        wanted = set(refs)
        return [
            t
            for t in self.link.ib.trades()
            if order_ref(t) in wanted
            and _account_of(t) in (self.settings.account_id, "")
            and (not answered or acknowledged(t))
        ]

    def _orders_by_ref(self, refs: Sequence[str] | None) -> dict[str, BrokerOrder]:
        """Return orders by orderRef from trades, else from executions alone (on the loop)."""
        wanted = None if refs is None else set(refs)
        acct = self.settings.account_id
        found: dict[str, BrokerOrder] = {}
        for trade in self.link.ib.trades():
            ref = order_ref(trade)
            if not ref or (wanted is not None and ref not in wanted):
                continue
            if _account_of(trade) not in (acct, ""):
                continue
            if not acknowledged(trade):
                # ib_async's own record of an order IB never answered: not IB's order.
                continue
            order = self._order_of(trade)
            known = found.get(ref)
            # Several trades with one orderRef: the one that got furthest tells.
            if known is None or order.filled_qty > known.filled_qty or not order.status.is_terminal:
                found[ref] = order
        for fill in self.link.ib.fills():
            ref = str(fill.execution.orderRef or "")
            if not ref or ref in found or (wanted is not None and ref not in wanted):
                continue
            if fill.execution.acctNumber not in (acct, ""):
                continue
            found[ref] = _order_from_executions(
                ref, [f for f in self.link.ib.fills() if f.execution.orderRef == ref]
            )
        return found

    def _list_open_orders(self) -> None:
        """Read IB's open orders of every client afresh (`reqAllOpenOrders`)."""
        seen = len(self.link.errors)
        try:
            self._all_open_orders()
        except TimeoutError as exc:
            raise self._listing_failed(exc, seen, "open orders") from exc

    def _all_open_orders(self) -> list[Any]:
        """List IB's open orders of every client (`reqAllOpenOrders`); return their trades."""
        generation = self.link.generation
        try:
            trades: list[Any] = self.link.call(self.link.ib.reqAllOpenOrdersAsync)
        except ConnectionError as exc:
            # ib_async fails a pending request when the socket closes: for the callers, as
            # for a listing that never ended, IB's orders are not known now.
            raise TimeoutError("the link to IB dropped while it listed its open orders") from exc
        self._listed = (generation, frozenset(self.link.run(lambda: [perm_of(t) for t in trades])))
        return trades

    def _listing_failed(self, exc: TimeoutError, seen: int, what: str) -> TransientBrokerError:
        refused = self.link.run(lambda: read_only_refusal(self.link.errors[seen:]))
        why = (
            ""
            if refused is None
            else f"; IB is in Read-Only API mode (error 321: {refused.text}) ({READ_ONLY_FIX})"
        )
        return TransientBrokerError(
            f"account {self.account}: IB did not finish listing {what} ({exc}){why}"
        )

    def _order_of(self, trade: Any) -> BrokerOrder:
        """`broker_order`, with an order ib_async knows by permId alone (`placer_unknown`)
        final unless IB's latest open-orders listing has it: IB knows it only among its
        completed orders (on the loop)."""
        generation, listed = self._listed
        completed = placer_unknown(trade) and not (
            generation == self.link.generation and perm_of(trade) in listed
        )
        return broker_order(trade, completed=completed)

    def _not_ours(self, trade: Any, placer: int) -> str:
        """Why this client cannot cancel an order another API client (or TWS) placed."""
        mine = self.settings.client_id
        ref = order_ref(trade) or "placed outside trimtab"
        by = (
            "was placed in TWS, not through the API,"
            if placer_unknown(trade)
            else f"was placed by API client id {placer},"
        )
        return (
            f"account {self.account}: IB order {perm_of(trade) or trade.order.orderId} ({ref}) "
            f"{by} and IB lets only the client that placed an "
            f"order cancel it; trimtab is connected as client id {mine}, so no cancel was sent "
            "(fix: if it is the trimtab service's order, stop the service, e.g. `sudo "
            "systemctl stop trimtab`, and run `trimtab kill --cancel-open` with the service's "
            "client_id; otherwise cancel it in TWS or Client Portal)"
        )

    def _full_sync(self) -> None:
        """Read IB's open orders (all clients), completed orders and executions afresh."""
        ib = self.link.ib
        acct = self.settings.account_id
        seen = len(self.link.errors)
        try:
            self._all_open_orders()
            self.link.call(lambda: ib.reqCompletedOrdersAsync(False))
            self.link.call(lambda: ib.reqExecutionsAsync(ExecutionFilter(acctCode=acct)))
        except TimeoutError as exc:
            raise self._listing_failed(exc, seen, "orders and executions") from exc

    async def _commissions_in(self) -> None:
        """Wait (briefly) until every fill of this session has its commission report."""
        deadline = time.monotonic() + COMMISSION_WAIT
        while time.monotonic() < deadline:
            if all(f.commissionReport.execId for f in self.link.ib.fills()):
                return
            await asyncio.sleep(0.05)

    def _session_fills(self) -> list[Fill]:
        acct = self.settings.account_id
        result = []
        for fill in self.link.ib.fills():
            if fill.execution.acctNumber not in (acct, ""):
                continue
            if fill.contract.secType not in ("STK", ""):
                continue
            if not fill.commissionReport.execId:
                _log.warning(
                    "ibkr_commission_missing", account=self.account, exec_id=fill.execution.execId
                )
            result.append(fill_of(fill))
        return result


def _ib_order(prepared: PreparedOrder) -> Any:
    """Build ib_async's order: orderRef, DAY, outsideRth and the account always explicit."""
    fields: dict[str, Any] = {
        "orderRef": prepared.order_ref,
        "outsideRth": prepared.outside_rth,
        "tif": "DAY",
        "account": prepared.account_id,
    }
    if prepared.order_type is OrderType.LIMIT:
        assert prepared.limit_price is not None
        return LimitOrder(prepared.action, prepared.qty, float(prepared.limit_price), **fields)
    return MarketOrder(prepared.action, prepared.qty, **fields)


def _short(why: str) -> str:
    """The part of a qualification failure a check row shows (the row names account, fix)."""
    core = why.split(": ", 1)[-1]
    return core.split(" (fix:", 1)[0]


def _account_of(trade: Any) -> str:
    return str(getattr(trade.order, "account", "") or "")


def _qualified(account: str, symbol: str, details: Sequence[Any]) -> tuple[Any | None, str]:
    """Return the one SMART/USD stock among IB's contract details, or why there is none."""
    stocks = [d.contract for d in details if d.contract is not None and d.contract.secType == "STK"]
    if not stocks:
        return None, (
            f"account {account}: IB has no SMART-routed USD stock or ETF {symbol} (error 200) "
            f"(fix: correct the symbol in the strategy's targets)"
        )
    if len(stocks) > 1:
        places = ", ".join(sorted(f"{c.primaryExchange or '?'} (conId {c.conId})" for c in stocks))
        return None, (
            f"account {account}: {symbol} is ambiguous at IB: {places} (fix: pick one listing "
            "and target a symbol that names only it)"
        )
    contract = stocks[0]
    contract.exchange = "SMART"
    return contract, ""


def _order_from_executions(ref: str, fills: Sequence[Any]) -> BrokerOrder:
    """An order IB shows only through its executions (its order record is gone): it reached
    IB and filled at least this much."""
    from daemon.core.domain import OrderStatus, Side

    shares = sum((Decimal(repr(f.execution.shares)) for f in fills), Decimal(0))
    cost = sum(
        (Decimal(repr(f.execution.shares)) * Decimal(repr(f.execution.price)) for f in fills),
        Decimal(0),
    )
    first = fills[0]
    return BrokerOrder(
        client_order_id=ref,
        broker_order_id=str(first.execution.permId or f"order-{first.execution.orderId}"),
        symbol=str(first.contract.symbol),
        side=Side.BUY if first.execution.side == "BOT" else Side.SELL,
        qty=shares,
        order_type=OrderType.MARKET,
        status=OrderStatus.PARTIALLY_FILLED,
        filled_qty=shares,
        avg_fill_price=cost / shares if shares else None,
        message="known to IB only through its executions",
    )


async def _settled(trade: Any, link: IbLink, confirm: float) -> None:
    """Wait until IB has answered a new order: IB's own status (`ib_status`) left
    PendingSubmit, or IB refused it (`rejection`), or the link is lost (then the outcome is
    unknown at once, not after the request timeout). An error only ib_async took for the
    order's end (`unconfirmed_refusal`, e.g. a new informational code) waits up to `confirm`
    seconds for IB's status; the caller then asks IB's open orders."""
    heard: float | None = None
    while link.lost is None and ib_status(trade) not in SETTLED:
        if rejection(trade) is not None:
            if unconfirmed_refusal(trade) is None:
                return
            heard = time.monotonic() if heard is None else heard
            if time.monotonic() - heard >= confirm:
                return
        await asyncio.sleep(0.01)


def _same_order(listed: Any, trade: Any) -> bool:
    """Whether IB's listed order is this client's `trade` (its order id and orderRef)."""
    return bool(
        int(listed.order.orderId or 0) == int(trade.order.orderId or 0)
        and int(listed.order.clientId or 0) == int(trade.order.clientId or 0)
        and order_ref(listed) == order_ref(trade)
    )


def _listed_working(trade: Any) -> None:
    """Record that IB listed the order open after an error ib_async took for its end: unless
    IB's own status came with the listing, it is `Submitted` (IB works it)."""
    if ib_status(trade) in SETTLED:
        return
    trade.orderStatus.status = "Submitted"
    trade.log.append(
        TradeLogEntry(datetime.now(UTC), "Submitted", "listed open by IB (reqAllOpenOrders)", 0)
    )


async def _completed_or_refused(link: IbLink, seen: int) -> Any:
    """List this client's completed orders; return IB's read-only 321 if it came instead
    (IB then never ends the listing), else None once the listing has ended."""
    listing = asyncio.ensure_future(link.ib.reqCompletedOrdersAsync(True))
    try:
        while not listing.done():
            refused = read_only_refusal(link.errors[seen:])
            if refused is not None:
                return refused
            await asyncio.sleep(0.02)
        return None
    finally:
        listing.cancel()


async def _cancel_answered(trade: Any, link: IbLink) -> None:
    """Wait until IB has answered a cancel: one round trip after it, so what TWS wrote in
    reply (Cancelled, PendingCancel while the exchange has not confirmed, or 10148 for an
    Inactive order) has been read. A pending cancel is returned as the open order it still is
    (a fill can still come); the caller waits for the end, rather than this holding the link
    for the request timeout."""
    if trade.orderStatus.status not in ("Cancelled", "ApiCancelled", "Filled"):
        await link.ib.reqCurrentTimeAsync()


def _note_not_cancellable(trade: Any, errors: Sequence[IbError]) -> None:
    """Record in an Inactive order's log IB's answer to its cancel, 10148 "cannot be
    cancelled, state: Inactive": IB no longer works it, so it is final (`status_of`).
    ib_async logs no error on an order it counts as done, and Inactive is one to it."""
    if str(trade.orderStatus.status) != "Inactive":
        return
    for error in errors:
        if (
            error.req_id == trade.order.orderId
            and error.code == NOT_CANCELLABLE
            and NOT_CANCELLABLE_INACTIVE in error.text
        ):
            message = f"Error {error.code}, reqId {error.req_id}: {error.text}"
            trade.log.append(TradeLogEntry(datetime.now(UTC), "Inactive", message, error.code))
            return
