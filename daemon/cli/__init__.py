"""The `trimtab` command line.

Building the app imports every command module (typer reads each command's signature), and
`trimtab --help` or `trimtab config check` should answer at once. So a command module imports
at its top only what the signatures need and light modules (typer, rich, the standard
library, `daemon.cli.common`, pure core modules); whatever loads SQLAlchemy, pandas, numpy,
the engine, the report or a vendor SDK is imported in the function that uses it, and names
used only in annotations under `TYPE_CHECKING`. `tests/unit/test_cli_imports.py` checks it.
"""

from __future__ import annotations

__all__ = ["app", "main"]

import typer

from daemon.cli.audit_cmd import audit_app
from daemon.cli.check_cmd import check
from daemon.cli.config_cmd import config_app
from daemon.cli.control_cmd import kill, resume, status
from daemon.cli.db_cmd import db_app
from daemon.cli.health_cmd import health
from daemon.cli.monitor_cmd import alerts, flows_app, performance_app
from daemon.cli.orders_cmd import orders_app
from daemon.cli.plan_cmd import plan
from daemon.cli.report_cmd import report
from daemon.cli.run_cmd import run
from daemon.cli.sim_cmd import sim_app
from daemon.cli.tax_cmd import tax_app
from daemon.cli.validate_cmd import validate

app = typer.Typer(
    name="trimtab",
    help="Keep brokerage accounts on their target allocation, unattended.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(plan)
app.command()(run)
app.command()(status)
app.command()(kill)
app.command()(resume)
app.command()(health)
app.command()(report)
app.command()(check)
app.command()(validate)
app.command()(alerts)
app.add_typer(orders_app, name="orders")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(sim_app, name="sim")
app.add_typer(db_app, name="db")
app.add_typer(tax_app, name="tax")
app.add_typer(performance_app, name="performance")
app.add_typer(flows_app, name="flows")


def main() -> None:
    app()
