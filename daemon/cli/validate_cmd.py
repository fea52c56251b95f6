"""`trimtab validate`: what trimtab planned against what the broker did, over a period.

Reads the audit log, order intents, their events and the recorded fills; the comparison
itself is `daemon.report.validation`. Exit 1 when a finding is a problem (failed cycles,
rejections, unresolved orders, reconciliation differences).
"""

from __future__ import annotations

__all__ = ["load_validation", "validate"]

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table

from daemon.cli.common import ConfigOption, JsonOption, console, fail, load_app, print_json, styled
from daemon.cli.progress import progress
from daemon.core.calendar import exchange_timezone, trading_day
from daemon.core.domain import OrderStatus
from daemon.core.money import usd
from daemon.core.progress import Progress, no_progress

if TYPE_CHECKING:
    from daemon.report.validation import (
        AccountSummary,
        DriftAfter,
        OrderCheck,
        PoolAfter,
        Validation,
    )
    from daemon.store.db import Transaction

DEFAULT_DAYS = 7
_STEPS = 5
"""What `load_validation` tells its progress: records, intents, changes, fills, comparison."""
DEFAULT_MAX_SLIPPAGE_BPS = "20"


def validate(
    config: ConfigOption = None,  # type: ignore[assignment]
    since: Annotated[
        str | None,
        typer.Option("--since", help=f"First day, YYYY-MM-DD (default: {DEFAULT_DAYS} days ago)."),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this account.")
    ] = None,
    max_slippage_bps: Annotated[
        str,
        typer.Option(
            "--max-slippage-bps", help="Flag orders that slipped more than this (basis points)."
        ),
    ] = DEFAULT_MAX_SLIPPAGE_BPS,
    as_json: JsonOption = False,
) -> None:
    """Compare what trimtab planned with what the broker did, from --since up to today."""
    first = _parse_day(since) if since else None
    limit = _parse_bps(max_slippage_bps)
    with load_app(config) as app:
        names = [account] if account else list(app.settings.accounts)
        for name in names:
            app.settings.account(name)  # an unknown name is a ConfigError: exit 2
        exchange = app.settings.exchange
        tz = exchange_timezone(exchange)
        today = trading_day(app.clock(), exchange)
        start = _midnight(first or today - timedelta(days=DEFAULT_DAYS), tz)
        end = _midnight(today + timedelta(days=1), tz)
        with (
            app.database.transaction() as session,
            progress(f"validating {len(names)} account(s)", enabled=not as_json) as advance,
        ):
            result = load_validation(
                session,
                names,
                since=start,
                until=end,
                max_slippage_bps=limit,
                progress=advance,
            )
    if as_json:
        print_json({"ok": result.ok} | _as_dict(result))
    else:
        _print(result, tz)
    if not result.ok:
        raise typer.Exit(1)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a period is read and compared.

    A year is tens of thousands of rows, events and checks, all kept until the result is
    built: the collector would walk them again and again and free nothing (a third of the
    time of a year's validation). Reference counting still frees what is dropped; the
    collector resumes, as it was, when the comparison is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_collector_paused()
def load_validation(
    session: Transaction,
    accounts: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    max_slippage_bps: Decimal,
    progress: Progress = no_progress,
) -> Validation:
    """Read the period's records, intents, events and fills, and compare them; `progress`
    hears each of those five steps done."""

    from daemon.audit.events import AuditKind
    from daemon.report.validation import FillFact, OrderFact
    from daemon.report.validation import validate as compare
    from daemon.store.audit_log import AuditLog
    from daemon.store.book import BookStore
    from daemon.store.intents import IntentStore

    kinds = (
        AuditKind.CYCLE_STARTED,
        AuditKind.PLAN,
        AuditKind.RISK_DECISION,
        AuditKind.CYCLE_FINISHED,
        AuditKind.CYCLE_FAILED,
        AuditKind.RECONCILIATION,
    )
    progress(0, _STEPS)
    records = [
        r
        for r in AuditLog(session).records(since=since, until=until, kinds=kinds)
        if r.account in accounts
    ]
    progress(1, _STEPS)
    intents = IntentStore(session)
    stored = intents.created_between(accounts, since=since, until=until)
    progress(2, _STEPS)
    ids = [found.intent.client_order_id for found in stored]
    reached: dict[str, dict[str, datetime]] = defaultdict(dict)
    for change in intents.changes(ids, (OrderStatus.SUBMITTING, OrderStatus.FILLED)):
        reached[change.client_order_id].setdefault(change.to_status, change.at)
    progress(3, _STEPS)
    fills: dict[str, list[FillFact]] = defaultdict(list)
    for fill in BookStore(session).fills_of_orders(ids):
        fills[fill.client_order_id].append(FillFact(fill.qty, fill.price, fill.at))
    progress(4, _STEPS)
    orders = [
        OrderFact(
            client_order_id=found.intent.client_order_id,
            cycle_id=found.intent.cycle_id,
            account=found.intent.account,
            symbol=found.intent.symbol,
            side=found.intent.side,
            qty=found.intent.qty,
            reference_price=found.intent.reference_price,
            status=found.status,
            filled_qty=found.filled_qty,
            avg_fill_price=found.avg_fill_price,
            message=found.message,
            created_at=found.created_at,
            submitted_at=reached[found.intent.client_order_id].get(OrderStatus.SUBMITTING),
            filled_at=reached[found.intent.client_order_id].get(OrderStatus.FILLED),
            fills=tuple(fills[found.intent.client_order_id]),
        )
        for found in stored
    ]
    result = compare(
        accounts,
        records,
        orders,
        since=since,
        until=until,
        max_slippage_bps=max_slippage_bps,
    )
    progress(_STEPS, _STEPS)
    return result


def _as_dict(result: Validation) -> dict[str, object]:
    return {
        "since": result.since,
        "until": result.until,
        "max_slippage_bps": result.max_slippage_bps,
        "accounts": result.accounts,
        "findings": result.findings,
        "orders": result.orders,
        "drift_after": result.drift_after,
        "pools_after": result.pools_after,
        "mismatches": result.mismatches,
    }


def _print(result: Validation, tz: ZoneInfo) -> None:
    period = (
        f"{result.since.astimezone(tz):%Y-%m-%d} to "
        f"{(result.until - timedelta(seconds=1)).astimezone(tz):%Y-%m-%d}"
    )
    summary = Table(title=f"paper validation {period}", title_justify="left", box=box.SIMPLE_HEAD)
    summary.add_column("")
    for account in result.accounts:
        summary.add_column(account.account, justify="right")
    for label, cell in _MEASURES:
        summary.add_row(label, *(cell(a) for a in result.accounts))
    console.print(summary)
    attention = [
        o
        for o in result.orders
        if o.outcome not in ("filled", "not sent")
        or (o.slippage_bps is not None and o.slippage_bps > result.max_slippage_bps)
    ]
    if attention:
        _print_orders(attention)
    out = [d for d in result.drift_after if d.out_of_band]
    if out:
        _print_out_of_band(out, result.pools_after)
    if result.mismatches:
        table = Table(title="reconciliation differences", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("Time", "Account", "Symbol", "Expected", "Broker"):
            table.add_column(column)
        for m in result.mismatches:
            table.add_row(
                f"{m.at.astimezone(tz):%Y-%m-%d %H:%M}",
                m.account,
                m.symbol,
                _qty(m.expected),
                _qty(m.broker),
            )
        console.print(table)
    for finding in result.findings:
        style = "bold red" if finding.severity == "problem" else "yellow"
        console.print(
            styled(
                (finding.severity.upper(), style),
                f" {finding.account}: {finding.what}\n    fix: {finding.fix}",
            )
        )
    problems = sum(1 for f in result.findings if f.severity == "problem")
    if problems:
        console.print(f"{problems} problem(s): validation failed", style="bold red")
    else:
        console.print("validation passed", style="green")


def _print_out_of_band(out: Sequence[DriftAfter], pools: Sequence[PoolAfter]) -> None:
    """Print each holding outside its band; a pool once, as tested (its weights and targets
    added up, with the primary's band), then each of its legs, marked as in it."""
    tested = {(p.account, p.cycle_id, p.pool): p for p in pools}
    table = Table(
        title="outside the band after the cycle", title_justify="left", box=box.SIMPLE_HEAD
    )
    for column in ("Account", "Cycle", "Symbol", "Weight", "Target", "Band"):
        table.add_column(column)
    said: set[tuple[str, str, str]] = set()
    for d in out:
        key = (d.account, d.cycle_id, d.pool)
        pool = tested.get(key)
        if pool is None:
            table.add_row(
                d.account,
                d.cycle_id,
                d.symbol,
                _pct(d.weight),
                _pct(d.target),
                f"{_pct(d.low)}-{_pct(d.high)}",
            )
            continue
        if key in said:
            continue
        said.add(key)
        band = f"{_pct(pool.low)}-{_pct(pool.high)}"
        table.add_row(d.account, d.cycle_id, pool.name, _pct(pool.weight), _pct(pool.target), band)
        where = f"in {pool.pool}'s pool"
        for leg in out:
            if (leg.account, leg.cycle_id, leg.pool) == key:
                cells = (leg.symbol, _pct(leg.weight), _pct(leg.target), where)
                table.add_row(leg.account, leg.cycle_id, *cells)
    console.print(table)


def _print_orders(orders: Sequence[OrderCheck]) -> None:
    table = Table(title="orders to look at", title_justify="left", box=box.SIMPLE_HEAD)
    for column in (
        "Account",
        "Client order id",
        "Symbol",
        "Side",
        "Qty",
        "Outcome",
        "Filled",
        "Planned",
        "Fill",
        "Slip bps",
        "Detail",
    ):
        table.add_column(column, overflow="fold" if column == "Detail" else "ellipsis")
    for o in orders:
        table.add_row(
            o.account,
            o.client_order_id,
            o.symbol,
            str(o.side),
            _qty(o.qty),
            o.outcome,
            _qty(o.filled_qty),
            _money(o.planned_price),
            _money(o.fill_price),
            "" if o.slippage_bps is None else str(o.slippage_bps),
            o.detail,
        )
    console.print(table)


def _pct(value: Decimal) -> str:
    return f"{value * 100:.2f}%"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _money(value: Decimal | None) -> str:
    return "" if value is None else usd(value)


def _opt(value: Decimal | None, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


_MEASURES: tuple[tuple[str, Callable[[AccountSummary], str]], ...] = (
    ("cycles (failed)", lambda a: f"{a.cycles} ({a.failed_cycles})"),
    ("slots skipped", lambda a: str(a.skipped_slots)),
    ("orders planned", lambda a: str(a.planned)),
    ("denied by checks", lambda a: str(a.denied)),
    ("not sent", lambda a: str(a.not_sent)),
    # Planned orders sent; a buy sent in pieces (the rest after the hold) counts once.
    (
        "sent",
        lambda a: (
            f"{a.sent}" + (f" (in {a.sent_pieces} pieces)" if a.sent_pieces != a.sent else "")
        ),
    ),
    ("filled", lambda a: str(a.filled)),
    ("partially filled", lambda a: str(a.partially_filled)),
    ("rejected", lambda a: str(a.rejected)),
    ("unfilled (cancelled)", lambda a: str(a.unfilled)),
    ("unresolved", lambda a: str(a.unresolved)),
    (
        "slippage bps (avg / worst)",
        lambda a: f"{_opt(a.slippage_bps)} / {_opt(a.worst_slippage_bps)}",
    ),
    ("slippage cost", lambda a: f"{usd(a.slippage_cost)}"),
    (
        "time to fill s (median / max)",
        lambda a: f"{_opt(a.median_seconds_to_fill)} / {_opt(a.max_seconds_to_fill)}",
    ),
    ("cycles ending out of band", lambda a: str(a.cycles_out_of_band_after)),
    ("cycles without drift after", lambda a: str(a.cycles_drift_unknown)),
    ("reconciliation differences", lambda a: str(a.mismatches)),
    ("outside fills", lambda a: str(a.external_fills)),
)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not a date like 2026-11-24", 2)


def _parse_bps(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"--max-slippage-bps {text!r} is not a number", 2)
    if not value.is_finite() or value < 0:
        fail(f"--max-slippage-bps must be zero or more, got {text}", 2)
    return value
