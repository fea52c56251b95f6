"""Find broker and strategy plugins by entry point name or by an explicit `module:attr`.

A name two distributions register, or a plugin that fails to import, raises `PluginNotFound`
naming them and the fix (`strategies.registry`).
"""

from __future__ import annotations

__all__ = [
    "BROKER_GROUP",
    "STRATEGY_GROUP",
    "PluginUnusable",
    "installed",
    "load_broker_plugin",
    "load_strategy_plugin",
]

from adapters.base import BrokerPlugin
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


def load_strategy_plugin(name: str) -> StrategyPlugin:
    """Return the strategy plugin called `name` (an entry point name or `module:attr`)."""
    return load_strategy(name)
