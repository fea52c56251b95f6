"""The close history a strategy sees: parsed, checked, and never past the trading day."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from daemon.core.domain import AccountType
from daemon.core.errors import DataError
from strategies.base import StrategyContext
from strategies.history import (
    CloseHistory,
    HistoryNeeds,
    from_series,
    parse_prices_csv,
    read_prices_csv,
)
from strategies.static import PLUGIN as STATIC
from tests.fakes.price_history import context, history

CSV = """date,VTI,BND
2024-01-03,101.5,70
2024-01-02,100,70.5
2024-01-04,102,
"""


def test_the_sim_format_parses_sorted_with_an_empty_cell_as_unknown() -> None:
    h = parse_prices_csv(CSV)
    assert h.symbols == ("VTI", "BND")
    assert h.days == (date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4))
    assert h.closes[0].tolist() == [100.0, 70.5]
    assert math.isnan(h.closes[2, 1])


def test_the_file_reader_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(CSV)
    assert read_prices_csv(path).closes[1].tolist() == [101.5, 70.0]
    with pytest.raises(DataError, match="cannot read prices"):
        read_prices_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("day,VTI\n2024-01-02,1\n", "first line must be date"),
        ("date,VTI\n2024-13-02,1\n", "line 2: '2024-13-02' is not a date"),
        ("date,VTI\n2024-01-02,abc\n", "VTI close 'abc' on 2024-01-02 is not a number"),
        ("date,VTI,BND\n2024-01-02,1\n", "line 2: 2 cells, the header has 3"),
        ("date,VTI\n2024-01-02,1\n2024-01-02,2\n", "2024-01-02 appears twice"),
        ("date,VTI,VTI\n2024-01-02,1,2\n", "names a symbol twice"),
    ],
)
def test_a_bad_price_file_names_the_line_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_prices_csv(text)


def test_the_closes_cannot_be_written() -> None:
    h = parse_prices_csv(CSV)
    with pytest.raises(ValueError, match="read-only"):
        h.closes[0, 0] = 1.0


def test_the_context_trims_history_to_its_trading_day() -> None:
    h = history(days=50)
    ctx = context(h, day=h.days[29])
    assert ctx.history.days == h.days[:30]
    assert ctx.history.closes.shape == (30, len(h.symbols))
    np.testing.assert_array_equal(ctx.history.closes, h.closes[:30])


def test_a_context_without_history_has_an_empty_one_and_static_still_works() -> None:
    ctx = StrategyContext(
        trading_day=date(2024, 1, 2),
        account="a",
        account_type=AccountType.TAXABLE,
        cash=Decimal(0),
        holdings={},
        prices={},
    )
    assert ctx.history.days == ()
    assert ctx.yields == {}
    static = STATIC.create(STATIC.params_model.model_validate({"targets": {"VTI": "1"}}))
    assert static.targets(ctx) == {"VTI": Decimal(1)}


def _window(h: CloseHistory, rows: int = 3, expected: date | None = None) -> np.ndarray:
    return h.window(strategy="hrp", symbols=["VTI", "BND"], rows=rows, expected_last=expected)


def test_the_window_is_the_last_rows_of_the_symbols_asked() -> None:
    h = parse_prices_csv("date,BND,VTI\n2024-01-02,1,2\n2024-01-03,3,4\n2024-01-04,5,6\n")
    assert _window(h, rows=2).tolist() == [[4.0, 3.0], [6.0, 5.0]]


@pytest.mark.parametrize(
    ("text", "rows", "message"),
    [
        (
            "date,VTI,BND\n2024-01-02,1,2\n",
            3,
            "strategy hrp: 1 days of price history up to 2024-01-02, needs 3; give a longer",
        ),
        (
            "date,VTI,BND\n2024-01-02,1,2\n2024-01-03,1,\n2024-01-04,1,2\n",
            3,
            r"BND has a gap \(other symbols have that day\) on 2024-01-03; fill the close",
        ),
        (
            "date,VTI,BND\n2024-01-02,1,2\n2024-01-03,,\n2024-01-04,1,2\n",
            3,
            "VTI has no close on 2024-01-03",
        ),
        (
            "date,VTI,BND\n2024-01-02,1,2\n2024-01-03,0,2\n2024-01-04,1,2\n",
            3,
            "VTI closes at 0.0 on 2024-01-03; a close must be a positive number",
        ),
        (
            "date,VTI,BND\n2024-01-02,1,2\n2024-01-03,1,-2\n2024-01-04,1,2\n",
            3,
            "BND closes at -2.0 on 2024-01-03",
        ),
        (
            "date,VTI,BND\n2024-01-02,1,2\n2024-01-03,1e300,2\n2024-01-04,1,2\n",
            3,
            r"VTI closes at 1e\+300 on 2024-01-03; a close must be a positive number \(a price",
        ),
        (
            "date,VTI,BND\n2024-01-02,1,2\n2024-01-03,1,1e-9\n2024-01-04,1,2\n",
            3,
            "BND closes at 1e-09 on 2024-01-03",
        ),
        ("date,VTI\n2024-01-02,1\n", 1, "no price history for BND; add a BND column"),
        ("date,VTI,BND,X\n2024-01-02,1,2,3\n2024-01-03,1,2,nan\n", 2, "X"),
    ],
)
def test_bad_history_names_the_strategy_symbol_day_and_fix(
    text: str, rows: int, message: str
) -> None:
    h = parse_prices_csv(text)
    if message == "X":  # a gap in a symbol the strategy does not use is not its problem
        assert _window(h, rows=rows).shape == (2, 2)
        return
    with pytest.raises(DataError, match=message):
        _window(h, rows=rows)


def test_a_gap_before_the_window_does_not_matter() -> None:
    h = parse_prices_csv("date,VTI,BND\n2024-01-02,,2\n2024-01-03,1,2\n2024-01-04,1,2\n")
    assert _window(h, rows=2).shape == (2, 2)


def test_stale_history_is_an_error_naming_the_expected_session() -> None:
    h = parse_prices_csv("date,VTI,BND\n2024-01-02,1,2\n2024-01-03,1,2\n2024-01-04,1,2\n")
    assert _window(h, expected=date(2024, 1, 4)).shape == (3, 2)
    with pytest.raises(DataError, match="stale: it ends 2024-01-04, the close of 2024-01-05"):
        _window(h, expected=date(2024, 1, 5))


def test_no_history_at_all_says_where_to_get_it() -> None:
    with pytest.raises(DataError, match="no price history; it needs 3 daily closes"):
        _window(CloseHistory((), (), np.empty((0, 0))))


def test_days_out_of_order_are_refused() -> None:
    with pytest.raises(DataError, match="strictly increasing"):
        CloseHistory((date(2024, 1, 3), date(2024, 1, 2)), ("A",), np.ones((2, 1)))


def test_a_brokers_series_become_one_history_with_gaps_as_nan() -> None:
    d1, d2, d3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)
    h = from_series(
        {
            "VTI": [(d1, Decimal("100.5")), (d2, Decimal(101)), (d3, Decimal(102))],
            "BND": [(d1, Decimal(70)), (d3, Decimal("70.25"))],
        }
    )
    assert h.symbols == ("BND", "VTI")
    assert h.days == (d1, d2, d3)
    assert h.closes[:, 1].tolist() == [100.5, 101.0, 102.0]
    assert math.isnan(h.closes[1, 0])
    with pytest.raises(DataError, match="BND has a gap"):
        h.window(strategy="hrp", symbols=["VTI", "BND"], rows=3)


def test_history_needs_cover_the_rows_in_calendar_days_and_combine() -> None:
    a = HistoryNeeds(frozenset({"A"}), 253)
    assert a.calendar_days() == 253 * 365 // 252 + 15
    assert (a | HistoryNeeds(frozenset({"B"}), 10)) == HistoryNeeds(frozenset({"A", "B"}), 253)


def _newetf(total: int, since: int) -> CloseHistory:
    """VTI on `total` weekdays from 2026-10-01; NEWETF only from the `since`-th of them."""
    days = [d for d in (date(2026, 10, 1) + timedelta(i) for i in range(2 * total + 7))
            if d.weekday() < 5][:total]  # fmt: skip
    return from_series({
        "VTI": [(d, Decimal(100) + i) for i, d in enumerate(days)],
        "NEWETF": [(d, Decimal(50)) for d in days[since:]],
    })  # fmt: skip


def test_a_symbol_newer_than_the_window_says_so_with_the_fixes() -> None:
    """The audit's case: a new ETF with 10 sessions in a 20-day momentum universe was told
    to fill a 'gap' on the day before its first close."""
    h = _newetf(42, 32)
    message = (
        r"strategy hrp: NEWETF has closes only from 2026-11-16 \(10 rows up to 2026-11-27; "
        r"the window needs 21\): shorten lookback_days, drop NEWETF from the universe, or "
        r"wait 11 more sessions"
    )
    with pytest.raises(DataError, match=message):
        h.window(strategy="hrp", symbols=["VTI", "NEWETF"], rows=21)
    assert h.window(strategy="hrp", symbols=["VTI", "NEWETF"], rows=10).shape == (10, 2)


def test_a_symbol_without_any_close_is_named_as_such() -> None:
    h = parse_prices_csv("date,VTI,NEW\n2024-01-02,1,\n2024-01-03,1,\n")
    with pytest.raises(DataError, match="NEW has no close in the price history; check the"):
        h.window(strategy="hrp", symbols=["VTI", "NEW"], rows=2)


@st.composite
def _late_first_close(draw: st.DrawFn) -> tuple[int, int, int]:
    """Rows in all, the row of the first close, and a window longer than the closes since
    it: drawn in range (filtering random triples failed hypothesis's health check)."""
    total = draw(st.integers(2, 60))
    since = draw(st.integers(1, total - 1))
    rows = draw(st.integers(total - since + 1, total))
    return total, since, rows


@example(case=(42, 32, 21))
@given(case=_late_first_close())
def test_a_late_first_close_inside_the_window_is_short_history(
    case: tuple[int, int, int],
) -> None:
    total, since, rows = case
    h = _newetf(total, since)
    with pytest.raises(DataError) as raised:
        h.window(strategy="hrp", symbols=["VTI", "NEWETF"], rows=rows)
    assert str(raised.value).startswith(
        f"strategy hrp: NEWETF has closes only from {h.days[since]} ({total - since} rows "
        f"up to {h.days[-1]}; the window needs {rows})"
    )
