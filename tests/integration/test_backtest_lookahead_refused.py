"""`trimtab backtest`: no cycle day depends on a later row; refused orders are reported; bad
input names its file.

1. Appending rows never changes a past day, whatever the schedule: a schedule's day filter
   ("last trading day of the month") is read from the exchange calendar, as the live
   scheduler reads it, never from the file's next row (a file ending on the Thursday before
   Good Friday rebalanced or not depending on whether April's rows were there).
2. An order a pre-trade check refuses is listed under `refused` in `--json` and counted
   under the summary table (it vanished: a run could sit in cash without a word).
3. A dividends file naming a symbol without a column names the dividends file; a gap in a
   strategy's look-back window names the price file, its row and column.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.sessions import sessions_between
from tests.integration.backtest_reference import Bands, random_walk, write_config, write_prices

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
TARGETS = {"AAA": "0.4", "BBB": "0.3", "CCC": "0.2", "DDD": "0.1"}
VOLS = (0.08, 0.2, 0.3, 0.45)
CASH = "10000000"
FIRST, LAST = date(2023, 11, 1), date(2024, 7, 31)


def cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["backtest", *args])
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def run_json(config: Path, prices: Path, *extra: str) -> dict[str, Any]:
    args = ["-c", str(config), "-a", "test", "--prices", str(prices), "--cash", CASH, "--json"]
    data: dict[str, Any] = json.loads(cli(*args, *extra))
    return data


def xnys_sessions(first: date, last: date) -> list[date]:
    """The New York exchange's sessions, as the live scheduler reads them."""
    return [session.day for session in sessions_between("XNYS", first, last)]


def weekday_dates(first: date, last: date) -> list[date]:
    """Every weekday, holidays included: synthetic data such as bench/bench_backtest.py's."""
    days = np.arange(np.datetime64(first), np.datetime64(last) + 1)
    return [d.astype(object) for d in days[np.is_busday(days)]]


def market(kind: str) -> tuple[list[date], np.ndarray]:
    """Closes on the exchange's sessions, or on every weekday; a violent last part, so a
    look at it shows."""
    dates = xnys_sessions(FIRST, LAST) if kind == "sessions" else weekday_dates(FIRST, LAST)
    _, closes = random_walk(71, len(dates), VOLS)
    closes[len(dates) // 2 :, 3] *= np.linspace(0.3, 3.0, len(dates) - len(dates) // 2)
    return dates, closes


SCHEDULES = {
    "daily": ("close - 15m", ()),
    "week-end": ("last trading day of the week at close - 15m", ()),
    "month-end": ("last trading day of the month at close - 15m", ()),
    "month-start": ("first trading day of the month at close - 15m", ()),
    "weekly": ("close - 15m", ("--calendar", "weekly")),
    "monthly": ("close - 15m", ("--calendar", "monthly")),
    "quarterly": ("close - 15m", ("--calendar", "quarterly")),
}
CUTS = (
    date(2023, 11, 22),  # the Wednesday before Thanksgiving
    date(2023, 12, 29),  # the year's last session; 1 January is a holiday
    date(2024, 1, 12),  # the Friday before Martin Luther King Jr. Day
    date(2024, 2, 28),  # the day before February's last session (29th)
    date(2024, 3, 28),  # the Thursday before Good Friday: March's and the week's last session
    date(2024, 3, 29),  # Good Friday (a row only in the weekday file)
    date(2024, 5, 24),  # the Friday before Memorial Day
    date(2024, 6, 18),  # the Tuesday before Juneteenth
    date(2024, 7, 3),  # the day before Independence Day
)


def past(run: dict[str, Any], end: str) -> dict[str, list[Any]]:
    """A run's days up to `end`, every key that lists days."""
    return {
        "nav": [n for n in run["nav"] if n["date"] <= end],
        "trades": [t for t in run["trades"] if t["date"] <= end],
        "skipped": [s for s in run["skipped"] if s["date"] <= end],
        "refused": [r for r in run.get("refused", ()) if r["date"] <= end],
        "rebalances": [d for d in run["rebalances"] if d <= end],
    }


@pytest.mark.parametrize("kind", ["sessions", "weekdays"])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_appending_rows_changes_no_past_day_on_any_schedule(
    tmp_path: Path, schedule: str, kind: str
) -> None:
    text, extra = SCHEDULES[schedule]
    dates, closes = market(kind)
    # A band of 0 points trades back to target on every cycle day: every cycle day shows
    # (a daily cycle has every row: 3 points keep its decisions, and the run, short).
    bands = Bands(absolute_pp=3 if schedule == "daily" else 0)
    config = write_config(tmp_path / "config.toml", TARGETS, bands=bands, schedule=text)
    whole = run_json(config, write_prices(tmp_path / "whole.csv", dates, SYMBOLS, closes), *extra)
    assert len(whole["rebalances"]) >= 3
    for cut in CUTS:
        if cut not in dates:
            continue
        rows = dates.index(cut) + 1
        cut_file = write_prices(tmp_path / f"{cut}.csv", dates[:rows], SYMBOLS, closes[:rows])
        short = run_json(config, cut_file, *extra)
        end = cut.isoformat()
        assert past(short, end) == past(whole, end), f"{schedule} on {kind}, cut after {end}"
        ended = run_json(config, tmp_path / "whole.csv", "--end", end, *extra)
        assert ended == short, f"{schedule} on {kind}, --end {end}"


MONTH_ENDS = ["2023-11-30", "2023-12-29", "2024-01-31", "2024-02-29", "2024-03-28"]
MONTH_ENDS += ["2024-04-30", "2024-05-31", "2024-06-28", "2024-07-31"]


@pytest.mark.parametrize("kind", ["sessions", "weekdays"])
def test_a_month_end_schedule_runs_on_the_calendars_last_session(tmp_path: Path, kind: str) -> None:
    """As the live scheduler: on Thursday 28 March 2024, Good Friday being a holiday, even
    in a file with a row on Good Friday and in a file that ends on the 28th."""
    dates, closes = market(kind)
    schedule = "last trading day of the month at close - 15m"
    config = write_config(
        tmp_path / "config.toml", TARGETS, bands=Bands(absolute_pp=0), schedule=schedule
    )
    prices = write_prices(tmp_path / "prices.csv", dates, SYMBOLS, closes)
    assert run_json(config, prices)["rebalances"] == MONTH_ENDS
    rows = dates.index(date(2024, 3, 28)) + 1
    cut = write_prices(tmp_path / "cut.csv", dates[:rows], SYMBOLS, closes[:rows])
    assert run_json(config, cut)["rebalances"] == MONTH_ENDS[:5]


def test_a_month_start_schedule_skips_a_holiday_row(tmp_path: Path) -> None:
    """A weekday file has a row on 1 January 2024; the exchange opened on the 2nd."""
    dates, closes = market("weekdays")
    schedule = "first trading day of the month at close - 15m"
    config = write_config(
        tmp_path / "config.toml", TARGETS, bands=Bands(absolute_pp=0), schedule=schedule
    )
    prices = write_prices(tmp_path / "prices.csv", dates, SYMBOLS, closes)
    assert run_json(config, prices)["rebalances"] == [
        "2023-12-01",
        "2024-01-02",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
        "2024-05-01",
        "2024-06-03",
        "2024-07-01",
    ]


def test_a_scheduled_session_the_file_lacks_runs_on_the_next_row(tmp_path: Path) -> None:
    """No row for 28 March 2024 (March's last session), run with --allow-missing-days:
    March's cycle runs on the file's next row, 1 April, the first close after it (known
    without reading any later row)."""
    dates, closes = market("sessions")
    keep = [i for i, d in enumerate(dates) if d != date(2024, 3, 28)]
    schedule = "last trading day of the month at close - 15m"
    config = write_config(
        tmp_path / "config.toml", TARGETS, bands=Bands(absolute_pp=0), schedule=schedule
    )
    prices = write_prices(tmp_path / "prices.csv", [dates[i] for i in keep], SYMBOLS, closes[keep])
    expected = [d if d != "2024-03-28" else "2024-04-01" for d in MONTH_ENDS]
    # A missing session is refused unless the run is told to go on (docs/backtest.md).
    assert run_json(config, prices, "--allow-missing-days")["rebalances"] == expected


# --- refused orders ------------------------------------------------------------------------

REFUSING = """state_dir = "state"
exchange = "XNYS"
[accounts.a]
broker = "sim"
type = "taxable"
strategy = "static"
[accounts.a.broker_settings]
slippage_bps = 0
fractional = true
[accounts.a.strategy_params]
targets = { AAA = "0.5", BBB = "0.5" }
[accounts.a.bands]
absolute_pp = 5
relative = 0.25
[accounts.a.policy]
rebalance_to = "target"
fractional = true
min_trade_notional = "0"
"""
# AAA falls a third on 8 January, past the 25% price-move check: its buy is refused.
MOVING = """date,AAA,BBB
2024-01-02,100,100
2024-01-03,110,100
2024-01-04,120,90
2024-01-05,150,80
2024-01-08,100,100
"""


@pytest.fixture
def refusing(tmp_path: Path) -> list[str]:
    (tmp_path / "config.toml").write_text(REFUSING)
    (tmp_path / "prices.csv").write_text(MOVING)
    return ["-c", str(tmp_path / "config.toml"), "-a", "a", "--prices"]


def test_an_order_a_check_refuses_is_listed_in_the_json(
    tmp_path: Path, refusing: list[str]
) -> None:
    out = json.loads(cli(*refusing, str(tmp_path / "prices.csv"), "--cash", "10000", "--json"))
    assert list(out) == ["nav", "trades", "skipped", "refused", "rebalances", "metrics"]
    [refused] = out["refused"]
    assert refused["date"] == "2024-01-08"
    assert (refused["symbol"], refused["side"], refused["check"]) == (
        "AAA",
        "buy",
        "price_move",
    )
    assert float(refused["qty"]) > 0
    assert "limit ±25%" in refused["reason"]
    sold = [t for t in out["trades"] if t["date"] == "2024-01-08"]
    assert [(t["symbol"], t["side"]) for t in sold] == [("BBB", "sell")]


def test_a_refused_order_is_counted_under_the_summary(tmp_path: Path, refusing: list[str]) -> None:
    text = " ".join(cli(*refusing, str(tmp_path / "prices.csv"), "--cash", "10000").split())
    assert "1 order was refused by a pre-trade check" in text
    assert "buy AAA on 2024-01-08, price_move: AAA at $100.00 moved -33.3%" in text
    assert "--json lists them under 'refused'" in text


def test_a_run_without_refusals_has_no_refused_key(tmp_path: Path, refusing: list[str]) -> None:
    calm = tmp_path / "calm.csv"
    calm.write_text(MOVING.replace("2024-01-08,100,100", "2024-01-08,140,85"))
    out = json.loads(cli(*refusing, str(calm), "--cash", "10000", "--json"))
    assert list(out) == ["nav", "trades", "skipped", "rebalances", "metrics"]
    text = cli(*refusing, str(calm), "--cash", "10000")
    assert "refused" not in text


# --- errors that name their file ------------------------------------------------------------


def test_a_dividend_of_a_symbol_without_a_column_names_the_dividends_file(
    tmp_path: Path, refusing: list[str]
) -> None:
    dividends = tmp_path / "payouts.csv"
    dividends.write_text("date,symbol,amount\n2024-01-03,ZZZ,1\n")
    prices = str(tmp_path / "prices.csv")
    output = cli(*refusing, prices, "--dividends", str(dividends), code=2)
    assert f"dividendsfile{dividends}:row2namesZZZ" in "".join(output.split()), output


def test_a_gap_in_the_strategys_window_names_the_price_file_and_row(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        REFUSING.replace('strategy = "static"', 'strategy = "inverse_vol"').replace(
            'targets = { AAA = "0.5", BBB = "0.5" }', 'universe = ["AAA", "BBB"]\nlookback_days = 5'
        )
    )
    dates = weekday_dates(date(2023, 11, 1), date(2023, 12, 29))
    _, closes = random_walk(72, len(dates), VOLS[:2])
    lines = ["date,AAA,BBB"] + [
        f"{d},{a:.2f},{b:.2f}" for d, (a, b) in zip(dates, closes, strict=True)
    ]
    lines[9] = f"{dates[8]},,{closes[8][1]:.2f}"  # row 10: no AAA close
    prices = tmp_path / "gappy.csv"
    prices.write_text("\n".join(lines) + "\n")
    start = dates[11].isoformat()  # the gap is inside the window of 5 rows before it
    output = cli("-c", str(config), "-a", "a", "--prices", str(prices), "--start", start, code=2)
    # The message may wrap anywhere (a long path): compare without whitespace.
    flat = "".join(output.split())
    assert f"{prices}:row10({dates[8]}),column2(AAA)" in flat, output
    assert f"--start{dates[15]}" in flat, output
