"""Find broker and strategy plugins by entry point name or by an explicit `module:attr`.

A name two distributions register, or a plugin that fails to import, raises `PluginNotFound`
naming them and the fix (`strategies.registry`).
"""

from __future__ import annotations

__all__ = [
    "BROKER_GROUP",
    "STRATEGY_GROUP",
    "PluginUnusable",
    "declared_costs",
    "declared_fractionable",
    "installed",
    "load_broker_plugin",
    "load_strategy_plugin",
]

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel

from adapters.base import BrokerPlugin, DeclaresCosts, DeclaresFractionable
from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.errors import PluginNotFound
from strategies.base import StrategyPlugin
from strategies.registry import (
    STRATEGY_GROUP,
    PluginUnusable,
    installed,
    load_entry_point,
    load_strategy,
)

BROKER_GROUP = "trimtab.brokers"


def load_broker_plugin(name: str) -> BrokerPlugin:
    """Return the broker plugin called `name` (an entry point name or `module:attr`)."""
    plugin = load_entry_point(BROKER_GROUP, name)
    if not isinstance(plugin, BrokerPlugin):
        raise PluginNotFound(
            f"{name!r} is not a broker plugin (needs name, settings_model, create)"
        )
    return plugin


def declared_costs(broker: str, broker_settings: Mapping[str, Any]) -> TradeCosts:
    """Return the costs broker plugin `broker` declares for an account with these
    `broker_settings` (`DeclaresCosts`), without building or reaching the broker; none when
    it does not declare them offline. Raises pydantic's ValidationError on bad settings."""
    plugin = load_broker_plugin(broker)
    if not isinstance(plugin, DeclaresCosts):
        return NO_COSTS
    return plugin.declared_costs(_offline(plugin, broker_settings))


def declared_fractionable(
    broker: str, broker_settings: Mapping[str, Any], symbols: Collection[str]
) -> frozenset[str] | None:
    """Return which of `symbols` broker plugin `broker` says it takes in fractions for an
    account with these `broker_settings` (`DeclaresFractionable`), without building or
    reaching the broker; None when it does not declare it offline (Alpaca decides per
    asset): the policy alone then decides. Raises pydantic's ValidationError on bad
    settings."""
    plugin = load_broker_plugin(broker)
    if not isinstance(plugin, DeclaresFractionable):
        return None
    return plugin.declared_fractionable(_offline(plugin, broker_settings), symbols)


def _offline(plugin: BrokerPlugin, broker_settings: Mapping[str, Any]) -> BaseModel:
    """Validate `broker_settings` for a declaration, which never reaches the broker: without
    its credentials (validation context `credentials` false, as `load_config` gives a
    command that reaches no broker), since the caller may not be able to read them."""
    return plugin.settings_model.model_validate(broker_settings, context={"credentials": False})


def load_strategy_plugin(name: str) -> StrategyPlugin:
    """Return the strategy plugin called `name` (an entry point name or `module:attr`)."""
    return load_strategy(name)
