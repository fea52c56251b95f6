"""The `trimtab` command line.

Building the whole app imports every command module (typer reads each command's signature),
so `main` builds an app of the one command the command line names (`app_for`; the whole `app`
for `--help`, an unknown command or completion), and `app` is built when first used (issue
16: a short command's start). `trimtab --help` or `trimtab config check` should answer at once
too, so a command module imports at its top only what the signatures need and light modules
(typer, rich, the standard library, `daemon.cli.common`, pure core modules); whatever loads
SQLAlchemy, pandas, numpy, the engine, the report or a vendor SDK is imported in the function
that uses it, and names used only in annotations under `TYPE_CHECKING`.
`tests/unit/test_cli_imports.py` checks it; `tests/unit/test_startup_cli.py` the one-command app.

Options before the command: `trimtab --version`, and `trimtab -v COMMAND` (`-vv`) to see
the command's log on a terminal, where only warnings are shown by default (`daemon.logs`).
"""

from __future__ import annotations

__all__ = ["COMMANDS", "app", "app_for", "main", "package_version"]

import importlib
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
import typer.core

from daemon.cli.common import freeze_after_loading

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (name, module under daemon.cli, attribute): a function is one command, a typer.Typer a
    # group of them. In the order `trimtab --help` lists them.
    ("plan", "plan_cmd", "plan"),
    ("backtest", "backtest_cmd", "backtest"),
    ("run", "run_cmd", "run"),
    ("status", "control_cmd", "status"),
    ("kill", "control_cmd", "kill"),
    ("resume", "control_cmd", "resume"),
    ("health", "health_cmd", "health"),
    ("report", "report_cmd", "report"),
    ("check", "check_cmd", "check"),
    ("validate", "validate_cmd", "validate"),
    ("alerts", "monitor_cmd", "alerts"),
    ("income", "income_cmd", "income"),
    ("worker", "worker_cmd", "worker"),
    ("cluster", "cluster_cmd", "cluster_app"),
    ("orders", "orders_cmd", "orders_app"),
    ("audit", "audit_cmd", "audit_app"),
    ("config", "config_cmd", "config_app"),
    ("sim", "sim_cmd", "sim_app"),
    ("manual", "manual_cmd", "manual_app"),
    ("db", "db_cmd", "db_app"),
    ("tax", "tax_cmd", "tax_app"),
    ("performance", "monitor_cmd", "performance_app"),
    ("flows", "monitor_cmd", "flows_app"),
    ("strategies", "strategy_cmd", "strategies_app"),
    ("strategy", "strategy_cmd", "strategy_app"),
    ("prices", "prices_cmd", "prices_app"),
)
"""Every command of `trimtab`, where it is defined; `app` registers them all."""

if TYPE_CHECKING:
    app: typer.Typer
    """The whole command line (built on first use: `from daemon.cli import app`)."""


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return _whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _whole_app() -> typer.Typer:
    """Return `app`, built the first time."""
    built: typer.Typer | None = globals().get("app")
    if built is None:
        built = _build(COMMANDS)
        globals()["app"] = built
    return built


def _build(commands: Iterable[tuple[str, str, str]]) -> typer.Typer:
    """Return the `trimtab` app with `commands` (entries of `COMMANDS`), in their order."""
    built = typer.Typer(
        name="trimtab",
        help="Keep brokerage accounts on their target allocation, unattended.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    built.callback()(_options)
    for name, module, attribute in commands:
        command = getattr(importlib.import_module(f"daemon.cli.{module}"), attribute)
        if isinstance(command, typer.Typer):
            built.add_typer(command, name=name)
        else:
            built.command(name)(command)
    return built


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"trimtab {package_version()}")
        raise typer.Exit


def package_version() -> str:
    """Return trimtab's version: the installed package's (`uv run` installs the checkout),
    else pyproject.toml's, for a checkout imported without being installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trimtab")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print trimtab's version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Show the log on a terminal too (-v: the configured level, -vv: debug).",
        ),
    ] = 0,
) -> None:
    """Apply the options given before the command."""
    from daemon.logs import set_verbosity

    set_verbosity(verbose)


def _flags_take_no_value() -> None:
    """Show a flag in help as `--json`, not `--json <bool>`.

    typer's rich help prints every option's type, a flag's included (typer's plain help and
    click leave it out); a flag's "type" only misleads, so it is dropped here, once.
    """
    shown = typer.core.TyperOption.display_type_rich

    def display_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Read once, when numpy first loads (lazily, after `main` has set them)."""


def main() -> None:
    # The strategies' matrices (a few hundred symbols) are small: one BLAS thread is faster
    # than one per core fighting the other processes of a small host for its cores
    # (docs/benchmarks.md, "Strategy weights"). A value the user set is kept.
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    cli = app_for(sys.argv[1:])
    freeze_after_loading()
    if not _is_terminal(sys.stderr):
        # typer draws a usage error in a box wrapped at 80 columns; in a pipe or a file it
        # is click's plain one-line `Error: ...` instead (help there is plain text too).
        cli.rich_markup_mode = None
    cli()


def app_for(args: Sequence[str]) -> typer.Typer:
    """Return the app that runs `trimtab *args`: one with only the command `args` names, when
    they name one (the options before it apart), else the whole `app`.

    A process runs one command, and importing every command module and reading every
    command's signature is most of a short command's start (issue 16). The command behaves
    the same in either app: the same callback and options before it, the same command
    object. `trimtab --help`, `--version`, an unknown command (whose error suggests the
    known ones) and shell completion get the whole app.
    """
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):
        return _whole_app()
    for arg in args:
        if _VERBOSE.fullmatch(arg):
            continue
        entries = [entry for entry in COMMANDS if entry[0] == arg]
        if not entries:  # an option (--help, --version) or no such command
            break
        return _build(entries)
    return _whole_app()


_VERBOSE = re.compile(r"--verbose|-v+")
"""The options before a command that `app_for` passes over (`-v`, `-vv`, `--verbose`)."""


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False
