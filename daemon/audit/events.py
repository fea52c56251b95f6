"""The audit log's events: one frozen dataclass per kind, written and read back through it.

An event's JSON form is `to_jsonable` of it: field names are the JSON keys (records written
before these types existed used the same keys, so old and new records read alike), and a field
marked `_OMITTED` is left out when None, so the shapes that never had it stay as they were.
`decode` turns a stored record back into its event: a field an older record lacks takes its
default; a kind without a type, or a payload that does not fit its type, gives `RawEvent`.
"""

from __future__ import annotations

__all__ = [
    "EVENT_TYPES",
    "AlertChanged",
    "AuditEvent",
    "AuditKind",
    "BacktestRefused",
    "CashMovement",
    "ConfigRejected",
    "ConfigReloaded",
    "CountedReinvestment",
    "CycleFailed",
    "CycleFinished",
    "CycleStarted",
    "DatabaseIdentityChanged",
    "DeclaredSplit",
    "DeclaredTrade",
    "DriftAfter",
    "HouseholdSplitMade",
    "IncomeHeld",
    "IncomePlanned",
    "IncomeRaised",
    "IncomeRefused",
    "IncomeSale",
    "IncomeTransfer",
    "JobRefused",
    "KillSwitchChanged",
    "LedgerSale",
    "LotDifference",
    "LotsMismatched",
    "ManualInput",
    "Mismatch",
    "OrderIntentSent",
    "OrderResult",
    "OrderSettled",
    "OrdersNotCancelled",
    "PlanMade",
    "RawEvent",
    "Reconciled",
    "RelievedLot",
    "RiskDecisions",
    "SentOrder",
    "SnapshotTaken",
    "TargetsChosen",
    "TaxDecisions",
    "TaxLots",
    "TradingStateChanged",
    "decode",
    "encode",
]

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from daemon.audit.codec import DecodeError, from_jsonable
from daemon.audit.jsonable import JSON_NAME, OMIT_NONE, to_jsonable
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Mode,
    OrderIntent,
    OrderStatus,
    Side,
    TradingState,
)
from daemon.core.errors import ConfigProblem
from daemon.core.household import HouseholdSplit
from daemon.core.planner import Plan
from daemon.core.risk import CheckDecision
from daemon.core.tax.plan_types import TaxDecision, TaxPreview
from daemon.core.tax.types import LotMethod, LotPick


class AuditKind(StrEnum):
    CYCLE_STARTED = "cycle_started"
    SNAPSHOT = "snapshot"
    TARGETS = "targets"
    PLAN = "plan"
    RISK_DECISION = "risk_decision"
    ORDER_INTENT = "order_intent"
    ORDER_RESULT = "order_result"
    FILL = "fill"
    """Never written: fills are in the reconciliation record; kept so `--kind fill` stays valid."""
    CYCLE_FINISHED = "cycle_finished"
    CYCLE_FAILED = "cycle_failed"
    KILL_SWITCH = "kill_switch"
    ORDERS_NOT_CANCELLED = "orders_not_cancelled"
    CASH_MOVEMENT = "cash_movement"
    CONFIG_ERROR = "config_error"
    CONFIG_RELOADED = "config_reloaded"
    TRADING_STATE = "trading_state"
    RECONCILIATION = "reconciliation"
    EXTERNAL_ORDER = "external_order"
    """Never written: external orders are in the reconciliation record; kept like FILL."""
    TAX_DECISION = "tax_decision"
    TAX_LOTS = "tax_lots"
    LEDGER_MISMATCH = "ledger_mismatch"
    ALERT = "alert"
    ORDER_SETTLED = "order_settled"
    MANUAL_INPUT = "manual_input"
    INCOME_PLAN = "income_plan"
    INCOME_REFUSED = "income_refused"
    INCOME_RAISED = "income_raised"
    INCOME_HELD = "income_held"
    HOUSEHOLD_SPLIT = "household_split"
    JOB_REFUSED = "job_refused"
    BACKTEST_REFUSED = "backtest_refused"
    DATABASE_IDENTITY = "database_identity"


_OMITTED = MappingProxyType({OMIT_NONE: True})
"""Metadata of a field left out of the JSON when None."""


@dataclass(frozen=True, slots=True)
class CycleStarted:
    KIND: ClassVar[AuditKind] = AuditKind.CYCLE_STARTED
    mode: Mode
    submit: bool
    slot: str | None
    """The schedule slot; None for a plan-only run."""
    broker: str
    strategy: str
    withdrawal: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SnapshotTaken:
    KIND: ClassVar[AuditKind] = AuditKind.SNAPSHOT
    snapshot: AccountSnapshot


@dataclass(frozen=True, slots=True)
class TargetsChosen:
    KIND: ClassVar[AuditKind] = AuditKind.TARGETS
    strategy: str
    targets: Mapping[str, Decimal]
    """The strategy's weights, before any tax stand-ins."""


@dataclass(frozen=True, slots=True)
class PlanMade:
    KIND: ClassVar[AuditKind] = AuditKind.PLAN
    plan: Plan
    prices_as_of: Mapping[str, datetime]
    synthetic_prices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HouseholdSplitMade:
    """The household target split into per-account targets: every cross-account decision,
    each placement with its reason, and where each account's holdings were read."""

    KIND: ClassVar[AuditKind] = AuditKind.HOUSEHOLD_SPLIT
    split: HouseholdSplit
    sources: Mapping[str, str]
    """Account -> where its holdings came from: its broker now, or an audited snapshot."""


@dataclass(frozen=True, slots=True)
class RiskDecisions:
    KIND: ClassVar[AuditKind] = AuditKind.RISK_DECISION
    decisions: tuple[CheckDecision, ...]


@dataclass(frozen=True, slots=True)
class OrderIntentSent:
    KIND: ClassVar[AuditKind] = AuditKind.ORDER_INTENT
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class OrderResult:
    """An order's fate: sent, resolved, cancelled (by the operator too), or a buy skipped.

    A skipped buy was never an order: it has no client order id, quantity or broker order.
    `external` is set only by `trimtab kill --cancel-open`: True for an order not trimtab's.
    """

    KIND: ClassVar[AuditKind] = AuditKind.ORDER_RESULT
    symbol: str
    side: Side
    status: OrderStatus | Literal["skipped"]
    detail: str = ""
    client_order_id: str | None = field(default=None, metadata=_OMITTED)
    qty: Decimal | None = field(default=None, metadata=_OMITTED)
    notional: Decimal | None = field(default=None, metadata=_OMITTED)
    broker_order: BrokerOrder | None = field(default=None, metadata=_OMITTED)
    external: bool | None = field(default=None, metadata=_OMITTED)

    @classmethod
    def of(
        cls, intent: OrderIntent, status: OrderStatus, order: BrokerOrder | None, detail: str
    ) -> OrderResult:
        """The fate of one of trimtab's orders, named by its intent."""
        return cls(
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty,
            notional=intent.notional,
            status=status,
            broker_order=order,
            detail=detail,
        )


@dataclass(frozen=True, slots=True)
class OrderSettled:
    """An unresolved order's fate decided without a broker report of it.

    `actor` "reconciliation": the broker's absence rule (`rule`) made its "not found" final,
    so the order never reached the broker (`after` never_reached). `actor` "operator":
    `trimtab orders settle` after the operator looked at the account, with their `reason`
    (and, settled as filled, the quantity and price they saw).
    """

    KIND: ClassVar[AuditKind] = AuditKind.ORDER_SETTLED
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    before: OrderStatus = field(metadata={JSON_NAME: "from"})
    after: OrderStatus = field(metadata={JSON_NAME: "to"})
    actor: str
    reason: str
    sent_at: datetime
    """When the intent was written and sent (what the absence rule's grace counts from)."""
    rule: str | None = field(default=None, metadata=_OMITTED)
    """The broker's absence rule, in words (reconciliation only)."""
    looked_up: bool | None = field(default=None, metadata=_OMITTED)
    """Operator settlements: whether the broker was asked first (False: --no-lookup)."""
    notional: Decimal | None = field(default=None, metadata=_OMITTED)
    filled_qty: Decimal | None = field(default=None, metadata=_OMITTED)
    avg_fill_price: Decimal | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class ManualInput:
    """What the person told trimtab about a manual account, or input of theirs refused.

    `action` "confirm": a ticket's fill recorded (`filled_qty` at `price`, `rest` what became
    of the rest) or the ticket closed as not done; "export": a positions export read by
    `trimtab manual show`. `accepted` False: the input was refused, nothing recorded, and
    `detail` says why and the fix.
    """

    KIND: ClassVar[AuditKind] = AuditKind.MANUAL_INPUT
    action: str
    accepted: bool
    detail: str
    client_order_id: str | None = field(default=None, metadata=_OMITTED)
    symbol: str | None = field(default=None, metadata=_OMITTED)
    side: Side | None = field(default=None, metadata=_OMITTED)
    filled_qty: Decimal | None = field(default=None, metadata=_OMITTED)
    price: Decimal | None = field(default=None, metadata=_OMITTED)
    status: OrderStatus | None = field(default=None, metadata=_OMITTED)
    file: str | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class SentOrder:
    symbol: str
    side: Side
    qty: Decimal
    status: OrderStatus
    client_order_id: str


@dataclass(frozen=True, slots=True)
class DriftAfter:
    """One holding's weight against its band once the cycle's orders are done."""

    symbol: str
    weight: Decimal
    target: Decimal
    low: Decimal
    high: Decimal
    out_of_band: bool
    managed: bool


@dataclass(frozen=True, slots=True)
class CycleFinished:
    """A cycle's end, or (`outcome` "skipped") slots the service missed and will not run.

    A skipped record has no plan: no denials, cash or trigger, but when and which slots.
    """

    KIND: ClassVar[AuditKind] = AuditKind.CYCLE_FINISHED
    outcome: str
    submitted: bool
    why_not_submitted: str
    planned_orders: int
    orders: tuple[SentOrder, ...] = ()
    denied: int | None = field(default=None, metadata=_OMITTED)
    cash_after_plan: Decimal | None = field(default=None, metadata=_OMITTED)
    triggered: bool | None = field(default=None, metadata=_OMITTED)
    drift_after: tuple[DriftAfter, ...] | None = field(default=None, metadata=_OMITTED)
    """None when nothing was sent."""
    scheduled_at: datetime | None = field(default=None, metadata=_OMITTED)
    skipped_slots: tuple[str, ...] | None = field(default=None, metadata=_OMITTED)
    """The newest of the skipped cycle ids (at most a few)."""
    skipped_count: int | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class CycleFailed:
    KIND: ClassVar[AuditKind] = AuditKind.CYCLE_FAILED
    error_type: str
    error: str


@dataclass(frozen=True, slots=True)
class KillSwitchChanged:
    KIND: ClassVar[AuditKind] = AuditKind.KILL_SWITCH
    engaged: bool
    was_engaged: bool
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class OrdersNotCancelled:
    """`trimtab kill --cancel-open` could not cancel an account's open orders (the record's
    account): some may still be open at the broker, and only the operator can close them.

    `reason` says why (no keys, the broker unreachable, cancels it refused); `refused` holds
    each order whose cancel the broker refused, with its answer (empty when none was tried).
    """

    KIND: ClassVar[AuditKind] = AuditKind.ORDERS_NOT_CANCELLED
    reason: str
    refused: tuple[str, ...]
    fix: str
    actor: str


@dataclass(frozen=True, slots=True)
class DatabaseIdentityChanged:
    """The database was given a new identity (`trimtab db restored`): the client order ids it
    makes from now on differ from every id made under the old one, before or after a backup."""

    KIND: ClassVar[AuditKind] = AuditKind.DATABASE_IDENTITY
    old: str
    new: str
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class CashMovement:
    """Cash in or out: from `trimtab sim deposit/withdraw` or a flow the operator recorded."""

    KIND: ClassVar[AuditKind] = AuditKind.CASH_MOVEMENT
    amount: Decimal
    kind: str | None = field(default=None, metadata=_OMITTED)
    """deposit, or withdraw(al)."""
    cash_after: Decimal | None = field(default=None, metadata=_OMITTED)
    broker: str | None = field(default=None, metadata=_OMITTED)
    at: datetime | None = field(default=None, metadata=_OMITTED)
    source: str | None = field(default=None, metadata=_OMITTED)
    ref: str | None = field(default=None, metadata=_OMITTED)
    note: str | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class ConfigRejected:
    KIND: ClassVar[AuditKind] = AuditKind.CONFIG_ERROR
    action: str
    problems: tuple[ConfigProblem, ...]


@dataclass(frozen=True, slots=True)
class ConfigReloaded:
    """A configuration reload: the changed key paths only (a value may be a credential)."""

    KIND: ClassVar[AuditKind] = AuditKind.CONFIG_RELOADED
    changed: tuple[str, ...]
    mode: Mode
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    KIND: ClassVar[AuditKind] = AuditKind.TRADING_STATE
    before: TradingState = field(metadata={JSON_NAME: "from"})
    after: TradingState = field(metadata={JSON_NAME: "to"})
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    expected: Decimal
    broker: Decimal


@dataclass(frozen=True, slots=True)
class CountedReinvestment:
    """A dividend reinvested in shares, as the broker reported it, counted like a fill."""

    activity_id: str
    symbol: str
    on: date
    qty: Decimal


@dataclass(frozen=True, slots=True)
class PendingFillSeen:
    """Shares one of trimtab's orders filled, by the broker's report of the order, that the
    broker listed no fill for yet: counted as expected now, and once when listed."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What reconciliation read from the broker and whether the book explains it."""

    KIND: ClassVar[AuditKind] = AuditKind.RECONCILIATION
    baseline: bool
    """The first reconciliation: the broker's positions are taken as the book."""
    cash: Decimal
    positions: Mapping[str, Decimal]
    new_fills: tuple[Fill, ...]
    external_fills: tuple[str, ...]
    """Fill ids of orders that are not trimtab's."""
    external_open_orders: tuple[BrokerOrder, ...]
    unresolved_symbols: tuple[str, ...]
    mismatches: Mapping[str, Mismatch]
    reinvestments: tuple[CountedReinvestment, ...] = ()
    """Dividend reinvestments the broker reported that explained shares like fills: each once,
    by activity id (none in records written before reconciliation counted them)."""
    reinvestments_unread: str | None = field(default=None, metadata=_OMITTED)
    """Why the broker's dividend reinvestments could not be read (then none explained any)."""
    reinvestments_in_book_through: date | None = field(default=None, metadata=_OMITTED)
    """Reinvestments dated up to this day that no reconciliation has read are in the book
    already (one took the broker's positions without them): when read, none explains shares."""
    fills_pending: tuple[PendingFillSeen, ...] | None = field(default=None, metadata=_OMITTED)
    """Fills of trimtab's orders the broker reported filled but did not list yet (its activity
    lists lag): they explain shares now and are counted once when listed. None when none."""


@dataclass(frozen=True, slots=True)
class TaxDecisions:
    KIND: ClassVar[AuditKind] = AuditKind.TAX_DECISION
    decisions: tuple[TaxDecision, ...]
    preview: TaxPreview
    lots: Mapping[str, tuple[LotPick, ...]]
    harvest: tuple[str, ...]
    lot_method: LotMethod
    stand_ins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RelievedLot:
    lot_id: int
    qty: Decimal


@dataclass(frozen=True, slots=True)
class LedgerSale:
    """A sale added to the ledger and the lots it relieved."""

    sale_id: int
    fill_id: str
    symbol: str
    sold: date
    qty: Decimal
    proceeds: Decimal
    method: str
    harvest: bool
    lots: tuple[RelievedLot, ...]
    unmatched: Decimal


@dataclass(frozen=True, slots=True)
class DeclaredTrade:
    """An outside account's trade as the operator typed it (kept even when refused)."""

    account: str
    symbol: str
    side: Side
    date: str
    qty: str
    amount: str
    note: str


@dataclass(frozen=True, slots=True)
class DeclaredSplit:
    """A stock split as the operator typed it (kept even when refused), and what it did.

    `accounts` are those it was recorded for: every account with lots of the symbol bought
    before its day, held or sold since (a split is the security's: it scales the wash-sale
    matching in every account); none when refused or already recorded;
    `relieved_again` the ledger ids of sales on or after its day whose lots were relieved
    again in new shares.
    """

    symbol: str
    ratio: str
    date: str
    account: str | None = field(default=None, metadata=_OMITTED)
    cash_in_lieu: str | None = field(default=None, metadata=_OMITTED)
    """The cash paid for a reverse split's fraction of a share, as typed."""
    accounts: tuple[str, ...] = ()
    relieved_again: tuple[int, ...] = ()
    cash_in_lieu_sale: int | None = field(default=None, metadata=_OMITTED)
    """Ledger id of the sale of that fraction, when this command recorded it."""


@dataclass(frozen=True, slots=True)
class TaxLots:
    """A change to the tax-lot ledger: sales recorded, a lot file imported, a trade declared,
    a stock split recorded.

    Each has its own fields; `rejected` says why an import (its problems) or a declared trade
    (one message) was refused.
    """

    KIND: ClassVar[AuditKind] = AuditKind.TAX_LOTS
    sales: tuple[LedgerSale, ...] | None = field(default=None, metadata=_OMITTED)
    imported: str | None = field(default=None, metadata={JSON_NAME: "import", OMIT_NONE: True})
    """The lot file imported."""
    lots: int | None = field(default=None, metadata=_OMITTED)
    """How many lots the import added."""
    declared: DeclaredTrade | None = field(default=None, metadata=_OMITTED)
    split: DeclaredSplit | None = field(default=None, metadata=_OMITTED)
    """A stock split recorded (or refused, or already recorded: `recorded_as`)."""
    recorded_as: str | None = field(default=None, metadata=_OMITTED)
    """lot or sale; split, or already recorded, for a split."""
    id: int | None = field(default=None, metadata=_OMITTED)
    rejected: tuple[str, ...] | str | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class LotDifference:
    """One symbol whose open lots in the ledger differ from the broker's position."""

    symbol: str
    ledger: Decimal
    broker: Decimal
    """What the lots are compared with: the broker's position less its fills not listed yet."""
    fix: str
    """What the owner can do about it, in words."""
    held: Decimal | None = field(default=None, metadata=_OMITTED)
    """The position the broker reports, when fills not listed yet make it differ from
    `broker` (`daemon.core.tax.mismatch.LotMismatch.held`); absent otherwise."""


@dataclass(frozen=True, slots=True)
class LotsMismatched:
    """The tax ledger's open lots against the broker's positions at a cycle's start.

    Written at each cycle that finds a difference (its symbols are planned without their
    lots), and once, empty, at the first cycle after one that finds none again.
    """

    KIND: ClassVar[AuditKind] = AuditKind.LEDGER_MISMATCH
    mismatches: tuple[LotDifference, ...]


@dataclass(frozen=True, slots=True)
class AlertChanged:
    """An alert that fired (with what it saw) or cleared (with its episode)."""

    KIND: ClassVar[AuditKind] = AuditKind.ALERT
    key: str
    status: Literal["firing", "cleared"]
    severity: Literal["warning", "failure"]
    title: str | None = field(default=None, metadata=_OMITTED)
    detail: str | None = field(default=None, metadata=_OMITTED)
    value: float | None = field(default=None, metadata=_OMITTED)
    threshold: float | None = field(default=None, metadata=_OMITTED)
    held_for_seconds: float | None = field(default=None, metadata=_OMITTED)
    since: datetime | None = field(default=None, metadata=_OMITTED)
    fired_at: datetime | None = field(default=None, metadata=_OMITTED)
    episode: int | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class IncomeSale:
    """A sale the income plan expects in an account (the account's own cycle decides it)."""

    account: str
    symbol: str
    lot: str
    value: Decimal
    gain: Decimal
    term: str
    reason: str


@dataclass(frozen=True, slots=True)
class IncomeTransfer:
    """Cash the owner must move into the payout account: trimtab cannot move it."""

    from_account: str
    to_account: str
    amount: Decimal
    note: str


@dataclass(frozen=True, slots=True)
class IncomePlanned:
    """A month's income plan, fixed once: what each account keeps in cash for the payout."""

    KIND: ClassVar[AuditKind] = AuditKind.INCOME_PLAN
    month: str
    payout: date
    amount: Decimal
    withdrawals: Mapping[str, Decimal]
    from_cash: Mapping[str, Decimal]
    sales: tuple[IncomeSale, ...]
    skipped: tuple[str, ...]
    """Lots left unsold, each with why (a wash sale, the gains budget)."""
    transfers: tuple[IncomeTransfer, ...]


@dataclass(frozen=True, slots=True)
class IncomeRefused:
    """A month's income that cannot be raised without breaking a cash buffer: nothing sent."""

    KIND: ClassVar[AuditKind] = AuditKind.INCOME_REFUSED
    month: str
    amount: Decimal
    can_raise: Decimal
    problem: str
    fix: str


@dataclass(frozen=True, slots=True)
class IncomeRaised:
    """An account's share of a month's income is in cash: later cycles hold it, never raise
    it again."""

    KIND: ClassVar[AuditKind] = AuditKind.INCOME_RAISED
    month: str
    amount: Decimal
    cash_after: Decimal


@dataclass(frozen=True, slots=True)
class IncomeHeld:
    """What a cycle kept aside for the month's income, and why."""

    KIND: ClassVar[AuditKind] = AuditKind.INCOME_HELD
    month: str
    withdrawal: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class JobRefused:
    """A cluster job that cannot run on its input (an account no longer configured, a
    configuration problem, a bug): not retried, recorded once with the cause."""

    KIND: ClassVar[AuditKind] = AuditKind.JOB_REFUSED
    job_id: int
    slot: str
    trading_day: str
    error_type: str
    error: str
    action: str


@dataclass(frozen=True, slots=True)
class BacktestRefused:
    """`trimtab backtest` refused its input (a price or dividends file, a date range, an
    option) or the decision step refused the data; nothing ran. `detail` names the thing and
    the fix; `prices` is the price file given."""

    KIND: ClassVar[AuditKind] = AuditKind.BACKTEST_REFUSED
    detail: str
    prices: str


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A stored record no event type reads: its kind is unknown or its payload does not fit."""

    kind: str
    payload: Mapping[str, Any]
    problem: str


AuditEvent = (
    CycleStarted
    | SnapshotTaken
    | TargetsChosen
    | HouseholdSplitMade
    | PlanMade
    | RiskDecisions
    | OrderIntentSent
    | OrderResult
    | OrderSettled
    | ManualInput
    | CycleFinished
    | CycleFailed
    | KillSwitchChanged
    | OrdersNotCancelled
    | DatabaseIdentityChanged
    | CashMovement
    | ConfigRejected
    | ConfigReloaded
    | TradingStateChanged
    | Reconciled
    | TaxDecisions
    | TaxLots
    | LotsMismatched
    | AlertChanged
    | IncomePlanned
    | IncomeRefused
    | IncomeRaised
    | IncomeHeld
    | JobRefused
    | BacktestRefused
)

EVENT_TYPES: Mapping[str, type[AuditEvent]] = {
    str(event.KIND): event
    for event in (
        CycleStarted,
        SnapshotTaken,
        TargetsChosen,
        HouseholdSplitMade,
        PlanMade,
        RiskDecisions,
        OrderIntentSent,
        OrderResult,
        OrderSettled,
        ManualInput,
        CycleFinished,
        CycleFailed,
        KillSwitchChanged,
        OrdersNotCancelled,
        DatabaseIdentityChanged,
        CashMovement,
        ConfigRejected,
        ConfigReloaded,
        TradingStateChanged,
        Reconciled,
        TaxDecisions,
        TaxLots,
        LotsMismatched,
        AlertChanged,
        IncomePlanned,
        IncomeRefused,
        IncomeRaised,
        IncomeHeld,
        JobRefused,
        BacktestRefused,
    )
}


def encode(event: AuditEvent) -> dict[str, Any]:
    """Return the JSON form of `event` (what is stored and hashed)."""
    return to_jsonable(event)  # type: ignore[no-any-return]


def decode(kind: str, payload: Mapping[str, Any]) -> AuditEvent | RawEvent:
    """Return the event a stored record of `kind` holds, or `RawEvent` when none fits."""
    event = EVENT_TYPES.get(kind)
    if event is None:
        return RawEvent(kind, payload, f"no event type for kind {kind!r}")
    try:
        decoded: AuditEvent = from_jsonable(event, payload)
    except DecodeError as exc:
        return RawEvent(kind, payload, str(exc))
    return decoded
