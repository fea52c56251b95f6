"""The `[household]` table: one target for several accounts, asset classes and location.

`household_rules` and `account_restrictions` turn it, and the accounts' settings, into the
pure household planner's input (`daemon.core.household`); `household_problems` lists what
can never be met, each naming the key and the fix, for `trimtab config check`.
"""

from __future__ import annotations

__all__ = [
    "HouseholdSettings",
    "LocationSettings",
    "account_restrictions",
    "household_account",
    "household_members",
    "household_problems",
    "household_rules",
    "household_strategy",
    "household_symbols",
    "household_universe",
    "income_accounts",
    "planned_together",
]

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from daemon.core.domain import CASH, AccountSnapshot, AccountType
from daemon.core.errors import ConfigProblem, DataError
from daemon.core.household import (
    HouseholdAccount,
    HouseholdRules,
    LocationPreference,
    Restrictions,
    rule_problems,
)
from daemon.core.plannable import age_hours_problem

if TYPE_CHECKING:
    from daemon.config.settings import Settings
    from strategies.base import Strategy

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")
_CLASS = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
Weight = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
_DEFAULT_SNAPSHOT_AGE_HOURS = Decimal(96)
"""Friday's snapshot still stands in on Monday, with most of a day to spare (docs/household.md,
"Where the other accounts' holdings come from"); as old as `risk.max_quote_age_hours`'s
default lets a quote be, since the stand-in's holdings are valued at its quotes."""


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_symbol(symbol: str) -> str:
    if symbol != CASH and not _SYMBOL.match(symbol):
        raise ValueError(f"{symbol!r} is not a ticker; write tickers in upper case, e.g. VTI")
    return symbol


class LocationSettings(_Closed):
    assets: str = Field(description="An asset class of household.asset_classes, or a symbol.")
    prefer: tuple[AccountType, ...] = Field(
        description="Account types, best first: taxable, traditional_ira, roth_ira."
    )

    @field_validator("prefer")
    @classmethod
    def _some_type(cls, prefer: tuple[AccountType, ...]) -> tuple[AccountType, ...]:
        if not prefer:
            raise ValueError(
                'prefer is empty; name account types, best first, e.g. ["traditional_ira", '
                '"roth_ira", "taxable"]'
            )
        return prefer


class HouseholdSettings(_Closed):
    """One target for several accounts; each keeps its own broker, policy, bands and tax."""

    accounts: tuple[str, ...] = Field(
        (), description="The accounts planned together (empty: every account)."
    )
    targets: dict[str, Weight] | None = Field(
        None,
        description='Household weight per symbol, summing to 1; "CASH" may have a weight. '
        "Give this or strategy, not both.",
    )
    strategy: str | None = Field(
        None,
        description="A strategy (as an account's strategy) choosing the household's weights "
        "each cycle, from the whole household's holdings. Give this or targets, not both.",
    )
    strategy_params: dict[str, Any] = Field(
        default_factory=dict,
        description="The household strategy's parameters (checked by the strategy, as an "
        "account's strategy_params).",
    )
    asset_classes: dict[str, str] = Field(
        default_factory=dict,
        description="Symbol -> asset class (e.g. bonds, reit, us_equity, intl_equity), for "
        "location preferences.",
    )
    location: tuple[LocationSettings, ...] = Field(
        (),
        description='Where assets go, in priority order: e.g. { assets = "bonds", prefer = '
        '["traditional_ira", "roth_ira", "taxable"] }. Listed first wins contested room.',
    )
    avoid_taxable_gains: bool = Field(
        True,
        description="Keep taxable holdings with a gain where the household target allows, "
        "and make up the difference in the tax-advantaged accounts.",
    )
    band_pp: Annotated[Decimal, Field(gt=0, le=100)] = Field(
        Decimal(5),
        description="The household's drift band in percentage points (shown; each account "
        "trades on its own bands).",
    )
    max_snapshot_age_hours: Decimal = Field(
        _DEFAULT_SNAPSHOT_AGE_HOURS,
        description="When a member's broker cannot be read, its latest audited snapshot "
        "stands in for it only while younger than this many hours (from the snapshot's "
        "time); an older one fails the cycle of the account being planned. The default "
        "covers a weekend: Friday's snapshot still stands in on Monday.",
    )

    @field_validator("targets")
    @classmethod
    def _targets_named(cls, targets: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        if targets is None:
            return None
        if not targets:
            raise ValueError("targets is empty; give at least one symbol and its weight")
        for symbol in targets:
            _check_symbol(symbol)
        return targets

    @field_validator("max_snapshot_age_hours")
    @classmethod
    def _age_positive(cls, hours: Decimal) -> Decimal:
        # Not a number, or not finite, is refused before this.
        if problem := age_hours_problem("max_snapshot_age_hours", hours):
            raise PydanticCustomError(
                "household_snapshot_age",
                problem,
                {
                    "fix": "set household.max_snapshot_age_hours to the age in hours past "
                    "which a member's audited snapshot may no longer stand in for its "
                    f"unreadable broker, e.g. {_DEFAULT_SNAPSHOT_AGE_HOURS} (the default: "
                    "delete the key)",
                },
            )
        return hours

    @field_validator("asset_classes")
    @classmethod
    def _classes_named(cls, classes: dict[str, str]) -> dict[str, str]:
        for symbol, name in classes.items():
            _check_symbol(symbol)
            if not _CLASS.match(name):
                raise ValueError(
                    f"class {name!r} of {symbol} is not a name; use lower-case letters, "
                    "digits, _ and -, e.g. us_equity"
                )
        return classes

    @model_validator(mode="after")
    def _one_source(self) -> HouseholdSettings:
        if self.targets is not None and self.strategy is not None:
            raise PydanticCustomError(
                "household_targets",
                "both targets and strategy are given; the household's weights come from one",
                {
                    "fix": "keep household.targets (fixed weights) or household.strategy (and "
                    "its strategy_params), and delete the other"
                },
            )
        if self.targets is None and self.strategy is None:
            raise PydanticCustomError(
                "household_targets",
                "neither targets nor strategy is given; the household has no target",
                {
                    "fix": "add household.targets = { VTI = 0.6, BND = 0.4 } or household.strategy "
                    '= "static" with its strategy_params'
                },
            )
        if self.strategy is None and self.strategy_params:
            raise PydanticCustomError(
                "household_targets",
                "strategy_params is given without a strategy",
                {"fix": "add household.strategy, or delete household.strategy_params"},
            )
        return self


def household_strategy(household: HouseholdSettings) -> Strategy | None:
    """Return the household's strategy (None with fixed targets), made from its params as an
    account's is; the params were checked when the configuration was loaded."""
    if household.strategy is None:
        return None
    from daemon.plugins import load_strategy_plugin

    plugin = load_strategy_plugin(household.strategy)
    return plugin.create(plugin.params_model.model_validate(household.strategy_params))


def household_members(settings: Settings) -> tuple[str, ...]:
    """Return the accounts planned together (none when there is no [household])."""
    household = settings.household
    if household is None:
        return ()
    return household.accounts or tuple(settings.accounts)


def income_accounts(settings: Settings) -> tuple[str, ...]:
    """Return the accounts the income plan values and raises from: the [household]'s members
    when there is one (its value is "the household's value"), else every configured account."""
    return household_members(settings) or tuple(settings.accounts)


def planned_together(settings: Settings) -> tuple[str, ...]:
    """Return the accounts whose cycles read or fix each other's state: the [household]'s
    members (the split reads their holdings), or the income plan's accounts (it fixes a month
    across them); none without either."""
    return income_accounts(settings) if settings.income is not None else household_members(settings)


def account_restrictions(settings: Settings, name: str) -> Restrictions:
    """Return what the account may trade: its policy.allowed_symbols and risk.allowed_symbols
    (both when both are set), never risk.restricted_symbols or its policy.keep holdings."""
    account = settings.account(name)
    allowed: frozenset[str] | None = None
    for listed in (account.policy.allowed_symbols, settings.risk.allowed_symbols):
        if listed:
            allowed = frozenset(listed) if allowed is None else allowed & frozenset(listed)
    blocked = frozenset(settings.risk.restricted_symbols) | frozenset(account.policy.keep)
    return Restrictions(allowed=allowed, blocked=blocked)


def household_rules(
    household: HouseholdSettings,
    targets: Mapping[str, Decimal] | None = None,
    *,
    reasons: Mapping[str, str] | None = None,
) -> HouseholdRules:
    """Return the planner's rules: the fixed `household.targets`, or `targets` the household
    strategy chose this cycle (with its `reasons`)."""
    if targets is None:
        if household.targets is None:
            raise ValueError("a household strategy's targets must be given")
        targets = household.targets
    return HouseholdRules(
        targets=dict(targets),
        asset_classes=dict(household.asset_classes),
        location=tuple(LocationPreference(e.assets, e.prefer) for e in household.location),
        avoid_taxable_gains=household.avoid_taxable_gains,
        band_pp=household.band_pp,
        targets_from=household.strategy or "",
        reasons=dict(reasons or {}),
    )


def _config_targets(household: HouseholdSettings) -> Mapping[str, Decimal]:
    """The weights the configuration check can judge: the fixed targets, or an even weight
    on every symbol of the strategy's universe (each one it may give a weight must be
    holdable somewhere)."""
    if household.targets is not None:
        return household.targets
    strategy = household_strategy(household)
    assert strategy is not None
    universe = sorted(strategy.universe() - {CASH}) or [CASH]
    return {symbol: Decimal(1) / len(universe) for symbol in universe}


def household_problems(settings: Settings) -> list[ConfigProblem]:
    """Return every reason the household can never be planned (empty when it can)."""
    household = settings.household
    if household is None:
        return []
    unknown = [name for name in household.accounts if name not in settings.accounts]
    if unknown:
        return [
            ConfigProblem(
                "household.accounts",
                f"no such account: {', '.join(unknown)}",
                f"use names of [accounts] tables: {', '.join(settings.accounts)}",
            )
        ]
    if len(set(household.accounts)) != len(household.accounts):
        return [
            ConfigProblem(
                "household.accounts",
                "an account is named twice",
                "name each account once",
            )
        ]
    members = household_members(settings)
    if "household" in settings.accounts:
        # `trimtab plan --json` prints the household beside the accounts, under this key.
        return [
            ConfigProblem(
                "accounts.household",
                'an account named "household" beside a [household] table',
                "rename the account (its key in `trimtab plan --json` is the household's)",
            )
        ]
    income = settings.income
    if income is not None and income.account not in members:
        return [
            ConfigProblem(
                "income.account",
                f"the income account {income.account!r} is not in household.accounts, so the "
                "household's income would be paid out of an account outside it",
                f"set income.account to one of: {', '.join(members)}, or add "
                f"{income.account} to household.accounts",
            )
        ]
    return rule_problems(
        household_rules(household, _config_targets(household)),
        {name: account_restrictions(settings, name) for name in members},
    )


def household_symbols(settings: Settings) -> frozenset[str]:
    """Return the symbols the household's targets may give a weight, and so the split place
    in any member and a member's decide buy (its `universe`): the household strategy's
    `universe()`, else the fixed targets' symbols. A member's tax alternate is not one of them
    unless listed: held, it is only held or sold (the tax step buys it, by its own rule, in
    the member that harvests)."""
    household = settings.household
    if household is None:
        return frozenset()
    strategy = household_strategy(household)
    symbols = strategy.universe() if strategy is not None else frozenset(household.targets or ())
    return frozenset(symbols) - {CASH}


def household_universe(settings: Settings) -> frozenset[str]:
    """Return the symbols a household account's snapshot must quote: the household's
    (`household_symbols`) and the members' tax alternates (held symbols are always quoted).
    Not the symbols the split may buy: an alternate is quoted for the tax step only."""
    alternates = {
        symbol
        for name in household_members(settings)
        for symbol in settings.account(name).tax.alternate_symbols
    }
    return household_symbols(settings) | alternates


def household_account(
    settings: Settings, name: str, snapshot: AccountSnapshot, *, withdrawal: Decimal
) -> HouseholdAccount:
    """Return one account as the household planner sees it: its managed holdings valued at
    the snapshot's quotes (`keep` holdings left out, as its planner leaves them out), its
    restrictions and the cash it must keep. Raise `DataError` for a holding without a
    usable price."""
    account = settings.account(name)
    holdings: dict[str, Decimal] = {}
    gains: dict[str, Decimal] = {}
    for position in snapshot.positions:
        if position.qty <= 0 or position.symbol in account.policy.keep:
            continue
        quote = snapshot.quotes.get(position.symbol)
        price = quote.price if quote is not None else None
        if price is None or not price.is_finite() or price <= 0:
            raise DataError(
                f"household account {name}: no usable price for {position.symbol} "
                f"({price}); the household split needs every holding's value"
            )
        holdings[position.symbol] = holdings.get(position.symbol, Decimal(0)) + (
            position.qty * price
        )
        if position.avg_cost is not None:
            gains[position.symbol] = (price - position.avg_cost) * position.qty
    return HouseholdAccount(
        name=name,
        type=account.type,
        cash=snapshot.cash,
        reserved_cash=snapshot.reserved_cash,
        holdings=holdings,
        restrictions=account_restrictions(settings, name),
        buy_only=account.policy.buy_only,
        cash_need=account.policy.cash_buffer + withdrawal,
        gains=gains,
    )
