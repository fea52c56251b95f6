"""The household planner's inputs and result: frozen values, money as `Decimal`."""

from __future__ import annotations

__all__ = [
    "AccountSplit",
    "HouseholdAccount",
    "HouseholdRow",
    "HouseholdRules",
    "HouseholdSplit",
    "LocationPreference",
    "Placement",
    "Restrictions",
]

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from daemon.core.domain import AccountType


def _empty() -> Mapping[str, Decimal]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LocationPreference:
    """Where one asset class (or one symbol) should go, best account type first.

    `assets` is a class of `HouseholdRules.asset_classes` or a symbol; a symbol's own
    preference wins over its class's. Types left out of `prefer` come after those named.
    """

    assets: str
    prefer: tuple[AccountType, ...]


@dataclass(frozen=True, slots=True)
class HouseholdRules:
    """The household's configuration as the planner needs it.

    `targets` sum to 1 and may include CASH. `location` is in priority order: when two
    preferences compete for the same room (bonds and REITs for a small IRA), the one listed
    first gets it. `band_pp` is the household's band half-width in percentage points, used
    only to show the household's drift. `targets_from` names the strategy that chose the
    targets this cycle ("" for the fixed `household.targets`), `reasons` its reason per symbol.
    """

    targets: Mapping[str, Decimal]
    asset_classes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    location: tuple[LocationPreference, ...] = ()
    avoid_taxable_gains: bool = True
    band_pp: Decimal = Decimal(5)
    targets_from: str = ""
    reasons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Restrictions:
    """What an account may trade: only `allowed` (None: any symbol), never `blocked`."""

    allowed: frozenset[str] | None = None
    blocked: frozenset[str] = frozenset()

    def may_trade(self, symbol: str) -> bool:
        return symbol not in self.blocked and (self.allowed is None or symbol in self.allowed)


@dataclass(frozen=True, slots=True)
class HouseholdAccount:
    """One account of the household as it is now, and what it may do.

    `holdings` are the market values of the managed positions (`keep` holdings left out, as
    the account's planner leaves them out). A held symbol the account may not trade
    (`restrictions`) stays as it is. `buy_only`
    accounts never sell. `cash_need` is the cash the account must keep (its buffer and a
    withdrawal). `gains` is the unrealized gain per held symbol where known: a taxable sale
    of a symbol at a loss costs no tax. `reserved_cash` is cash the account holds but may not
    spend (held by its broker's open buys, `AccountSnapshot.reserved_cash`): in its `value`,
    never in `cash`, and it stays in the account's cash whatever the split.
    """

    name: str
    type: AccountType
    cash: Decimal
    holdings: Mapping[str, Decimal] = field(default_factory=_empty)
    restrictions: Restrictions = field(default_factory=Restrictions)
    buy_only: bool = False
    cash_need: Decimal = Decimal(0)
    gains: Mapping[str, Decimal] = field(default_factory=_empty)
    reserved_cash: Decimal = Decimal(0)

    @property
    def value(self) -> Decimal:
        return self.cash + self.reserved_cash + sum(self.holdings.values(), Decimal(0))

    def may_trade(self, symbol: str) -> bool:
        return self.restrictions.may_trade(symbol)


@dataclass(frozen=True, slots=True)
class Placement:
    """How much of a symbol one account is to hold, and why there."""

    account: str
    symbol: str
    held: Decimal
    value: Decimal
    """The value the split gives the account (at today's prices)."""
    reason: str
    choice: int | None = None
    """Where the account's type stands in the symbol's location preference (1 = first);
    None when the symbol has none, or when the placement was not the split's to choose (a
    holding the account may not trade, a buy-only account's holding)."""


@dataclass(frozen=True, slots=True)
class AccountSplit:
    """One account's share of the household: its targets, for its own planner."""

    account: str
    type: AccountType
    value: Decimal
    targets: Mapping[str, Decimal]
    """Weights of the account's value, summing to 1 (CASH included when any)."""


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    """One symbol of the household: now, the household target, and what the split reaches."""

    symbol: str
    value: Decimal
    weight: Decimal
    target: Decimal
    planned: Decimal
    """The household weight the per-account targets add up to."""
    low: Decimal
    high: Decimal
    out_of_band: bool
    by_type: Mapping[str, Decimal]
    """Planned value per account type (taxable, traditional_ira, roth_ira)."""


@dataclass(frozen=True, slots=True)
class HouseholdSplit:
    """The planner's result: per-account targets, the household view, and every reason."""

    value: Decimal
    accounts: tuple[AccountSplit, ...]
    rows: tuple[HouseholdRow, ...]
    placements: tuple[Placement, ...]
    notes: tuple[str, ...]
    """Household targets the split could not reach, and location preferences it broke."""
    targets_from: str = ""
    """The household strategy that chose the targets ("": the fixed `household.targets`)."""
    reasons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The strategy's reason per symbol, when it gives them (`Explains`)."""

    def targets_for(self, account: str) -> Mapping[str, Decimal]:
        for split in self.accounts:
            if split.account == account:
                return split.targets
        raise KeyError(account)
