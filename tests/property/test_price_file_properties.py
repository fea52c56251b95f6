"""The backtest's price file, the simulated broker's CSV of closes and `trimtab prices merge`
take a close by one rule (`daemon.core.plannable`): a plain decimal number from 0.000001 to
10^13. Whatever a cell holds, the backtest's fast numpy check and its exact Decimal check agree
(the file is read, or refused naming the cell; never "found by numpy but not by Decimal"),
and the three readers accept exactly the same cells."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.sim.prices import PriceFileError, read_closes_csv
from daemon.backtest.errors import BacktestInputError
from daemon.backtest.prices import parse_close, read_prices
from daemon.core.plannable import MAX_NUMBER, MIN_PRICE
from tests.hypothesis_profiles import scaled

cells = st.one_of(
    st.text(alphabet="0123456789.eE+-_ naifINF１٣", min_size=1, max_size=8),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e999", "1e-400", "_1_0", "1_0", "1e13", "1.0000000000001e13", "1e-6"]),
    st.sampled_from(["0.0000009999999999999999999", "10000000000000.000000000001"]),
).filter(str.strip)  # a blank cell is no close at all (a gap), in every reader


@settings(max_examples=scaled(300))
@given(cell=cells)
@example(cell="1e999")
@example(cell="1e-400")
@example(cell="_1_0")
@example(cell="0.0000009999999999999999999")  # below the minimum, a float of 1e-6 exactly
def test_the_readers_agree_on_every_cell(cell: str) -> None:
    text = f"date,VTI,BND\n2026-11-02,300,72\n2026-11-03,{cell},72.5\n"
    with TemporaryDirectory() as folder:
        path = Path(folder) / "prices.csv"
        path.write_text(text, encoding="utf-8")
        backtest = _reads(lambda: _read_backtest(path), BacktestInputError, path)
        sim = _reads(lambda: read_closes_csv(path), PriceFileError, path)
    try:
        parse_close(cell.strip(), "here")
    except BacktestInputError:
        merge = False
    else:
        merge = True
    assert backtest == sim == merge, (backtest, sim, merge)


def _read_backtest(path: Path) -> None:
    table = read_prices(path)
    exact = table.decimals(["VTI"], 1, 2)[0][0]
    assert MIN_PRICE <= exact <= MAX_NUMBER
    assert table.floats[1, 0] == float(exact)


def _reads(read: Callable[[], object], refusal: type[Exception], path: Path) -> bool:
    """Return whether `read` reads the file; a refusal must name the bad cell."""
    try:
        read()
    except refusal as exc:
        assert f"{path}: row 3, column 2 (VTI): " in str(exc), exc  # noqa: PT017
        return False
    return True


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("1e999", "the close is too large (1E+999)"),
        ("1e-400", "the close is too small (1E-400)"),
        ("_1_0", "'_1_0' is not a number"),
        ("nan", "'nan' is not a number"),
        ("-inf", "'-inf' is not a number"),
        ("0", "a close must be a positive number, got 0"),
    ],
)
def test_a_bad_close_among_many_good_ones_is_named(tmp_path: Path, cell: str, message: str) -> None:
    rows = [f"2026-{m:02}-{d:02},{100 + d},{70 + m}" for m in range(1, 13) for d in range(1, 29)]
    rows[200] = rows[200].rsplit(",", 1)[0] + f",{cell}"
    path = tmp_path / "prices.csv"
    path.write_text("date,VTI,BND\n" + "\n".join(rows) + "\n")
    with pytest.raises(BacktestInputError) as caught:
        read_prices(path)
    assert f"{path}: row 202, column 3 (BND): {message}" in str(caught.value)


def test_the_range_edges_are_read(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("date,VTI,BND\n2026-11-02,10000000000000,0.000001\n2026-11-03,1e13,1E-6\n")
    table = read_prices(path)
    assert table.decimals(["VTI", "BND"], 0, 2)[1] == (Decimal("1e13"), Decimal("1E-6"))
