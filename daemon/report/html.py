"""Lay the report out as one self-contained HTML page: styles inline, charts inline as SVG, no
script, nothing to fetch (a Content-Security-Policy of `default-src 'none'` says so too)."""

from __future__ import annotations

__all__ = ["TEMPLATES", "prose", "render_html", "zone_label"]

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from daemon.report import fmt
from daemon.report.charts import allocation_chart, drift_chart, drift_span, growth_chart
from daemon.report.income import income_chart
from daemon.report.model import DailyReport, OrderLine
from daemon.report.summary import attention, session_note

TEMPLATES = Path(__file__).parent / "templates"
WINDOW_KINDS = {
    "loss sale": "after a loss sale: buying would wash it",
    "purchase": "after a purchase: a loss sale would wash",
}
OUTCOME_TONES = {
    "succeeded": "ok",
    "planned": "ok",
    "filled": "ok",
    "failed": "bad",
    "rejected": "bad",
    "skipped": "warn",
    "running": "warn",
    "cancelled": "warn",
    "expired": "warn",
    "partially_filled": "warn",
}


def render_html(report: DailyReport) -> str:
    """Return the report page."""
    import jinja2

    tz = ZoneInfo(report.timezone)
    zone = zone_label(report.timezone, report.day)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=fmt.money,
        signed_money=fmt.signed_money,
        price=fmt.price,
        qty=fmt.qty,
        pct=fmt.pct,
        signed_pct=fmt.signed_pct,
        neg_pct=fmt.neg_pct,
        pp=fmt.pp,
        ratio=fmt.ratio,
        bps=fmt.bps,
        tone=fmt.tone,
        outcome_tone=lambda v: OUTCOME_TONES.get(str(v), ""),
        share=_share,
        longdate=lambda d: f"{d:%A %-d %B %Y}",
        shortdate=lambda d: "—" if d is None else f"{d:%-d %b %Y}",
        when=lambda t: "—" if t is None else f"{t.astimezone(tz):%-d %b %Y %H:%M %Z}",
        clock=lambda t: f"{t.astimezone(tz):%H:%M:%S}",
        prose=lambda text: prose(str(text), tz),
        total_slippage=_total_slippage,
    )
    var_level = report.household_performance.risk.var if report.household_performance else None
    return env.get_template("report.html.j2").render(
        r=report,
        css=Markup((TEMPLATES / "report.css").read_text()),  # noqa: S704 (our own file)
        charts=_Charts(report),
        attention=attention(report),
        var_label=fmt.pct(var_level.level, 0) if var_level else "95%",
        window_kinds=WINDOW_KINDS,
        zone=zone,
        session_note=session_note(report),
        drift_spans={a.name: drift_span(a.drift) for a in report.accounts if a.drift},
    )


def zone_label(key: str, day: date) -> str:
    """Name the exchange's time zone for a person: "New York time (EST)" for
    America/New_York in winter; "UTC" for UTC."""
    abbreviation = datetime.combine(day, time(12), ZoneInfo(key)).tzname() or key
    place = key.rsplit("/", 1)[-1].replace("_", " ")
    if place.upper() in {"UTC", "GMT"} or place == abbreviation:
        return abbreviation
    return f"{place} time ({abbreviation})"


_CODE = re.compile(r"`([^`\n]+)`")
_UTC_STAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?) UTC\b")


def prose(text: str, tz: ZoneInfo) -> Markup:
    """Return `text` escaped for the page: `code spans` set as code, not as backticks, and
    a "YYYY-MM-DD HH:MM[:SS] UTC" stamp (what the health checks write) in the exchange's
    time zone, labelled, like every other time on the page."""

    def local(match: re.Match[str]) -> str:
        seconds = match.group(2).count(":") == 2
        moment = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}+00:00")
        return f"{moment.astimezone(tz):%Y-%m-%d %H:%M{':%S' if seconds else ''} %Z}"

    escaped = str(escape(_UTC_STAMP.sub(local, text)))
    return Markup(_CODE.sub(r"<code>\1</code>", escaped))  # noqa: S704 (escaped just above)


class _Charts:
    def __init__(self, report: DailyReport) -> None:
        self.allocation: dict[str, Markup] = {}
        self.drift: dict[str, Markup | None] = {}
        for account in report.accounts:
            if account.allocation:
                self.allocation[account.name] = Markup(allocation_chart(account.allocation))  # noqa: S704 (matplotlib's SVG escapes its text)
            self.drift[account.name] = (
                Markup(drift_chart(account.drift)) if account.drift else None  # noqa: S704 (as above)
            )
        series = report.household_series
        self.growth: Markup | None = None
        if len(series) > 1:
            bench = report.benchmark or ""
            chart = growth_chart(series, report.benchmark_series, "household", bench)
            self.growth = Markup(chart)  # noqa: S704 (as above)
        self.income: Markup | None = None
        if report.income is not None and report.income.months:
            self.income = Markup(income_chart(report.income))  # noqa: S704 (as above)


def _share(part: Decimal | None, whole: Decimal | None) -> str:
    if part is None or not whole:
        return "—"
    return fmt.pct(float(part / whole))


def _total_slippage(orders: Sequence[OrderLine]) -> Decimal:
    return sum((o.slippage for o in orders if o.slippage is not None), Decimal(0))
