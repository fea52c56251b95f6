"""The manual broker: an account read from the broker's positions exports and traded by
order tickets a person enters by hand (docs/manual.md)."""

from adapters.manual.config import ManualSettings
from adapters.manual.plugin import PLUGIN

__all__ = ["PLUGIN", "ManualSettings"]
