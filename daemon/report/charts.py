"""The report's charts as inline SVG text: matplotlib's object API (no pyplot state), text kept
as text (`svg.fonttype = none`) in a font stack every system has, nothing fetched to draw them.
"""

from __future__ import annotations

__all__ = [
    "allocation_chart",
    "date_axis",
    "drift_chart",
    "drift_span",
    "figure",
    "figure_svg",
    "growth_chart",
]

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from daemon.core.performance import DailyPoint, daily_returns, growth_index
from daemon.report.model import AllocationRow, DriftPoint

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
BAND = "#d9e8f6"
LINE = "#2f6fb0"
ALERT = "#c0392b"
BENCH = "#9aa5b1"
FONTS = ["DejaVu Sans", "Helvetica", "Arial"]
WIDTH = 12.0
"""Inches: at 72 user units per inch, about the page's column width, so text keeps its size."""
MIN_DAYS = 14
"""The drift chart spans at least this many days, so a short history is not stretched."""
CLIP = 4.0
"""The drift panels show up to this many band half-widths; points beyond sit on the edge."""
TICK_FORMATS = ["%Y", "%b %Y", "%-d %b", "%-d %b %H:%M", "%H:%M", "%H:%M:%S"]
"""Date tick labels by tick spacing (years, months, days, hours, minutes, seconds)."""
ZERO_FORMATS = ["", "%Y", "%b %Y", "%-d %b", "%-d %b %H:%M", "%H:%M"]
"""Where the next larger unit turns (a new year, month, day)."""
_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "trimtab-report",
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 10,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "axes.titlesize": 10,
    "axes.titlecolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_PROLOGUE = re.compile(r"\A.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_SIZE = re.compile(r'<svg([^>]*?) width="[\d.]+pt" height="[\d.]+pt"')


@contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # keys checked by matplotlib
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(figure: Any, label: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue()))
    # Scale with the page; the viewBox keeps the proportions.
    return _SIZE.sub(
        rf'<svg\1 width="100%" role="img" aria-label="{label}" preserveAspectRatio="xMinYMin"',
        text,
        count=1,
    )


def allocation_chart(rows: Sequence[AllocationRow]) -> str:
    """Return bars of each holding's weight over its band (shaded) and target (tick); a
    holding the plan does not manage has a muted bar, no target, and its share of the account."""
    rows = list(reversed(rows))
    with _figure(WIDTH, 0.34 * len(rows) + 0.75) as figure:
        axes = figure.add_subplot()
        for y, row in enumerate(rows):
            if not row.managed:
                axes.barh(y, row.weight * 100, height=0.38, color=MUTED)
                axes.annotate(
                    f"{row.weight * 100:.1f}% of account, not managed",
                    (row.weight * 100, y),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    color=MUTED,
                )
                continue
            if row.high > row.low:
                axes.barh(y, (row.high - row.low) * 100, left=row.low * 100, height=0.8, color=BAND)
            color = ALERT if row.out_of_band else LINE
            axes.barh(y, row.weight * 100, height=0.38, color=color)
            axes.plot([row.target * 100] * 2, [y - 0.4, y + 0.4], color=INK, linewidth=1.6)
            axes.annotate(
                f"{row.weight * 100:.1f}%",
                (max(row.weight, row.high) * 100, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                color=color if row.out_of_band else INK,
            )
        axes.set_yticks(range(len(rows)), [r.symbol for r in rows])
        whole = all(r.managed for r in rows)
        axes.set_xlabel(
            ("% of account value" if whole else "% of managed value")
            + "  (bar: now · tick: target · shade: band)"
        )
        axes.xaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        top = max([r.weight for r in rows] + [r.high for r in rows] + [0.01]) * 100
        axes.set_xlim(0, top * 1.15)
        return _svg(figure, "Allocation against target")


def drift_chart(points: Sequence[DriftPoint]) -> str:
    """Return one small panel per symbol: weight minus target (pp) with the band shaded."""
    symbols = sorted({p.symbol for p in points})
    with _figure(WIDTH, 1.1 * len(symbols) + 0.6) as figure:
        panels = figure.subplots(len(symbols), 1, sharex=True, squeeze=False)[:, 0]
        for axes, symbol in zip(panels, symbols, strict=True):
            _drift_panel(axes, [p for p in points if p.symbol == symbol], symbol)
        panels[-1].set_xlabel(
            "drift in percentage points (shade: band; red: outside it; triangles: off the scale)"
        )
        first, last = drift_span(points)
        panels[-1].set_xlim(first - timedelta(days=1), last + timedelta(days=1))
        _date_axis(panels[-1])
        return _svg(figure, f"Drift from target, {first:%-d %b %Y} to {last:%-d %b %Y}")


def drift_span(points: Sequence[DriftPoint]) -> tuple[date, date]:
    """Return the first and last day the drift chart shows: from the first plan (or
    `MIN_DAYS` before the last, when the history is shorter) to the last plan."""
    last = max(p.day for p in points)
    first = min([p.day for p in points] + [last - timedelta(days=MIN_DAYS)])
    return first, last


def _drift_panel(axes: Any, mine: Sequence[DriftPoint], symbol: str) -> None:
    days = [p.day for p in mine]
    low = [(p.low - p.target) * 100 for p in mine]
    high = [(p.high - p.target) * 100 for p in mine]
    drift = [(p.weight - p.target) * 100 for p in mine]
    half = max([h - lo for h, lo in zip(high, low, strict=True)] + [1.0]) / 2
    # A first day in cash (or a deposit) would flatten everything else: cap the scale.
    span = min(max([abs(v) for v in drift] + [half]) * 1.15, half * CLIP)
    shown = [max(-span, min(span, v)) for v in drift]
    if len(days) > 1:
        axes.fill_between(days, low, high, color=BAND, linewidth=0, step="mid")
    else:
        axes.axhspan(low[0], high[0], color=BAND, linewidth=0)
    axes.axhline(0, color=MUTED, linewidth=0.6)
    axes.plot(days, shown, color=LINE, linewidth=1.4, marker="o", markersize=2.4)
    for day, value, real, lo, hi in zip(days, shown, drift, low, high, strict=True):
        if not lo <= real <= hi:
            marker = "o" if value == real else ("^" if real > 0 else "v")
            axes.plot([day], [value], marker, color=ALERT, markersize=4.5)
    axes.set_ylabel(symbol, rotation=0, ha="right", va="center", color=INK)
    axes.yaxis.grid(True, color=GRID, linewidth=0.6)
    axes.set_ylim(-span * 1.08, span * 1.08)


def _date_axis(axes: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]  # untyped in matplotlib
    axes.xaxis.set_major_locator(locator)
    # Each tick says its own day and month, and the year where it turns: no offset text
    # (the "2026-Dec" matplotlib would otherwise print alone in the corner).
    formatter = ConciseDateFormatter(  # type: ignore[no-untyped-call]  # as above
        locator, formats=TICK_FORMATS, zero_formats=ZERO_FORMATS, show_offset=False
    )
    axes.xaxis.set_major_formatter(formatter)


def growth_chart(
    series: Sequence[DailyPoint],
    benchmark: Sequence[DailyPoint],
    name: str,
    benchmark_name: str = "benchmark",
) -> str:
    """Return the time-weighted growth (flows left out) of `series` and of the benchmark."""
    with _figure(WIDTH, 2.6) as figure:
        axes = figure.add_subplot()
        _growth_line(axes, series, LINE, name, 1.8)
        if benchmark:
            first = series[0].day if series else None
            _growth_line(
                axes,
                [p for p in benchmark if first is None or p.day >= first],
                BENCH,
                f"{benchmark_name} (benchmark)",
                1.2,
            )
        axes.axhline(0, color=MUTED, linewidth=0.6)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_ylabel("% since start")
        axes.legend(frameon=False, loc="upper left")
        _date_axis(axes)
        return _svg(figure, "Time-weighted return since start")


def _growth_line(
    axes: Any, points: Sequence[DailyPoint], color: str, label: str, width: float
) -> None:
    if len(points) < 2:
        return
    index = growth_index(daily_returns(points))
    days: list[date] = [points[0].day, *index.index]
    values = [0.0, *((index.to_numpy() - 1.0) * 100)]
    axes.plot(days, values, color=color, linewidth=width, label=label)


def figure(width: float, height: float) -> Any:
    """A figure in the report's style, for charts drawn elsewhere (the backtest's page):
    `with figure(w, h) as fig: ...; return figure_svg(fig, label)`."""
    return _figure(width, height)


def figure_svg(fig: Any, label: str) -> str:
    """Return a figure as the report's inline SVG."""
    return _svg(fig, label)


def date_axis(axes: Any) -> None:
    """Label a date axis the report's way."""
    _date_axis(axes)
