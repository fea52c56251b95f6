"""The `sim` entry point: build a `SimBroker` from an account's validated settings."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "PLUGIN", "SimPlugin"]

from collections.abc import Collection
from pathlib import Path

from pydantic import BaseModel

from adapters.base import Broker, BrokerEnvironment, BrokerPlugin
from adapters.sim.config import SimSettings
from daemon.core.costs import TradeCosts

MIGRATIONS = Path(__file__).parent / "migrations"
"""The sim's own Alembic branch (label `sim`), apart from trimtab's chain; named here so that
loading the plugin loads no SQL."""


class SimPlugin:
    """The built-in simulated broker, registered as `sim` in `trimtab.brokers`."""

    def __init__(self) -> None:
        self.name: str = "sim"
        self.settings_model: type[BaseModel] = SimSettings
        self.migrations: Path = MIGRATIONS
        # `NamesSoldLots`: a paper account has no lots but trimtab's, so its picks stand.
        self.names_sold_lots: bool = True

    def create(self, settings: BaseModel, env: BrokerEnvironment) -> Broker:
        """Return a `SimBroker` for `env.account`, creating its paper account on first use."""
        from adapters.sim.broker import SimBroker

        if not isinstance(settings, SimSettings):
            raise TypeError(f"the sim broker needs SimSettings, got {type(settings).__name__}")
        return SimBroker(settings, env)

    def declared_costs(self, settings: BaseModel) -> TradeCosts:
        """The account's own slippage and commission settings (`DeclaresCosts`)."""
        if not isinstance(settings, SimSettings):
            raise TypeError(f"the sim broker needs SimSettings, got {type(settings).__name__}")
        return settings.trade_costs()

    def declared_fractionable(
        self, settings: BaseModel, symbols: Collection[str]
    ) -> frozenset[str]:
        """Every symbol, or none with `fractional = false`, as `SimBroker.snapshot` says
        (`DeclaresFractionable`)."""
        if not isinstance(settings, SimSettings):
            raise TypeError(f"the sim broker needs SimSettings, got {type(settings).__name__}")
        return frozenset(symbols) if settings.fractional else frozenset()


# Annotated so mypy checks the plugin against the protocol the loader expects.
PLUGIN: BrokerPlugin = SimPlugin()
