"""The backtest's price file has two readers: `_parse_plain`, which reads a whole file of
plain rows in a few calls into C, and the row-by-row `_parse`, which reads everything else
and names what is wrong. On any file the first either gives up (None, and the second reads
it) or gives what the second gives: the same days, rows, closes as written and floats, bit
for bit; an error it raises itself (a bad header, a bad close) is the second's word for word.
The fixed-point parse of plain closes (`_exact_floats`) gives numpy's floats bit for bit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.prices import PriceTable, _exact_floats, _parse, _parse_plain, _PlainReader
from tests.hypothesis_profiles import scaled

PATH = Path("prices.csv")

plain_closes = st.builds(
    lambda whole, point, fraction: whole + (("." + fraction) if point else ""),
    st.from_regex(r"0?[1-9][0-9]{0,7}", fullmatch=True),
    st.booleans(),
    st.text("0123456789", min_size=0, max_size=8),
)
odd_closes = st.sampled_from(
    ["", " 5", "1e3", "+2", "-1", "0", "0.0", "1..2", ".", ".5", "5.", "nan", "1e13", "1e14", "５"]
)
DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "20240108", " 2024-01-09"]


@st.composite
def price_files(draw: st.DrawFn) -> str:
    """Mostly files both readers read, with now and then a fault of one kind or another."""
    width = draw(st.integers(1, 4))
    header = ["date", *[f"S{j}" for j in range(width)]]
    # Rare faults on the largest draw: hypothesis leans to the smallest.
    if draw(st.integers(0, 7)) == 7:
        header[-1] = draw(st.sampled_from(["", " S0", "S0", "s 1"]))
    days = [DAYS[i] for i in sorted(draw(st.sets(st.integers(0, len(DAYS) - 1), min_size=1)))]
    if draw(st.integers(0, 7)) == 7:
        days = draw(st.permutations(days))
    odd = draw(st.integers(0, 3)) == 3
    closes = st.one_of(plain_closes, odd_closes) if odd else plain_closes
    lines = [",".join(header)]
    for day in days:
        cells = draw(st.lists(closes, min_size=width, max_size=width))
        if draw(st.integers(0, 15)) == 15:
            cells = cells[:-1]  # a cell short
        lines.append(",".join([day, *cells]))
        if draw(st.integers(0, 15)) == 15:
            lines.append("")  # a blank line
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + draw(st.sampled_from(["", end]))


def _slow(text: str) -> PriceTable | str:
    try:
        return _parse(PATH, _PlainReader(text))
    except BacktestInputError as exc:
        return str(exc)


def _same(fast: PriceTable, slow: PriceTable) -> bool:
    return (
        fast.days == slow.days
        and fast.symbols == slow.symbols
        and fast.lines == slow.lines
        and fast.rows == slow.rows
        and fast.floats.shape == slow.floats.shape
        and bool((fast.floats.view(np.int64) == slow.floats.view(np.int64)).all())
    )


@settings(max_examples=scaled(400))
@given(text=price_files())
@example(text="date,A,B\n2024-01-02,030.65,5.\n2024-01-03,.5,12345678901.2345\n")
@example(text="date,A\n2024-01-02,1e13\n")  # on the edge of the range: read exactly
@example(text="date,A,B\n2024-01-02,1,\n2024-01-03,2,3\n")  # a gap
@example(text="date,A\n2024-01-02,0\n")
def test_the_plain_reader_reads_as_the_row_reader_does(text: str) -> None:
    slow = _slow(text)
    fast: PriceTable | str | None
    try:
        fast = _parse_plain(PATH, text)
    except BacktestInputError as exc:
        fast = str(exc)
    if isinstance(fast, str):
        assert fast == slow
    elif fast is not None:
        assert isinstance(slow, PriceTable), slow
        assert _same(fast, slow)


def test_a_file_of_plain_rows_is_read_by_the_plain_reader() -> None:
    text = "date,A,B\r\n2024-01-02,030.65,5.\r\n2024-01-03,.5,12345678901.2345\r\n"
    fast = _parse_plain(PATH, text)
    assert fast is not None
    assert fast.floats.tolist() == [[30.65, 5.0], [0.5, 12345678901.2345]]
    assert fast.digits is not None
    assert fast.digits[0].tolist() == [[3065, 5], [5, 123456789012345]]
    assert fast.digits[1].tolist() == [[2, 0], [1, 4]]
    assert fast.lines == ("030.65,5.", ".5,12345678901.2345")
    assert fast.rows == (2, 3)


@settings(max_examples=scaled(200))
@given(rows=st.lists(st.lists(plain_closes, min_size=3, max_size=3), min_size=1, max_size=300))
def test_the_fixed_point_parse_gives_numpys_floats_and_the_exact_digits(
    rows: list[list[str]],
) -> None:
    exact = _exact_floats([",".join(row) for row in rows], 3)
    texts = [cell for row in rows for cell in row]
    cells = np.array(texts, dtype=float).reshape(len(rows), 3)
    inside = bool(((cells > 1e-6) & (cells < 1e13)).all())
    digits = max(len(cell.replace(".", "")) for cell in texts)
    if exact is None:
        # Refused only for a close out of the range, or of more digits than float64 keeps.
        assert not inside or digits > 15
        return
    floats, (integers, places) = exact
    assert (floats.view(np.int64) == cells.view(np.int64)).all()
    for text, integer, place in zip(texts, integers.ravel(), places.ravel(), strict=True):
        # The close as Decimal reads it: its digits and its exponent, as written.
        written = Decimal(text)
        assert written == Decimal(int(integer)).scaleb(-int(place))
        assert written.as_tuple().exponent == -int(place)


def test_closes_not_in_plain_form_are_left_to_numpy() -> None:
    assert _exact_floats(["1e3"], 1) is None
    assert _exact_floats(["1.2.3"], 1) is None
    assert _exact_floats(["1234567890123456"], 1) is None  # 16 digits
    assert _exact_floats(["+2"], 1) is None
