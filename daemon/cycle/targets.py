"""Strategy targets as a cycle asks for them: the one place a strategy's context (holdings,
prices, the history it looks back on, yields) is put together, for the engine and for the
income plan alike. An account's strategy sees the account (`strategy_targets`); a
[household]'s strategy sees the whole household (`household_targets`), and its weights go to
the household split (`daemon.cycle.household`), as fixed `household.targets` do.

A strategy is asked through `strategies.base.ask_strategy`: a plugin's own exception fails
the cycle as a `StrategyError` naming it. An account's targets are checked in `decide` (its
universe, Decimal weights); a household strategy's here, before the split spreads them over
the members (`check_targets`, the same check, with the household strategy's universe)."""

from __future__ import annotations

__all__ = ["HouseholdTargets", "history_member", "household_targets", "strategy_targets"]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from adapters.base import Broker, PriceHistory
from daemon.config.household import household_members, household_strategy
from daemon.config.settings import Settings
from daemon.core.calendar import trading_day
from daemon.core.domain import AccountSnapshot, AccountType
from daemon.core.inputs import check_targets, managed_holdings
from daemon.cycle.history import account_history
from daemon.cycle.yields import broker_yields
from daemon.logs import Log
from daemon.store.db import Database
from strategies.base import Explains, Strategy, StrategyContext, ask_strategy


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
        snapshots={account: snapshot},
        database=database,
        now=now,
        log=log,
    )
    name = settings.account(account).strategy
    return ask_strategy(name, lambda: strategy.targets(context))


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
    holdings added up, their quotes, and the history and yields of one member
    (`history_member`), whichever member's cycle asks: so every member's cycle splits the
    same weights. Its reasons come along when it gives them (`Explains`).
    """
    household = settings.household
    assert household is not None
    strategy = household_strategy(household)
    if strategy is None:
        assert household.targets is not None
        return HouseholdTargets(household.targets)
    source = history_member(settings, household_members(settings), broker_for)
    context = _context(
        settings,
        source,
        strategy=strategy,
        broker=broker_for(source),
        name="household",
        # The household has no one tax treatment; taxable is the conservative reading.
        account_type=AccountType.TAXABLE,
        snapshots={name: snapshots[name] for name in household_members(settings)},
        database=database,
        now=now,
        log=log,
    )
    name = household.strategy or ""
    reasons: Mapping[str, str] = MappingProxyType({})
    if isinstance(strategy, Explains):
        allocation = ask_strategy(name, lambda: strategy.allocate(context))
        weights, reasons = allocation.weights, allocation.reasons
    else:
        weights = ask_strategy(name, lambda: strategy.targets(context))
    # Checked before the split spreads them: the members' own check could not name it.
    # A symbol a member holds may keep a weight outside the universe (a `max_turnover` blend
    # moving out of it); each member's decide then checks it never buys more of it.
    held = {p.symbol for s in snapshots.values() for p in s.positions if p.qty > 0}
    checked = check_targets(weights, f"{name} (the household's)", strategy.universe(), held=held)
    return HouseholdTargets(checked, name, reasons)


def history_member(
    settings: Settings, members: Sequence[str], broker_for: Callable[[str], Broker]
) -> str:
    """The member whose daily closes and yields a household strategy reads: the first, in
    the household's order, with a `history_file` or a broker that gives daily closes (a
    manual account listed first has neither); else the first, whose error names the fix."""
    for name in members:
        if settings.account(name).history_file is not None:
            return name
        if isinstance(broker_for(name), PriceHistory):
            return name
    return members[0]


def _context(
    settings: Settings,
    account: str,
    *,
    strategy: Strategy,
    broker: Broker,
    name: str,
    account_type: AccountType,
    snapshots: Mapping[str, AccountSnapshot],
    database: Database,
    now: datetime,
    log: Log | None,
) -> StrategyContext:
    """Build the context over `snapshots` (one account's, or the household's members', by
    account name), with the history and yields read as `account`'s are. Each account's
    `policy.keep` holdings are left out, as its planner leaves them out of the value it
    manages (`managed_holdings`)."""
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
    for snapshot in snapshots.values():
        prices.update((s, q.price) for s, q in snapshot.quotes.items())
    for member, snapshot in snapshots.items():
        owned: dict[str, Decimal] = {}
        for position in snapshot.positions:
            owned[position.symbol] = owned.get(position.symbol, Decimal(0)) + position.qty
        keep = settings.account(member).policy.keep
        for symbol, qty in managed_holdings(owned, keep).items():
            holdings[symbol] = holdings.get(symbol, Decimal(0)) + qty
    return StrategyContext(
        trading_day=today,
        account=name,
        account_type=account_type,
        # All of it, held for open buys too: the value the planner's weights are of, so a
        # strategy's current weights (a `max_turnover` blend's) are the planner's.
        cash=sum((s.total_cash for s in snapshots.values()), Decimal(0)),
        holdings=holdings,
        prices=prices,
        history=looked_back.history,
        history_expected_through=looked_back.expected_through,
        yields=broker_yields(strategy, broker, prices, today),
    )
