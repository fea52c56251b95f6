"""What the planner's tax step takes and returns: frozen values, money as `Decimal`."""

from __future__ import annotations

__all__ = [
    "BookView",
    "TaxAction",
    "TaxContext",
    "TaxDecision",
    "TaxPreview",
    "TaxedPlan",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from daemon.core.domain import AccountType
from daemon.core.planner import Plan
from daemon.core.tax.identical import SubstantiallyIdentical
from daemon.core.tax.mismatch import LotMismatch
from daemon.core.tax.preview import SalesWhatIf
from daemon.core.tax.settings import TaxSettings
from daemon.core.tax.types import (
    LossWindow,
    Lot,
    LotMethod,
    LotPick,
    PurchaseWindow,
    SalePreview,
    SaleRequest,
    Term,
)

_ZERO = Decimal(0)


class BookView(Protocol):
    """What the tax step asks the engine's `TaxBook` (a replay of the household's trades)."""

    def lots(self, account: str | None = None, symbol: str | None = None) -> Sequence[Lot]: ...

    def broker_lots(self, account: str, symbol: str) -> Sequence[Lot]: ...

    def what_if(self, on: date, requests: Sequence[SaleRequest]) -> SalesWhatIf: ...

    def preview_sale(
        self,
        account: str,
        symbol: str,
        qty: Decimal,
        on: date,
        proceeds: Decimal,
        method: LotMethod | None = None,
        picks: Sequence[LotPick] = (),
    ) -> SalePreview: ...


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TaxContext:
    """The account and household as the tax step sees them; built by `daemon.cycle.tax`."""

    account: str
    account_type: AccountType
    today: date
    settings: TaxSettings
    identical: SubstantiallyIdentical
    book: BookView
    loss_windows: Sequence[LossWindow]
    """The household's taxable loss sales whose 30 days after are not over."""
    purchase_windows: Sequence[PurchaseWindow]
    """The household's purchases whose 30 days after are not over."""
    realized: Mapping[Term, Decimal]
    """This account's net realized gain this calendar year, by term (short, long)."""
    prices: Mapping[str, Decimal]
    increments: Mapping[str, Decimal] = field(default_factory=_empty)
    min_trade: Decimal = _ZERO
    mismatches: Mapping[str, LotMismatch] = field(default_factory=_empty)
    """This account's symbols whose open lots in the ledger differ from the broker's position:
    their lots are not trusted (`daemon.core.tax.mismatch`)."""
    refused_alternates: Mapping[str, Mapping[str, str]] = field(default_factory=_empty)
    """Per harvested symbol, alternates whose buy the pre-trade checks refused, with why: the
    harvest tries the next alternate (`daemon.core.decide`)."""

    def increment(self, symbol: str) -> Decimal:
        return self.increments.get(symbol, Decimal(1))


class TaxAction(StrEnum):
    BLOCKED = "blocked"
    REDIRECTED = "redirected"
    DEFERRED = "deferred"
    OTHER_LOTS = "other_lots"
    ALLOWED = "allowed_wash"
    BUDGET = "budget"
    FUNDING = "funding"
    HARVEST = "harvest"
    UNKNOWN_BASIS = "unknown_basis"

    @property
    def label(self) -> str:
        """Return what was done, in words a person reads (the value is for machines)."""
        return _LABELS[self]


_LABELS = {
    TaxAction.BLOCKED: "buy blocked",
    TaxAction.REDIRECTED: "alternate bought",
    TaxAction.DEFERRED: "sale deferred",
    TaxAction.OTHER_LOTS: "other lots sold",
    TaxAction.ALLOWED: "sold despite a wash sale",
    TaxAction.BUDGET: "sale cut by the gains budget",
    TaxAction.FUNDING: "buy cut: less was sold",
    TaxAction.HARVEST: "loss harvested",
    TaxAction.UNKNOWN_BASIS: "sold without recorded lots",
}


@dataclass(frozen=True, slots=True)
class TaxDecision:
    """One thing the tax step changed or let through knowingly, with the reason."""

    action: TaxAction
    symbol: str
    reason: str
    qty_before: Decimal = _ZERO
    qty_after: Decimal = _ZERO
    until: date | None = None
    """The day the window that caused it closes (the trade can happen the day after)."""
    disallowed: Decimal = _ZERO
    alternate: str | None = None


@dataclass(frozen=True, slots=True)
class TaxPreview:
    """The plan's expected tax effect (the sells as planned, at planning prices)."""

    short_term_gain: Decimal = _ZERO
    long_term_gain: Decimal = _ZERO
    short_term_loss: Decimal = _ZERO
    long_term_loss: Decimal = _ZERO
    disallowed: Decimal = _ZERO
    """Losses a purchase already made (or in an IRA) would disallow; counted in no column."""
    harvested: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class TaxedPlan:
    """The plan after the tax step, with every decision and the lots each sell relieves."""

    plan: Plan
    decisions: tuple[TaxDecision, ...]
    preview: TaxPreview
    lots: Mapping[str, tuple[LotPick, ...]]
    """Per sold symbol: the lots the sell is expected to relieve (specific picks when the
    account's method is `specific`, else the method's own choice)."""
    harvest: frozenset[str] = frozenset()
    """Symbols sold as a tax-loss harvest."""
