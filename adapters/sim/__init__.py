"""The built-in simulated broker: a paper account in trimtab's own database.

`PLUGIN` is the `sim` entry point; tests build `SimBroker(settings, env, prices=...)` with a
`PriceSource` of their own (for example `StaticPrices`).
"""

from __future__ import annotations

__all__ = [
    "PLUGIN",
    "CsvPrices",
    "PriceSource",
    "SimBroker",
    "SimPlugin",
    "SimSettings",
    "StaticPrices",
    "SyntheticPrices",
]

from adapters.sim.broker import SimBroker
from adapters.sim.config import SimSettings
from adapters.sim.plugin import PLUGIN, SimPlugin
from adapters.sim.prices import CsvPrices, PriceSource, StaticPrices, SyntheticPrices
