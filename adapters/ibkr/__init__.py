"""The Interactive Brokers adapter (ib_async, the optional extra `trimtab[ibkr]`); see
docs/ibkr.md.

`PLUGIN` is the `ibkr` entry point. `IbkrBroker` is imported lazily by the plugin, so
validating a configuration needs neither ib_async nor a running IB Gateway.
"""

from __future__ import annotations

__all__ = ["PLUGIN", "IbkrPlugin", "IbkrSettings"]

from adapters.ibkr.config import IbkrSettings
from adapters.ibkr.plugin import PLUGIN, IbkrPlugin
