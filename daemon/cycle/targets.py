"""Strategy targets as a cycle asks for them: the one place a strategy's context (holdings,
prices, the history it looks back on, yields) is put together, for the engine and for the
income plan alike. An account's strategy sees the account (`strategy_targets`); a
[household]'s strategy sees the whole household (`household_targets`), and its weights go to
the household split (`daemon.cycle.household`), as fixed `household.targets` do."""

from __future__ import annotations

__all__ = ["HouseholdTargets", "household_targets", "strategy_targets"]

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from adapters.base import Broker
from daemon.config.household import household_members, household_strategy
from daemon.config.settings import Settings
from daemon.core.calendar import trading_day
from daemon.core.domain import AccountSnapshot, AccountType
from daemon.cycle.history import account_history
from daemon.cycle.yields import broker_yields
from daemon.logs import Log
from daemon.store.db import Database
from strategies.base import Explains, Strategy, StrategyContext


@dataclass(frozen=True, slots=True)
class HouseholdTargets:
    """The household's weights this cycle, and where they came from."""

    weights: Mapping[str, Decimal]
    strategy: str = ""
    """The household strategy that chose them ("": the fixed `household.targets`)."""
    reasons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def strategy_targets(
    settings: Settings,
    account: str,
    *,
    strategy: Strategy,
    broker: Broker,
    snapshot: AccountSnapshot,
    database: Database,
    now: datetime,
    log: Log | None = None,
) -> Mapping[str, Decimal]:
    """Ask the account's strategy for its targets, with the history it looks back on.

    Closes through the previous session come from the account's file or the broker via the
    cache (`daemon.cycle.history`), yields from its dividends; bad history raises here.
    """
    context = _context(
        settings,
        account,
        strategy=strategy,
        broker=broker,
        name=account,
        account_type=settings.account(account).type,
        snapshots=[snapshot],
        database=database,
        now=now,
        log=log,
    )
    return strategy.targets(context)


def household_targets(
    settings: Settings,
    *,
    broker_for: Callable[[str], Broker],
    snapshots: Mapping[str, AccountSnapshot],
    database: Database,
    now: datetime,
    log: Log | None = None,
) -> HouseholdTargets:
    """Return the household's weights: the fixed `household.targets`, or its strategy's.

    The strategy's context is an account's, over the whole household: the members' cash and
    holdings added up, their quotes, and the history and yields of the household's first
    member (its `history_file`, else its broker, from `broker_for`), whichever member's
    cycle asks: so every member's cycle splits the same weights. Its reasons come along
    when it gives them (`Explains`).
    """
    household = settings.household
    assert household is not None
    strategy = household_strategy(household)
    if strategy is None:
        assert household.targets is not None
        return HouseholdTargets(household.targets)
    members = household_members(settings)
    context = _context(
        settings,
        members[0],
        strategy=strategy,
        broker=broker_for(members[0]),
        name="household",
        # The household has no one tax treatment; taxable is the conservative reading.
        account_type=AccountType.TAXABLE,
        snapshots=[snapshots[name] for name in members],
        database=database,
        now=now,
        log=log,
    )
    name = household.strategy or ""
    if isinstance(strategy, Explains):
        allocation = strategy.allocate(context)
        return HouseholdTargets(allocation.weights, name, allocation.reasons)
    return HouseholdTargets(strategy.targets(context), name)


def _context(
    settings: Settings,
    account: str,
    *,
    strategy: Strategy,
    broker: Broker,
    name: str,
    account_type: AccountType,
    snapshots: list[AccountSnapshot],
    database: Database,
    now: datetime,
    log: Log | None,
) -> StrategyContext:
    """Build the context over `snapshots` (one account's, or the household's members'), with
    the history and yields read as `account`'s are."""
    today = trading_day(now, settings.exchange)
    looked_back = account_history(
        strategy,
        settings=settings,
        account=account,
        broker=broker,
        database=database,
        clock=lambda: now,
        log=log,
    )
    prices: dict[str, Decimal] = {}
    holdings: dict[str, Decimal] = {}
    for snapshot in snapshots:
        prices.update((s, q.price) for s, q in snapshot.quotes.items())
    for snapshot in snapshots:
        for position in snapshot.positions:
            holdings[position.symbol] = holdings.get(position.symbol, Decimal(0)) + position.qty
    return StrategyContext(
        trading_day=today,
        account=name,
        account_type=account_type,
        cash=sum((s.cash for s in snapshots), Decimal(0)),
        holdings=holdings,
        prices=prices,
        history=looked_back.history,
        history_expected_through=looked_back.expected_through,
        yields=broker_yields(strategy, broker, prices, today),
    )
