"""Plugins: found by entry point or module:attr, type-checked, unknown names listed."""

from __future__ import annotations

import pytest

from daemon.core.errors import PluginNotFound
from daemon.plugins import load_broker_plugin, load_strategy_plugin


def test_built_in_plugins_come_from_entry_points() -> None:
    assert load_broker_plugin("sim").name == "sim"
    assert load_strategy_plugin("static").name == "static"


def test_module_attr_names_a_plugin_directly() -> None:
    assert load_broker_plugin("tests.fakes.broker:SECRET_PLUGIN").name == "secret"
    assert load_strategy_plugin("tests.fakes.feeds:UNCHECKED_STRATEGY").name == "unchecked"


def test_unknown_name_lists_the_known_ones_and_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match=r"no plugin 'schwab' in trimtab.brokers; known: .*sim"):
        load_broker_plugin("schwab")


@pytest.mark.parametrize("name", ["tests.fakes.nowhere:PLUGIN", "tests.fakes.broker:NOTHING_HERE"])
def test_module_attr_that_does_not_resolve(name: str) -> None:
    with pytest.raises(PluginNotFound, match="cannot load plugin"):
        load_broker_plugin(name)


def test_an_object_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(PluginNotFound, match="is not a broker plugin"):
        load_broker_plugin("tests.fakes.feeds:UNCHECKED_STRATEGY")
    with pytest.raises(PluginNotFound, match="is not a strategy plugin"):
        load_strategy_plugin("tests.fakes.broker:SECRET_PLUGIN")
