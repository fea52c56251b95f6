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
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from adapters.base import (
    BROKER_MEMBERS,
    Broker,
    BrokerEnvironment,
    OwnsTables,
)
from daemon.config.problems import problems_from_validation_error
from daemon.config.secrets import secret_values
from daemon.config.settings import Settings, load_config
from daemon.core.costs import TradeCosts
from daemon.core.errors import BrokerError, ConfigError, PluginNotFound
from daemon.logs import configure_logging, get_logger
from daemon.plugins import (
    BROKER_GROUP,
    PluginUnusable,
    declared_costs,
    declared_fractionable,
    installed,
    load_broker_plugin,
    load_strategy_plugin,
)
from strategies.base import Strategy

if TYPE_CHECKING:
    from daemon.cycle.engine import Engine
    from daemon.store.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


def broker_migrations(
    configured: Collection[str] | None = None, *, recorded: Collection[str] | None = None
) -> tuple[Path, ...]:
    """Return the migration branches of the broker plugins that keep tables the database needs.

    `configured`: the brokers the accounts name; each must load. Another installed broker
    plugin is read only when the database records a revision that trimtab's chain and the
    configured brokers' branches do not explain (`recorded`: the database's revisions; empty
    for a new database, None when they could not be read: then every installed one that
    loads): a database keeps finding a branch after the configuration drops its broker. One
    that fails to load is skipped with a warning, unless the database records a revision
    nothing else explains: its tables may need it, and trimtab stops naming it.

    Without `configured` (tests, `trimtab db init`): every installed plugin, each of which
    must load.
    """
    if configured is None:
        plugins = [load_broker_plugin(name) for name in installed(BROKER_GROUP)]
        return tuple(sorted({p.migrations for p in plugins if isinstance(p, OwnsTables)}))
    from daemon.store.revisions import known_revisions

    branches = {
        plugin.migrations
        for plugin in map(load_broker_plugin, configured)
        if isinstance(plugin, OwnsTables)
    }
    unexplained: set[str] = set()
    if recorded is not None:
        unexplained = set(recorded) - known_revisions(branches)
        if not unexplained:
            return tuple(sorted(branches))
    failed: dict[str, PluginNotFound] = {}
    for name in installed(BROKER_GROUP):
        if name in configured:
            continue
        try:
            plugin = load_broker_plugin(name)
        except PluginNotFound as exc:
            failed[name] = exc
            continue
        if isinstance(plugin, OwnsTables) and (
            recorded is None or unexplained & known_revisions({plugin.migrations})
        ):
            branches.add(plugin.migrations)
    problems = {
        name: exc.problem if isinstance(exc, PluginUnusable) else str(exc)
        for name, exc in failed.items()
    }
    still = unexplained - known_revisions(branches) if unexplained and failed else set()
    if still:
        raise PluginNotFound(
            f"the database records migration revision(s) {', '.join(sorted(still))}, which "
            "neither trimtab nor a broker plugin that loads provides: they migrate the tables "
            f"of a broker plugin that failed to load ({'; '.join(problems.values())}); fix: "
            "correct or reinstall that plugin before trimtab opens the database (uninstalled, "
            "its tables would have no migrations)"
        )
    log = get_logger()
    for name, problem in problems.items():
        log.warning(
            "broker_plugin_skipped",
            plugin=name,
            problem=problem,
            note="no account uses it",
            fix=f"correct or uninstall the distribution that installs broker plugin {name!r}",
        )
    return tuple(sorted(branches))


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
    _branches: tuple[Path, ...] | None = None
    """The broker branches the database was opened with (when this App opened it)."""

    @property
    def database(self) -> Database:
        if self._database is None:
            from daemon.store.db import open_database

            url = database_url(self.settings)
            branches = self.database_branches()
            self._database = open_database(
                url, self.settings.state_dir, branches=branches, read_only=self.read_only
            )
            self._branches = branches
            self._database.secrets = secret_values(self.settings)
        return self._database

    def database_branches(self) -> tuple[Path, ...]:
        """Return the broker branches the database needs: the configured brokers' and those
        it already records (`broker_migrations`)."""
        from daemon.store.revisions import recorded_revisions

        configured = sorted({account.broker for account in self.settings.accounts.values()})
        recorded = recorded_revisions(database_url(self.settings), self.settings.state_dir)
        return broker_migrations(configured, recorded=recorded)

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
            database = self.database
            if (
                isinstance(plugin, OwnsTables)
                and self._branches is not None
                and plugin.migrations not in self._branches
            ):
                # A reload named a broker whose tables the database was opened without.
                from daemon.store.db import migrate

                self._branches = tuple(sorted({*self._branches, plugin.migrations}))
                migrate(database, self._branches)
            env = BrokerEnvironment(
                account=account,
                state_dir=self.settings.state_dir,
                clock=self.clock,
                # The process's one engine: on SQLite every writer then shares one pool and
                # queues on BEGIN IMMEDIATE, whichever of trimtab or the sim is writing.
                sql_engine=database.engine,
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
        return declared_costs(settings.broker, settings.broker_settings)

    def declared_fractionable(
        self, account: str, symbols: Collection[str]
    ) -> frozenset[str] | None:
        """Return which of `symbols` the account's broker would say it takes in fractions
        (`DeclaresFractionable`), without building or reaching it; None when its plugin does
        not declare it offline (Alpaca decides per asset): the policy alone then decides."""
        settings = self.settings.account(account)
        return declared_fractionable(settings.broker, settings.broker_settings, symbols)

    def strategy(self, account: str) -> Strategy:
        settings = self.settings.account(account)
        plugin = load_strategy_plugin(settings.strategy)
        return plugin.create(plugin.params_model.model_validate(settings.strategy_params))

    def engine(
        self,
        *,
        fill_timeout: float | None = None,
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
            self._branches = None


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
