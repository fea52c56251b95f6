"""`trimtab audit`: read the audit log, filtered or followed; `verify` its chain; `export` it."""

from __future__ import annotations

__all__ = ["audit_app"]

import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    load_app,
    styled,
    visible,
)
from daemon.core.calendar import exchange_timezone, trading_day

if TYPE_CHECKING:
    from daemon.audit.head import AuditHead
    from daemon.audit.record import AuditRecord
    from daemon.bootstrap import App

audit_app = typer.Typer(help="Read, follow, verify and export the audit log.")

KindOption = Annotated[
    list[str] | None,
    typer.Option("--kind", "-k", help="Only records of this kind (repeatable)."),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="From this day (exchange time zone) or ISO time on."),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Up to this day (included) or ISO time (excluded)."),
]
AccountOption = Annotated[str | None, typer.Option("--account", "-a")]


@dataclass(frozen=True, slots=True)
class _Filter:
    since: datetime | None
    until: datetime | None
    account: str | None
    kinds: tuple[str, ...]
    symbol: str | None

    def records(self, app: App, after_seq: int | None = None) -> list[AuditRecord]:
        from daemon.store.audit_log import AuditLog

        with app.database.transaction() as session:
            return AuditLog(session).records(
                since=self.since,
                until=self.until,
                account=self.account,
                kinds=self.kinds,
                symbol=self.symbol,
                after_seq=after_seq,
            )


@audit_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    config: ConfigOption = None,  # type: ignore[assignment]
    day: Annotated[
        str | None,
        typer.Option("--date", help="Day to show, YYYY-MM-DD (default: today, or --since)."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    account: AccountOption = None,
    kind: KindOption = None,
    symbol: Annotated[
        str | None, typer.Option("--symbol", "-s", help="Only records that name this symbol.")
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing records as they are written."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, max=60.0, help="Seconds between reads.")
    ] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Show audit records: one day (in the exchange's time zone) or a range, filtered."""
    if ctx.invoked_subcommand is not None:
        return
    from daemon.audit.export import export_line, scrubbed
    from daemon.audit.view import summarize
    from daemon.config.secrets import secret_values

    if follow and (until is not None or day is not None):
        fail("--follow prints records as they are written: use --since, not --until or --date", 2)
    with load_app(config, read_only=True, broker=False) as app:
        tz = exchange_timezone(app.settings.exchange)
        start, end = _range(app, tz, day, since, until)
        if follow and since is None:
            end = None  # from today's start on, for as long as it runs
        wanted = _Filter(start, end, account, _kinds(kind), symbol.upper() if symbol else None)
        secrets = secret_values(app.settings)
        newest = _last_seq(app)
        records = wanted.records(app)
        if follow:
            last = max([newest, *(r.seq for r in records)])
            _follow(app, wanted, records, last, tz, secrets, interval=interval, as_json=as_json)
            return
    if as_json:
        for record in records:
            typer.echo(export_line(record, secrets))
        return
    if not records:
        console.print("no audit records" + _described(wanted, tz))
        return
    title = f"audit{_described(wanted, tz)} ({tz.key})"
    table = Table(title=title, title_justify="left", show_lines=True)
    for column in ("#", "Time", "Account", "Kind", "What"):
        table.add_column(column, overflow="fold")
    multi_day = start is None or end is None or end - start > timedelta(days=1)
    stamp = "%Y-%m-%d %H:%M:%S" if multi_day else "%H:%M:%S"
    for record in records:
        table.add_row(
            str(record.seq),
            record.recorded_at.astimezone(tz).strftime(stamp),
            record.account or "",
            record.kind,
            summarize(scrubbed(record, secrets)),
        )
    console.print(table)


@audit_app.command()
def verify(
    config: ConfigOption = None,  # type: ignore[assignment]
    kept: Annotated[
        list[str] | None,
        typer.Option(
            "--head",
            metavar="SEQ:HASH",
            help="A head kept outside this machine (a report's footer, a daily digest): "
            "check that the log still holds that record with that hash (repeatable).",
        ),
    ] = None,
) -> None:
    """Check the hash chain and the head file; name the first record that was changed,
    removed or moved, or say that records were cut off the end. With --head, also prove the
    log up to a head you kept elsewhere was not rewritten."""
    from daemon.audit.chain import against_kept
    from daemon.audit.head import AUDIT_HEAD_NAME, read_head
    from daemon.store.audit_log import AuditLog

    heads = [_kept_head(text) for text in kept or ()]
    with load_app(config, read_only=True, broker=False) as app:
        head_path = app.settings.state_dir / AUDIT_HEAD_NAME
        with handle_errors():
            head = read_head(head_path)
        with app.database.transaction() as session:
            log = AuditLog(session)
            broken = log.check(head)
            hashes = {record.seq: record.hash for record in log.records()}
    if broken is None:
        broken = against_kept(hashes, heads)
    if broken is not None:
        fail(f"audit chain broken at record {broken.seq}: {broken.problem}")
    if head is None:
        tail = f"no head file at {head_path}: records cut off the end would not show"
    else:
        tail = f"the head file's record {head.seq} is present and unchanged"
    console.print(styled(("audit chain intact", "green"), f" ({len(hashes)} records; {tail})"))
    if not heads:
        console.print(
            "The hashes are not keyed: a log rewritten with its hashes recomputed passes too. "
            "To prove it was not, give a head kept outside this machine (the report's footer "
            "and the daily digest print one): trimtab audit verify --head SEQ:HASH"
        )
        return
    newest = max(h.seq for h in heads)
    after = sum(1 for seq in hashes if seq > newest)
    console.print(
        f"Every record up to {newest} is as written (it matches the head you kept); "
        f"the {after} record(s) after it are not proven by it."
    )


def _kept_head(text: str) -> AuditHead:
    from daemon.audit.head import AuditHead

    seq, _, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    if not seq.isdigit() or int(seq) < 1 or not re.fullmatch(r"[0-9a-f]{64}", digest):
        fail(
            f"--head {text!r} is not SEQ:HASH (a record number and its 64 hex digit hash, "
            "as the report's footer and the daily digest print them)",
            2,
        )
    return AuditHead(seq=int(seq), hash=digest)


@audit_app.command()
def export(
    since: Annotated[str, typer.Option("--since", help="From this day or ISO time on.")],
    until: UntilOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: standard output).")
    ] = None,
    account: AccountOption = None,
    kind: KindOption = None,
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """Write audit records as JSON lines, oldest first, with any configured secret scrubbed."""
    from daemon.audit.export import export_line
    from daemon.config.secrets import secret_values

    with load_app(config, read_only=True, broker=False) as app:
        tz = exchange_timezone(app.settings.exchange)
        start, end = _range(app, tz, None, since, until)
        records = _Filter(start, end, account, _kinds(kind), None).records(app)
        secrets = secret_values(app.settings)
    lines = [export_line(record, secrets) + "\n" for record in records]
    if out is None:
        sys.stdout.write("".join(lines))
        return
    from daemon.report.writer import write_private

    try:
        write_private(out, "".join(lines))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    console.print(f"wrote {len(lines)} record(s) to {out}")


def _range(
    app: App, tz: ZoneInfo, day: str | None, since: str | None, until: str | None
) -> tuple[datetime | None, datetime | None]:
    if day is not None and (since is not None or until is not None):
        fail("--date cannot be combined with --since/--until", 2)
    if since is None and until is None:
        if day is None:
            wanted = trading_day(app.clock(), app.settings.exchange)
        else:
            wanted = _moment(day, tz, "--date", end=False).date()
        midnight = datetime.combine(wanted, time(), tz)
        return midnight, midnight + timedelta(days=1)
    start = None if since is None else _moment(since, tz, "--since", end=False)
    end = None if until is None else _moment(until, tz, "--until", end=True)
    if start is not None and end is not None and end <= start:
        fail(f"--until {until} is not after --since {since}", 2)
    return start, end


def _moment(text: str, tz: ZoneInfo, option: str, *, end: bool) -> datetime:
    from daemon.audit.export import parse_moment

    try:
        return parse_moment(text, tz, end=end)
    except ValueError as exc:
        fail(f"{option} {exc}", 2)


def _kinds(kinds: list[str] | None) -> tuple[str, ...]:
    from daemon.audit.events import AuditKind

    known = {str(k) for k in AuditKind}
    unknown = sorted(set(kinds or ()) - known)
    if unknown:
        fail(f"--kind {', '.join(unknown)} unknown; kinds are: {', '.join(sorted(known))}", 2)
    return tuple(kinds or ())


def _described(wanted: _Filter, tz: ZoneInfo) -> str:
    parts = []
    if wanted.since is not None:
        parts.append(f"since {wanted.since.astimezone(tz):%Y-%m-%d %H:%M}")
    if wanted.until is not None:
        parts.append(f"until {wanted.until.astimezone(tz):%Y-%m-%d %H:%M}")
    if wanted.account:
        parts.append(f"for {wanted.account}")
    if wanted.kinds:
        parts.append(f"of kind {', '.join(wanted.kinds)}")
    if wanted.symbol:
        parts.append(f"naming {wanted.symbol}")
    return (" " + " ".join(parts)) if parts else ""


def _follow(
    app: App,
    wanted: _Filter,
    first: list[AuditRecord],
    last: int,
    tz: ZoneInfo,
    secrets: frozenset[str],
    *,
    interval: float,
    as_json: bool,
) -> None:
    """Print `first`, then every matching record after record `last`, until Ctrl-C or
    SIGTERM. Appends are serialised by the chain, so sequence numbers arrive in order."""
    # Stopping is handled before the first line is printed: whoever reads the output (a
    # person, a script) may stop the follower as soon as it sees a record.
    with _until_stopped() as stop:
        _emit(first, tz, secrets, as_json, sys.stdout)
        while not stop.wait(interval):
            fresh = wanted.records(app, after_seq=last)
            _emit(fresh, tz, secrets, as_json, sys.stdout)
            if fresh:
                last = fresh[-1].seq


def _last_seq(app: App) -> int:
    from daemon.store.audit_log import AuditLog

    with app.database.transaction() as session:
        return AuditLog(session).last_seq()


def _emit(
    records: list[AuditRecord], tz: ZoneInfo, secrets: frozenset[str], as_json: bool, out: TextIO
) -> None:
    from daemon.audit.export import export_line, scrubbed
    from daemon.audit.view import summarize

    for record in records:
        if as_json:
            out.write(export_line(record, secrets) + "\n")
        else:
            when = record.recorded_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            head = f"#{record.seq} {when} {record.account or '-'} {record.kind}: "
            text = summarize(scrubbed(record, secrets)).replace("\n", "\n" + " " * 8)
            # Written plainly (a follower may be piped into grep), control characters shown.
            out.write(visible(head + text) + "\n")
    out.flush()


@contextmanager
def _until_stopped() -> Iterator[threading.Event]:
    """Yield an event set by SIGTERM; Ctrl-C ends the block quietly too."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield stop
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
