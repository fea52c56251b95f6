"""The `alpaca` entry point: build an `AlpacaBroker` from an account's validated settings."""

from __future__ import annotations

__all__ = ["PLUGIN", "AlpacaPlugin"]

from collections.abc import Collection

from pydantic import BaseModel

from adapters.alpaca.config import AlpacaSettings
from adapters.alpaca.costs import TRADE_COSTS
from adapters.base import Broker, BrokerEnvironment, BrokerPlugin
from daemon.core.costs import TradeCosts


class AlpacaPlugin:
    """Alpaca through alpaca-py, registered as `alpaca` in `trimtab.brokers`."""

    def __init__(self) -> None:
        self.name: str = "alpaca"
        self.settings_model: type[BaseModel] = AlpacaSettings

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker:
        """Return an `AlpacaBroker`; nothing is requested until the first call."""
        if not isinstance(settings, AlpacaSettings):
            raise TypeError(
                f"the alpaca broker needs AlpacaSettings, got {type(settings).__name__}"
            )
        # Imported here: validating a config should not load alpaca-py and requests.
        from adapters.alpaca.broker import AlpacaBroker

        return AlpacaBroker(settings, env)

    def declared_costs(self, settings: BaseModel) -> TradeCosts:
        """Alpaca's fees on sales, as bounds; no commission (`DeclaresCosts`)."""
        return TRADE_COSTS

    def declared_fractionable(
        self, settings: BaseModel, symbols: Collection[str]
    ) -> frozenset[str]:
        """None of them with `fractional = false` (the snapshot then lists none); else every
        one (`DeclaresFractionable`): which assets Alpaca takes fractions in is its asset
        list's to say, read by a live cycle, not known offline, so the policy decides, as
        before any declaration (the live snapshot may still trade one in whole shares)."""
        if not isinstance(settings, AlpacaSettings):
            raise TypeError(
                f"the alpaca broker needs AlpacaSettings, got {type(settings).__name__}"
            )
        return frozenset(symbols) if settings.fractional else frozenset()


# Annotated so mypy checks the plugin against the protocol the loader expects.
PLUGIN: BrokerPlugin = AlpacaPlugin()
