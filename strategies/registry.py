"""Find a plugin by entry point name or by an explicit `module:attr` (the one lookup).

`daemon.plugins` uses it for brokers and strategies; `composite` uses it for its sleeves
(strategies may not import `daemon.plugins`: the import contract keeps them on the kernel).
"""

from __future__ import annotations

__all__ = ["STRATEGY_GROUP", "installed", "load_entry_point", "load_strategy"]

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from daemon.core.errors import PluginNotFound
from strategies.base import StrategyPlugin

STRATEGY_GROUP = "trimtab.strategies"


def installed(group: str = STRATEGY_GROUP) -> list[str]:
    """Return the names registered in `group`, sorted."""
    return sorted({ep.name for ep in entry_points(group=group)})


@cache
def load_entry_point(group: str, name: str) -> Any:
    """Return the object `name` (an entry point of `group`, or `module:attr`) names."""
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


def load_strategy(name: str) -> StrategyPlugin:
    """Return the strategy plugin called `name` (an entry point name or `module:attr`)."""
    plugin = load_entry_point(STRATEGY_GROUP, name)
    if not isinstance(plugin, StrategyPlugin):
        raise PluginNotFound(
            f"{name!r} is not a strategy plugin (needs name, params_model, create)"
        )
    return plugin
