"""`trimtab config check` and `trimtab config schema`."""

from __future__ import annotations

__all__ = ["config_app"]

import os
from pathlib import Path

import typer

from daemon.cli.common import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    ConfigOption,
    console,
    print_config_error,
    print_json,
)
from daemon.core.errors import ConfigError

config_app = typer.Typer(help="Check the configuration or print its schema.", no_args_is_help=True)


@config_app.command()
def check(config: ConfigOption = None) -> None:  # type: ignore[assignment]
    """Check the config file; print every problem with its key path and a fix (exit 2)."""
    from daemon.config.settings import check_config

    path = config or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
    problems = check_config(path)
    if problems:
        print_config_error(ConfigError(problems))
        raise typer.Exit(2)
    console.print(f"{path}: configuration OK", style="green")


@config_app.command()
def schema() -> None:
    """Print the JSON schema of the config file (plugins' tables under $defs)."""
    from daemon.config.settings import config_schema

    print_json(config_schema())
