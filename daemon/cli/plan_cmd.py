"""`trimtab plan`: what would it trade? Against the configured broker, or a holdings file."""

from __future__ import annotations

__all__ = ["plan"]

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json
from daemon.cli.holdings_file import read_holdings
from daemon.cli.render import plan_json, print_plan
from daemon.core.calendar import trading_day
from daemon.core.errors import DataError

if TYPE_CHECKING:
    from daemon.bootstrap import App
    from daemon.cycle.engine import CycleReport

AccountOption = Annotated[
    str | None, typer.Option("--account", "-a", help="Account name (default: all).")
]
WithdrawOption = Annotated[
    str, typer.Option("--withdraw", help="Cash to raise in this plan (currency).")
]


def plan(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: AccountOption = None,
    holdings: Annotated[
        Path | None,
        typer.Option("--holdings", help="Plan for the holdings in this JSON file; no broker."),
    ] = None,
    withdraw: WithdrawOption = "0",
    as_json: JsonOption = False,
) -> None:
    """Plan one cycle and show the drift table and orders. Never submits anything."""
    withdrawal = parse_amount(withdraw, "--withdraw")
    with load_app(config) as app:
        if holdings is not None:
            _offline(app, holdings, account, withdrawal, as_json)
            return
        names = [account] if account else list(app.settings.accounts)
        reports = [app.engine().plan(name, withdrawal=withdrawal) for name in names]
        failed = [r for r in reports if r.outcome == "failed"]
        if as_json:
            shaped = {
                r.account: (plan_json(r.plan) if r.plan else {"error": r.error}) for r in reports
            }
            print_json(shaped[names[0]] if account else shaped)
        else:
            for report in reports:
                _print_report(report)
        if failed:
            raise typer.Exit(1)


def parse_amount(text: str, option: str) -> Decimal:
    try:
        amount = Decimal(text)
    except ArithmeticError:
        fail(f"{option} {text!r} is not a number", 2)
    if not amount.is_finite() or amount < 0:
        fail(f"{option} must be a positive number, not {text}", 2)
    return amount


def _print_report(report: CycleReport) -> None:
    if report.plan is None:
        console.print(f"[bold red]{report.account}: cycle failed[/]: {report.error}")
        return
    label = ""
    if report.snapshot is not None:
        sources = {q.source for q in report.snapshot.quotes.values()}
        synthetic = any(q.synthetic for q in report.snapshot.quotes.values())
        label = ", ".join(sorted(sources)) + (" [bold yellow](SYNTHETIC)[/]" if synthetic else "")
    print_plan(console, f"{report.account} ({report.cycle_id})", report.plan, price_label=label)
    if report.review is not None:
        for decision in report.review.denied:
            console.print(
                f"  [yellow]refused[/] {decision.side} {decision.symbol}: "
                f"{decision.check}: {decision.reason}"
            )
    console.print()


def _offline(app: App, path: Path, account: str | None, withdrawal: Decimal, as_json: bool) -> None:
    from daemon.config.policy import planning_policy
    from daemon.core.inputs import check_targets
    from daemon.core.planner import PlanInput, plan_rebalance
    from strategies.base import StrategyContext

    names = list(app.settings.accounts)
    if account is None and len(names) > 1:
        fail(f"--holdings needs --account (one of: {', '.join(names)}) for targets and policy", 2)
    name = account or names[0]
    settings = app.settings.account(name)
    try:
        held = read_holdings(path)
        context = StrategyContext(
            trading_day=trading_day(app.clock(), app.settings.exchange),
            account=name,
            account_type=settings.type,
            cash=held.cash,
            holdings=held.holdings,
            prices=held.prices,
        )
        targets = check_targets(app.strategy(name).targets(context), settings.strategy)
        plan_input = PlanInput(
            cash=held.cash,
            holdings=held.holdings,
            prices=held.prices,
            targets=targets,
            withdrawal=withdrawal,
        )
        result = plan_rebalance(plan_input, planning_policy(settings))
    except DataError as exc:
        fail(str(exc), 1)
    if as_json:
        print_json(plan_json(result))
    else:
        print_plan(console, f"{name} (offline: {path.name})", result, price_label="from file")
