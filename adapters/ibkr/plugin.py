"""The `ibkr` entry point: build an `IbkrBroker` from an account's validated settings."""

from __future__ import annotations

__all__ = ["PLUGIN", "IbkrPlugin"]

from collections.abc import Collection

from pydantic import BaseModel

from adapters.base import Broker, BrokerEnvironment, BrokerPlugin
from adapters.ibkr.config import IbkrSettings
from adapters.ibkr.costs import TRADE_COSTS
from daemon.core.costs import TradeCosts


class IbkrPlugin:
    """Interactive Brokers through ib_async, registered as `ibkr` in `trimtab.brokers`."""

    def __init__(self) -> None:
        self.name: str = "ibkr"
        self.settings_model: type[BaseModel] = IbkrSettings

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker:
        """Return an `IbkrBroker`; it connects on the first call, not here.

        Raises `ConfigError` naming the extra `trimtab[ibkr]` when ib_async is missing.
        """
        if not isinstance(settings, IbkrSettings):
            raise TypeError(f"the ibkr broker needs IbkrSettings, got {type(settings).__name__}")
        # Imported here: validating a config should not need ib_async (an optional extra).
        from adapters.ibkr.broker import IbkrBroker

        return IbkrBroker(settings, env)

    def session_key(self, settings: BaseModel) -> str:
        """One TWS or IB Gateway, at host:port, is one IB login (`BindsSession`): accounts
        behind it never run their cycles at the same time in cluster mode."""
        if not isinstance(settings, IbkrSettings):
            raise TypeError(f"the ibkr broker needs IbkrSettings, got {type(settings).__name__}")
        return f"{settings.host}:{settings.port}"

    def declared_costs(self, settings: BaseModel) -> TradeCosts:
        """IB's published commissions and fees, as bounds (`DeclaresCosts`)."""
        return TRADE_COSTS

    def declared_fractionable(
        self, settings: BaseModel, symbols: Collection[str]
    ) -> frozenset[str]:
        """None of them: trimtab trades IB in whole shares, as `IbkrBroker.snapshot` says
        (`DeclaresFractionable`)."""
        return frozenset()


# Annotated so mypy checks the plugin against the protocol the loader expects.
PLUGIN: BrokerPlugin = IbkrPlugin()
