"""`trimtab income`: the monthly income plan's next 12 months and how its next payout is raised."""

from __future__ import annotations

__all__ = ["income"]

from typing import TYPE_CHECKING, Any

from daemon.cli.common import ConfigOption, JsonOption, console, load_app, print_json, styled

if TYPE_CHECKING:
    from daemon.cycle.income import IncomeOutlook

NO_PLAN = "no income plan is configured: add an [income] table (see docs/income.md)"


def income(
    config: ConfigOption = None,  # type: ignore[assignment]
    as_json: JsonOption = False,
) -> None:
    """Show the next 12 months of the income plan: expected dividends, planned withdrawals,
    the gap sales must raise, and how the next payout would be raised today (sends nothing)."""

    from daemon.audit.events import IncomeRefused
    from daemon.core.errors import ConfigError
    from daemon.cycle.income import outlook, read_household
    from daemon.logs import get_logger
    from daemon.store.audit_log import AuditLog

    with load_app(config) as app:
        if app.settings.income is None:
            if as_json:
                print_json({"income": None, "message": NO_PLAN})
            else:
                console.print(NO_PLAN)
            return
        now = app.clock()
        household = read_household(
            app.settings,
            database=app.database,
            broker_for=app.broker,
            strategy_for=app.strategy,
            now=now,
            log=get_logger(command="income"),
        )
        seen = outlook(app.settings, household, app.broker)
        try:
            seen.next_plan.check()
        except ConfigError as exc:
            problem = exc.problems[0]
            with app.database.transaction() as session:
                AuditLog(session).append(
                    IncomeRefused(
                        seen.next_window.month,
                        seen.next_plan.amount,
                        seen.next_plan.raised,
                        problem.problem,
                        problem.fix,
                    ),
                    at=now,
                    account=app.settings.income.account,
                )
            _show(seen, as_json)
            raise
        _show(seen, as_json)


def _show(seen: IncomeOutlook, as_json: bool) -> None:
    if as_json:
        print_json(_as_json(seen))
        return
    from rich.table import Table

    from daemon.core.money import usd

    console.print(
        styled(
            "household value ",
            (usd(seen.household_value), "bold"),
            "; next payout ",
            (f"{seen.next_window.payout}", "bold"),
            f" (raising from {seen.next_window.raise_from})",
        )
    )
    table = Table(title="income plan, next 12 months")
    for column in ("Month", "Payout", "Expected dividends", "Withdrawal", "Gap (sales)"):
        table.add_column(column, justify="left" if column in ("Month", "Payout") else "right")
    for row in seen.months:
        table.add_row(
            row.month, str(row.payout), usd(row.dividends), usd(row.withdrawal), usd(row.gap)
        )
    total_div = sum((r.dividends for r in seen.months), type(seen.household_value)(0))
    total_out = sum((r.withdrawal for r in seen.months), type(seen.household_value)(0))
    total_gap = sum((r.gap for r in seen.months), type(seen.household_value)(0))
    table.add_row("total", "", usd(total_div), usd(total_out), usd(total_gap), style="bold")
    console.print(table)
    if seen.without_dividends:
        console.print(
            f"no dividends expected from {', '.join(seen.without_dividends)}: no dividend "
            "history at the broker and no yield in [income] yields"
        )
    plan = seen.next_plan
    console.print(styled(("next payout, raised today:", "bold"), f" {usd(plan.amount)}"))
    for account, amount in sorted(plan.from_cash.items()):
        console.print(f"  cash in {account}: {usd(amount)}")
    for sale in plan.sales:
        console.print(f"  sell {usd(sale.value)}: {sale.reason}")
    for skipped in plan.skipped:
        c = skipped.candidate
        console.print(f"  not sold: {c.symbol} in {c.account} ({skipped.reason})")
    for transfer in plan.transfers:
        console.print(
            styled(
                ("  transfer ", "yellow"),
                f"{usd(transfer.amount)} from {transfer.from_account} to "
                f"{transfer.to_account}: {transfer.note}",
            )
        )
    if plan.shortfall > 0:
        console.print(styled(("  short by ", "bold red"), usd(plan.shortfall)))
    for account in seen.unscheduled:
        console.print(
            styled(
                ("  warning: ", "yellow"),
                f"{account}'s schedule has no slot from {seen.next_window.raise_from} to "
                f"{seen.next_window.payout}: its share will not be raised (docs/income.md)",
            )
        )


def _as_json(seen: IncomeOutlook) -> dict[str, Any]:
    from daemon.cycle.income import planned_event

    return {
        "household_value": seen.household_value,
        "months": seen.months,
        "next": planned_event(seen.next_window, seen.next_plan),
        "raise_from": seen.next_window.raise_from,
        "shortfall": seen.next_plan.shortfall,
        "without_dividends": seen.without_dividends,
        "unscheduled": seen.unscheduled,
    }
