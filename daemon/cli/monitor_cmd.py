"""`trimtab performance`, `trimtab flows` and `trimtab alerts`: history, flows and alert states."""

from __future__ import annotations

__all__ = ["alerts", "flows_app", "performance_app"]

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.money import usd

if TYPE_CHECKING:
    from daemon.core.movements import CashFlow
    from daemon.monitor.performance_view import AccountPerformance

performance_app = typer.Typer(help="Valuation history, returns and risk.", no_args_is_help=True)
flows_app = typer.Typer(help="Deposits and withdrawals kept out of returns.", no_args_is_help=True)

AccountOption = Annotated[str | None, typer.Option("--account", "-a", help="Only this account.")]
DateOption = Annotated[str | None, typer.Option("--date", help="Day, YYYY-MM-DD (default: today).")]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"date {text!r} is not YYYY-MM-DD", 2)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2%}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _money(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return usd(value)


@performance_app.command("show")
def show(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: AccountOption = None,
    day: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show returns (flows excluded) against the benchmark, risk and concentration."""
    from daemon.monitor.performance_view import performance_view

    with load_app(config) as app:
        settings = app.settings
        if account is not None and account not in settings.accounts:
            fail(f"no account {account}; accounts are {', '.join(settings.accounts)}", 2)
        as_of = _day(day) if day else trading_day(app.clock(), settings.exchange)
        names: list[str | None] = [account] if account else [*settings.accounts, None]
        with app.database.transaction() as session:
            views = [performance_view(session, settings, as_of, name) for name in names]
    if as_json:
        print_json(views)
        return
    for view in views:
        _print_view(view)


def _print_view(view: AccountPerformance) -> None:
    name = view.account or "household"
    summary = view.summary
    console.print(
        styled(
            (name, "bold"),
            f" on {view.as_of}: value {_money(view.value)}, cash "
            f"{_money(view.cash)}, day change {_money(view.day_change)}",
        )
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("", "day", "month", "year", "since start"):
        table.add_column(column, justify="right")
    r = summary.returns
    table.add_row(
        "return (TWR)", *map(_pct, (r.day, r.month_to_date, r.year_to_date, r.since_start))
    )
    if summary.benchmark is not None:
        b = summary.benchmark
        table.add_row(
            view.benchmark or "benchmark",
            *map(_pct, (b.day, b.month_to_date, b.year_to_date, b.since_start)),
        )
    f = view.flows
    table.add_row("deposits", _money(f.day_in), _money(f.month_in), _money(f.year_in), "")
    table.add_row("withdrawals", _money(f.day_out), _money(f.month_out), _money(f.year_out), "")
    console.print(table)
    risk = summary.risk
    var = risk.var
    lines = [
        f"volatility {_pct(risk.volatility)} a year over {risk.observations} daily returns",
        f"max drawdown {risk.max_drawdown.depth:.2%}, now {risk.current_drawdown:.2%} below "
        "the peak",
        f"Sharpe {_ratio(risk.sharpe)}, Sortino {_ratio(risk.sortino)}",
        "VaR -"
        if var is None
        else f"one-day VaR {var.level:.0%}: {_money(var.amount)} ({var.fraction:.2%})",
    ]
    c = view.concentration
    if c is not None and c.largest_symbol is not None:
        lines.append(
            f"largest holding {c.largest_symbol} {c.largest_weight:.1%}, "
            f"Herfindahl {c.herfindahl:.3f}"
        )
    console.print("  " + "\n  ".join(lines) + "\n")


@performance_app.command("record")
def record(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: AccountOption = None,
) -> None:
    """Record the end-of-day valuation now (what `trimtab run` does after the last slot)."""
    from daemon.service.day_end import end_of_day

    with load_app(config) as app:
        if account is not None and account not in app.settings.accounts:
            fail(f"no account {account}; accounts are {', '.join(app.settings.accounts)}", 2)
        results = end_of_day(app, accounts=[account] if account else None)
    failed = False
    for result in results:
        valuation = result.point.valuation if result.point else None
        if valuation is not None:
            console.print(f"{result.account}: {_money(valuation.equity)} at {valuation.as_of}")
        else:
            failed = True
            problems = result.error or "; ".join(result.point.problems if result.point else [])
            console.print(f"{result.account}: not recorded: {problems}", style="red")
    if failed:
        raise typer.Exit(1)


@flows_app.command("add")
def add(
    amount: Annotated[
        str, typer.Option("--amount", help="Positive for a deposit, negative for a withdrawal.")
    ],
    account: Annotated[str, typer.Option("--account", "-a", help="The account.")],
    config: ConfigOption = None,  # type: ignore[assignment]
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Day of the flow, YYYY-MM-DD (default: today). A day counts at its close; "
            "today's at the close or now, whichever is later.",
        ),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why (kept with the flow).")] = "",
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="Your id for it: adding the same ref twice records it once."),
    ] = None,
) -> None:
    """Record a deposit or withdrawal the broker does not report (counted at that day's close).

    Today's (the default) counts at the close or, after it, at the moment it is recorded:
    the money has moved by then, and a cycle that ran after the close today valued the
    account before it. Refused when dated at or before the account's first recorded
    valuation: returns start there, so such a flow would change no return and only distort
    the period totals.
    """
    from daemon.audit.events import CashMovement
    from daemon.core.movements import FLOW_TIME, CashFlow, FlowKind
    from daemon.store.audit_log import AuditLog
    from daemon.store.cash_flows import record_flow

    try:
        value = Decimal(amount)
    except InvalidOperation:
        fail(f"amount {amount!r} is not a number", 2)
    if not value.is_finite() or value == 0:
        fail(f"amount must be a non-zero number, not {amount}", 2)
    with load_app(config) as app:
        if account not in app.settings.accounts:
            fail(f"no account {account}; accounts are {', '.join(app.settings.accounts)}", 2)
        tz = exchange_timezone(app.settings.exchange)
        now = app.clock()
        local = now.astimezone(tz)
        flow_day = _day(day) if day else local.date()
        at = datetime.combine(flow_day, FLOW_TIME, tz)
        flow = CashFlow(
            account=account,
            # Today's (given or by default) counts at the close, or now once that is past:
            # the money has moved by now, after any cycle that ran after the close.
            at=max(at, local) if flow_day == local.date() else at,
            amount=value,
            kind=FlowKind.DEPOSIT if value > 0 else FlowKind.WITHDRAWAL,
            source="manual",
            external_id=ref or uuid.uuid4().hex,
            note=note,
        )
        with app.database.transaction() as session:
            _refuse_before_history(session, flow)
            new = record_flow(session, flow, exchange=app.settings.exchange, now=now)
            if new:
                AuditLog(session).append(
                    CashMovement(
                        kind=flow.kind,
                        amount=value,
                        at=flow.at,
                        source="manual",
                        ref=flow.external_id,
                        note=note,
                    ),
                    at=now,
                    account=account,
                )
    if new:
        console.print(f"{account}: {flow.kind} {_money(abs(value))} on {flow_day} recorded")
    else:
        console.print(f"{account}: flow {ref} was already recorded; nothing changed")


def _refuse_before_history(session: Any, flow: CashFlow) -> None:
    """Refuse a flow at or before the account's first valuation (exit 2, naming the fix).

    `session` is the store's SQLAlchemy session (the CLI names no SQLAlchemy type).

    Returns count a flow in the period between the valuations around it, so one dated before
    the first valuation belongs to no period: it is most likely a wrong date (or year).
    """
    from daemon.store.valuations import latest_valuation, valuations

    day = flow.at.date()
    if latest_valuation(session, flow.account, on_or_before=day - timedelta(days=1)):
        return  # an earlier day has a valuation: the flow falls in a period
    on_or_after = valuations(session, flow.account, first=day)
    if not on_or_after or on_or_after[0].as_of < flow.at:
        return  # nothing recorded yet (returns will start later), or one earlier that day
    first = on_or_after[0]
    fail(
        f"{flow.account}'s returns start at its first recorded valuation, "
        f"{first.as_of:%Y-%m-%d %H:%M} UTC; a flow dated {day} (counted at "
        f"{flow.at:%H:%M} exchange time) comes before it and would change no return. Check "
        "the date: money that moved before trimtab's first cycle is already part of the "
        "starting value, so leave it out",
        2,
    )


@flows_app.command("list")
def list_flows(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """List recorded deposits and withdrawals, oldest first."""
    from daemon.store.cash_flows import flows_between

    with load_app(config) as app:
        names = [account] if account else list(app.settings.accounts)
        with app.database.transaction() as session:
            found = [f for name in names for f in flows_between(session, name)]
    if as_json:
        print_json(found)
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("account", "time (UTC)", "kind", "amount", "source", "id", "note"):
        table.add_column(column)
    for flow in found:
        table.add_row(
            flow.account,
            f"{flow.at:%Y-%m-%d %H:%M}",
            str(flow.kind),
            _money(flow.amount),
            flow.source,
            flow.external_id,
            flow.note,
        )
    console.print(table if found else "no flows recorded")


def alerts(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: AccountOption = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also pending and cleared conditions.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the alerts firing now (with --all: every condition being watched)."""
    from daemon.monitor.alerting import listed_alerts
    from daemon.store.alerts import AlertStore

    with load_app(config) as app, app.database.transaction() as session:
        rows = listed_alerts(AlertStore(session), account=account, firing_only=not show_all)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no alerts firing" if not show_all else "no conditions recorded")
        return
    for row in rows:
        console.print(
            styled(
                (row.account, "bold"),
                f" {row.key} [{row.state}] since {row.since:%Y-%m-%d %H:%M} UTC: {row.message}",
            )
        )
