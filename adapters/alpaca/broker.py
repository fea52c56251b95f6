"""The Alpaca broker: alpaca-py's `TradingClient` and `StockHistoricalDataClient`, hardened.

Both clients run with `raw_data=True`, a session with timeouts and no SDK retries
(`adapters.alpaca.transport`); JSON is read by `adapters.alpaca.parsing`. The cash `snapshot`
and `funds` report is what open buys (anyone's) and margin leave to spend
(`adapters.alpaca.holds`), not Alpaca's `cash`.

| method | requests | notes |
|---|---|---|
| `snapshot(symbols)` | open orders, account, positions, market data snapshots (open market buys' symbols too); assets once per New York day per symbol; the clock once per open/close | a requested symbol Alpaca does not know has no quote (logged with the fix); planning stops on it |
| `funds(symbols)` | open orders, account, market data snapshots | the account read refreshes the one `submit` checks |
| `submit(intent)` | one POST, never retried | checked first (`adapters.alpaca.orders`): a refusal sends nothing; `client_order_id` always set; time in force `day` |
| `get_order(coid)` | GET by client order id | `None` on 404 |
| `get_orders(coids)` | one orders listing (status all, after the earliest of them was submitted, their symbols); GET by client order id for any it misses | orders this process has not seen submitted are looked up one by one |
| `cancel(coid)` | DELETE, then GET | the order id comes from this process's memory, else a lookup; a 422 (no longer cancelable) returns the order as it is |
| `fills(since)` | FILL activities, paged (100), oldest first | an order id this process has not seen is looked up once for its client order id |
| `cash_flows(since)` | CSD, CSW and JNLC activities, paged | deposits and withdrawals for returns (`CashFlowReporter`); not executed ones are skipped |
| `dividends(since)` | non-trade activities, paged | DIV, DIVCGL, DIVCGS, DIVROC, DIVTXEX, DIVNRA, DIVWH, DIVREINV as `Dividend`; other types are skipped, unknown DIV* codes recorded |
| `daily_bars(symbols, start, end)` | `GET /v2/stocks/bars` (1Day, adjustment all, the configured feed), paged by alpaca-py | closes by New York day |
| `daily_closes(symbol, start, end)`, `daily_closes_of(symbols, start, end)` | one `daily_bars` query | `PriceHistory`, `BatchPriceHistory`: final closes only (`adapters.alpaca.history`) |
| `check_account()`, `check_assets(symbols)`, `calendar(start, end)` | `BrokerChecks` for `trimtab check` | read-only |
| `absence_rule()`, `orders_submitted(start, end)` | none; orders listing (status all, `after`/`until`, ascending, pages of 500) | `OrderAbsence`: "not found" is final after `unknown_order_grace_seconds` and a listing that also misses the id |
| `unknown_values` | none | enum values Alpaca sent that trimtab does not know (also logged once each) |
"""  # noqa: E501 (a table row per method reads better than wrapped cells)

from __future__ import annotations

__all__ = ["AlpacaBroker"]

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, NoReturn

import structlog

from adapters.alpaca.config import AlpacaSettings
from adapters.alpaca.costs import TRADE_COSTS
from adapters.alpaca.history import final_closes
from adapters.alpaca.holds import free_cash, held_by_open_buys, reserved_cash
from adapters.alpaca.orders import PreparedOrder, prepare_order
from adapters.alpaca.parsing import (
    DIVIDEND_KINDS,
    EASTERN,
    FLOW_KINDS,
    AccountInfo,
    AssetInfo,
    Dividend,
    MarketClock,
    Unknowns,
    parse_account,
    parse_asset,
    parse_bars,
    parse_calendar,
    parse_cash_flow,
    parse_clock,
    parse_dividend,
    parse_fill,
    parse_order,
    parse_position,
    parse_quote,
)
from adapters.alpaca.sdk import (
    Adjustment,
    DataFeed,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    OrderSide,
    QueryOrderStatus,
    Sort,
    StockBarsRequest,
    StockHistoricalDataClient,
    StockSnapshotRequest,
    TimeFrame,
    TimeInForce,
    TradingClient,
)
from adapters.alpaca.transport import Failure, describe, harden, is_duplicate_id, retry_after
from adapters.base import (
    AbsenceRule,
    AccountCheck,
    AssetCheck,
    BrokerEnvironment,
    CredentialsRejected,
    SessionDay,
)
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    OrderType,
    Quote,
    Side,
)
from daemon.core.errors import (
    BrokerError,
    DuplicateClientOrderId,
    NotSent,
    OrderRejected,
    OutcomeUnknown,
    TransientBrokerError,
)
from daemon.core.movements import CashFlow

MAX_OPEN_ORDERS = 500
PAGE_SIZE = 100
LOOKUPS_BEFORE_LISTING = 3
"""Unseen order ids in one fills read above which one orders listing beats lookups by id."""
ACCOUNT_FRESH = timedelta(minutes=5)
ALPACA_BEGAN = datetime(2015, 1, 1, tzinfo=UTC)
MARKET_BUY_HOLD = Decimal("0.04")
"""Alpaca checks a market buy against buying power as a limit order 2.5% to 4% above the
current price, and each open buy holds that until it fills ("Orders at Alpaca", Buying
Power: alpaca.markets/docs/trading/orders/); trimtab takes the top of the range."""
_log = structlog.get_logger("adapters.alpaca")


class AlpacaBroker:
    """One Alpaca account, paper or live, as a trimtab `Broker` with `BrokerChecks`."""

    market_buy_hold_fraction = MARKET_BUY_HOLD

    trade_costs = TRADE_COSTS

    def __init__(self, settings: AlpacaSettings, env: BrokerEnvironment) -> None:
        assert settings.api_key_id is not None  # the settings' validator guarantees both
        assert settings.api_secret_key is not None
        key = settings.api_key_id.get_secret_value()
        secret = settings.api_secret_key.get_secret_value()
        self.settings = settings
        self.account = env.account
        self.unknowns = Unknowns()
        self._secrets = (key, secret)
        self._clock_source = env.clock
        self._trading = TradingClient(
            key, secret, paper=settings.environment == "paper", raw_data=True,
            url_override=settings.trading_url,
        )  # fmt: skip
        self._data = StockHistoricalDataClient(
            key, secret, raw_data=True, url_override=settings.market_data_url
        )
        for client in (self._trading, self._data):
            harden(
                client,
                float(settings.connect_timeout_seconds),
                float(settings.read_timeout_seconds),
            )
        self._feed = DataFeed(settings.feed)
        self._account_info: tuple[datetime, AccountInfo] | None = None
        self._assets: dict[str, tuple[date, AssetInfo | None]] = {}
        self._market_clock: MarketClock | None = None
        self._order_ids: dict[str, str] = {}  # Alpaca order id -> client order id
        # Orders still working, by client order id, as last read: what `get_orders` lists by.
        self._working: dict[str, BrokerOrder] = {}
        self._logged_unknowns = 0

    # -- the Broker protocol ----------------------------------------------------------------

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        """Return the cash open buys leave (`adapters.alpaca.holds`) and the rest of the cash
        as reserved, positions, quotes for held and requested symbols, and open orders."""
        # Open orders before the account: a buy that fills in between is then counted twice
        # (held, and out of the cash), never missed.
        open_orders = self._open_orders()
        info = self._read_account()
        positions = tuple(
            parse_position(p) for p in self._read("positions", self._trading.get_all_positions)
        )
        wanted = sorted({p.symbol for p in positions} | set(symbols))
        assets = self._asset_infos(wanted)
        self._warn_unusable(symbols, assets)
        cash, quotes = self._free_cash_and_quotes(info, open_orders, wanted)
        now = self._now()
        self._flush_unknowns()
        return AccountSnapshot(
            account=self.account,
            as_of=now,
            cash=cash,
            reserved_cash=reserved_cash(info, cash),
            positions=positions,
            quotes=quotes,
            open_orders=open_orders,
            fractionable=frozenset(
                s
                for s, a in assets.items()
                if a is not None and a.fractionable and self.settings.fractional
            ),
            market_open=self._market_open(now),
        )

    def funds(self, symbols: Collection[str]) -> Funds:
        """Return the cash open buys leave and quotes of `symbols`: three requests where a
        snapshot takes four or more."""
        open_orders = self._open_orders()
        info = self._read_account()
        cash, quotes = self._free_cash_and_quotes(info, open_orders, sorted(set(symbols)))
        self._flush_unknowns()
        return Funds(as_of=self._now(), cash=cash, quotes=quotes)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        """Check the order, then POST it once; a refusal raises, and nothing is ever resent."""
        try:
            info = self._fresh_account()
            asset = self._asset_infos([intent.symbol])[intent.symbol]
        except TransientBrokerError as exc:
            # Nothing was sent, and the cause may pass (a 5xx, a 429, a timeout).
            raise NotSent(intent.client_order_id, str(exc), retry_after=exc.retry_after) from exc
        except BrokerError as exc:
            # Nothing was sent: a definitive "not placed", never an unknown outcome.
            raise OrderRejected(intent.client_order_id, f"not sent: {exc}") from exc
        prepared = prepare_order(
            intent,
            account=self.account,
            info=info,
            asset=asset,
            fractional_allowed=self.settings.fractional,
        )
        if isinstance(prepared, str):
            _log.warning(
                "alpaca_order_refused", client_order_id=intent.client_order_id, reason=prepared
            )
            raise OrderRejected(intent.client_order_id, prepared)
        if prepared.floored_from is not None:
            _log.info(
                "alpaca_qty_floored",
                client_order_id=intent.client_order_id,
                qty=str(prepared.qty),
                planned=str(prepared.floored_from),
            )
        try:
            request = _order_request(prepared)
        except ValueError as exc:  # alpaca-py's request models validate (pydantic) before sending
            raise OrderRejected(intent.client_order_id, f"not sent: {exc}") from exc
        try:
            raw: Any = self._trading.submit_order(request)
        except Exception as exc:
            self._submit_failed(intent.client_order_id, exc)
        order = self._remember(parse_order(raw, self.unknowns))
        self._flush_unknowns()
        return order

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        """Return Alpaca's order with this client order id, or `None` if it has none."""
        raw = self._read(
            f"order {client_order_id}",
            lambda: self._trading.get_order_by_client_id(client_order_id),
            missing_ok=True,
        )
        if raw is None:
            return None
        order = self._remember(parse_order(raw, self.unknowns))
        self._flush_unknowns()
        return order

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        """Return Alpaca's orders with these client order ids, one listing for the lot.

        Only orders this process saw working (so their time and symbol are known) are
        listed; the listing starts just before the earliest of them. Whatever it does not
        hold is looked up by id, so a missed order costs a request, never a wrong answer.
        """
        wanted = set(client_order_ids)
        listed: dict[str, BrokerOrder] = {}
        known = [o for c in wanted if (o := self._working.get(c)) is not None and o.submitted_at]
        times = [o.submitted_at for o in known if o.submitted_at is not None]
        if len(known) > 1:
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL,
                limit=MAX_OPEN_ORDERS,
                after=min(times) - timedelta(seconds=1),
                direction=Sort.ASC,
                nested=False,
                symbols=sorted({o.symbol for o in known}),
            )
            for raw in self._read("orders", partial(self._trading.get_orders, request)):
                order = parse_order(raw, self.unknowns)
                if order.client_order_id in wanted:
                    listed[order.client_order_id] = self._remember(order)
        for coid in sorted(wanted):
            if coid not in listed:
                found = self.get_order(coid)
                if found is not None:
                    listed[coid] = found
        self._flush_unknowns()
        return listed

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Ask Alpaca to cancel; return the order as it stands afterwards."""
        broker_id = next((b for b, c in self._order_ids.items() if c == client_order_id), None)
        if broker_id is None:
            found = self.get_order(client_order_id)
            if found is None:
                raise BrokerError(
                    f"Alpaca account {self.account} has no order with client order id "
                    f"{client_order_id}; nothing to cancel"
                )
            if found.status.is_terminal:
                return found
            broker_id = found.broker_order_id
        try:
            self._trading.cancel_order_by_id(broker_id)
        except Exception as exc:
            failure = describe(exc, self._secrets)
            if failure.status != 422:
                raise BrokerError(
                    f"cancel of order {client_order_id} failed: {_said(failure)}"
                ) from exc
        raw = self._read(
            f"order {client_order_id}", lambda: self._trading.get_order_by_id(broker_id)
        )
        return self._remember(parse_order(raw, self.unknowns))

    def fills(self, since: datetime) -> Sequence[Fill]:
        """Return the executions at or after `since`, oldest first."""
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError(f"fills(since) needs a timezone-aware time, got {since!r}")
        activities = list(self._activities({"activity_types": "FILL"}, since))
        unseen = {str(a.get("order_id") or "") for a in activities} - self._order_ids.keys()
        if len(unseen) > LOOKUPS_BEFORE_LISTING:
            self._learn_order_ids(since)
        found = [
            parse_fill(raw, self._client_id_of(str(raw.get("order_id") or "")))
            for raw in activities
        ]
        return sorted((f for f in found if f.at >= since), key=lambda f: (f.at, f.fill_id))

    def close(self) -> None:
        """Close both HTTP sessions."""
        self._trading._session.close()
        self._data._session.close()

    # -- OrderAbsence: when Alpaca's "not found" is final -------------------------------------

    def absence_rule(self) -> AbsenceRule:
        """Client order ids are unique forever at Alpaca, so an id it still does not know after
        the grace (and that its listing also lacks) was never taken."""
        grace = self.settings.unknown_order_grace_seconds
        return AbsenceRule(
            grace=timedelta(seconds=grace),
            listing=True,
            why=f"Alpaca keeps every client order id forever; this one was still unknown "
            f"{grace}s after the submission (broker_settings.unknown_order_grace_seconds) and "
            "absent from Alpaca's order listing covering it",
        )

    def orders_submitted(self, start: datetime, end: datetime) -> Sequence[BrokerOrder]:
        """Return every order submitted in [start, end] (any status), oldest first."""
        found: dict[str, BrokerOrder] = {}
        # Alpaca's `after` and `until` are exclusive: widen both by a second.
        after = start - timedelta(seconds=1)
        until = end + timedelta(seconds=1)
        while True:
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL,
                limit=MAX_OPEN_ORDERS,
                after=after,
                until=until,
                direction=Sort.ASC,
                nested=False,
            )
            page = [
                parse_order(raw, self.unknowns)
                for raw in self._read("orders", partial(self._trading.get_orders, request))
            ]
            for order in page:
                found[order.broker_order_id] = order
            if len(page) < MAX_OPEN_ORDERS:
                break
            # A full page: go on from just before its newest order, so orders submitted in
            # the same instant as it are read again (kept once, by id) rather than skipped:
            # a missed order here would be taken for one that never reached Alpaca.
            newest = max((o.submitted_at for o in page if o.submitted_at), default=None)
            if newest is None or newest - timedelta(microseconds=1) <= after:
                raise BrokerError(
                    "Alpaca's order listing did not move forward; cannot tell which orders exist"
                )
            after = newest - timedelta(microseconds=1)
        self._flush_unknowns()
        return list(found.values())

    # -- beyond the protocol: the tax ledger and strategies ----------------------------------

    def dividends(self, since: date) -> Sequence[Dividend]:
        """Return dividends, withholdings and reinvestments dated `since` or later, oldest first."""
        start = datetime.combine(since, datetime.min.time(), UTC)
        found = []
        for raw in self._activities({"category": "non_trade_activity"}, start):
            code = str(raw.get("activity_type") or "")
            if code not in DIVIDEND_KINDS:
                if code.startswith("DIV"):
                    self.unknowns.note("activity.activity_type", code)
                continue
            dividend = parse_dividend(raw)
            if dividend.on >= since:
                found.append(dividend)
        self._flush_unknowns()
        return sorted(found, key=lambda d: (d.on, d.activity_id))

    def cash_flows(self, since: datetime) -> Sequence[CashFlow]:
        """Return deposits, withdrawals and cash journals at or after `since`, oldest first.

        Offered as `adapters.base.CashFlowReporter`, so returns leave them out.
        """
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError(f"cash_flows(since) needs a timezone-aware time, got {since!r}")
        start = datetime.combine(since.astimezone(EASTERN).date(), datetime.min.time(), UTC)
        found = []
        for raw in self._activities({"activity_types": ",".join(FLOW_KINDS)}, start):
            flow = parse_cash_flow(raw, self.account)
            if flow is not None and flow.at >= since:
                found.append(flow)
        return sorted(found, key=lambda f: (f.at, f.external_id))

    def daily_bars(
        self, symbols: Collection[str], start: date, end: date
    ) -> Mapping[str, list[tuple[date, Decimal]]]:
        """Return daily closes (split and dividend adjusted) per symbol, oldest first."""
        wanted = sorted(set(symbols))
        if not wanted:
            return {}
        request = StockBarsRequest(
            symbol_or_symbols=wanted,
            timeframe=TimeFrame.Day,
            start=datetime.combine(start, datetime.min.time(), UTC),
            end=datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC),
            adjustment=Adjustment.ALL,
            feed=self._feed,
        )
        raw = self._read("daily bars", lambda: self._data.get_stock_bars(request), market_data=True)
        return {s: [(d, c) for d, c in parse_bars(raw, s) if start <= d <= end] for s in wanted}

    def daily_closes(self, symbol: str, start: date, end: date) -> Sequence[tuple[date, Decimal]]:
        """Return `symbol`'s final adjusted closes in `[start, end]` (`PriceHistory`)."""
        return self.daily_closes_of([symbol], start, end)[symbol]

    def daily_closes_of(
        self, symbols: Collection[str], start: date, end: date
    ) -> Mapping[str, Sequence[tuple[date, Decimal]]]:
        """Return each symbol's final adjusted closes, in one query (`BatchPriceHistory`)."""
        now = self._now()
        return {s: final_closes(c, now) for s, c in self.daily_bars(symbols, start, end).items()}

    # -- BrokerChecks -------------------------------------------------------------------------

    def check_account(self) -> AccountCheck:
        """Return the account's status and blocks; `CredentialsRejected` if the keys fail."""
        return self._read_account().check(self.account, self.settings.environment)

    def check_assets(self, symbols: Collection[str]) -> Mapping[str, AssetCheck]:
        """Return what Alpaca says of each symbol; unknown symbols are `known=False`."""
        infos = self._asset_infos(sorted(set(symbols)), fresh=True)
        return {
            s: info.check()
            if info is not None
            else AssetCheck(s, known=False, tradable=False, fractionable=False, status="unknown")
            for s, info in infos.items()
        }

    def calendar(self, start: date, end: date) -> Sequence[SessionDay]:
        """Return Alpaca's trading days from `start` to `end`, open and close in UTC."""
        raw = self._read(
            "calendar", lambda: self._trading.get_calendar(GetCalendarRequest(start=start, end=end))
        )
        return [
            SessionDay(d.day, d.open.astimezone(UTC), d.close.astimezone(UTC))
            for d in parse_calendar(raw)
            if start <= d.day <= end
        ]

    # -- internals ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock_source().astimezone(UTC)

    def _read(
        self,
        what: str,
        call: Callable[[], Any],
        *,
        missing_ok: bool = False,
        market_data: bool = False,
    ) -> Any:
        """Run one read (of the market data API with `market_data`); translate its failure
        (see `adapters.alpaca.transport`)."""
        try:
            return call()
        except Exception as exc:
            failure = describe(exc, self._secrets)
            if missing_ok and failure.status == 404:
                return None
            self._read_failed(what, failure, exc, market_data=market_data)

    def _read_failed(
        self, what: str, failure: Failure, exc: Exception, *, market_data: bool = False
    ) -> NoReturn:
        if market_data and failure.status == 403 and "subscription" in failure.message.lower():
            # The keys opened the door; the data plan does not cover the feed asked for.
            raise BrokerError(self._plan_refused(what, failure)) from exc
        if failure.status in (401, 403):
            raise self._credentials_rejected(failure) from exc
        # The wait Alpaca asks for travels on the error; the retry wrapper does the waiting.
        wait = retry_after(failure, self._now(), float(self.settings.rate_limit_max_wait_seconds))
        if failure.status == 429:
            _log.warning("alpaca_rate_limited", read=what, retry_after=wait)
            raise TransientBrokerError(
                f"Alpaca rate limit on {what} (account {self.account})", retry_after=wait
            ) from exc
        if failure.server_side:
            raise TransientBrokerError(
                f"Alpaca {what} failed: {_said(failure)}", retry_after=wait
            ) from exc
        raise BrokerError(f"Alpaca {what} failed: {_said(failure)}") from exc

    def _plan_refused(self, what: str, failure: Failure) -> str:
        feed = self.settings.feed
        if feed == "iex":
            fix = "check the account's market data subscription in Alpaca's dashboard"
        else:
            fix = (
                'set broker_settings.feed = "iex" (the free plan\'s feed), or subscribe to an '
                f"Alpaca market data plan that includes {feed}"
            )
        return (
            f"account {self.account}: Alpaca's market data plan does not allow "
            f'broker_settings.feed = "{feed}" ({what}: {_said(failure)}) (fix: {fix})'
        )

    def _credentials_rejected(self, failure: Failure) -> CredentialsRejected:
        env = self.settings.environment
        other = "live" if env == "paper" else "paper"
        # Alpaca's key ids start with PK (paper) or AK (live): a hint, never the key itself.
        prefix = {"paper": "PK", "live": "AK"}
        hint = ""
        if self._secrets[0].startswith(prefix[other]):
            hint = f"; the key id looks like a {other} key (those start with {prefix[other]})"
        return CredentialsRejected(
            self.account,
            f"Alpaca {env} at {self.settings.trading_url} refused the API keys "
            f"(HTTP {failure.status}: {failure.message}){hint}",
            f"check that the keys are current and are {env} keys; {other} keys only work with "
            f'environment = "{other}"; regenerate them in Alpaca\'s dashboard if they expired',
        )

    def _submit_failed(self, client_order_id: str, exc: Exception) -> NoReturn:
        failure = describe(exc, self._secrets)
        if is_duplicate_id(failure):
            raise DuplicateClientOrderId(client_order_id) from exc
        if failure.server_side:
            raise OutcomeUnknown(client_order_id, f"Alpaca: {_said(failure)}") from exc
        if failure.status == 429:
            # Alpaca took nothing. Not resent here: submissions are sent once (the executor
            # sends nothing more this cycle, and the next cycle reads the account first).
            wait = retry_after(
                failure, self._now(), float(self.settings.rate_limit_max_wait_seconds)
            )
            _log.warning("alpaca_rate_limited", submit=client_order_id, retry_after=wait)
            raise NotSent(
                client_order_id,
                f"Alpaca's rate limit refused it (account {self.account}); not placed",
                retry_after=wait,
            ) from exc
        if failure.status in (401, 403) and "unauthorized" in failure.message.lower():
            raise self._credentials_rejected(failure) from exc
        raise OrderRejected(client_order_id, f"Alpaca: {_said(failure)}") from exc

    def _open_orders(self) -> tuple[BrokerOrder, ...]:
        orders = self._read(
            "open orders",
            lambda: self._trading.get_orders(
                GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=MAX_OPEN_ORDERS, nested=False)
            ),
        )
        if len(orders) >= MAX_OPEN_ORDERS:
            raise BrokerError(
                f"account {self.account} has {MAX_OPEN_ORDERS} or more open orders at Alpaca; "
                "trimtab cannot see them all (fix: cancel the orders you no longer need)"
            )
        open_orders = tuple(parse_order(o, self.unknowns) for o in orders)
        for order in open_orders:
            self._order_ids[order.broker_order_id] = order.client_order_id
        return open_orders

    def _free_cash_and_quotes(
        self, info: AccountInfo, open_orders: Sequence[BrokerOrder], symbols: Sequence[str]
    ) -> tuple[Decimal, dict[str, Quote]]:
        """Return the cash open buys and margin leave (`adapters.alpaca.holds`) and the quotes
        of `symbols`; an open market buy's symbol is quoted too (in the same request), since
        what it holds follows its price."""
        priced = {
            o.symbol
            for o in open_orders
            if o.side is Side.BUY and (o.order_type is not OrderType.LIMIT or o.limit_price is None)
        }
        quotes = self._quotes(sorted(set(symbols) | priced))
        prices = {s: q.price for s, q in quotes.items()}
        held = held_by_open_buys(open_orders, prices, MARKET_BUY_HOLD)
        if isinstance(held, BrokerOrder):
            raise BrokerError(
                f"account {self.account}: the open market buy {held.client_order_id} of "
                f"{held.symbol} at Alpaca holds buying power at a price trimtab could not read, "
                "so the cash left to spend is unknown (fix: let it fill, or cancel it at Alpaca)"
            )
        wanted = set(symbols)
        return free_cash(info, held), {s: q for s, q in quotes.items() if s in wanted}

    def _read_account(self) -> AccountInfo:
        info = parse_account(self._read("account", self._trading.get_account), self.unknowns)
        self._account_info = (self._now(), info)
        return info

    def _fresh_account(self) -> AccountInfo:
        """Return the account as read in the last few minutes (a snapshot precedes orders)."""
        if self._account_info is not None and self._now() - self._account_info[0] < ACCOUNT_FRESH:
            return self._account_info[1]
        return self._read_account()

    def _asset_infos(
        self, symbols: Sequence[str], *, fresh: bool = False
    ) -> dict[str, AssetInfo | None]:
        """Return each symbol's asset (None if Alpaca has none), read once per New York day."""
        today = self._now().astimezone(EASTERN).date()
        result: dict[str, AssetInfo | None] = {}
        for symbol in symbols:
            cached = self._assets.get(symbol)
            if cached is None or cached[0] != today or fresh:
                raw = self._read(
                    f"asset {symbol}", partial(self._trading.get_asset, symbol), missing_ok=True
                )
                cached = (today, None if raw is None else parse_asset(raw, self.unknowns))
                self._assets[symbol] = cached
            result[symbol] = cached[1]
        return result

    def _warn_unusable(
        self, symbols: Collection[str], assets: Mapping[str, AssetInfo | None]
    ) -> None:
        """Log requested symbols Alpaca does not know or trade, with the fix.

        The snapshot still answers (an unknown symbol simply has no quote, as the Broker
        contract says); planning then stops on the missing price, and `submit` refuses.
        """
        for symbol in sorted(symbols):
            asset = assets.get(symbol)
            if asset is None or not asset.tradable or asset.status != "active":
                _log.warning(
                    "alpaca_symbol_unusable",
                    account=self.account,
                    symbol=symbol,
                    problem="unknown at Alpaca"
                    if asset is None
                    else f"not tradable ({asset.status})",
                    fix="correct or remove the symbol in the strategy's targets",
                )

    def _quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        if not symbols:
            return {}
        request = StockSnapshotRequest(symbol_or_symbols=list(symbols), feed=self._feed)
        raw = self._read(
            "market data snapshots",
            lambda: self._data.get_stock_snapshot(request),
            market_data=True,
        )
        quotes = {}
        for symbol in symbols:
            quote = parse_quote(
                symbol, raw.get(symbol), price=self.settings.price, feed=self.settings.feed
            )
            if quote is not None:
                quotes[symbol] = quote
        return quotes

    def _market_open(self, now: datetime) -> bool | None:
        """Return Alpaca's clock at `now`; it is asked again only once its answer expires."""
        known = None if self._market_clock is None else self._market_clock.open_at(now)
        if known is None:
            self._market_clock = parse_clock(self._read("clock", self._trading.get_clock))
            known = self._market_clock.open_at(now)
        return known

    def _activities(
        self, params: Mapping[str, str], since: datetime
    ) -> Iterator[Mapping[str, Any]]:
        """Yield account activities after `since` (one second earlier, for clock skew), paged.

        A `since` before Alpaca existed (trimtab's first read is from 1970) asks for the whole
        history without an `after`, rather than a date Alpaca may refuse.
        """
        query: dict[str, Any] = {**params, "direction": "asc", "page_size": PAGE_SIZE}
        if since > ALPACA_BEGAN:
            query["after"] = (since - timedelta(seconds=1)).astimezone(UTC).isoformat()
        while True:
            page = self._read(
                "account activities",
                partial(self._trading.get, "/account/activities", dict(query)),
            )
            if not isinstance(page, list):
                raise BrokerError(
                    f"Alpaca account activities: expected a list, got {type(page).__name__}"
                )
            yield from page
            if len(page) < PAGE_SIZE:
                return
            query["page_token"] = str(page[-1].get("id"))

    def _learn_order_ids(self, since: datetime) -> None:
        """Map the ids of every order submitted from a day before `since` (pages of 500)."""
        after = since - timedelta(days=1)
        while True:
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL,
                limit=MAX_OPEN_ORDERS,
                after=after,
                direction=Sort.ASC,
                nested=False,
            )
            page = self._read("orders", partial(self._trading.get_orders, request))
            for raw in page:
                self._order_ids[str(raw.get("id"))] = str(raw.get("client_order_id"))
            if len(page) < MAX_OPEN_ORDERS:
                return
            after = max(parse_order(raw, self.unknowns).submitted_at or after for raw in page)

    def _client_id_of(self, order_id: str) -> str:
        """Return the client order id of an Alpaca order id, asking Alpaca once if unseen."""
        known = self._order_ids.get(order_id)
        if known is not None:
            return known
        raw = self._read(f"order {order_id}", lambda: self._trading.get_order_by_id(order_id))
        order = parse_order(raw, self.unknowns)
        self._order_ids[order_id] = order.client_order_id
        return order.client_order_id

    def _remember(self, order: BrokerOrder) -> BrokerOrder:
        self._order_ids[order.broker_order_id] = order.client_order_id
        if order.status.is_terminal:
            self._working.pop(order.client_order_id, None)
        else:
            self._working[order.client_order_id] = order
        return order

    def _flush_unknowns(self) -> None:
        for name, value in self.unknowns.seen[self._logged_unknowns :]:
            _log.warning("alpaca_unknown_value", account=self.account, field=name, value=value)
        self._logged_unknowns = len(self.unknowns.seen)

    @property
    def unknown_values(self) -> tuple[tuple[str, str], ...]:
        """Enum values Alpaca sent that trimtab does not know, as (field, value)."""
        return tuple(self.unknowns.seen)


def _order_request(order: PreparedOrder) -> MarketOrderRequest | LimitOrderRequest:
    """Build alpaca-py's request; it sends numbers as JSON floats, so check they survive."""
    size = order.qty if order.notional is None else order.notional
    assert size is not None  # prepare_order sets exactly one of qty and notional
    sent = float(size)
    if Decimal(repr(sent)) != size:
        what = "quantity" if order.notional is None else "notional"
        raise OrderRejected(order.client_order_id, f"{what} {size} does not survive JSON")
    common: dict[str, Any] = {
        "symbol": order.symbol,
        ("qty" if order.notional is None else "notional"): sent,
        "side": OrderSide(order.side),
        "time_in_force": TimeInForce.DAY,
        "client_order_id": order.client_order_id,
    }
    if order.order_type is OrderType.LIMIT:
        assert order.limit_price is not None
        return LimitOrderRequest(limit_price=float(order.limit_price), **common)
    return MarketOrderRequest(**common)


def _said(failure: Failure) -> str:
    status = "no answer" if failure.status is None else f"HTTP {failure.status}"
    return f"{status}: {failure.message}"
