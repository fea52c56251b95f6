"""The backtest's HTML page: one self-contained file in the daily report's look (its
stylesheet, its chart style, inline SVG, no script, nothing fetched).

One run: the orders a pre-trade check refused or the cash could not pay for (when there
are any), growth against the benchmark, drawdown and the deepest falls, returns by calendar
year and over rolling windows, each holding's drift with its band (a primary and the tax
alternates standing in for it as one, as the planner tests them), trades per year, the
summary and the tax summary. A `--vary` sweep: every run on one growth chart, and the
comparison table with each run's refused and skipped orders.
"""

from __future__ import annotations

__all__ = ["render_report", "write_report"]

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from markupsafe import escape
from numpy.typing import NDArray

from daemon.backtest.metrics import from_cash
from daemon.backtest.out_file import write_whole
from daemon.backtest.output import COMPARED, shown
from daemon.core.domain import CASH
from daemon.core.performance import DailyPoint, daily_return_array, growth_array
from daemon.report.charts import (
    ALERT,
    BAND,
    BENCH,
    GRID,
    LINE,
    MUTED,
    date_axis,
    figure,
    figure_svg,
)
from daemon.report.fmt import fixed
from daemon.report.html import TEMPLATES

if TYPE_CHECKING:
    from daemon.backtest.engine import BacktestResult, Refused, Skipped
    from daemon.backtest.runner import Run

WIDTH = 12.0
_PALETTE = [LINE, "#e07b39", "#3c9d5d", "#8e5ea2", "#c0392b", "#17a2b8", "#b7791f", "#6c757d"]
_MAX_DRIFT_PANELS = 12


def write_report(
    path: Path,
    account: str,
    runs: Sequence[Run],
    *,
    benchmark: str | None,
    alternates: Mapping[str, Sequence[str]],
) -> None:
    """Write the page for `runs` (one run, or a sweep) to `path`, whole or not at all; raise
    `OSError` if it cannot be written."""
    write_whole(path, render_report(account, runs, benchmark=benchmark, alternates=alternates))


def render_report(
    account: str,
    runs: Sequence[Run],
    *,
    benchmark: str | None,
    alternates: Mapping[str, Sequence[str]],
) -> str:
    """Return the page. `alternates` are the account's tax alternates (`tax.alternates`),
    for one run's drift chart: the result does not say which stood in on which day."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    first = runs[0].metrics
    title = f"backtest of {account}: {first['start']} to {first['end']}"
    parts = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">\n",
        f"<title>trimtab · {escape(title)}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n",
        '<header class="top"><div><div class="brand">trimtab · backtest</div>',
        f"<h1>{escape(account)}</h1></div>",
        f'<div class="meta small">{escape(_span(runs))}</div></header>\n',
    ]
    if len(runs) == 1:
        parts.append(_single(runs[0], benchmark, alternates))
    else:
        parts.append(_sweep(runs, benchmark))
    parts.append(
        '<footer class="small">Closes only; every order fills at its day\'s close with the '
        "simulated broker's slippage and commission. Taxes are computed at the rates shown, "
        "not paid from the account. See docs/backtest.md.</footer>\n</body>\n</html>\n"
    )
    return "".join(parts)


def _span(runs: Sequence[Run]) -> str:
    """The range of the page's runs: one, or the earliest start when `--vary start` varies it."""
    first = runs[0].metrics
    starts = sorted({run.metrics["start"] for run in runs})
    if len(starts) == 1:
        return f"{first['start']} to {first['end']} · {first['days']} trading days"
    return f"{starts[0]} to {first['end']} · runs start on {len(starts)} different days"


def _single(run: Run, benchmark: str | None, alternates: Mapping[str, Sequence[str]]) -> str:
    m = run.metrics
    result = run.result
    cards = [
        ("Final value", _money(m["final_value"]), f"after tax {_money(m['after_tax_value'])}"),
        ("CAGR", _pct(m["cagr"]), f"after tax {_pct(m['after_tax_cagr'])}"),
        ("Max drawdown", _pct(m["max_drawdown"]), f"volatility {_pct(m['volatility'])}"),
        ("Rebalances", str(m["rebalance_count"]), f"{m['trade_count']} trades"),
    ]
    html = ['<section class="glance"><div class="cards">']
    for label, big, small in cards:
        html.append(
            f'<div class="card"><div class="label">{escape(label)}</div>'
            f'<div class="big">{escape(big)}</div><div class="small">{escape(small)}</div></div>'
        )
    html.append("</div>")
    html.append(_unfilled_notice(_unfilled_lines(result)))
    html.append("</section>\n")
    series = _points(result.days, result.nav, result.flows)
    bench = _benchmark_points(run)
    html.append(_section("Growth", _growth([(run.cash, "account", series)], bench, benchmark)))
    html.append(_section("Drawdown", _drawdown(series, bench, run.cash) + _falls_table(m)))
    html.append(_section("Returns by year", _years(m) + _rolling_table(m)))
    html.append(_section("Drift and bands", _drift(run, alternates)))
    html.append(_section("Trades per year", _trades_per_year(run)))
    if result.refused or result.skipped:
        html.append(_section("Orders not filled", _unfilled_tables(result)))
    html.append(_section("Summary", _summary_table(m, result)))
    html.append(_section("Taxes", _tax_table(m)))
    return "".join(html)


def _sweep(runs: Sequence[Run], benchmark: str | None) -> str:
    lines = []
    for run in runs:
        label = ", ".join(f"{k}={v}" for k, v in run.overrides) or "as configured"
        lines.append((run.cash, label, _points(run.result.days, run.result.nav, run.result.flows)))
    chart = _growth(lines, _benchmark_points(runs[0]), benchmark)
    keys = [k for k, _ in runs[0].overrides]
    head = (
        "".join(f"<th>{escape(k)}</th>" for k in keys)
        + "".join(f"<th>{escape(label)}</th>" for label, _ in COMPARED)
        + "<th>refused</th><th>skipped</th>"
    )
    rows = []
    notes = []
    for run in runs:
        result = run.result
        cells = "".join(f"<td>{escape(str(v))}</td>" for _, v in run.overrides)
        cells += "".join(
            f'<td class="n">{escape(_shown(run.metrics, f))}</td>' for _, f in COMPARED
        )
        cells += f'<td class="n">{len(result.refused)}</td><td class="n">{len(result.skipped)}</td>'
        # A run some of whose orders were not filled is shaded, and said below the table.
        unfilled = _unfilled_lines(result)
        rows.append(f'<tr class="out">{cells}</tr>' if unfilled else f"<tr>{cells}</tr>")
        if unfilled:
            label = ", ".join(f"{k}={v}" for k, v in run.overrides) or "as configured"
            notes.append(f"{label}: {'; '.join(unfilled)}")
    table = (
        f'<div class="scroll"><table class="num"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _section("Growth of every run", chart) + _section(
        "Comparison", table + _unfilled_notice(notes)
    )


def _unfilled_lines(result: BacktestResult) -> list[str]:
    """Say, per pre-trade check, how many orders it refused and the first of them; and how
    many approved buys the cash could not pay for, and the first."""
    lines = []
    by_check: dict[str, list[Refused]] = {}
    for refused in result.refused:
        by_check.setdefault(refused.check, []).append(refused)
    for check, orders in by_check.items():
        first = orders[0]
        what = f"{first.side} {first.symbol} on {first.day}: {first.reason}"
        if len(orders) == 1:
            lines.append(f"1 order was refused by the pre-trade check {check}: {what}")
            continue
        symbols = ", ".join(sorted({o.symbol for o in orders}))
        lines.append(
            f"{len(orders)} orders were refused by the pre-trade check {check} ({symbols}), "
            f"{_days(orders)}; the first: {what}"
        )
    skipped = result.skipped
    if skipped:
        what = f"{skipped[0].symbol} on {skipped[0].day}: {skipped[0].reason}"
        if len(skipped) == 1:
            lines.append(f"1 approved buy was skipped for want of cash: {what}")
        else:
            symbols = ", ".join(sorted({s.symbol for s in skipped}))
            lines.append(
                f"{len(skipped)} approved buys were skipped for want of cash ({symbols}), "
                f"{_days(skipped)}; the first: {what}"
            )
    return lines


def _days(orders: Sequence[Refused] | Sequence[Skipped]) -> str:
    first, last = orders[0].day, orders[-1].day
    return f"on {first}" if first == last else f"from {first} to {last}"


def _unfilled_notice(lines: Sequence[str]) -> str:
    """The daily report's attention box, for orders a run did not fill; nothing when none."""
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (
        '<div class="attention alert"><strong>Orders not filled</strong>'
        f"<ul>{items}</ul>"
        '<p class="small">Live, an order a pre-trade check refuses is not sent; here it is not '
        "filled, and the cash it would have moved stays where it is: the figures are of the "
        "account as it was left, not of the strategy as planned. <code>--json</code> lists "
        "each order under <code>refused</code> and <code>skipped</code>.</p></div>"
    )


def _unfilled_tables(result: BacktestResult) -> str:
    """The refused orders by check and order, the skipped buys by symbol: how many, on which
    days, and the first one's reason."""
    html = []
    if result.refused:
        groups: dict[tuple[str, str, str], list[Refused]] = {}
        for refused in result.refused:
            key = (refused.check, refused.side.value, refused.symbol)
            groups.setdefault(key, []).append(refused)
        body = "".join(
            f'<tr><td class="mono">{escape(check)}</td><td>{escape(side)} {escape(symbol)}</td>'
            f'<td class="n">{len(orders)}</td><td class="nowrap">{orders[0].day}</td>'
            f'<td class="nowrap">{orders[-1].day}</td>'
            f'<td class="reason">{escape(orders[0].reason)}</td></tr>'
            for (check, side, symbol), orders in groups.items()
        )
        html.append(
            "<h3>Refused by a pre-trade check</h3>"
            '<div class="scroll"><table class="list refusals"><thead><tr><th>check</th>'
            "<th>order</th><th>orders</th><th>first</th><th>last</th><th>the first's reason"
            f"</th></tr></thead><tbody>{body}</tbody></table></div>"
        )
    if result.skipped:
        by_symbol: dict[str, list[Skipped]] = {}
        for skipped in result.skipped:
            by_symbol.setdefault(skipped.symbol, []).append(skipped)
        body = "".join(
            f'<tr><td>buy {escape(symbol)}</td><td class="n">{len(buys)}</td>'
            f'<td class="nowrap">{buys[0].day}</td><td class="nowrap">{buys[-1].day}</td>'
            f'<td class="reason">{escape(buys[0].reason)}</td></tr>'
            for symbol, buys in by_symbol.items()
        )
        html.append(
            "<h3>Skipped for want of cash</h3>"
            '<div class="scroll"><table class="list refusals"><thead><tr><th>order</th>'
            "<th>buys</th><th>first</th><th>last</th><th>the first's reason</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )
    return "".join(html)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>\n"


def _points(
    days: Sequence[date], values: Sequence[Decimal], flows: Sequence[Decimal]
) -> list[DailyPoint]:
    return [DailyPoint(d, v, f) for d, v, f in zip(days, values, flows, strict=True)]


def _benchmark_points(run: Run) -> list[DailyPoint]:
    closes = run.result.benchmark
    if closes is None:
        return []
    return [DailyPoint(d, Decimal(repr(c))) for d, c in zip(run.result.days, closes, strict=True)]


def _growth(
    lines: Sequence[tuple[Decimal, str, list[DailyPoint]]],
    bench: list[DailyPoint],
    name: str | None,
) -> str:
    """Each line is a run's `--cash`, its label and its points."""
    with figure(WIDTH, 3.2) as fig:
        axes = fig.add_subplot()
        for n, (cash, label, points) in enumerate(lines):
            days, values = _index(points, cash)
            axes.plot(days, values, color=_PALETTE[n % len(_PALETTE)], linewidth=1.6, label=label)
        if bench:
            days, values = _index(bench)
            axes.plot(days, values, color=BENCH, linewidth=1.2, label=f"{name} (benchmark)")
        axes.axhline(0, color=MUTED, linewidth=0.6)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_ylabel("% since start (time-weighted)")
        axes.legend(frameon=False, loc="upper left", fontsize=8)
        date_axis(axes)
        return _chart(figure_svg(fig, "Time-weighted growth since the first day"))


def _index(points: list[DailyPoint], cash: Decimal | None = None) -> tuple[list[date], list[float]]:
    """The growth of `points` in % from 0 on the first day: from `cash` before day 0's trades
    (an account: its day-0 costs show as a step down on day 0, as the metrics measure it), or
    from the first point (the benchmark, bought with the cash at no cost)."""
    # numpy, not pandas: importing pandas would cost more than the page.
    returns = daily_return_array(points) if cash is None else from_cash(cash, points)
    grown = growth_array(returns)
    return [points[0].day, *returns.index], [0.0, *((grown - 1.0) * 100)]


def _drawdown(series: list[DailyPoint], bench: list[DailyPoint], cash: Decimal) -> str:
    with figure(WIDTH, 2.2) as fig:
        axes = fig.add_subplot()
        lines = ((series, LINE, "account", cash), (bench, BENCH, "benchmark", None))
        for points, color, label, start in lines:
            if len(points) < 2:
                continue
            days, values = _index(points, start)
            levels = 1 + np.array(values) / 100
            falls = (levels / np.maximum.accumulate(levels) - 1) * 100
            axes.fill_between(
                days, falls, 0, color=color, alpha=0.25 if color == LINE else 0.12, linewidth=0
            )
            axes.plot(days, falls, color=color, linewidth=1.0, label=label)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_ylabel("% below the peak")
        axes.legend(frameon=False, loc="lower left", fontsize=8)
        date_axis(axes)
        return _chart(figure_svg(fig, "Drawdown from the running peak"))


@dataclass(frozen=True, slots=True)
class _Panel:
    """One panel of the drift chart: a symbol, or a primary with the alternates standing in
    for it (`label` "BBB with BBX"), in percentage points per day."""

    label: str
    drift: NDArray[np.float64]
    """Weight less target; NaN on the days the symbol is drawn in its primary's panel."""
    low: NDArray[np.float64]
    high: NDArray[np.float64]

    @property
    def out(self) -> NDArray[np.bool_]:
        """The days the holding is outside its band (drawn red)."""
        drift = np.nan_to_num(self.drift, nan=0.0)
        inside = np.isnan(self.drift)
        return ~inside & ((drift < self.low - 1e-7) | (drift > self.high + 1e-7))


def _stand_ins(
    targeted: Collection[str],
    alternates: Mapping[str, Sequence[str]],
    listed: Collection[str] | None = None,
) -> dict[str, str]:
    """Return alternate -> primary for the alternates that stand in for a primary when the
    symbols with a target above 0 are `targeted` and the targets list `listed` (a target of 0
    included; default `targeted`), as the tax step pairs them
    (`daemon.core.tax.harvest.stand_in_targets`, every alternate held): a primary with a
    target, in order of its name; its alternates, each one's own alternates right after it,
    none the targets list; an alternate the first primary to reach it keeps."""
    named = targeted if listed is None else listed
    stood: dict[str, str] = {}
    for primary in sorted(alternates):
        if primary not in targeted or primary == CASH:
            continue
        seen = {primary}
        chain = list(reversed(alternates[primary]))
        while chain:
            alternate = chain.pop()
            if alternate in seen or alternate in named or alternate == CASH:
                continue
            seen.add(alternate)
            stood.setdefault(alternate, primary)
            chain.extend(reversed(alternates.get(alternate, ())))
    return stood


def _drift_panels(result: BacktestResult, alternates: Mapping[str, Sequence[str]]) -> list[_Panel]:
    """Return the drift chart's panels: each symbol held or with a target, but an alternate
    on the days it stands in for a primary, whose weight is added to the primary's and
    tested against the primary's target and band, as the planner tests the pair; the
    primary's panel is named after the alternates it held so ("BBB with BBX").

    The result does not say which alternates stood in on which day: a day's pairs are the
    tax step's for the targets of that day (`_stand_ins`: those above 0, and every symbol
    they list, `BacktestResult.listed`), an alternate not held weighing nothing. An
    alternate that stopped standing in (`return_to_primary`) is sold the same day, so it
    weighs nothing after the day's trades either."""
    weights = result.weights.copy()
    own = np.ones(weights.shape, dtype=bool)
    """Whether a symbol is drawn in its own panel that day."""
    index = {symbol: j for j, symbol in enumerate(result.symbols)}
    pooled: dict[int, list[str]] = {}
    if alternates:
        # The targets change only where `listed` says: one row of targets per stretch.
        ends = [first for first, _ in result.listed[1:]] + [len(result.days)]
        for (first, listed), end in zip(result.listed, ends, strict=True):
            days = slice(first, end)
            targeted = {symbol for symbol, j in index.items() if result.targets[first, j] > 0}
            for alternate, primary in _stand_ins(targeted, alternates, listed).items():
                a = index.get(alternate)
                if a is None:  # no column: never bought
                    continue
                p = index[primary]
                weights[days, p] += result.weights[days, a]
                own[days, a] = False
                names = pooled.setdefault(p, [])
                if result.weights[days, a].any() and alternate not in names:
                    names.append(alternate)
    panels = []
    for j, symbol in enumerate(result.symbols):
        target = result.targets[:, j]
        if not (target.any() or (own[:, j] & (weights[:, j] != 0)).any()):
            continue
        half = result.bands[:, j]
        joined = pooled.get(j)
        panels.append(
            _Panel(
                label=f"{symbol} with {', '.join(joined)}" if joined else symbol,
                drift=np.where(own[:, j], (weights[:, j] - target) * 100, np.nan),
                low=(np.maximum(target - half, 0) - target) * 100,
                high=half * 100,
            )
        )
    return panels


def _drift(run: Run, alternates: Mapping[str, Sequence[str]]) -> str:
    result = run.result
    panels = _drift_panels(result, alternates)[:_MAX_DRIFT_PANELS]
    if not panels:
        return '<p class="empty">Nothing was held.</p>'
    with figure(WIDTH, 1.0 * len(panels) + 0.6) as fig:
        axes_list = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        days = list(result.days)
        for axes, panel in zip(axes_list, panels, strict=True):
            axes.fill_between(days, panel.low, panel.high, color=BAND, linewidth=0, step="mid")
            axes.axhline(0, color=MUTED, linewidth=0.6)
            axes.plot(days, panel.drift, color=LINE, linewidth=1.0)
            out = panel.out
            if out.any():
                axes.plot(np.array(days)[out], panel.drift[out], ".", color=ALERT, markersize=2.5)
            # A pair's name on two lines: the panels keep their width.
            label = panel.label.replace(" with ", "\nwith ")
            axes.set_ylabel(label, rotation=0, ha="right", va="center")
            axes.yaxis.grid(True, color=GRID, linewidth=0.6)
            drawn = panel.drift[np.isfinite(panel.drift)]
            finite = np.isfinite(panel.high)
            span = max(
                float(np.abs(drawn).max()) if len(drawn) else 1.0,
                float(panel.high[finite].max()) if finite.any() else 1.0,
                0.5,
            )
            axes.set_ylim(-span * 1.1, span * 1.1)
        pairs = [p.label for p in panels if " with " in p.label]
        axes_list[-1].set_xlabel(
            "drift from target in percentage points after each day's trades "
            "(shade: band; red: outside it)"
            + (
                f"\n{'; '.join(pairs)}: a primary and the tax alternates standing in for it, "
                "as one holding (their weights added up; the primary's target and band)"
                if pairs
                else ""
            )
        )
        date_axis(axes_list[-1])
        chart = _chart(figure_svg(fig, "Drift from target with bands"))
    if not pairs:
        return chart
    return chart + (
        f'<p class="small">{escape("; ".join(pairs))}: a primary and the tax alternates '
        "standing in for it (after a harvest or a redirected buy), drawn as one holding: "
        "their weights added up, against the primary's target and band, as the planner tests "
        "them and the daily report names them. An alternate has a panel of its own only on "
        "days it does not stand in.</p>"
    )


def _trades_per_year(run: Run) -> str:
    counts: dict[int, int] = {}
    for fill in run.result.fills:
        counts[fill.day.year] = counts.get(fill.day.year, 0) + 1
    years = list(range(run.result.days[0].year, run.result.days[-1].year + 1))
    with figure(WIDTH, 2.0) as fig:
        axes = fig.add_subplot()
        axes.bar([str(y) for y in years], [counts.get(y, 0) for y in years], color=LINE)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_ylabel("trades (day 0 included)")
        return _chart(figure_svg(fig, "Trades per year"))


def _years(m: dict[str, Any]) -> str:
    years = m["annual_returns"]
    if not years:
        return '<p class="empty">No year has a return.</p>'
    bench = {y["year"]: y["return"] for y in (m.get("benchmark") or {}).get("annual_returns", [])}
    # A year the range covers only in part is starred, as its bar is not a year's return.
    labels = [f"{y['year']}" if y["whole"] else f"{y['year']}*" for y in years]
    ours = [100 * (y["return"] or 0.0) for y in years]
    with figure(WIDTH, 2.4) as fig:
        axes = fig.add_subplot()
        places = np.arange(len(years))
        width = 0.4 if bench else 0.7
        axes.bar(places - (width / 2 if bench else 0), ours, width, color=LINE, label="account")
        if bench:
            theirs = [100 * (bench.get(y["year"]) or 0.0) for y in years]
            axes.bar(places + width / 2, theirs, width, color=BENCH, label="benchmark")
            axes.legend(frameon=False, loc="upper left", fontsize=8)
        axes.axhline(0, color=MUTED, linewidth=0.6)
        axes.set_xticks(places, labels, rotation=90 if len(years) > 12 else 0, fontsize=8)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_ylabel("% in the year")
        chart = _chart(figure_svg(fig, "Time-weighted return of each calendar year"))
    partial = [f"{y['year']} ({y['from']} to {y['to']})" for y in years if not y["whole"]]
    note = (
        f'<p class="small">* Part of a year only: {escape(", ".join(partial))}. Best and worst '
        "year count whole years only.</p>"
        if partial
        else ""
    )
    return chart + note


def _rolling_table(m: dict[str, Any]) -> str:
    rows = [(window, r) for window, r in m["rolling_returns"].items() if r is not None]
    if not rows:
        return '<p class="small">Rolling returns need at least a year (252 days) of returns.</p>'
    body = "".join(
        f"<tr><td>{_years_text(window)}</td><td>{r['windows']}</td>"
        f"<td>{_pct(r['worst'])}</td><td>{_pct(r['median'])}</td><td>{_pct(r['best'])}</td></tr>"
        for window, r in rows
    )
    return (
        "<h3>Rolling returns (a year, annualized)</h3>"
        '<div class="scroll"><table class="num"><thead><tr><th>window</th><th>windows</th>'
        f"<th>worst</th><th>median</th><th>best</th></tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def _years_text(window: str) -> str:
    count = int(window.removesuffix("y"))
    return f"{count} year" if count == 1 else f"{count} years"


def _falls_table(m: dict[str, Any]) -> str:
    falls = m["drawdowns"]
    if not falls:
        return ""
    body = "".join(
        f"<tr><td>{_pct(f['depth'])}</td><td>{escape(f['peak'] or '')}</td>"
        f"<td>{escape(f['trough'] or '')}</td>"
        f"<td>{escape(f['recovered'] or 'not yet')}</td></tr>"
        for f in falls
    )
    return (
        "<h3>Deepest falls</h3>"
        '<div class="scroll"><table class="num"><thead><tr><th>depth</th><th>peak</th>'
        f"<th>trough</th><th>back at the peak</th></tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def _chart(svg: str) -> str:
    return f'<figure class="chart">{svg}</figure>'


def _summary_table(m: dict[str, Any], result: BacktestResult) -> str:
    bench = m.get("benchmark")
    rows = [
        ("total return (time-weighted)", "total_return"),
        ("CAGR", "cagr"),
        ("money-weighted return", "money_weighted_return"),
        ("volatility", "volatility"),
        ("max drawdown", "max_drawdown"),
        ("best year", "best_year"),
        ("worst year", "worst_year"),
        ("Sharpe", "sharpe"),
        ("Sortino", "sortino"),
        ("turnover a year", "turnover"),
        ("trades", "trade_count"),
        ("rebalances", "rebalance_count"),
        ("commissions", "commissions"),
        ("dividends", "dividends"),
        ("contributed", "contributed"),
        ("withdrawn", "withdrawn"),
    ]
    head = "<th></th><th>account</th>" + (f"<th>{escape(bench['symbol'])}</th>" if bench else "")
    body = []
    for label, key in rows:
        cells = f"<th>{escape(label)}</th><td>{escape(_shown(m, key))}</td>"
        if bench:
            cells += f"<td>{escape(_shown(bench, key)) if key in bench else ''}</td>"
        body.append(f"<tr>{cells}</tr>")
    # The orders the run did not fill (`Orders not filled` above names them).
    for label, count in (
        ("orders refused", len(result.refused)),
        ("buys skipped", len(result.skipped)),
    ):
        body.append(f"<tr><th>{label}</th><td>{count}</td>{'<td></td>' if bench else ''}</tr>")
    if bench:
        for label, key in (("correlation", "correlation"), ("beta", "beta")):
            cells = f"<th>{escape(label)} with {escape(bench['symbol'])} (daily)</th>"
            body.append(f"<tr>{cells}<td>{escape(_shown(bench, key))}</td><td></td></tr>")
    return (
        f'<table class="num"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _tax_table(m: dict[str, Any]) -> str:
    rows = [
        ("realized short-term gains", "realized_short_term"),
        ("realized long-term gains", "realized_long_term"),
        ("harvested losses", "harvested_losses"),
        ("disallowed losses (wash sales)", "disallowed_losses"),
        ("loss carried forward", "loss_carryforward"),
        ("taxes", "taxes"),
        ("after-tax value", "after_tax_value"),
        ("after-tax CAGR", "after_tax_cagr"),
        ("tax drag", "tax_drag"),
    ]
    body = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(_shown(m, key))}</td></tr>" for label, key in rows
    )
    rates = m["tax_rates"]
    years = "".join(
        f"<tr><th>{escape(year)}</th><td>{escape(_money(tax))}</td></tr>"
        for year, tax in m["taxes_by_year"].items()
    )
    note = (
        f'<p class="small">Rates: short-term {escape(rates["short_term"])}, long-term '
        f"{escape(rates['long_term'])}, dividends {escape(rates['dividends'])}.</p>"
    )
    by_year = (
        f'<h3>Taxes by year</h3><table class="num kv"><tbody>{years}</tbody></table>'
        if years
        else ""
    )
    return f'<table class="num kv"><tbody>{body}</tbody></table>{note}{by_year}'


def _shown(m: dict[str, Any], key: str) -> str:
    text = shown(m, key)
    return "—" if text == "-" else f"${text}" if isinstance(m.get(key), str) else text


def _pct(value: float | None) -> str:
    return "—" if value is None else fixed(value * 100, 2, minus="-") + "%"


def _money(text: str) -> str:
    return f"${Decimal(text):,.2f}"
