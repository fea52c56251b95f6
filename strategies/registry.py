"""Find a plugin by entry point name or by an explicit `module:attr` (the one lookup).

`daemon.plugins` uses it for brokers and strategies; `composite` uses it for its sleeves
(strategies may not import `daemon.plugins`: the import contract keeps them on the kernel).

A name registered by two distributions is refused, naming both: which one Python would
return depends on the order of `sys.path`, and a plugin that silently replaced a built-in
(`static`, `sim`) would trade, or receive an account's credentials, in its place. A plugin
that fails to import (any exception, not only an `ImportError`) is named with its entry
point and the exception, instead of a traceback that names neither.
"""

from __future__ import annotations

__all__ = [
    "STRATEGY_GROUP",
    "PluginUnusable",
    "installed",
    "load_entry_point",
    "load_strategy",
    "registrations",
]

import importlib
import re
import traceback
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from daemon.core.errors import PluginNotFound
from strategies.base import StrategyPlugin

STRATEGY_GROUP = "trimtab.strategies"

_IMPORTLIB = str(Path(importlib.__file__).parent)
"""Frames of the import machinery, left out of where a plugin's import failed."""

_LOAD_FIX = (
    "correct the plugin's code or reinstall its distribution; if no account uses it, uninstall it"
)


class PluginUnusable(PluginNotFound):
    """A plugin that is installed but cannot be used: two distributions register its name,
    or it fails to import. `problem` and `fix` apart, for `trimtab config check`."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; fix: {fix}")


def installed(group: str = STRATEGY_GROUP) -> list[str]:
    """Return the names registered in `group`, sorted, each once (a name two distributions
    register is listed once too: loading it raises, naming both)."""
    return sorted({ep.name for ep in entry_points(group=group)})


def registrations(group: str, name: str) -> list[EntryPoint]:
    """Return the entry points registering `name` in `group`, one per distribution and value.

    One distribution seen twice (an editable install beside a built copy, one dist-info on
    two `sys.path` entries) with the same value is one registration; `importlib.metadata`
    already keeps only the first distribution of a name, and this keeps that true here.
    """
    registered = list(entry_points(group=group, name=name))
    if len(registered) < 2:
        # Nothing to tell apart; a distribution's name is read from its metadata file.
        return registered
    found: dict[tuple[str, str], EntryPoint] = {}
    for ep in registered:
        found.setdefault((_normalized(_dist_name(ep)), ep.value), ep)
    return list(found.values())


@cache
def load_entry_point(group: str, name: str) -> Any:
    """Return the object `name` (an entry point of `group`, or `module:attr`) names.

    Raise `PluginNotFound` when no distribution registers it, when two do, or when it fails
    to load (naming the exception and the fix).
    """
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except Exception as exc:  # a plugin's import may raise anything; name it
            raise PluginUnusable(
                f"cannot load plugin {name!r}: {_describe(exc)}",
                "check the module and attribute names, the module's code, and that its "
                "package is installed",
            ) from exc
    found = registrations(group, name)
    if not found:
        known = ", ".join(installed(group)) or "none"
        raise PluginNotFound(f"no plugin {name!r} in {group}; known: {known}")
    if len(found) > 1:
        raise PluginUnusable(*_conflict(group, name, found))
    [ep] = found
    try:
        return ep.load()
    except Exception as exc:  # a plugin's import may raise anything; name it
        raise PluginUnusable(
            f"plugin {name!r} in {group} ({ep.value}, from {_dist_label(ep)}) failed to load: "
            f"{_describe(exc)}",
            _LOAD_FIX,
        ) from exc


def load_strategy(name: str) -> StrategyPlugin:
    """Return the strategy plugin called `name` (an entry point name or `module:attr`)."""
    plugin = load_entry_point(STRATEGY_GROUP, name)
    if not isinstance(plugin, StrategyPlugin):
        raise PluginNotFound(
            f"{name!r} is not a strategy plugin (needs name, params_model, create)"
        )
    return plugin


def _conflict(group: str, name: str, found: list[EntryPoint]) -> tuple[str, str]:
    """The problem and the fix of a name that more than one distribution registers."""
    which = "; ".join(f"{_dist_label(ep)} ({ep.value})" for ep in found)
    dists = sorted({_dist_name(ep) for ep in found if ep.dist is not None})
    others = [d for d in dists if _normalized(d) != "trimtab"] or dists
    problem = (
        f"plugin {name!r} in {group} is registered by {len(found)} distributions: {which}; "
        "trimtab uses none of them rather than guess which"
    )
    fix = (
        f"uninstall the one you do not want (pip uninstall {others[-1] if others else '...'}), "
        f'or rename the entry point in one distribution\'s [project.entry-points."{group}"] '
        "and name the new name in the config"
    )
    return problem, fix


def _dist_name(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "an unknown distribution"


def _dist_label(ep: EntryPoint) -> str:
    if ep.dist is None:
        return "an unknown distribution"
    return f"{ep.dist.name} {ep.dist.version}"


def _normalized(name: str) -> str:
    """The distribution name as packaging compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _describe(exc: Exception) -> str:
    """The exception's type and message, and where in the plugin's code it was raised."""
    described = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError):
        return described  # its message names the file and the line
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(("<frozen", _IMPORTLIB)) and frame.filename != __file__
    ]
    if frames:
        described += f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return described
