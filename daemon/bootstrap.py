"""The composition root: the one place where configuration, database, brokers and strategies
are wired together. Nothing is built at import time; commands call `open_app`.

Nothing heavy is imported at import time either: the database (SQLAlchemy, Alembic) and the
engine (pandas, numpy) are imported where they are first built, so a command that never
touches them (`trimtab --help`, `trimtab config check`) starts without them.
"""

from __future__ import annotations

__all__ = ["App", "broker_migrations", "open_app", "utc_now"]

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from adapters.base import (
    BROKER_MEMBERS,
    Broker,
    BrokerEnvironment,
    DeclaresCosts,
    DeclaresFractionable,
    OwnsTables,
)
from daemon.config.problems import problems_from_validation_error
from daemon.config.secrets import secret_values
from daemon.config.settings import Settings, load_config
from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.errors import BrokerError, ConfigError
from daemon.logs import configure_logging
from daemon.plugins import load_broker_plugin, load_strategy_plugin
from strategies.base import Strategy

if TYPE_CHECKING:
    from daemon.cycle.engine import Engine
    from daemon.store.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


def broker_migrations() -> tuple[Path, ...]:
    """Return the migration branches of every installed broker plugin that keeps tables.

    Every installed one, not only the configured ones: a database that once had a broker's
    tables must find that branch's revisions even after the configuration drops the broker.
    """
    plugins = (load_broker_plugin(ep.name) for ep in entry_points(group="trimtab.brokers"))
    return tuple(sorted({p.migrations for p in plugins if isinstance(p, OwnsTables)}))


def database_url(settings: Settings) -> str:
    """Return the configured database URL, or the default SQLite file in the state directory."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return f"sqlite:///{settings.state_dir / 'trimtab.db'}"


@dataclass
class App:
    """Everything a command needs, built once from the configuration."""

    settings: Settings
    config_path: Path
    clock: Callable[[], datetime] = utc_now
    brokers: dict[str, Broker] = field(default_factory=dict)
    """Brokers by account, built on first use (a test may hand in its own)."""
    read_only: bool = False
    """A command that only reads: open an existing database without writing (see
    `open_database`), so it works on a state directory that cannot be written."""
    _database: Database | None = None

    @property
    def database(self) -> Database:
        if self._database is None:
            from daemon.store.db import open_database

            self._database = open_database(
                database_url(self.settings),
                self.settings.state_dir,
                branches=broker_migrations(),
                read_only=self.read_only,
            )
            self._database.secrets = secret_values(self.settings)
        return self._database

    def renew_secrets(self) -> None:
        """Scrub the running configuration's secrets from audit records (after a reload)."""
        if self._database is not None:
            self._database.secrets = secret_values(self.settings)

    def broker(self, account: str) -> Broker:
        """Return the account's broker, built on first use."""
        if account not in self.brokers:
            settings = self.settings.account(account)
            plugin = load_broker_plugin(settings.broker)
            try:
                validated = plugin.settings_model.model_validate(settings.broker_settings)
            except ValidationError as exc:
                # Settings loaded without their credentials (a command that should not need
                # the broker) still name the missing key and its fix, not a traceback.
                prefix = f"accounts.{account}.broker_settings"
                raise ConfigError(problems_from_validation_error(exc, prefix)) from exc
            env = BrokerEnvironment(
                account=account,
                state_dir=self.settings.state_dir,
                clock=self.clock,
                # The process's one engine: on SQLite every writer then shares one pool and
                # queues on BEGIN IMMEDIATE, whichever of trimtab or the sim is writing.
                sql_engine=self.database.engine,
            )
            broker = plugin.create(validated, env)
            missing = [name for name in BROKER_MEMBERS if not hasattr(broker, name)]
            if missing:
                raise BrokerError(
                    f"account {account}: broker plugin {settings.broker!r} gives a broker "
                    f"without {', '.join(missing)}, which the Broker port requires "
                    "(adapters/base.py); update the plugin to this trimtab's port"
                )
            self.brokers[account] = broker
        return self.brokers[account]

    def declared_costs(self, account: str) -> TradeCosts:
        """Return the costs the account's broker would declare (`DeclaresCosts`), without
        building or reaching it; none when its plugin does not declare them offline."""
        settings = self.settings.account(account)
        plugin = load_broker_plugin(settings.broker)
        if not isinstance(plugin, DeclaresCosts):
            return NO_COSTS
        return plugin.declared_costs(plugin.settings_model.model_validate(settings.broker_settings))

    def declared_fractionable(
        self, account: str, symbols: Collection[str]
    ) -> frozenset[str] | None:
        """Return which of `symbols` the account's broker would say it takes in fractions
        (`DeclaresFractionable`), without building or reaching it; None when its plugin does
        not declare it offline (Alpaca decides per asset): the policy alone then decides."""
        settings = self.settings.account(account)
        plugin = load_broker_plugin(settings.broker)
        if not isinstance(plugin, DeclaresFractionable):
            return None
        validated = plugin.settings_model.model_validate(settings.broker_settings)
        return plugin.declared_fractionable(validated, symbols)

    def strategy(self, account: str) -> Strategy:
        settings = self.settings.account(account)
        plugin = load_strategy_plugin(settings.strategy)
        return plugin.create(plugin.params_model.model_validate(settings.strategy_params))

    def engine(
        self,
        *,
        fill_timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
        poll_sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Engine:
        from daemon.cycle.engine import Engine

        return Engine(
            settings=self.settings,
            database=self.database,
            broker_for=self.broker,
            strategy_for=self.strategy,
            clock=self.clock,
            fill_timeout=fill_timeout,
            sleep=sleep,
            should_stop=should_stop,
            poll_sleep=poll_sleep,
            monotonic=monotonic,
        )

    def close(self) -> None:
        for broker in self.brokers.values():
            broker.close()
        self.brokers.clear()
        if self._database is not None:
            self._database.close()
            self._database = None


def open_app(
    config_path: Path,
    *,
    clock: Callable[[], datetime] = utc_now,
    read_only: bool = False,
    credentials: bool = True,
) -> App:
    """Load the configuration (raising `ConfigError`) and configure logging; `credentials`
    false for a command that never reaches a broker (`load_config`)."""
    settings = load_config(config_path, credentials=credentials)
    configure_logging(settings.log.level, settings.log.format)
    return App(settings=settings, config_path=config_path, clock=clock, read_only=read_only)
