"""The planner's inputs, policy and result: frozen values, money and quantities as `Decimal`."""

from __future__ import annotations

__all__ = [
    "SMALLEST_ORDER",
    "Band",
    "DriftRow",
    "Plan",
    "PlanInput",
    "PlannedOrder",
    "PlanningPolicy",
    "RebalanceTo",
    "least_order",
]

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from daemon.core.domain import Side
from daemon.core.money import CENT, money
from daemon.core.records import fast_init, lazy_text

RebalanceTo = Literal["target", "band_edge"]

SMALLEST_ORDER = CENT
"""The least an order may be worth, whatever `min_trade_notional` says (0 included).

An order under a cent is dust: it reads $0.00, a dollar-amount buy of it is for $0.00
(`daemon.core.sizing.notional_amount` rounds down to the cent), and cash moves in whole
cents. With fractional increments it arises wherever whole increments leave a fraction of a
cent: the cash a sale raises beyond a withdrawal, a buy sized down to the cash left.
"""


def least_order(min_trade_notional: Decimal, least_commission: Decimal) -> Decimal:
    """Return the least notional an order is planned and sent at: `min_trade_notional`, never
    under `SMALLEST_ORDER`, and where the broker charges every order (`least_commission`), a
    cent above that charge: a smaller sale would cost the account more than it brings in, and
    a smaller buy would pay its own value again in charges."""
    least = max(min_trade_notional, SMALLEST_ORDER)
    return max(least, least_commission + SMALLEST_ORDER) if least_commission else least


def _no_bands() -> Mapping[str, Band]:
    return MappingProxyType({})


def _no_increments() -> Mapping[str, Decimal]:
    return MappingProxyType({})


def _no_stand_ins() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Band:
    """A tolerance band around a target weight.

    `absolute_pp` is a half-width in percentage points (`Decimal("5")` is ±5pp); `relative` is a
    half-width as a fraction of the target (`Decimal("0.25")` is ±25% of the target). When both
    are given the narrower one applies; at least one must be given.
    """

    absolute_pp: Decimal | None = None
    relative: Decimal | None = None

    def half_width(self, target: float) -> float:
        """Return the half-width in weight units (0.05 for ±5pp) around `target`."""
        widths = []
        if self.absolute_pp is not None:
            widths.append(float(self.absolute_pp) / 100.0)
        if self.relative is not None:
            widths.append(float(self.relative) * target)
        return min(widths) if widths else math.inf


@dataclass(frozen=True, slots=True)
class PlanningPolicy:
    """How an account is rebalanced; see `daemon.core.planner.planner` for the semantics."""

    default_band: Band
    band_overrides: Mapping[str, Band] = field(default_factory=_no_bands)
    rebalance_to: RebalanceTo = "target"
    inner_band: Decimal = Decimal(0)
    cash_buffer: Decimal = Decimal(0)
    min_trade_notional: Decimal = Decimal(0)
    buy_only: bool = False
    share_increment: Decimal = Decimal(1)
    increment_overrides: Mapping[str, Decimal] = field(default_factory=_no_increments)
    keep: frozenset[str] = frozenset()
    whole_shares_only: frozenset[str] = frozenset()
    """Symbols the broker takes in whole increments only (it refuses a fraction of a share):
    even a sale of the whole holding sells only the whole increments held, and the fraction
    stays (the broker's own process or a person sells it). Elsewhere a whole holding is sold
    to the last fraction, so that nothing is left that no order could sell."""
    least_commission: Decimal = Decimal(0)
    """What the broker charges its smallest order (`TradeCosts.least_commission`;
    `decision_input` sets it from the broker's costs): an order must be worth a cent more, or
    a sale of it would cost the account more than it brings in and a buy would pay its own
    value again in charges."""

    @property
    def min_trade(self) -> Decimal:
        """Return the least notional an order is planned at: `min_trade_notional`, never under
        `SMALLEST_ORDER` (with 0 configured, a sub-cent order is still dust), nor under a
        cent above the least commission."""
        return least_order(self.min_trade_notional, self.least_commission)

    @property
    def min_trade_words(self) -> str:
        """Return the minimum trade as the plan's notes name it, saying where it comes from
        when the commission sets it (the owner's `min_trade_notional` is less)."""
        least = self.min_trade
        words = f"the minimum trade of {money(least)}"
        if least > least_order(self.min_trade_notional, Decimal(0)):
            words += (
                f" (a cent above the broker's least commission, {money(self.least_commission)})"
            )
        return words

    def band_for(self, symbol: str) -> Band:
        """Return the band that applies to `symbol`."""
        return self.band_overrides.get(symbol, self.default_band)

    def increment_for(self, symbol: str) -> Decimal:
        """Return the quantity step that orders in `symbol` are multiples of."""
        return self.increment_overrides.get(symbol, self.share_increment)


@dataclass(frozen=True, slots=True)
class PlanInput:
    """The account as the planner sees it: cash, quantities, prices and target weights."""

    cash: Decimal
    holdings: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]
    targets: Mapping[str, Decimal]
    withdrawal: Decimal = Decimal(0)
    sale_costs: Decimal = Decimal(0)
    """Cash raised on top of the buffer and the withdrawal for what the sales that raise them
    lose to slippage, charges and cent rounding (`daemon.core.decide` works it out)."""
    raise_without: frozenset[str] = frozenset()
    """Holdings the cash flows do not sell to raise the buffer and the withdrawal: the cash
    comes from the others (`daemon.core.decide` puts here a holding whose sale would be a
    wash sale). The rebalance may still sell them, under the tax rules."""
    reserved_cash: Decimal = Decimal(0)
    """Cash the account holds but may not spend (`AccountSnapshot.reserved_cash`: held by
    the broker's open buys): in the managed value, so weights are of the whole account, never
    in `cash`, so no order spends it."""
    stand_ins: Mapping[str, str] = field(default_factory=_no_stand_ins)
    """Alternate -> the primary it stands in for (`daemon.core.tax.harvest.stand_in_targets`),
    both in the targets. A primary and its alternates are one holding for the band test: their
    weights added up against their targets added up (the primary's own target before the
    alternates took their share), with the primary's band. Each is still traded to its own
    target when the account rebalances."""


@lazy_text("reason")
@fast_init
@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One order of the plan, valued at the planning price.

    The planner gives `reason` as `daemon.core.records.later(...)`: its text is written when
    first read (a backtest reads none of its 23,000 orders' reasons)."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    notional: Decimal
    reason: str
    raises: Decimal = Decimal(0)
    """Of a sell's `qty`, the shares sold to raise cash the owner asked for (a withdrawal,
    the cash buffer): the tax step never defers or caps those, whatever it does with the
    rest (a sell can raise cash and rebalance at once)."""


@fast_init
@dataclass(frozen=True, slots=True)
class DriftRow:
    """One line of the drift table: a holding or target symbol, before and after the plan.

    Weights are fractions of the managed value. Rows of `keep` holdings have `managed=False`
    and zero target and band. The CASH row has no band: `low` and `high` equal its target.
    """

    symbol: str
    qty: Decimal
    price: Decimal
    value: Decimal
    weight: Decimal
    target: Decimal
    low: Decimal
    high: Decimal
    out_of_band: bool
    managed: bool
    qty_after: Decimal
    weight_after: Decimal
    note: str
    pool: str = ""
    """The primary whose pool the row was tested in (`PlanInput.stand_ins`), on the primary's
    row and its standing alternates'; empty for a symbol tested alone. `low` and `high` are
    the row's own target plus or minus the pool's half-width: a weight tested again later
    goes through `daemon.core.planner.verdict.out_of_band_at`, which adds up the pool."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The orders that bring an account back to its targets, and the drift table behind them."""

    orders: tuple[PlannedOrder, ...]
    drift: tuple[DriftRow, ...]
    nav: Decimal
    cash_before: Decimal
    """The cash the plan may spend (`PlanInput.cash`); `cash_after` is what it leaves."""
    cash_after: Decimal
    triggered: bool
    notes: tuple[str, ...]
    reserved_cash: Decimal = Decimal(0)
    """`PlanInput.reserved_cash`: in `nav` and in the CASH drift row, never spent."""
