"""The Alpaca adapter (alpaca-py), paper or live; see docs/alpaca.md.

`PLUGIN` is the `alpaca` entry point. `AlpacaBroker` is imported lazily by the plugin, so
validating a configuration does not load alpaca-py.
"""

from __future__ import annotations

__all__ = ["PLUGIN", "AlpacaPlugin", "AlpacaSettings"]

from adapters.alpaca.config import AlpacaSettings
from adapters.alpaca.plugin import PLUGIN, AlpacaPlugin
