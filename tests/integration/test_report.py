"""The daily report of a seeded simulated history: every section, numbers checked against values
computed here from the sim's own state, the page in headless Chromium, the summary sent out."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from daemon.audit.events import CycleFailed
from daemon.cli import app as cli
from daemon.config.secrets import secret_values
from daemon.config.settings import NotificationSettings
from daemon.logs import configure_logging
from daemon.monitor.notify import Message, Notifier
from daemon.report import fmt
from daemon.report.model import DailyReport
from daemon.report.writer import (
    publish_daily_report,
    report_path,
    send_report,
    write_daily_report,
)
from daemon.store.audit_log import AuditLog
from daemon.store.tax_ledger import TaxLedger
from tests.fakes.headless import find_chromium, visit
from tests.fakes.receiver import receiver
from tests.integration.report_history import (
    DEPOSIT,
    DEPOSIT_DAY,
    KILL_DAY,
    NEW_YORK,
    WITHDRAWAL,
    History,
    build_history,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
BROWSER_SERVICES = ("update.googleapis.com", "accounts.google.com", "clients2.google.com")
"""Hosts Chromium itself calls in the background whatever the page (seen through the trap)."""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    tmp = tmp_path_factory.mktemp("report")
    built = build_history(tmp, f"sqlite:///{tmp / 'state' / 'trimtab.db'}")
    yield built
    built.app.close()


class Expected:
    """Returns and risk computed directly from the day-end values and the flows."""

    def __init__(self, history: History, upto: date) -> None:
        last = history.days.index(upto)
        self.days = history.days[: last + 1]
        self.values = history.values[: last + 1]
        flows = history.flows[: last + 1]
        values = np.array([float(v) for v in self.values])
        net = np.array([float(f) for f in flows])
        # The flow arrived during the period; it earned nothing in it.
        self.returns = (values[1:] - net[1:]) / values[:-1] - 1.0
        self.since_start = float(np.prod(1 + self.returns) - 1)
        in_month = [d.month == upto.month for d in self.days[1:]]
        self.month = float(np.prod(1 + self.returns[in_month]) - 1)
        levels = np.concatenate(([1.0], np.cumprod(1 + self.returns)))
        self.max_drawdown = float(np.max(1 - levels / np.maximum.accumulate(levels)))
        quantile = float(np.quantile(self.returns, 0.05))
        self.var_fraction = max(0.0, -quantile)
        self.var_amount = (Decimal(repr(self.var_fraction)) * self.values[-1]).quantize(
            Decimal("0.01"), ROUND_CEILING
        )
        self.volatility = float(np.std(self.returns, ddof=1) * np.sqrt(252))
        self.day_change = self.values[-1] - self.values[-2] - Decimal(str(flows[-1]))


def check_numbers(report: DailyReport, history: History, day: date) -> Expected:
    expected = Expected(history, day)
    (account,) = report.accounts
    assert account.value.value == expected.values[-1]
    assert account.value.previous_value == expected.values[-2]
    assert account.value.day_change == expected.day_change
    perf = account.performance
    assert perf is not None
    assert perf.returns.since_start == pytest.approx(expected.since_start, rel=1e-12)
    assert perf.returns.month_to_date == pytest.approx(expected.month, rel=1e-12)
    assert perf.returns.day == pytest.approx(expected.returns[-1], rel=1e-9)
    assert perf.risk.max_drawdown.depth == pytest.approx(expected.max_drawdown, rel=1e-12)
    assert perf.risk.volatility == pytest.approx(expected.volatility, rel=1e-12)
    assert perf.risk.var is not None
    assert perf.risk.var.fraction == pytest.approx(expected.var_fraction, rel=1e-12)
    assert perf.risk.var.amount == expected.var_amount
    household = report.household_performance
    assert household is not None
    assert household.returns.since_start == pytest.approx(expected.since_start, rel=1e-12)
    return expected


@pytest.mark.slow
def test_report_numbers_match_an_independent_computation(tmp_path: Path, database_url: str) -> None:
    history = build_history(tmp_path, database_url)
    try:
        day = history.days[-1]
        written = write_daily_report(history.app, day)
        check_numbers(written.report, history, day)
        (account,) = written.report.accounts
        assert account.performance is not None
        assert account.performance.risk.max_drawdown.depth > 0.03, "the seeded fall shows"
        flows = account.value.flows
        assert (flows.month_in, flows.month_out) == (DEPOSIT, -WITHDRAWAL)
        assert (flows.day_in, flows.day_out) == (Decimal(0), Decimal(0))
        deposit_day = write_daily_report(history.app, DEPOSIT_DAY).report.accounts[0]
        assert deposit_day.value.flows.day_in == DEPOSIT
        assert deposit_day.value.day_flow == DEPOSIT
        check_numbers(write_daily_report(history.app, DEPOSIT_DAY).report, history, DEPOSIT_DAY)
    finally:
        history.app.close()


def test_every_section_is_there_with_its_numbers(history: History) -> None:
    day = history.days[-1]
    written = write_daily_report(history.app, day)
    assert written.path == report_path(history.app.settings.state_dir, day)
    assert written.path.stat().st_mode & 0o077 == 0
    page = written.path.read_text()
    expected = check_numbers(written.report, history, day)
    for marker in (
        'id="glance"',
        'id="household"',
        'id="performance"',
        'id="account-main"',
        'class="num allocation"',
        'aria-label="Allocation against target"',
        # The chart is labelled with the span it shows, not the 90 days it looks back.
        f'aria-label="Drift from target, {history.days[0]:%-d %b %Y} to {day:%-d %b %Y}"',
        'aria-label="Time-weighted return since start"',
        'id="tax"',
        'id="health"',
        "Refused orders",
        "Orders",
        "Cycles",
        "Open wash-sale windows" if written.report.tax.available else "no tax lots",
    ):
        assert marker in page, marker
    for text in (
        fmt.money(expected.values[-1]),
        fmt.signed_money(expected.day_change),
        fmt.signed_pct(expected.since_start),
        fmt.signed_pct(expected.month),
        fmt.neg_pct(expected.max_drawdown),
        fmt.money(expected.var_amount),
        fmt.pct(expected.volatility),
    ):
        assert text in page, text
    assert "Nothing needs attention." in page
    assert "Nothing needs attention." in written.summary
    assert "<script" not in page
    assert " src=" not in page
    assert "<link" not in page


def test_the_kill_switch_day_lists_its_refusals(history: History) -> None:
    written = write_daily_report(history.app, KILL_DAY)
    report = written.report
    (account,) = report.accounts
    assert account.refusals, "the kill switch stopped the day's orders"
    assert {r.source for r in account.refusals} == {"kill switch"}
    assert {r.check for r in account.refusals} == {"kill_switch"}
    assert all("report drill" in r.reason for r in account.refusals)
    assert [c.outcome for c in account.cycles] == ["succeeded"]
    assert account.orders == ()
    page = report_path(history.app.settings.state_dir, KILL_DAY).read_text()
    assert "report drill" in page
    # The deposit waited in cash: both holdings below their bands, and a look is needed.
    needs = written.summary.split("Needs a look:\n")[1]
    assert f"main: {len(account.refusals)} order(s) refused (2 by kill switch)" in needs
    assert "main: VTI at " in needs
    assert "outside its band" in needs
    assert "Needs a look" in page


def _visible_text(page: str) -> str:
    """Return the words a reader sees: no tags, no style sheet, no charts."""
    body = re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_page_shows_code_as_code_and_times_in_new_york(history: History) -> None:
    written = write_daily_report(history.app, KILL_DAY)
    page = written.path.read_text()
    seen = _visible_text(page)
    assert "`" not in seen
    assert " UTC" not in seen
    assert "times are New York time (EST)" in seen
    made = written.report.generated_at.astimezone(NEW_YORK)
    assert f"made {made:%-d %b %Y %H:%M} EST" in seen
    assert written.report.audit_head is not None
    seq, head_hash = written.report.audit_head
    assert f"<code>trimtab audit verify --head {seq}:{head_hash}</code>" in page


def test_a_day_without_a_session_says_so_and_which_session_it_shows(
    history: History, tmp_path: Path
) -> None:
    sunday = date(2026, 11, 22)
    assert sunday not in history.days
    assert date(2026, 11, 20) in history.days
    written = write_daily_report(history.app, sunday, out=tmp_path / "sunday.html")
    said = (
        "Sunday 2026-11-22 is not a trading day on XNYS: figures are as of the last session, "
        "Friday 2026-11-20."
    )
    assert said in written.summary
    assert said in _visible_text(written.path.read_text())
    assert written.report.last_session == date(2026, 11, 20)
    (account,) = written.report.accounts
    assert account.value.valued_at is not None
    assert account.value.valued_at.astimezone(NEW_YORK).date() == date(2026, 11, 20)
    # The Friday's valuation is the one expected: nothing is missing, nothing needs a look.
    assert account.notes == ()
    assert "Nothing needs attention." in written.summary
    trading = write_daily_report(history.app, history.days[-1], out=tmp_path / "day.html")
    assert "not a trading day" not in trading.summary
    assert 'class="note closed"' not in trading.path.read_text()


def test_orders_show_fills_and_slippage(history: History) -> None:
    report = write_daily_report(history.app, history.days[0]).report
    (account,) = report.accounts
    assert account.orders
    for order in account.orders:
        assert order.status == "filled"
        assert order.reason
        assert order.avg_fill_price is not None
        assert order.reference_price is not None
        # The sim fills 3 bp against the buyer, rounded up to the next cent.
        assert order.side == "buy"
        assert order.slippage == (order.avg_fill_price - order.reference_price) * order.filled_qty
        cent_in_bps = 100 / float(order.reference_price)
        assert order.slippage_bps is not None
        assert 3 - 1e-9 <= order.slippage_bps <= 3 + cent_in_bps + 1e-9


def test_the_drift_history_covers_every_day_with_bands(history: History) -> None:
    report = write_daily_report(history.app, history.days[-1]).report
    (account,) = report.accounts
    days = {p.day for p in account.drift}
    assert days == set(history.days)
    assert {p.symbol for p in account.drift} == {"VTI", "BND"}
    vti = [p for p in account.drift if p.symbol == "VTI"]
    # Targets are of the value less the cash kept (buffer, withdrawal); bands 3 points wide.
    assert all(0.55 < p.target <= 0.6 for p in vti)
    assert all(p.target - p.low == pytest.approx(0.03) for p in vti)
    assert all(p.high - p.target == pytest.approx(0.03) for p in vti)


def test_the_cli_writes_the_report_and_prints_the_summary(history: History, tmp_path: Path) -> None:
    out = tmp_path / "day.html"
    config = str(history.app.config_path)
    try:
        result = CliRunner().invoke(
            cli, ["report", "-c", config, "--date", "2026-11-24", "--out", str(out)]
        )
        one = CliRunner().invoke(
            cli, ["report", "-c", config, "--date", "2026-11-24", "-a", "main"]
        )
        bad = CliRunner().invoke(cli, ["report", "-c", config, "-a", "nope"])
    finally:
        # The command pointed logging at the runner's captured stream, closed by now.
        configure_logging()
    assert result.exit_code == 0, result.output
    assert "trimtab daily report 2026-11-24" in result.stdout
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert one.exit_code == 0, one.output
    state = history.app.settings.state_dir
    assert report_path(state, date(2026, 11, 24), "main").name == "2026-11-24-main.html"
    assert report_path(state, date(2026, 11, 24), "main").exists()
    assert bad.exit_code == 2
    assert "'nope' is not configured" in bad.output


def test_the_summary_goes_out_with_the_page_attached(history: History) -> None:
    written = write_daily_report(history.app, history.days[-1])
    with receiver() as inbox:
        notifier = Notifier(
            NotificationSettings(urls=(SecretStr(inbox.url()),)),
            database=history.app.database,
            clock=history.app.clock,
            secrets=secret_values(history.app.settings),
        )
        assert send_report(notifier, written) == "sent"
        (message,) = inbox.wait_for(1)
    assert message["title"] == "trimtab report 2026-11-24"
    assert "trimtab daily report 2026-11-24" in message["message"]
    assert "main $" in message["message"]
    (attached,) = message["attachments"]
    assert attached["filename"].endswith(".html")
    assert base64.b64decode(attached["base64"]).decode() == written.path.read_text()


@pytest.mark.slow
@pytest.mark.skipif(
    find_chromium() is None, reason="Chromium is not installed (apt-get install chromium)"
)
def test_the_page_opens_in_chromium_without_errors_or_network(history: History) -> None:
    chromium = find_chromium()
    assert chromium is not None
    written = write_daily_report(history.app, history.days[-1])
    screenshot = ARTIFACTS / "daily-report.png"
    seen = visit(
        chromium,
        written.path,
        screenshot,
        probe="{sections: document.querySelectorAll('section').length,"
        " charts: document.querySelectorAll('figure.chart svg').length,"
        " external: document.querySelectorAll('[src],[href],link,script,img,iframe').length,"
        " width: document.documentElement.scrollWidth}",
    )
    print(f"screenshot of the report: {screenshot}")
    assert seen.errors == []
    assert seen.requests == [written.path.resolve().as_uri()]
    # Chromium's own background calls, and sockets it opened ahead and closed without asking
    # for anything (an empty first line), are all the trap may see.
    assert all(
        not line or any(host in line for host in BROWSER_SERVICES) for line in seen.proxied
    ), seen.proxied
    assert seen.result["sections"] >= 5
    assert seen.result["charts"] == 3
    assert seen.result["external"] == 0
    assert seen.result["width"] <= 1200, "nothing overflows the page sideways"
    assert screenshot.stat().st_size > 10_000
    assert json.dumps(seen.result)


PHONE = 375
"""CSS pixels across a small phone held upright (iPhone SE, many Androids)."""
_OVERFLOW_PROBE = """{
  page: document.documentElement.scrollWidth,
  viewport: window.innerWidth,
  tables: document.querySelectorAll('table').length,
  clipped: Array.from(document.querySelectorAll('table'))
    .filter(t => { const box = (t.closest('.scroll') || t).getBoundingClientRect();
                   return box.left < -0.5 || box.right > window.innerWidth + 0.5; })
    .map(t => t.className || t.id),
  scrolling: Array.from(document.querySelectorAll('.scroll'))
    .filter(s => s.scrollWidth > s.clientWidth + 0.5).length,
  unboxed: Array.from(document.querySelectorAll('table'))
    .filter(t => !t.closest('.scroll')).map(t => t.className || t.id),
  charts: Array.from(document.querySelectorAll('figure.chart'))
    .map(f => [f.getBoundingClientRect().right <= window.innerWidth + 0.5,
               f.querySelector('svg').getBoundingClientRect().width]),
}"""


@pytest.mark.slow
@pytest.mark.skipif(
    find_chromium() is None, reason="Chromium is not installed (apt-get install chromium)"
)
def test_no_table_overflows_a_phone_screen(history: History, tmp_path: Path) -> None:
    chromium = find_chromium()
    assert chromium is not None
    # The first day has orders (the widest table) and the tax section.
    written = write_daily_report(history.app, history.days[0], out=tmp_path / "phone.html")
    screenshot = ARTIFACTS / "daily-report-phone.png"
    seen = visit(chromium, written.path, screenshot, probe=_OVERFLOW_PROBE, width=PHONE)
    print(f"screenshot of the report on a phone: {screenshot}")
    assert seen.errors == []
    result = seen.result
    assert result["viewport"] == PHONE
    assert result["tables"] >= 6
    assert result["unboxed"] == [], "every table sits in a scroll box"
    assert result["clipped"] == [], "no table reaches past the screen's edges"
    assert result["page"] <= PHONE, "the page itself never scrolls sideways"
    # The wide tables (performance, orders) scroll inside their boxes instead.
    assert result["scrolling"] >= 1
    # Charts stay inside the screen, drawn wide enough to read, scrolling in their frames.
    assert result["charts"]
    assert all(inside and width >= 700 for inside, width in result["charts"]), result["charts"]


def test_tax_figures_come_from_the_ledgers_own_facts(history: History) -> None:
    report = write_daily_report(history.app, history.days[-1]).report
    with history.app.database.transaction() as session:
        ledger = TaxLedger(session)
        lots = {lot.id: lot for lot in ledger.lots("main")}
        sales = ledger.sales("main")
    assert sales, "the withdrawal day sold shares"
    # Every lot is younger than a year and no sale lost money: all short-term, nothing washed.
    expected = sum(
        (
            sale.proceeds
            - sum((lots[lot].cost * qty / lots[lot].qty for lot, qty in sale.reliefs), Decimal(0))
            for sale in sales
        ),
        Decimal(0),
    )
    assert report.tax.available
    assert report.tax.short_term == pytest.approx(expected, abs=Decimal("0.01"))
    assert report.tax.short_term > 0
    assert report.tax.long_term == 0
    assert report.tax.disallowed == 0
    assert report.tax.harvested == 0
    assert {w.kind for w in report.tax.windows} == {"purchase"}
    assert all(w.ends > history.days[-1] for w in report.tax.windows)


def test_the_daemon_hook_publishes_and_never_raises(history: History, tmp_path: Path) -> None:
    sent: list[Message] = []
    day = history.days[-1]
    written = publish_daily_report(history.app, day, sent.append)
    assert written is not None
    (message,) = sent
    assert message.attachment == report_path(history.app.settings.state_dir, day)
    assert message.body == written.summary
    blocked = dataclasses.replace(
        history.app, settings=history.app.settings.model_copy(update={"state_dir": tmp_path})
    )
    (tmp_path / "reports").write_text("a file where the reports directory should be")
    assert publish_daily_report(blocked, day, sent.append) is None
    assert sent[-1].kind == "error"
    assert "could not be written" in sent[-1].title


def test_a_configured_secret_never_reaches_the_page_or_the_summary(history: History) -> None:
    token = "tok-9f8e7d6c5b4a"
    url = f"json://{token}@127.0.0.1:9/hook"
    settings = history.app.settings.model_copy(
        update={"notifications": NotificationSettings(urls=(SecretStr(url),))}
    )
    app = dataclasses.replace(history.app, settings=settings)
    day = history.days[5]
    with app.database.transaction() as session:
        # A library's error text quoting a configured value, as a failed cycle records it.
        AuditLog(session).append(
            CycleFailed(error_type="OSError", error=f"cannot post to {url}"),
            at=datetime.combine(day, time(16, 30), NEW_YORK),
            account="main",
            cycle_id=f"main:{day}:close.2",
        )
    written = write_daily_report(app, day)
    assert token not in written.path.read_text()
    assert token not in written.summary
    assert "[redacted]" in written.summary
