"""`trimtab check`: read-only connectivity and permission checks of every configured account.

Asks each broker (`adapters.base.BrokerChecks`) about the credentials, the account, the target
symbols and the tax alternates, and its calendar, and compares the calendar with the
exchange's. Never sends an order. The rows come from `daemon.monitor.broker_check`; exit 1
when any row fails.
"""

from __future__ import annotations

__all__ = ["check", "exchange_sessions"]

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from daemon.cli.common import ConfigOption, JsonOption, console, load_app, print_json, styled
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.domain import CASH
from daemon.core.errors import TrimtabError
from daemon.logs import get_logger

if TYPE_CHECKING:
    from adapters.base import SessionDay
    from daemon.bootstrap import App
    from daemon.monitor.broker_check import CheckRow

CALENDAR_DAYS = 30
"""How far ahead the broker's calendar is compared with the exchange's."""

T = TypeVar("T")


def check(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this account (default: all).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check every account's broker read-only: keys, account, symbols, calendar. Sends nothing."""
    from daemon.monitor.broker_check import failed

    with load_app(config) as app:
        names = [account] if account else list(app.settings.accounts)
        for name in names:
            app.settings.account(name)  # an unknown name is a ConfigError: exit 2
        rows = [row for name in names for row in account_check_rows(app, name)]
    log = get_logger()
    log.info("broker_check_finished", rows=len(rows), failed=failed(rows))
    if as_json:
        print_json({"ok": not failed(rows), "rows": rows})
    else:
        _print(rows)
    if failed(rows):
        raise typer.Exit(1)


def account_check_rows(app: App, name: str) -> list[CheckRow]:
    """Ask one account's broker every question; stop at the first it cannot answer."""
    from adapters.base import BrokerChecks, CalendarUnavailable, MoreChecks
    from daemon.config.policy import alternate_symbols, share_increment
    from daemon.monitor.broker_check import (
        CheckRow,
        Status,
        account_rows,
        broker_error_row,
        calendar_rows,
        environment_rows,
        no_checks_row,
        state_rows,
        symbol_rows,
    )
    from daemon.store.killswitch import current as current_kill_switch
    from daemon.store.trading_state import account_state

    settings = app.settings.account(name)
    with app.database.transaction() as session:
        kill = current_kill_switch(session)
        state = account_state(session, name)
    rows = state_rows(
        name,
        state.state,
        state.reason,
        kill_switch_reason=(kill.reason or "engaged") if kill.engaged else None,
    )
    try:
        broker = app.broker(name)
    except TrimtabError as exc:
        return [*rows, broker_error_row(name, settings.broker, exc)]
    if not isinstance(broker, BrokerChecks):
        return [*rows, no_checks_row(name, settings.broker)]

    def ask(question: Callable[[], T]) -> T | None:
        try:
            return question()
        except CalendarUnavailable:
            raise
        except TrimtabError as exc:
            rows.append(broker_error_row(name, settings.broker, exc))
            return None

    answer = ask(broker.check_account)
    if answer is None:
        return rows
    rows += account_rows(answer)
    rows += environment_rows(answer, app.settings.mode)
    try:
        universe = sorted(app.strategy(name).universe() - {CASH})
    except TrimtabError as exc:
        rows.append(
            CheckRow(
                name,
                "symbols",
                Status.FAIL,
                f"the strategy {settings.strategy} could not be loaded: {exc}",
                f"fix accounts.{name}.strategy and strategy_params",
            )
        )
        return rows
    # The tax step buys the alternates (a redirected buy, a harvest): the broker must take
    # them as the policy trades them, like the strategy's symbols.
    alternates = alternate_symbols(settings) - set(universe)
    symbols = sorted({*universe, *alternates})
    assets = ask(lambda: broker.check_assets(symbols))
    if assets is not None:
        increments = {s: share_increment(settings.policy, s) for s in symbols}
        rows += symbol_rows(name, assets, increments, alternates=alternates)
    if isinstance(broker, MoreChecks):
        notes = ask(lambda: broker.more_checks(universe))
        rows += [CheckRow(name, n.check, Status(n.level), n.detail, n.fix) for n in notes or ()]
    exchange = app.settings.exchange
    start = trading_day(app.clock(), exchange)
    end = start + timedelta(days=CALENDAR_DAYS)
    try:
        sessions = ask(lambda: broker.calendar(start, end))
    except CalendarUnavailable as exc:
        rows.append(CheckRow(name, "calendar", Status.OK, f"not compared: {exc}"))
        sessions = None
    if sessions is not None:
        rows += calendar_rows(
            name,
            sessions,
            exchange_sessions(exchange, start, end),
            start=start,
            end=end,
            exchange=exchange,
            timezone=exchange_timezone(exchange),
            synthetic=answer.environment == "sim",
        )
    return rows


def exchange_sessions(code: str, start: date, end: date) -> list[SessionDay]:
    """Return the exchange calendar's sessions in [start, end], open and close in UTC (from
    the calendars of those years: the default calendar ends a year after its first use)."""
    from adapters.base import SessionDay
    from daemon.core.sessions import sessions_between

    return [
        SessionDay(day=session.day, open=session.open, close=session.close)
        for session in sessions_between(code, start, end)
    ]


def _print(rows: list[CheckRow]) -> None:
    from daemon.monitor.broker_check import Status

    styles = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}
    table = Table(
        title="trimtab check (read-only; nothing is sent)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("Account", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Detail", overflow="fold")
    table.add_column("Fix", overflow="fold")
    for row in rows:
        style = styles[row.status]
        table.add_row(
            row.account,
            row.check,
            Text(row.status.upper(), style=style),
            row.detail,
            row.fix,
        )
    console.print(table)
    bad = sorted({row.account for row in rows if row.status is Status.FAIL})
    if bad:
        count = sum(1 for row in rows if row.status is Status.FAIL)
        console.print(styled((f"{count} check(s) failed", "bold red"), f" in: {', '.join(bad)}"))
    else:
        console.print("every check passed", style="green")
