"""`trimtab config check` and `trimtab config schema`."""

from __future__ import annotations

__all__ = ["config_app"]

from pathlib import Path
from typing import Any

import typer

from daemon.cli.common import (
    ConfigOption,
    config_path,
    console,
    handle_errors,
    print_config_error,
    print_json,
)
from daemon.core.errors import ConfigError, ConfigProblem, PluginNotFound

config_app = typer.Typer(help="Check the configuration or print its schema.", no_args_is_help=True)


@config_app.command()
def check(config: ConfigOption = None) -> None:  # type: ignore[assignment]
    """Check the config file; print every problem with its key path and a fix (exit 2).

    The schedules get `trimtab run`'s start check too (their slots on their trading day and
    inside the regular session), over a regular week of the exchange."""
    from daemon.config.settings import check_config, load_config
    from daemon.service.schedule_check import check_schedules

    path = config_path(config)
    problems = check_config(path)
    if not problems:
        try:
            problems = check_schedules(load_config(path), quick=True)
        except ConfigError as exc:
            problems = exc.problems
    if problems:
        print_config_error(ConfigError(problems))
        raise typer.Exit(2)
    console.print(f"{path}: configuration OK", style="green")


@config_app.command()
def schema(config: ConfigOption = None) -> None:  # type: ignore[assignment]
    """Print the JSON schema of the config file (plugins' tables under $defs).

    Every installed plugin's table is included. With --config (or $TRIMTAB_CONFIG), so are
    the tables of plugins the file names as `package.module:attr`; without it no file is read.
    """
    from daemon.config.settings import config_schema

    with handle_errors():  # an installed plugin that does not load is named, not a traceback
        result = config_schema()
    if config is not None:
        result.setdefault("$defs", {}).update(_named_plugin_schemas(config))
    print_json(result)


def _named_plugin_schemas(path: Path) -> dict[str, Any]:
    """Schemas of the `module:attr` plugins the file's accounts name (exit 2 on a bad file)."""
    from daemon.config.files import read_config_file
    from daemon.plugins import load_broker_plugin, load_strategy_plugin

    try:
        data = read_config_file(path)
        accounts = data.get("accounts", {})
        schemas: dict[str, Any] = {}
        for name, account in accounts.items() if isinstance(accounts, dict) else ():
            if not isinstance(account, dict):
                continue
            broker, strategy = str(account.get("broker", "")), str(account.get("strategy", ""))
            try:
                if ":" in broker:
                    model = load_broker_plugin(broker).settings_model
                    schemas[f"broker_settings.{broker}"] = model.model_json_schema()
                if ":" in strategy:
                    model = load_strategy_plugin(strategy).params_model
                    schemas[f"strategy_params.{strategy}"] = model.model_json_schema()
            except PluginNotFound as exc:
                raise ConfigError(
                    [ConfigProblem(f"accounts.{name}", str(exc), "name a plugin that loads")]
                ) from None
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from None
    return schemas
