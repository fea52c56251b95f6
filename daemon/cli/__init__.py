"""The `trimtab` command line.

Building the app imports every command module (typer reads each command's signature), and
`trimtab --help` or `trimtab config check` should answer at once. So a command module imports
at its top only what the signatures need and light modules (typer, rich, the standard
library, `daemon.cli.common`, pure core modules); whatever loads SQLAlchemy, pandas, numpy,
the engine, the report or a vendor SDK is imported in the function that uses it, and names
used only in annotations under `TYPE_CHECKING`. `tests/unit/test_cli_imports.py` checks it.

Options before the command: `trimtab --version`, and `trimtab -v COMMAND` (`-vv`) to see
the command's log on a terminal, where only warnings are shown by default (`daemon.logs`).
"""

from __future__ import annotations

__all__ = ["app", "main", "package_version"]

import os
import sys
from typing import Annotated, Any, TextIO

import typer
import typer.core

from daemon.cli.audit_cmd import audit_app
from daemon.cli.backtest_cmd import backtest
from daemon.cli.check_cmd import check
from daemon.cli.cluster_cmd import cluster_app
from daemon.cli.config_cmd import config_app
from daemon.cli.control_cmd import kill, resume, status
from daemon.cli.db_cmd import db_app
from daemon.cli.health_cmd import health
from daemon.cli.income_cmd import income
from daemon.cli.manual_cmd import manual_app
from daemon.cli.monitor_cmd import alerts, flows_app, performance_app
from daemon.cli.orders_cmd import orders_app
from daemon.cli.plan_cmd import plan
from daemon.cli.prices_cmd import prices_app
from daemon.cli.report_cmd import report
from daemon.cli.run_cmd import run
from daemon.cli.sim_cmd import sim_app
from daemon.cli.strategy_cmd import strategies_app, strategy_app
from daemon.cli.tax_cmd import tax_app
from daemon.cli.validate_cmd import validate
from daemon.cli.worker_cmd import worker

app = typer.Typer(
    name="trimtab",
    help="Keep brokerage accounts on their target allocation, unattended.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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


@app.callback()
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
app.command()(plan)
app.command()(backtest)
app.command()(run)
app.command()(status)
app.command()(kill)
app.command()(resume)
app.command()(health)
app.command()(report)
app.command()(check)
app.command()(validate)
app.command()(alerts)
app.command()(income)
app.command()(worker)
app.add_typer(cluster_app, name="cluster")
app.add_typer(orders_app, name="orders")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(sim_app, name="sim")
app.add_typer(manual_app, name="manual")
app.add_typer(db_app, name="db")
app.add_typer(tax_app, name="tax")
app.add_typer(performance_app, name="performance")
app.add_typer(flows_app, name="flows")
app.add_typer(strategies_app, name="strategies")
app.add_typer(strategy_app, name="strategy")
app.add_typer(prices_app, name="prices")


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Read once, when numpy first loads (lazily, after `main` has set them)."""


def main() -> None:
    # The strategies' matrices (a few hundred symbols) are small: one BLAS thread is faster
    # than one per core fighting the other processes of a small host for its cores
    # (docs/benchmarks.md, "Strategy weights"). A value the user set is kept.
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    if not _is_terminal(sys.stderr):
        # typer draws a usage error in a box wrapped at 80 columns; in a pipe or a file it
        # is click's plain one-line `Error: ...` instead (help there is plain text too).
        app.rich_markup_mode = None
    app()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False
