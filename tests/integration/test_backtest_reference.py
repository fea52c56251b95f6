"""`trimtab backtest` against a plain reference loop written here (issue 16, item 4).

The loop (tests/integration/backtest_reference.py) is a second author's reading of the
issue's semantics; the engine is driven as a user would, through the command line, on
generated random-walk price files. NAV paths must agree to 1e-9 relative and rebalance days
exactly; the same run gives byte-identical JSON; appending future rows changes no past day;
bad price files and ranges are refused with errors that name the file, row and symbol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.core.sessions import sessions_between
from tests.integration.backtest_reference import (
    Bands,
    Reference,
    first_day_of_quarter,
    random_walk,
    reference_backtest,
    write_config,
    write_prices,
)

TRIMTAB = Path(sys.executable).parent / "trimtab"
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
TARGETS = {"AAA": "0.4", "BBB": "0.3", "CCC": "0.2", "DDD": "0.1"}
VOLS = (0.08, 0.2, 0.3, 0.45)
CASH = "10000000000"
RTOL = 1e-9


def backtest(config: Path, prices: Path, *extra: str, code: int = 0) -> str:
    """Run `trimtab backtest` in-process; return stdout (or the whole output on failure)."""
    args = ["backtest", "-c", str(config), "-a", "test", "--prices", str(prices), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def backtest_json(config: Path, prices: Path, *extra: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(backtest(config, prices, "--cash", CASH, "--json", *extra))
    return data


def market(tmp_path: Path, seed: int, days: int = 756) -> tuple[list[date], np.ndarray, Path]:
    dates, closes = random_walk(seed, days, VOLS)
    return dates, closes, write_prices(tmp_path / "prices.csv", dates, SYMBOLS, closes)


def reference(dates: list[date], closes: np.ndarray, **kwargs: Any) -> Reference:
    weights = [float(TARGETS[s]) for s in SYMBOLS]
    return reference_backtest(dates, SYMBOLS, closes, weights, cash=float(CASH), **kwargs)


def assert_matches(engine: dict[str, Any], ref: Reference) -> None:
    """NAV to 1e-9 relative on every day, the same rebalance days, the same trades."""
    days = [row["date"] for row in engine["nav"]]
    assert days == [d.isoformat() for d in ref.dates]
    nav = np.array([float(row["value"]) for row in engine["nav"]])
    expected = np.array(ref.nav)
    worst = int(np.argmax(np.abs(nav - expected) / expected))
    assert np.allclose(nav, expected, rtol=RTOL, atol=0), (
        f"NAV differs most on {days[worst]}: engine {nav[worst]!r}, reference {expected[worst]!r}"
    )
    assert engine["rebalances"] == [d.isoformat() for d in ref.rebalances]
    # Within a day the order of fills is the engine's business (sells first); compare sorted.
    trades = sorted(
        (t["date"], t["symbol"], t["side"], float(t["qty"]), float(t["price"]))
        for t in engine["trades"]
    )
    expected_trades = sorted((d.isoformat(), s, side, q) for d, s, side, q in ref.trades)
    assert [t[:3] for t in trades] == [t[:3] for t in expected_trades]
    # The simulated broker keeps cash in cents (a buy costs qty x price rounded up), so a day's
    # last buy is sized a few cents smaller than the loop's exact one: compare values to 10c.
    gap = [abs(t[3] - e[3]) * t[4] for t, e in zip(trades, expected_trades, strict=True)]
    assert max(gap) <= 0.10, trades[int(np.argmax(gap))]


@pytest.mark.parametrize(
    ("bands", "seed"),
    [
        (Bands(absolute_pp=5), 11),
        (Bands(absolute_pp=3), 12),
        (Bands(relative=0.25), 13),
        (Bands(relative=0.1), 14),
        (Bands(absolute_pp=4, relative=0.2), 15),
    ],
    ids=["abs5", "abs3", "rel25", "rel10", "abs4-rel20"],
)
def test_bands_match_the_reference_loop(tmp_path: Path, bands: Bands, seed: int) -> None:
    dates, closes, prices = market(tmp_path, seed)
    ref = reference(dates, closes, bands=bands)
    assert len(ref.rebalances) >= 3, "the walk must breach the bands for the test to mean much"
    config = write_config(tmp_path / "config.toml", TARGETS, bands=bands)
    assert_matches(backtest_json(config, prices), ref)


@pytest.mark.parametrize(
    ("bands", "seed"),
    [(Bands(absolute_pp=0), 16), (Bands(absolute_pp=3), 17), (Bands(relative=0.1), 18)],
    ids=["always", "abs3", "rel10"],
)
def test_a_quarterly_calendar_matches_the_reference_loop(
    tmp_path: Path, bands: Bands, seed: int
) -> None:
    """The cycle runs on each quarter's first row; a band of 0 points rebalances every time."""
    dates, closes, prices = market(tmp_path, seed)
    ref = reference(dates, closes, bands=bands, calendar=first_day_of_quarter)
    every_day = reference(dates, closes, bands=bands)
    assert len(ref.rebalances) >= 3
    assert ref.rebalances != every_day.rebalances
    config = write_config(tmp_path / "config.toml", TARGETS, bands=bands)
    assert_matches(backtest_json(config, prices, "--calendar", "quarterly"), ref)


def test_the_accounts_monthly_schedule_applies(tmp_path: Path) -> None:
    dates, closes, prices = market(tmp_path, 19)
    bands = Bands(absolute_pp=2)
    # The exchange's first session of each month, as the live scheduler picks it; the file's
    # rows are weekdays, holidays included: 1 January 2016 is a row, but no session.
    sessions = [s.day for s in sessions_between("XNYS", dates[0], dates[-1])]
    firsts = [d for p, d in pairwise(sessions) if (p.year, p.month) != (d.year, d.month)]
    assert date(2016, 1, 1) in dates
    assert date(2016, 1, 4) in firsts

    def first_of_month(day: date, previous: date | None) -> bool:
        """The first row on or after a month's first session."""
        return previous is not None and any(previous < first <= day for first in firsts)

    ref = reference(dates, closes, bands=bands, calendar=first_of_month)
    assert len(ref.rebalances) >= 3
    schedule = "first trading day of the month at close - 15m"
    config = write_config(tmp_path / "config.toml", TARGETS, bands=bands, schedule=schedule)
    assert_matches(backtest_json(config, prices), ref)


def test_a_range_starts_day_0_at_its_first_row(tmp_path: Path) -> None:
    dates, closes, prices = market(tmp_path, 21)
    bands = Bands(absolute_pp=3)
    config = write_config(tmp_path / "config.toml", TARGETS, bands=bands)
    first, last = 100, 600
    engine = backtest_json(
        config, prices, "--start", dates[first].isoformat(), "--end", dates[last].isoformat()
    )
    ref = reference(dates[first : last + 1], closes[first : last + 1], bands=bands)
    assert_matches(engine, ref)


def test_the_same_run_twice_gives_byte_identical_json(tmp_path: Path) -> None:
    _, _, prices = market(tmp_path, 31, days=300)
    config = write_config(tmp_path / "config.toml", TARGETS, bands=Bands(relative=0.1))
    args = ("--cash", CASH, "--json")
    assert backtest(config, prices, *args) == backtest(config, prices, *args)


@pytest.mark.slow
def test_two_processes_give_byte_identical_json(tmp_path: Path) -> None:
    """Whole processes with different hash seeds: no set or dict order leaks into the output."""
    _, _, prices = market(tmp_path, 32, days=200)
    config = write_config(tmp_path / "config.toml", TARGETS, bands=Bands(relative=0.1))
    args = [str(TRIMTAB), "backtest", "-c", str(config), "-a", "test", "--prices", str(prices)]
    args += ["--cash", CASH, "--json"]
    outputs = [tmp_path / "first.json", tmp_path / "second.json"]
    # Side by side: the two runs cost one start-up's wall time, not two.
    children = []
    for seed, path in zip(("1", "2"), outputs, strict=True):
        with path.open("wb") as out:
            env = {**os.environ, "PYTHONHASHSEED": seed}
            children.append(subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, env=env))
    for child in children:
        _, error = child.communicate(timeout=100)
        assert child.returncode == 0, error.decode()
    first, second = (path.read_bytes() for path in outputs)
    assert first == second
    assert json.loads(first)["rebalances"]


def test_appending_future_rows_changes_no_past_day(tmp_path: Path) -> None:
    dates, closes = random_walk(41, 700, VOLS)
    cut = 400
    # The future is violent (a crash then a boom in one symbol), so any peek at it shows.
    closes[cut:, 3] *= np.linspace(0.3, 3.0, len(dates) - cut)
    bands = Bands(absolute_pp=3)
    config = write_config(tmp_path / "config.toml", TARGETS, bands=bands)
    past = write_prices(tmp_path / "past.csv", dates[:cut], SYMBOLS, closes[:cut])
    whole = write_prices(tmp_path / "whole.csv", dates, SYMBOLS, closes)
    short = backtest_json(config, past)
    long = backtest_json(config, whole)
    ended = backtest_json(config, whole, "--end", dates[cut - 1].isoformat())
    end = dates[cut - 1].isoformat()
    assert len(short["nav"]) == cut
    for run in (long, ended):
        assert run["nav"][:cut] == short["nav"]
        assert [t for t in run["trades"] if t["date"] <= end] == short["trades"]
        assert [d for d in run["rebalances"] if d <= end] == short["rebalances"]
    assert ended["nav"] == short["nav"]
    assert short["rebalances"], "the past must rebalance for the test to mean much"


# --- bad input ---------------------------------------------------------------------------


def bad_file(tmp_path: Path, edit: Any) -> tuple[Path, Path]:
    dates, closes = random_walk(51, 30, VOLS)
    lines = write_prices(tmp_path / "prices.csv", dates, SYMBOLS, closes).read_text().splitlines()
    edit(lines)
    prices = tmp_path / "bad.csv"
    prices.write_text("\n".join(lines) + "\n")
    return write_config(tmp_path / "config.toml", TARGETS, bands=Bands(absolute_pp=5)), prices


def set_cell(lines: list[str], row: int, symbol: str, value: str) -> None:
    """Set a cell; `row` is the file's row number (the header is row 1)."""
    cells = lines[row - 1].split(",")
    cells[1 + SYMBOLS.index(symbol)] = value
    lines[row - 1] = ",".join(cells)


@pytest.mark.parametrize(
    ("name", "value"), [("empty", ""), ("zero", "0"), ("negative", "-3.5")], ids=str
)
def test_a_gap_or_a_bad_close_names_file_row_and_symbol(
    tmp_path: Path, name: str, value: str
) -> None:
    config, prices = bad_file(tmp_path, lambda lines: set_cell(lines, 17, "CCC", value))
    output = backtest(config, prices, "--json", code=2)
    flat = " ".join(output.split())
    assert "bad.csv" in flat, name
    assert "row 17" in flat
    assert "CCC" in flat


def test_dates_that_do_not_increase_name_file_and_row(tmp_path: Path) -> None:
    def swap(lines: list[str]) -> None:
        lines[9], lines[10] = lines[10], lines[9]  # rows 10 and 11

    config, prices = bad_file(tmp_path, swap)
    flat = " ".join(backtest(config, prices, code=2).split())
    assert "bad.csv" in flat
    assert "row 11" in flat


def test_a_repeated_date_is_refused(tmp_path: Path) -> None:
    def repeat(lines: list[str]) -> None:
        lines.insert(12, lines[11])  # row 13 repeats row 12

    config, prices = bad_file(tmp_path, repeat)
    flat = " ".join(backtest(config, prices, code=2).split())
    assert "bad.csv" in flat
    assert "row 13" in flat


def test_a_symbol_the_strategy_needs_missing_is_named(tmp_path: Path) -> None:
    def drop(lines: list[str]) -> None:
        for i, line in enumerate(lines):
            cells = line.split(",")
            del cells[1 + SYMBOLS.index("BBB")]
            lines[i] = ",".join(cells)

    config, prices = bad_file(tmp_path, drop)
    flat = " ".join(backtest(config, prices, code=2).split())
    assert "bad.csv" in flat
    assert "BBB" in flat


@pytest.mark.parametrize(
    ("start", "end"),
    [("2014-06-02", None), (None, "2030-01-02"), ("2030-01-02", None), (None, "2014-06-02")],
    ids=["start-early", "end-late", "start-late", "end-early"],
)
def test_a_range_outside_the_file_names_the_range_available(
    tmp_path: Path, start: str | None, end: str | None
) -> None:
    dates, closes = random_walk(61, 30, VOLS)
    prices = write_prices(tmp_path / "prices.csv", dates, SYMBOLS, closes)
    config = write_config(tmp_path / "config.toml", TARGETS, bands=Bands(absolute_pp=5))
    extra = [*(("--start", start) if start else ()), *(("--end", end) if end else ())]
    flat = " ".join(backtest(config, prices, *extra, code=2).split())
    assert dates[0].isoformat() in flat, flat
    assert dates[-1].isoformat() in flat, flat
