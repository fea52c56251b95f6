"""`trimtab plan`: what would it trade? Against the configured broker, or a holdings file."""

from __future__ import annotations

__all__ = ["plan"]

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled
from daemon.cli.holdings_file import read_holdings
from daemon.cli.render import household_json, plan_json, print_plan
from daemon.core.calendar import trading_day
from daemon.core.errors import DataError

if TYPE_CHECKING:
    from daemon.bootstrap import App
    from daemon.core.cycle_report import CycleReport
    from daemon.core.risk import CheckDecision

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
                r.account: (plan_json(r.plan, r.refusals) if r.plan else {"error": r.error})
                for r in reports
            }
            chosen = shaped[names[0]] if account else shaped
            # The household view is one more key, beside the accounts (or the one account's
            # plan): a config with [household] cannot name an account "household".
            split = next((r.household for r in reports if r.household is not None), None)
            if split is not None:
                chosen = {**chosen, "household": household_json(split)}
            print_json(chosen)
        else:
            _print_household(reports)
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


def _print_household(reports: Sequence[CycleReport]) -> None:
    """Show the household first: the split the household accounts were planned on."""
    from daemon.cli.household_view import print_household

    split = next((r.household for r in reports if r.household is not None), None)
    if split is not None:
        print_household(console, split)


def _print_report(report: CycleReport) -> None:
    if report.plan is None:
        console.print(styled((f"{report.account}: cycle failed", "bold red"), f": {report.error}"))
        return
    label, synthetic = "", False
    if report.snapshot is not None:
        sources = {q.source for q in report.snapshot.quotes.values()}
        synthetic = any(q.synthetic for q in report.snapshot.quotes.values())
        label = ", ".join(sorted(sources))
    print_plan(
        console,
        f"{report.account} ({report.cycle_id})",
        report.plan,
        price_label=label,
        synthetic=synthetic,
    )
    _print_refusals(report.refusals)
    console.print()


def _print_refusals(refusals: Sequence[CheckDecision]) -> None:
    for refusal in refusals:
        console.print(
            styled(
                "  ",
                ("refused", "yellow"),
                f" {refusal.side} {refusal.symbol}: {refusal.check}: {refusal.reason}",
            )
        )


def _offline(app: App, path: Path, account: str | None, withdrawal: Decimal, as_json: bool) -> None:
    """Decide for the holdings in a file, as a cycle would, without a broker or the database.

    The tax step sees an empty ledger (no lots, no wash-sale windows: the file has no
    history) and the checks see a clear kill switch and an ACTIVE account; the limits, the
    bands and the market's hours are the configured ones.
    """
    from dataclasses import replace

    from daemon.config.policy import decision_input
    from daemon.core.calendar import market_open
    from daemon.core.decide import CycleState, decide
    from daemon.core.domain import CASH
    from daemon.core.errors import StrategyError
    from daemon.core.inputs import check_targets, managed_holdings
    from daemon.cycle.history import account_history
    from daemon.cycle.tax import empty_ledger
    from daemon.cycle.withdrawal import check_withdrawal, never_sold
    from strategies.base import StrategyContext, ask_strategy

    names = list(app.settings.accounts)
    if account is None and len(names) > 1:
        fail(f"--holdings needs --account (one of: {', '.join(names)}) for targets and policy", 2)
    name = account or names[0]
    settings = app.settings.account(name)
    from daemon.config.household import household_members

    if name in household_members(app.settings):
        fail(
            f"{name} is in the [household]: its targets come from the household split, which "
            "needs every member's holdings, not one file; run `trimtab plan` without "
            "--holdings (it reads the brokers and submits nothing)",
            2,
        )
    now = app.clock()
    try:
        held = read_holdings(path)
        today = trading_day(now, app.settings.exchange)
        strategy = app.strategy(name)
        # No broker here: a strategy that looks back reads the account's history_file.
        looked_back = account_history(
            strategy,
            settings=app.settings,
            account=name,
            broker=None,
            database=None,
            clock=lambda: now,
        )
        context = StrategyContext(
            trading_day=today,
            account=name,
            account_type=settings.type,
            cash=held.cash,
            # As a cycle's context: without the `keep` holdings the planner does not manage.
            holdings=managed_holdings(held.holdings, settings.policy.keep),
            prices=held.prices,
            history=looked_back.history,
            history_expected_through=looked_back.expected_through,
        )
        targets = ask_strategy(settings.strategy, lambda: strategy.targets(context))
        universe = strategy.universe()
        # `decide` checks them again; here first, so a symbol outside the strategy's
        # universe is named as the strategy's fault, not as a price the file lacks.
        owned = {s for s, q in held.holdings.items() if q > 0}
        check_targets(targets, settings.strategy, universe, held=owned)
        held.require_prices(path, targets)
        snapshot = held.snapshot(name, now, source=f"file {path.name}")
        # What the broker declares it takes fractions in, from its settings (the sim's
        # `fractional`), as its snapshot would say: the plan is then in whole shares where
        # a live cycle's is. A broker that decides per asset (Alpaca) does not declare it.
        symbols = {p.symbol for p in snapshot.positions} | set(snapshot.quotes)
        symbols |= set(targets) - {CASH}
        snapshot = replace(snapshot, fractionable=app.declared_fractionable(name, symbols))
        # As a cycle does: a --withdraw above what it may sell is refused (exit 2).
        check_withdrawal(name, snapshot, withdrawal, unsold=never_sold(app.settings, name))
        decision = decide(
            decision_input(
                app.settings,
                name,
                snapshot=snapshot,
                targets=targets,
                universe=universe,
                state=CycleState(
                    market_open=settings.policy.outside_hours
                    or market_open(now, app.settings.exchange)
                ),
                tax=empty_ledger(app.settings, name, now),
                now=now,
                submit=False,
                withdrawal=withdrawal,
                # What the broker declares it takes, from its settings: no broker is asked.
                costs=app.declared_costs(name),
            )
        )
    except DataError as exc:
        # Everything the offline plan knows came from the file: a data problem is bad input.
        fail(str(exc), 2)
    except StrategyError as exc:
        fail(str(exc), 1)
    if as_json:
        print_json(plan_json(decision.plan, decision.refusals))
    else:
        title = f"{name} (offline: {path.name})"
        print_plan(console, title, decision.plan, price_label="from file")
        _print_refusals(decision.refusals)
