"""An account's strategy targets as a cycle asks for them: the one place the strategy's
context (holdings, prices, the history it looks back on, yields) is put together, for the
engine and for the income plan alike. A [household] member's targets come from the split
instead (`daemon.cycle.household`)."""

from __future__ import annotations

__all__ = ["strategy_targets"]

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from adapters.base import Broker
from daemon.config.settings import Settings
from daemon.core.calendar import trading_day
from daemon.core.domain import AccountSnapshot
from daemon.cycle.history import account_history
from daemon.cycle.yields import broker_yields
from daemon.logs import Log
from daemon.store.db import Database
from strategies.base import Strategy, StrategyContext


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
    prices = {s: q.price for s, q in snapshot.quotes.items()}
    context = StrategyContext(
        trading_day=today,
        account=account,
        account_type=settings.account(account).type,
        cash=snapshot.cash,
        holdings={p.symbol: p.qty for p in snapshot.positions},
        prices=prices,
        history=looked_back.history,
        history_expected_through=looked_back.expected_through,
        yields=broker_yields(strategy, broker, prices, today),
    )
    return strategy.targets(context)
