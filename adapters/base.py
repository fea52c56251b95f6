"""The `Broker` port: what every broker adapter (sim, alpaca, ibkr, ...) must provide.

| method | required | what it does |
|---|---|---|
| `snapshot(symbols)` | yes | cash, positions, quotes (held and requested), open orders |
| `funds(symbols)` | yes | cash and quotes of `symbols` only, read fresh (fewer requests) |
| `submit(intent)` | yes | send one order with `intent.client_order_id`; never retried inside |
| `get_order(client_order_id)` | yes | the broker's view of an order, or `None` if it has none |
| `get_orders(client_order_ids)` | yes | several orders at once, by client order id; absent: none |
| `cancel(client_order_id)` | yes | ask to cancel; returns the order as it stands afterwards |
| `fills(since)` | yes | executions at or after `since`, oldest first, unique `fill_id`s |
| `close()` | yes | release connections |
| `market_buy_hold_fraction` | yes | buying power a market buy holds above its price while open, as a fraction (0.04 = 4%); trimtab sizes buys so all their holds fit |
| `trade_costs` | yes | what a trade costs beyond quantity x quote (`daemon.core.costs.TradeCosts`: the broker's own slippage rule, commission, sale fees), as bounds: buys are sized with them, and sales that raise cash raise their costs too |

Rules every snapshot (and `funds`) must follow, checked as it arrives
(`daemon.core.inputs.check_snapshot`; a snapshot that breaks one fails the account's cycle
with a `DataError` naming the plugin, before anything is recorded, reconciled or planned):
each symbol at most once in `positions` (the account's whole quantity of it); cash, reserved
cash, quantities, average costs and prices as `Decimal`, never float, int or str; symbols as
`str`; every `as_of` (the snapshot's, each quote's) a time-zone-aware `datetime`.

Errors (from `daemon.core.errors`): `TransientBrokerError` for reads that may succeed later,
`OrderRejected` for a definitive refusal, `OutcomeUnknown` when an order may or may not exist
(timeout, dropped connection), `DuplicateClientOrderId` when the id is taken (the order
exists: fetch it). Adapters translate their SDK's exceptions with `raise ... from exc`.

Optional capabilities, every one declared here and nowhere else. An adapter offers one by
having its methods; `isinstance(broker, Capability)` tells (the retry wrapper answers as the
broker it wraps). All of them are reads, so the wrapper retries them.

| capability | methods | who asks | without it |
|---|---|---|---|
| `BrokerChecks` | `check_account()`, `check_assets(symbols)`, `calendar(start, end)` | `trimtab check` | the broker's part of the check is skipped, with a note |
| `CashFlowReporter` | `cash_flows(since)` | returns (`daemon.store.cash_flows.sync_flows`) | flows come only from `trimtab flows add` |
| `DividendHistory` | `dividends(since)` | reconciliation (reinvestments explain shares like fills, and are booked as tax lots: `broker_reinvestments`) | reinvested dividends come from `ReinvestmentHistory`, else are imported by hand and their shares halt the account |
| `ReinvestmentHistory` | `reinvestments(since)` | reconciliation, when `DividendHistory` is absent | reinvested dividends are imported by hand and their shares halt the account |
| `PriceHistory` | `daily_closes(symbol, start, end)` | strategies that look back (the sim offers it from its price source) | no history: the snapshot's quotes only |
| `OrderAbsence` | `absence_rule()`, `orders_submitted(start, end)` | reconciliation (`resolve_unresolved`): when is "no order with this id" final | "not found" is never final: a lost submission stays unresolved (alerted) until `trimtab orders settle` |
| `BatchPriceHistory` | `daily_closes_of(symbols, start, end)` | the history cache, to ask for many symbols in one request (Alpaca) | one `daily_closes` per symbol |
| `MoreChecks` | `more_checks(symbols)` | `trimtab check`: the broker's own findings beyond `BrokerChecks` (IB: market data type, net liquidation) | none |
| `MaintenanceWindows` | `maintenance(at)` | the scheduler (`daemon.service.slots`): a slot inside a window is skipped, with the reason | slots run whenever the exchange calendar says |
| `UncancellableOrders` | `why_uncancellable()` | reconciliation (`resolve_unresolved`): an order its cycle left working is not cancelled at recovery (a manual account's ticket) | trimtab's cancel reaches the broker's orders: one left working is cancelled at recovery |

The data version of this table is `CAPABILITIES`.
"""  # noqa: E501 (a table row per capability reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "BROKER_MEMBERS",
    "CAPABILITIES",
    "MIN_NOTIONAL",
    "AbsenceRule",
    "AccountCheck",
    "AssetCheck",
    "BatchPriceHistory",
    "BindsSession",
    "Broker",
    "BrokerChecks",
    "BrokerEnvironment",
    "BrokerPlugin",
    "CalendarUnavailable",
    "Capability",
    "CashFlowReporter",
    "CheckNote",
    "CredentialsRejected",
    "DeclaresCosts",
    "DeclaresFractionable",
    "DividendHistory",
    "MaintenanceWindows",
    "MoreChecks",
    "NamesSoldLots",
    "OrderAbsence",
    "OwnsTables",
    "PriceHistory",
    "ReinvestmentHistory",
    "SessionDay",
    "UncancellableOrders",
    "notional_problem",
]

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from daemon.core.costs import TradeCosts
from daemon.core.domain import AccountSnapshot, BrokerOrder, Fill, Funds, OrderIntent, OrderType
from daemon.core.errors import BrokerError
from daemon.core.fills import tick
from daemon.core.money import is_whole_cents
from daemon.core.movements import CashFlow, DividendActivity

MIN_NOTIONAL = Decimal(1)
"""The smallest dollar-amount order: Alpaca's, which the simulated broker keeps to."""


def notional_problem(intent: OrderIntent) -> str | None:
    """Return what is wrong with a dollar-amount order at any broker that takes them, or None.

    None too for an order in shares. Each broker's own rule (fractions allowed for the
    symbol) comes on top.
    """
    notional = intent.notional
    if notional is None:
        return None
    if not isinstance(notional, Decimal) or not notional.is_finite():
        return f"notional must be a finite Decimal, got {notional!r}"
    if intent.order_type is not OrderType.MARKET or intent.limit_price is not None:
        return (
            "brokers take dollar-amount orders only as market orders (fix: set "
            'policy.order_type = "market", or policy.notional_buys = false)'
        )
    if notional < MIN_NOTIONAL or not is_whole_cents(notional):
        return f"notional {notional} must be whole cents of at least ${MIN_NOTIONAL}"
    return None


def limit_problem(intent: OrderIntent) -> str | None:
    """Return what is wrong with an order's limit price at any US broker, or None.

    A limit order needs a finite positive limit on the tick (a cent from $1 up, $0.0001 below:
    SEC Rule 612, which Alpaca and IB both enforce); a market order carries none.
    """
    limit = intent.limit_price
    if intent.order_type is OrderType.LIMIT:
        if limit is None or not limit.is_finite() or limit <= 0:
            return f"a limit order needs a positive limit price, got {limit}"
        if limit != limit.quantize(tick(limit)):
            return f"limit price {limit} is not a multiple of the tick {tick(limit)}"
    elif limit is not None:
        return "a market order must not carry a limit price"
    return None


@runtime_checkable
class Broker(Protocol):
    """One brokerage account, as trimtab talks to it."""

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot: ...

    def funds(self, symbols: Collection[str]) -> Funds: ...

    def submit(self, intent: OrderIntent) -> BrokerOrder: ...

    def get_order(self, client_order_id: str) -> BrokerOrder | None: ...

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]: ...

    def cancel(self, client_order_id: str) -> BrokerOrder: ...

    def fills(self, since: datetime) -> Sequence[Fill]: ...

    def close(self) -> None: ...

    # -- buying-power hold (issue 14): what an open market buy holds above its price ---------
    @property
    def market_buy_hold_fraction(self) -> Decimal:
        """Return the fraction above the price at which the broker checks and holds a market
        buy's buying power until it fills (its documented figure; 0 if it holds the price).

        A limit buy holds its limit price instead, at every broker. Each open buy holds
        until it fills, so a batch of buys sent back to back must fit together.
        """
        ...

    # -- what a trade costs beyond the quote: buys are sized and cash is raised with it -----
    @property
    def trade_costs(self) -> TradeCosts:
        """Return the broker's costs beyond quantity x quote, as bounds (never below what it
        takes): its own rule for a market fill's distance from the quote (the sim's slippage;
        0 at a real broker, where the market sets the fill and the buy hold and the account's
        `cash_buffer` absorb a move), its commission schedule and its fees on sales."""
        ...


BROKER_MEMBERS = (
    "snapshot",
    "funds",
    "submit",
    "get_order",
    "get_orders",
    "cancel",
    "fills",
    "close",
    "market_buy_hold_fraction",
    "trade_costs",
)
"""What every `Broker` provides (a test holds this to the protocol): the bootstrap names any
a plugin's broker lacks, instead of a cycle failing on it later."""


@dataclass(frozen=True, slots=True)
class BrokerEnvironment:
    """What trimtab hands an adapter when it builds one: never global, always passed in.

    `sql_engine` is the process's one SQLAlchemy `Engine` on trimtab's database, for an
    adapter that keeps its own tables there (the sim, through its plugin's `migrations`);
    others ignore it. Typed `object` so this port loads no SQL: the adapter that uses it
    checks its type.
    """

    account: str
    state_dir: Path
    clock: Callable[[], datetime]
    sql_engine: object = None


@runtime_checkable
class BrokerPlugin(Protocol):
    """An entry point in the `trimtab.brokers` group.

    `settings_model` validates the account's `broker_settings` table (it must forbid unknown
    keys and hold credentials as `SecretStr`); `create` builds the broker from them. A plugin
    whose adapter keeps tables of its own is also `OwnsTables`.
    """

    name: str
    settings_model: type[BaseModel]

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker: ...


@runtime_checkable
class DeclaresCosts(Protocol):
    """Optional for a `BrokerPlugin`: the `trade_costs` its broker declares for an account,
    from the validated `broker_settings` alone, with no connection. `trimtab plan --holdings`
    then raises cash net of them as a live cycle would; a plugin without it is planned at
    the quotes. It must equal what `create(settings, env).trade_costs` returns."""

    def declared_costs(self, settings: BaseModel) -> TradeCosts: ...


@runtime_checkable
class DeclaresFractionable(Protocol):
    """Optional for a `BrokerPlugin` whose broker takes fractions by its settings alone, not
    per asset: which of `symbols` it takes in fractions, as its snapshot's `fractionable`
    would say, from the validated `broker_settings` with no connection. `trimtab plan
    --holdings` then plans whole shares where a live cycle would; a plugin without it (Alpaca
    decides per asset) is planned by the policy alone. It must equal what the snapshot of
    `create(settings, env)` says for the same symbols."""

    def declared_fractionable(
        self, settings: BaseModel, symbols: Collection[str]
    ) -> frozenset[str]: ...


@runtime_checkable
class NamesSoldLots(Protocol):
    """Optional for a `BrokerPlugin`: the lots its broker records a sale as relieving are the
    ones trimtab picked, so `lot_method = "specific"` (trimtab's picks, `tax_lot_choices`)
    is what the broker's tax records show. The sim is: trimtab's ledger is its only record
    of lots. A broker whose orders cannot name lots (Alpaca, IB through its API, a ticket)
    relieves by its own standing method, and `trimtab config check` refuses `specific` for
    its taxable accounts: the ledger and the 1099-B would disagree (docs/tax.md)."""

    names_sold_lots: bool


@runtime_checkable
class BindsSession(Protocol):
    """Optional for a `BrokerPlugin`: accounts whose validated `broker_settings` give the same
    `session_key` are behind one broker login (IB: one TWS or IB Gateway at host:port), so
    cluster mode never runs their cycles at the same time (`daemon.config.cycle_locks`)."""

    name: str
    settings_model: type[BaseModel]

    def session_key(self, settings: BaseModel) -> str: ...


@runtime_checkable
class OwnsTables(Protocol):
    """Optional for a `BrokerPlugin`: its adapter keeps tables in trimtab's database (the sim).

    `migrations` is the Alembic version directory of those tables: a branch of its own beside
    trimtab's chain, which trimtab applies with its own at every start. The adapter then gets
    `BrokerEnvironment.sql_engine`.
    """

    migrations: Path


class CredentialsRejected(BrokerError):
    """The broker refused the credentials (wrong, expired, or for the other environment).

    `fix` says what the operator should change; neither attribute ever holds a key.
    """

    def __init__(self, account: str, detail: str, fix: str) -> None:
        self.account = account
        self.detail = detail
        self.fix = fix
        super().__init__(f"account {account}: {detail} (fix: {fix})")


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """The broker's word on whether an account may trade at all."""

    account: str
    """trimtab's name of the account."""
    broker_account: str
    """The broker's account number: not a secret, printed to tell accounts apart."""
    environment: Literal["sim", "paper", "live"]
    """Where the adapter is connected; credentials that work there belong there."""
    status: str
    """The broker's own status word, as sent (Alpaca: ACTIVE, ACCOUNT_UPDATED, ...)."""
    active: bool
    """The status allows trading (Alpaca: ACTIVE)."""
    trading_blocked: bool
    account_blocked: bool
    trade_suspended_by_user: bool
    has_paper: bool = True
    """False for a broker with no paper environment to validate on first (manual)."""

    @property
    def problems(self) -> tuple[str, ...]:
        """Return what stops this account from trading, empty when nothing does."""
        found = []
        if not self.active:
            found.append(f"account status is {self.status}, not active")
        if self.account_blocked:
            found.append("the broker has blocked the account")
        if self.trading_blocked:
            found.append("the broker has blocked trading")
        if self.trade_suspended_by_user:
            found.append("trading is suspended by the account holder")
        return tuple(found)


@dataclass(frozen=True, slots=True)
class AssetCheck:
    """What the broker says about one symbol."""

    symbol: str
    known: bool
    """False when the broker has no such symbol; every other field is then False/None."""
    tradable: bool
    fractionable: bool
    status: str
    """The broker's word (Alpaca: active, inactive); "unknown" when it has no such symbol."""
    min_trade_increment: Decimal | None = None
    """The smallest fractional step, when the broker says (None: whole shares or unstated)."""


@dataclass(frozen=True, slots=True)
class SessionDay:
    """One trading day of the broker's calendar, open and close as UTC-aware datetimes."""

    day: date
    open: datetime
    close: datetime


@runtime_checkable
class BrokerChecks(Protocol):
    """Optional read-only checks an adapter offers to `trimtab check`. Nothing is ever sent.

    | method | what it answers | errors |
    |---|---|---|
    | `check_account()` | status, blocks, paper or live (`AccountCheck`) | `CredentialsRejected` when the keys do not work against the configured endpoint (wrong, expired, or paper keys on live and the reverse); `TransientBrokerError` when unreachable |
    | `check_assets(symbols)` | per symbol: known, tradable, fractionable, increment (`AssetCheck`); every requested symbol is in the result | `TransientBrokerError` |
    | `calendar(start, end)` | the broker's trading days in `[start, end]`, oldest first (`SessionDay`) | `TransientBrokerError` |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def check_account(self) -> AccountCheck: ...

    def check_assets(self, symbols: Collection[str]) -> Mapping[str, AssetCheck]: ...

    def calendar(self, start: date, end: date) -> Sequence[SessionDay]: ...


@runtime_checkable
class CashFlowReporter(Protocol):
    """Optional: the account's deposits and withdrawals.

    | method | what it answers | errors |
    |---|---|---|
    | `cash_flows(since)` | movements at or after `since`, oldest first; `source` names the broker and `external_id` is the broker's id | `TransientBrokerError` |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def cash_flows(self, since: datetime) -> Sequence[CashFlow]: ...


@runtime_checkable
class DividendHistory(Protocol):
    """Optional: dividend activities, reinvestments among them.

    | method | what it returns |
    |---|---|
    | `dividends(since)` | activities dated `since` (a date) or later, oldest first, ids unique per account |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def dividends(self, since: date) -> Sequence[DividendActivity]: ...


@runtime_checkable
class ReinvestmentHistory(Protocol):
    """Optional: dividends reinvested into shares (buys trimtab did not place).

    | method | what it returns |
    |---|---|
    | `reinvestments(since)` | every reinvestment at or after `since`, oldest first, as `Fill`s (side buy) with ids unique per account |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def reinvestments(self, since: datetime) -> Sequence[Fill]: ...


@runtime_checkable
class PriceHistory(Protocol):
    """Optional: daily closing prices, for strategies that look back.

    | method | what it returns | errors |
    |---|---|---|
    | `daily_closes(symbol, start, end)` | (day, close) for each day in `[start, end]` whose close is already known, oldest first; empty for a symbol without history | `TransientBrokerError` |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def daily_closes(
        self, symbol: str, start: date, end: date
    ) -> Sequence[tuple[date, Decimal]]: ...


@runtime_checkable
class BatchPriceHistory(Protocol):
    """Optional: `PriceHistory` for many symbols in one request (a rate-limited API).

    | method | what it returns | errors |
    |---|---|---|
    | `daily_closes_of(symbols, start, end)` | for every requested symbol, what `daily_closes` would return (empty when none) | `TransientBrokerError` |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def daily_closes_of(
        self, symbols: Collection[str], start: date, end: date
    ) -> Mapping[str, Sequence[tuple[date, Decimal]]]: ...


@dataclass(frozen=True, slots=True)
class AbsenceRule:
    """When a broker's answer "no order with this client order id" is final.

    A submission that timed out (a 504, a dropped connection) may or may not have reached the
    broker; the order is looked up by its id, never sent again. The lookup's "not found"
    proves nothing while the broker may still be catching up. This rule says when it does:

    - `grace`: how long after the submission was sent a lookup must still miss the order
      (zero: the broker's lookup is immediately consistent);
    - `listing`: whether, once the grace is over, the broker's order listing covering the
      submission time (`OrderAbsence.orders_submitted`) must miss it too: a second index, so
      one index lagging cannot make trimtab conclude wrongly.

    Only when every part holds does trimtab record the intent NEVER_REACHED and let the next
    cycle plan the symbol again. What holds per broker (docs/operations.md, "Unresolved
    orders"): the sim, immediately; Alpaca (client order ids unique forever), after
    `broker_settings.unknown_order_grace_seconds` (300 by default) and a listing; IB (
    `adapters.ibkr`): `orderRef` looked up among open orders, completed orders and executions
    after a reconnect, and absent from all after the grace and a full sync.
    """

    grace: timedelta
    listing: bool
    why: str
    """One sentence naming the broker's rule, for the audit record and the operator."""


@runtime_checkable
class OrderAbsence(Protocol):
    """Optional: the broker says when its "not found" is final (see `AbsenceRule`).

    | method | what it answers | errors |
    |---|---|---|
    | `absence_rule()` | the broker's `AbsenceRule` (no I/O) | none |
    | `orders_submitted(start, end)` | every order (any status) submitted in `[start, end]`, trimtab's and others' | `TransientBrokerError` |

    Without it, "not found" is never final: the intent stays unresolved and alerted, its
    symbol blocked, until the operator settles it (`trimtab orders settle`).
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def absence_rule(self) -> AbsenceRule: ...

    def orders_submitted(self, start: datetime, end: datetime) -> Sequence[BrokerOrder]: ...


class CalendarUnavailable(BrokerError):
    """`BrokerChecks.calendar` of a broker whose API offers no trading calendar (IB): the
    check says so instead of comparing."""


@dataclass(frozen=True, slots=True)
class CheckNote:
    """One finding of a broker's own read-only check (`MoreChecks`), shown as a check row."""

    check: str
    level: Literal["ok", "warn", "fail"]
    detail: str
    fix: str = ""
    """How to fix it; required unless the level is ok."""


@runtime_checkable
class MoreChecks(Protocol):
    """Optional: read-only findings beyond `BrokerChecks`, for `trimtab check`.

    | method | what it answers | errors |
    |---|---|---|
    | `more_checks(symbols)` | one `CheckNote` per finding (IB: the market data type IB delivers for `symbols`, net liquidation and cash) | `TransientBrokerError` |
    """  # noqa: E501 (a table row per method reads better than wrapped cells)

    def more_checks(self, symbols: Collection[str]) -> Sequence[CheckNote]: ...


@runtime_checkable
class MaintenanceWindows(Protocol):
    """Optional: times the broker's side is not to be used (IB Gateway's nightly restart, the
    weekly re-login). No I/O: the windows come from the account's settings.

    | method | what it answers |
    |---|---|
    | `maintenance(at)` | why the broker is unavailable at the aware instant `at`, or None |
    """

    def maintenance(self, at: datetime) -> str | None: ...


@runtime_checkable
class UncancellableOrders(Protocol):
    """Optional: trimtab's cancel cannot reach this broker's orders (a manual account's
    ticket: a person entered it, and only they can take it back). No I/O.

    | method | what it answers |
    |---|---|
    | `why_uncancellable()` | one sentence: why a cancel cannot reach an order, for the log |

    The reconciliation then never cancels an order at recovery (`daemon.cycle.unresolved`):
    one its cycle left working stays open until the broker reports it ended. Without it,
    trimtab's cancel reaches the broker's orders.
    """

    def why_uncancellable(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Capability:
    """One optional capability: its protocol and its methods, each a read with a name for
    messages (a failed read is retried, then reported by that name)."""

    protocol: type
    reads: tuple[tuple[str, str], ...]
    """(method, what it reads) pairs."""


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        BrokerChecks,
        (
            ("check_account", "account check"),
            ("check_assets", "asset checks"),
            ("calendar", "calendar"),
        ),
    ),
    Capability(CashFlowReporter, (("cash_flows", "cash flows"),)),
    Capability(DividendHistory, (("dividends", "dividends"),)),
    Capability(ReinvestmentHistory, (("reinvestments", "reinvestments"),)),
    Capability(PriceHistory, (("daily_closes", "daily closes"),)),
    Capability(
        OrderAbsence,
        (("absence_rule", "order absence rule"), ("orders_submitted", "orders listing")),
    ),
    Capability(BatchPriceHistory, (("daily_closes_of", "daily closes"),)),
    Capability(MoreChecks, (("more_checks", "broker's own checks"),)),
    Capability(MaintenanceWindows, (("maintenance", "maintenance window"),)),
    Capability(UncancellableOrders, (("why_uncancellable", "cancel reach"),)),
)
"""Every optional capability, as data: what the retry wrapper forwards and tests check."""
