"""The built-in simulated broker: a paper account in trimtab's own database.

`PLUGIN` is the `sim` entry point; tests build `SimBroker(settings, env, prices=...)` with a
`PriceSource` of their own (for example `StaticPrices`), and may hand in a `FaultInjector`
whose sleep and crash they control (`faults=...`). `SimBroker` (its store is SQLAlchemy) is
imported from `adapters.sim.broker` and lazily by the plugin, so validating a configuration
does not load the database layer.
"""

from __future__ import annotations

__all__ = [
    "PLUGIN",
    "CsvPrices",
    "FaultInjector",
    "FaultSettings",
    "PriceSource",
    "SimPlugin",
    "SimSettings",
    "StaticPrices",
    "SyntheticPrices",
]

from adapters.sim.config import SimSettings
from adapters.sim.faults import FaultInjector, FaultSettings
from adapters.sim.plugin import PLUGIN, SimPlugin
from adapters.sim.prices import CsvPrices, PriceSource, StaticPrices, SyntheticPrices
