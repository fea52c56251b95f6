"""The daily report's content: plain frozen data, gathered by `data`, drawn by `charts`, laid
out by `html` and `summary`. Money is `Decimal`; weights and returns are fractions."""

from __future__ import annotations

__all__ = [
    "AccountReport",
    "AllocationRow",
    "CycleLine",
    "DailyReport",
    "DriftPoint",
    "FlowTotals",
    "HealthSection",
    "OrderLine",
    "Refusal",
    "TaxSection",
    "TaxWindow",
    "ValueSection",
]

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.core.performance import Concentration, DailyPoint, PerformanceSummary

if TYPE_CHECKING:
    from daemon.report.household import HouseholdSection
    from daemon.report.income import IncomeSection


@dataclass(frozen=True, slots=True)
class FlowTotals:
    """Deposits (positive) and withdrawals (negative sums) by period, ending on the day."""

    day_in: Decimal = Decimal(0)
    day_out: Decimal = Decimal(0)
    month_in: Decimal = Decimal(0)
    month_out: Decimal = Decimal(0)
    year_in: Decimal = Decimal(0)
    year_out: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ValueSection:
    """What an account (or the household) was worth at the end of the day, and the change."""

    value: Decimal | None
    cash: Decimal | None
    previous_value: Decimal | None
    """The value at the previous valuation day (None on the first)."""
    day_flow: Decimal
    """Net flows between the previous valuation and this one."""
    flows: FlowTotals
    valued_at: datetime | None

    @property
    def day_change(self) -> Decimal | None:
        """The change in value that flows do not explain (the market's part)."""
        if self.value is None or self.previous_value is None:
            return None
        return self.value - self.previous_value - self.day_flow


@dataclass(frozen=True, slots=True)
class AllocationRow:
    symbol: str
    value: Decimal
    weight: float
    """A fraction of the managed value (`AccountReport.managed_value`), as the planner weighs
    it; on a row the plan does not manage, a fraction of the account's whole value."""
    target: float
    low: float
    high: float
    out_of_band: bool
    pool: str = ""
    """The primary an alternate stands in for, on both their rows (`DriftRow.pool`): the band
    test adds the pool up, and `out_of_band` is the pool's; empty for a symbol tested alone."""
    managed: bool = True
    """False on a holding the plan does not manage (`DriftRow.managed`: a `keep` holding, one
    set aside while its sale is held back, unsold dust): no target, no band, out of the value
    the other rows are weights of."""
    note: str = ""
    """The plan's note on an unmanaged row (`DriftRow.note`): why it is not managed."""

    @property
    def drift(self) -> float:
        return self.weight - self.target


@dataclass(frozen=True, slots=True)
class DriftPoint:
    """One symbol's weight against its target and band at one day's last plan."""

    day: date
    symbol: str
    weight: float
    target: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class CycleLine:
    cycle_id: str
    started_at: datetime
    mode: str
    outcome: str
    """succeeded, planned, failed, skipped, or running (no end record)."""
    detail: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    cycle_id: str
    client_order_id: str
    side: str
    symbol: str
    qty: Decimal
    order_type: str
    reason: str
    status: str
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    reference_price: Decimal | None

    @property
    def slippage(self) -> Decimal | None:
        """What the fill cost against the planning price, in currency (positive: worse)."""
        if self.avg_fill_price is None or self.reference_price is None or not self.filled_qty:
            return None
        sign = 1 if self.side == "buy" else -1
        return sign * (self.avg_fill_price - self.reference_price) * self.filled_qty

    @property
    def slippage_bps(self) -> float | None:
        """Slippage in basis points of the planning price (positive: worse)."""
        if self.avg_fill_price is None or self.reference_price is None or not self.filled_qty:
            return None
        sign = 1 if self.side == "buy" else -1
        return float(sign * (self.avg_fill_price / self.reference_price - 1) * 10000)


@dataclass(frozen=True, slots=True)
class Refusal:
    """An order that was planned and not sent (or cut), and the check that stopped it."""

    cycle_id: str
    at: datetime
    source: str
    """risk, tax or kill switch."""
    side: str
    symbol: str
    qty: Decimal
    check: str
    reason: str


@dataclass(frozen=True, slots=True)
class TaxWindow:
    account: str
    symbol: str
    kind: str
    """"loss sale": buying would wash it; "purchase": a loss sale would wash."""
    opened: date
    ends: date
    qty: Decimal
    amount: Decimal | None
    """The loss a purchase would disallow (loss sale windows)."""


@dataclass(frozen=True, slots=True)
class TaxSection:
    available: bool
    """False while the tax ledger holds no lot (nothing to show but the note)."""
    note: str
    """Why the section is empty or partial, in words; empty when all is there."""
    year: int
    short_term: Decimal = Decimal(0)
    long_term: Decimal = Decimal(0)
    harvested: Decimal = Decimal(0)
    disallowed: Decimal = Decimal(0)
    windows: tuple[TaxWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class HealthSection:
    checked_at: datetime
    heartbeat: str
    heartbeat_ok: bool | None
    """None when no daemon ever ran on this state (cycles from `run --once`)."""
    kill_switch_engaged: bool
    kill_switch_detail: str
    trading_states: dict[str, tuple[str, str]]
    """account -> (state, reason)."""
    broker: dict[str, tuple[bool, str]]
    """account -> (reachable, detail)."""
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccountReport:
    name: str
    type: str
    value: ValueSection
    allocation: tuple[AllocationRow, ...]
    drift: tuple[DriftPoint, ...]
    cycles: tuple[CycleLine, ...]
    orders: tuple[OrderLine, ...]
    refusals: tuple[Refusal, ...]
    performance: PerformanceSummary | None
    concentration: Concentration | None
    series: tuple[DailyPoint, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    plan_previews: int = 0
    """`trimtab plan` runs on the day: shown to a person, never sent, not counted as cycles."""

    @property
    def managed_value(self) -> Decimal:
        """The value the managed rows' weights are of: the account's value less the holdings
        the plan does not manage, as the planner weighs the account."""
        return sum((r.value for r in self.allocation if r.managed), Decimal(0))

    @property
    def unmanaged(self) -> tuple[AllocationRow, ...]:
        """The allocation's rows of holdings the plan does not manage."""
        return tuple(r for r in self.allocation if not r.managed)


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    generated_at: datetime
    timezone: str
    mode: str
    benchmark: str | None
    accounts: tuple[AccountReport, ...]
    household: ValueSection
    household_performance: PerformanceSummary | None
    household_concentration: Concentration | None
    household_series: tuple[DailyPoint, ...]
    benchmark_series: tuple[DailyPoint, ...]
    tax: TaxSection
    health: HealthSection
    audit_head: tuple[int, str] | None
    """The newest audit record's (sequence number, hash) when the report was made."""
    exchange: str = ""
    trading_day: bool = True
    """False when the exchange had no session on `day` (a weekend, a holiday)."""
    last_session: date | None = None
    """The session the figures are as of when `day` is not a trading day (None if unknown)."""
    income: IncomeSection | None = None
    """The monthly income plan's payouts (`daemon.report.income`); None without a plan."""
    household_allocation: HouseholdSection | None = None
    """The household against its [household] target, by account type; None without one."""
