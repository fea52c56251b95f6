"""The `manual` entry point: build a `ManualBroker` from an account's validated settings."""

from __future__ import annotations

__all__ = ["PLUGIN", "ManualPlugin"]

from collections.abc import Collection

from pydantic import BaseModel

from adapters.base import Broker, BrokerEnvironment, BrokerPlugin
from adapters.manual.config import ManualSettings
from daemon.core.costs import NO_COSTS, TradeCosts


class ManualPlugin:
    """A broker without an API, registered as `manual` in `trimtab.brokers`."""

    def __init__(self) -> None:
        self.name: str = "manual"
        self.settings_model: type[BaseModel] = ManualSettings

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker:
        """Return a `ManualBroker`; nothing is read until the first call."""
        from adapters.manual.broker import ManualBroker

        if not isinstance(settings, ManualSettings):
            raise TypeError(
                f"the manual broker needs ManualSettings, got {type(settings).__name__}"
            )
        return ManualBroker(settings, env)

    def declared_costs(self, settings: BaseModel) -> TradeCosts:
        """None: the person trades where trimtab cannot see, and the account's `cash_buffer`
        keeps their commissions back (`DeclaresCosts`, docs/manual.md)."""
        return NO_COSTS

    def declared_fractionable(
        self, settings: BaseModel, symbols: Collection[str]
    ) -> frozenset[str]:
        """Every symbol, or none without `fractional = true`, as `ManualBroker.snapshot` says
        of the symbols it shows (`DeclaresFractionable`)."""
        if not isinstance(settings, ManualSettings):
            raise TypeError(
                f"the manual broker needs ManualSettings, got {type(settings).__name__}"
            )
        return frozenset(symbols) if settings.fractional else frozenset()


# Annotated so mypy checks the plugin against the protocol the loader expects.
PLUGIN: BrokerPlugin = ManualPlugin()
