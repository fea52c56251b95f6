"""Find broker and strategy plugins by entry point name or by an explicit `module:attr`."""

from __future__ import annotations

__all__ = ["load_broker_plugin", "load_strategy_plugin"]

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from adapters.base import BrokerPlugin
from daemon.core.errors import PluginNotFound
from strategies.base import StrategyPlugin

BROKER_GROUP = "trimtab.brokers"
STRATEGY_GROUP = "trimtab.strategies"


def load_broker_plugin(name: str) -> BrokerPlugin:
    """Return the broker plugin called `name` (an entry point name or `module:attr`)."""
    plugin = _load(BROKER_GROUP, name)
    if not isinstance(plugin, BrokerPlugin):
        raise PluginNotFound(
            f"{name!r} is not a broker plugin (needs name, settings_model, create)"
        )
    return plugin


def load_strategy_plugin(name: str) -> StrategyPlugin:
    """Return the strategy plugin called `name` (an entry point name or `module:attr`)."""
    plugin = _load(STRATEGY_GROUP, name)
    if not isinstance(plugin, StrategyPlugin):
        raise PluginNotFound(
            f"{name!r} is not a strategy plugin (needs name, params_model, create)"
        )
    return plugin


@cache
def _load(group: str, name: str) -> Any:
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise PluginNotFound(f"cannot load plugin {name!r}: {exc}") from exc
    found = {ep.name: ep for ep in entry_points(group=group)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise PluginNotFound(f"no plugin {name!r} in {group}; known: {known}")
    try:
        return found[name].load()
    except (ImportError, AttributeError) as exc:
        raise PluginNotFound(f"plugin {name!r} in {group} failed to load: {exc}") from exc
