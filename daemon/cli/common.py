"""What every command shares: the --config option, the console, and turning errors into exits."""

from __future__ import annotations

__all__ = [
    "ConfigOption",
    "JsonOption",
    "console",
    "err_console",
    "fail",
    "handle_errors",
    "load_app",
    "print_json",
]

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from daemon.core.errors import ConfigError, TrimtabError

if TYPE_CHECKING:
    from daemon.bootstrap import App

DEFAULT_CONFIG = Path("trimtab.toml")
CONFIG_ENV = "TRIMTAB_CONFIG"

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
if not err_console.is_terminal:
    # An error read from a pipe or a file is one line per message: never hard-wrapped mid-word
    # at a width that depends on, say, the length of a temporary path.
    err_console.soft_wrap = True
if not console.is_terminal:
    # Piped or redirected output (a log file, an e-mail) has no width: use a wide page.
    console.width = 140

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar=CONFIG_ENV,
        help=f"Config file (default: ./{DEFAULT_CONFIG}, or ${CONFIG_ENV}).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def print_config_error(exc: ConfigError) -> None:
    err_console.print(f"[bold red]configuration has {len(exc.problems)} problem(s):[/]")
    for problem in exc.problems:
        err_console.print(f"  [bold]{problem.path}[/]: {problem.problem}")
        err_console.print(f"      fix: {problem.fix}")


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn trimtab's errors into a message and an exit code: 2 for config, 1 otherwise."""
    try:
        yield
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from None
    except TrimtabError as exc:
        fail(str(exc))


@contextmanager
def load_app(config: Path | None, *, read_only: bool = False) -> Iterator[App]:
    """Open the app for one command and close it afterwards (`read_only`: it only reads)."""
    from daemon.bootstrap import open_app

    path = config or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
    with handle_errors():
        app = open_app(path, read_only=read_only)
        try:
            yield app
        finally:
            app.close()


def print_json(value: Any) -> None:
    from daemon.audit.jsonable import to_jsonable

    # Print through plain stdout: rich would wrap and colour long JSON lines.
    typer.echo(json.dumps(to_jsonable(value), indent=2, sort_keys=False))
