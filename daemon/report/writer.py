"""Write a day's report into the state directory and send its summary to the owner."""

from __future__ import annotations

__all__ = [
    "ReportWritten",
    "publish_daily_report",
    "render_page",
    "report_message",
    "report_path",
    "send_report",
    "write_daily_report",
    "write_private",
]

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from daemon.config.secrets import secret_values
from daemon.config.settings import Settings
from daemon.core.progress import Progress, no_progress
from daemon.core.redaction import redact, redact_data
from daemon.logs import get_logger
from daemon.monitor.notify import Message, Notifier
from daemon.report.data import gather
from daemon.report.html import render_html
from daemon.report.model import DailyReport
from daemon.report.summary import attention, summary_text
from daemon.store.db import Database

REPORTS_DIR = "reports"


class ReportSources(Protocol):
    """What writing a report needs of the running app (`daemon.bootstrap.App` has it): the
    report sits below the composition root and is handed these, never builds them."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def database(self) -> Database: ...


@dataclass(frozen=True, slots=True)
class ReportWritten:
    path: Path
    report: DailyReport
    summary: str


def report_path(state_dir: Path, day: date, account: str | None = None) -> Path:
    """Return where the day's report is kept: `reports/YYYY-MM-DD[-account].html`."""
    name = f"{day.isoformat()}-{account}.html" if account else f"{day.isoformat()}.html"
    return state_dir / REPORTS_DIR / name


def write_daily_report(
    app: ReportSources,
    day: date,
    *,
    accounts: Sequence[str] | None = None,
    out: Path | None = None,
    progress: Progress = no_progress,
) -> ReportWritten:
    """Gather, render and write the report of `day` (default place: the state directory).

    `progress` hears (steps done, steps): each account gathered, the household and tax, the
    page drawn (charts are most of it).
    """

    def gathering(done: int, total: int) -> None:
        progress(done, total + 1)

    with app.database.transaction() as session:
        report = gather(
            session, app.settings, day, now=app.clock(), accounts=accounts, progress=gathering
        )
    secrets = secret_values(app.settings)
    report = redact_data(report, secrets)
    page = render_page(report, secrets)
    steps = len(report.accounts) + 2
    progress(steps, steps)
    single = accounts[0] if accounts is not None and len(accounts) == 1 else None
    path = out or report_path(app.settings.state_dir, day, single)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, page)
    summary = redact(summary_text(report, path=str(path)), secrets)
    get_logger().info("report_written", day=day.isoformat(), path=str(path))
    return ReportWritten(path, report, summary)


def report_message(written: ReportWritten) -> Message:
    """Return the summary as a message with the page attached (where the channel allows)."""
    report = written.report
    return Message(
        kind="digest",
        key=f"report:{report.day}",
        title=f"trimtab report {report.day}",
        body=written.summary,
        severity="warning" if attention(report) else "info",
        repeat_after=timedelta(hours=20),
        attachment=written.path,
    )


def send_report(notifier: Notifier, written: ReportWritten) -> str:
    """Send the summary with the page attached; return what became of it."""
    return notifier.send(report_message(written))


def publish_daily_report(
    app: ReportSources, day: date, notify: Callable[[Message], None] | None = None
) -> ReportWritten | None:
    """Write the day's report and hand its message to `notify`: what the daemon runs after
    the day's last cycle and its end-of-day valuation. Never raises: a report that cannot be
    written is logged and announced, and trading goes on."""
    try:
        written = write_daily_report(app, day)
    except Exception as exc:  # the report must never take the daemon down
        get_logger().exception("report_failed", day=day.isoformat())
        if notify is not None:
            notify(
                Message(
                    kind="error",
                    key=f"report_failed:{day}",
                    title=f"trimtab: the report of {day} could not be written",
                    body=f"{type(exc).__name__}: {exc}",
                    severity="failure",
                )
            )
        return None
    if notify is not None:
        notify(report_message(written))
    return written


def render_page(report: DailyReport, secrets: Iterable[str]) -> str:
    """Return the report's page with every secret replaced.

    Nothing the report reads should hold a secret, but a reason or an error may quote one.
    The report's text is scrubbed before the page escapes it (`&` becomes `&amp;`, and an
    escaped secret no longer matches), then the page, for the secret as written and as
    escaped, as a last guard.
    """
    import html

    from markupsafe import escape

    plain = frozenset(secrets)
    page = render_html(redact_data(report, plain))
    escaped = {str(escape(s)) for s in plain} | {html.escape(s) for s in plain}
    return redact(page, plain | escaped)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only, whole or not at all: a new 0600
    file beside it replaces it, so an existing file's wider permissions do not survive. A path
    that is not a regular file (/dev/stdout, a pipe) is written in place: it cannot be
    replaced, and its reader, not a file on disk, gets the text."""
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8") as stream:
            stream.write(text)
        return
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
