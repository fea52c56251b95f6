"""The `Strategy` port: turn a context into target weights.

| member | required | what it is |
|---|---|---|
| `universe()` | yes | every symbol it may give a weight, so the engine can fetch their quotes |
| `targets(context)` | yes | weights by symbol (`CASH` allowed), summing to 1 |
| `allocate(context)` | no | the same weights with a reason for each (`Allocation`, `Explains`) |
| `history_needs()` | no | the symbols and rows of daily closes it reads (`ReadsHistory`) |
| `yield_symbols()` | no | the symbols whose trailing yields it reads (`ReadsYields`) |
| `fixed_targets()` | no | the weights it always gives, known without a context (`FixedTargets`) |

A strategy is found by an entry point in the `trimtab.strategies` group (or `module:attr`)
that names a `StrategyPlugin`: its `params_model` validates the account's `strategy_params`
table, and `create(params)` returns the strategy. Strategies are pure: no I/O, no clock; all
they know arrives in the `StrategyContext`: the day, the holdings and prices, and (for the
strategies that look back) the daily close history up to that day, never later: the context
trims a longer history to its `trading_day` when it is built.

Whatever plans on a strategy's targets asks it through `ask_strategy` (the live cycle, the
household and the income plan in `daemon.cycle.targets`, `trimtab plan --holdings`, the
backtest): an exception
of a plugin's own (a `KeyError` from a bug) becomes a `StrategyError` naming the strategy, so
the account's cycle fails with a message that says whose fix it is, and nothing is sent. The
targets are then checked where every one of them is planned (`daemon.core.inputs.
check_targets`, in `decide`): only symbols of `universe()` and `CASH`, `Decimal` weights.
"""

from __future__ import annotations

__all__ = [
    "Allocation",
    "Explains",
    "FixedTargets",
    "ReadsHistory",
    "ReadsYields",
    "Strategy",
    "StrategyContext",
    "StrategyPlugin",
    "ask_strategy",
]

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from daemon.core.domain import AccountType
from daemon.core.errors import StrategyError, TrimtabError

if TYPE_CHECKING:
    from strategies.history import CloseHistory, HistoryNeeds


def _no_history() -> CloseHistory:
    # numpy loads only when a context is built, never when this port is imported (the CLI's
    # `--help` and `config check` import it).
    from strategies.history import empty_history

    return empty_history()


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may look at: the day, the account, its holdings and prices, and history.

    `history` is trimmed to `trading_day` here, so a strategy cannot look ahead whatever the
    caller passed. `history_expected_through` is the last session whose close should be known
    (None: not checked); `yields` is each symbol's trailing-12-month yield (0.031 for 3.1%),
    for `income`.
    """

    trading_day: date
    account: str
    account_type: AccountType
    cash: Decimal
    """All the account's cash, with what the broker holds for open buys (it is part of the
    account's value, which the planner's weights are of)."""
    holdings: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]
    history: CloseHistory = field(default_factory=_no_history)
    history_expected_through: date | None = None
    yields: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", self.history.until(self.trading_day))


@dataclass(frozen=True, slots=True)
class Allocation:
    """Target weights (summing to exactly 1, `CASH` allowed) and why each symbol has its own."""

    weights: Mapping[str, Decimal]
    reasons: Mapping[str, str]


@runtime_checkable
class Strategy(Protocol):
    def universe(self) -> frozenset[str]: ...

    def targets(self, context: StrategyContext) -> Mapping[str, Decimal]: ...


@runtime_checkable
class Explains(Protocol):
    """Optional: a strategy that can say why it gives each weight (`trimtab strategy weights`)."""

    def allocate(self, context: StrategyContext) -> Allocation: ...


@runtime_checkable
class ReadsHistory(Protocol):
    """Optional: a strategy that reads daily closes says which, so a caller can fetch them."""

    def history_needs(self) -> HistoryNeeds: ...


@runtime_checkable
class ReadsYields(Protocol):
    """Optional: a strategy that reads trailing yields (`StrategyContext.yields`) says whose,
    so a caller can work them out from the broker's dividends."""

    def yield_symbols(self) -> frozenset[str]: ...


@runtime_checkable
class FixedTargets(Protocol):
    """Optional: a strategy whose weights never change says them, so the configuration
    check can hold them to the account's policy (a weight on a `policy.keep` symbol)."""

    def fixed_targets(self) -> Mapping[str, Decimal]: ...


@runtime_checkable
class StrategyPlugin(Protocol):
    name: str
    params_model: type[BaseModel]

    def create(self, params: BaseModel) -> Strategy: ...


T = TypeVar("T")


def ask_strategy(name: str, call: Callable[[], T]) -> T:
    """Return `call()`, a call into strategy `name` (its `targets` or `allocate`).

    trimtab's own errors go on as they are (a `DataError` about its history, a
    `StrategyError` a strategy raises on purpose); any other exception is a fault of the
    plugin: it becomes a `StrategyError` naming the strategy and the fix, the original
    chained as its `__cause__`, so the cycle fails cleanly and nothing is sent.
    """
    try:
        return call()
    except TrimtabError:
        raise
    except Exception as exc:
        raise StrategyError(
            f"strategy {name} raised {type(exc).__name__}: {exc}; fix the plugin (or report "
            "it to its author)"
        ) from exc
