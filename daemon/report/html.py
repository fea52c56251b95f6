"""Lay the report out as one self-contained HTML page: styles inline, charts inline as SVG, no
script, nothing to fetch (a Content-Security-Policy of `default-src 'none'` says so too)."""

from __future__ import annotations

__all__ = ["TEMPLATES", "render_html"]

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import Markup

from daemon.report import fmt
from daemon.report.charts import allocation_chart, drift_chart, growth_chart
from daemon.report.model import DailyReport, OrderLine
from daemon.report.summary import attention

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
        when=lambda t: "—" if t is None else f"{t.astimezone(tz):%-d %b %Y %H:%M}",
        clock=lambda t: f"{t.astimezone(tz):%H:%M:%S}",
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
    )


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


def _share(part: Decimal | None, whole: Decimal | None) -> str:
    if part is None or not whole:
        return "—"
    return fmt.pct(float(part / whole))


def _total_slippage(orders: Sequence[OrderLine]) -> Decimal:
    return sum((o.slippage for o in orders if o.slippage is not None), Decimal(0))
