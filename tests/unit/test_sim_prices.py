"""Price sources of the simulated broker: synthetic walk, CSV closes, static prices."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.sim.config import CsvPriceSettings, SimSettings, SyntheticPriceSettings
from adapters.sim.prices import (
    NEW_YORK,
    CsvPrices,
    PriceFileError,
    PriceSource,
    StaticPrices,
    SyntheticPrices,
    _weekday_index,
    last_close_day,
    read_closes_csv,
)
from daemon.core.errors import DataError


def ny(year: int, month: int, day: int, hour: int = 17, minute: int = 0) -> datetime:
    """Return a New York wall-clock time (17:00 by default: after that day's close)."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def series(prices: PriceSource, symbol: str, first: date, days: int) -> list[Decimal | None]:
    """Return the quote after each day's close, for `days` calendar days from `first`."""
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        quote = prices.quote(symbol, ny(day.year, day.month, day.day))
        result.append(None if quote is None else quote.price)
    return result


# -- synthetic ----------------------------------------------------------------------------------


def test_synthetic_prices_are_pinned_forever() -> None:
    # Golden values: if these change, every saved paper account's history changes with them.
    prices = SyntheticPrices()
    expected = {
        ("VTI", date(2020, 1, 2)): Decimal("204.06"),
        ("VTI", date(2020, 1, 3)): Decimal("198.18"),
        ("VTI", date(2024, 3, 8)): Decimal("302.21"),
        ("VTI", date(2026, 11, 24)): Decimal("295.92"),
        ("BND", date(2020, 1, 2)): Decimal("131.98"),
        ("BND", date(2026, 11, 24)): Decimal("137.16"),
    }
    for (symbol, day), price in expected.items():
        quote = prices.quote(symbol, ny(day.year, day.month, day.day))
        assert quote is not None
        assert quote.price == price, (symbol, day)


def test_same_seed_same_series_other_seed_other_series() -> None:
    first = date(2021, 6, 1)
    one = series(SyntheticPrices(seed=7), "VTI", first, 60)
    assert series(SyntheticPrices(seed=7), "VTI", first, 60) == one
    assert series(SyntheticPrices(seed=8), "VTI", first, 60) != one
    assert series(SyntheticPrices(seed=7), "VXUS", first, 60) != one


def test_a_price_does_not_depend_on_what_else_was_asked_or_in_what_order() -> None:
    at = [ny(2022, 1, 3) + timedelta(days=i) for i in range(0, 400, 37)]
    fresh = {
        (symbol, t): SyntheticPrices().quote(symbol, t) for symbol in ("VTI", "BND") for t in at
    }
    shared = SyntheticPrices()
    for t in reversed(at):  # far dates first, and symbols interleaved the other way
        for symbol in ("BND", "VTI"):
            assert shared.quote(symbol, t) == fresh[symbol, t]


def test_quote_metadata_says_synthetic_and_which_seed() -> None:
    quote = SyntheticPrices(seed=3).quote("VTI", ny(2024, 3, 5))
    assert quote is not None
    assert quote.synthetic is True
    assert quote.source == "synthetic(seed=3)"
    assert quote.as_of == datetime(2024, 3, 5, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert quote.price == quote.price.quantize(Decimal("0.01"))


def test_synthetic_closes_are_each_weekdays_quote_and_none_before_the_start() -> None:
    prices = SyntheticPrices(seed=7, start=date(2024, 3, 1))
    closes = prices.closes("VTI", date(2024, 2, 20), date(2024, 3, 12))
    assert [day for day, _close in closes] == [
        date(2024, 3, day) for day in (1, 4, 5, 6, 7, 8, 11, 12)
    ]
    for day, close in closes:
        quote = prices.quote("VTI", ny(day.year, day.month, day.day))
        assert quote is not None
        assert (quote.as_of.astimezone(NEW_YORK).date(), quote.price) == (day, close)
    assert prices.closes("VTI", date(2024, 2, 1), date(2024, 2, 29)) == []


def test_static_prices_have_no_history() -> None:
    prices = StaticPrices({"VTI": Decimal(250)})
    assert prices.closes("VTI", date(2024, 1, 1), date(2024, 12, 31)) == []


def test_weekends_carry_fridays_close() -> None:
    prices = SyntheticPrices()
    friday = prices.quote("VTI", ny(2024, 3, 8, 16, 0))
    assert friday is not None
    for later in (ny(2024, 3, 9, 12), ny(2024, 3, 10, 23), ny(2024, 3, 11, 9, 30)):
        quote = prices.quote("VTI", later)
        assert quote == friday
    assert friday.as_of == datetime(2024, 3, 8, 21, 0, tzinfo=UTC)
    monday = prices.quote("VTI", ny(2024, 3, 11, 16, 0))
    assert monday is not None
    assert monday.as_of == datetime(2024, 3, 11, 20, 0, tzinfo=UTC)  # daylight saving began


def test_a_close_is_visible_only_from_16_00_new_york() -> None:
    prices = SyntheticPrices()
    before = prices.quote("VTI", ny(2024, 3, 6, 15, 59))
    at_close = prices.quote("VTI", ny(2024, 3, 6, 16, 0))
    assert before is not None
    assert at_close is not None
    assert before.as_of == datetime(2024, 3, 5, 21, 0, tzinfo=UTC)
    assert at_close.as_of == datetime(2024, 3, 6, 21, 0, tzinfo=UTC)
    assert before.as_of <= ny(2024, 3, 6, 15, 59)


def test_no_synthetic_price_before_start() -> None:
    prices = SyntheticPrices(start=date(2024, 3, 9))  # a Saturday: first close Monday 11th
    assert prices.quote("VTI", ny(2024, 3, 8)) is None
    assert prices.quote("VTI", ny(2024, 3, 11, 15)) is None
    assert prices.quote("VTI", ny(2024, 3, 11)) is not None


def test_base_prices_set_the_first_close_and_derived_ones_are_plausible() -> None:
    prices = SyntheticPrices(base_prices={"VTI": Decimal("250.00")}, start=date(2024, 3, 4))
    first = prices.quote("VTI", ny(2024, 3, 4))
    assert first is not None
    assert first.price == Decimal("250.00")
    for symbol in ("BND", "VXUS", "X", "BRK.B"):
        assert Decimal(20) <= prices.base_price(symbol) <= Decimal(210)
    with pytest.raises(ValueError, match="base price of VTI must be positive"):
        SyntheticPrices(base_prices={"VTI": Decimal(0)})


def test_without_volatility_the_walk_is_pure_drift() -> None:
    flat = SyntheticPrices(annual_drift=Decimal(0), annual_volatility=Decimal(0))
    assert set(series(flat, "VTI", date(2021, 1, 1), 30)) == {flat.base_price("VTI")}
    growing = SyntheticPrices(
        annual_drift=Decimal("0.07"),
        annual_volatility=Decimal(0),
        base_prices={"VTI": Decimal(100)},
        start=date(2024, 1, 1),
    )
    # 252 weekdays after Monday 2024-01-01 is Wednesday 2024-12-18: one year of steps, and
    # e^0.07 = 1.0725.
    year_later = growing.quote("VTI", ny(2024, 12, 18))
    assert year_later is not None
    assert year_later.price == Decimal("107.25")


def test_the_walk_has_the_volatility_asked_for() -> None:
    prices = SyntheticPrices(base_prices={"VTI": Decimal(100000)})
    closes = [prices._price("VTI", i) for i in range(2521)]
    returns = [math.log(closes[i + 1] / closes[i]) for i in range(len(closes) - 1)]
    mean = sum(returns) / len(returns)
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns))
    assert sd * math.sqrt(252) == pytest.approx(0.18, rel=0.05)


def test_a_collapsing_walk_stops_at_one_cent() -> None:
    prices = SyntheticPrices(annual_drift=Decimal(-1), annual_volatility=Decimal(2))
    tail = series(prices, "VTI", date(2045, 1, 2), 5)
    assert all(p is not None and p >= Decimal("0.01") for p in tail)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SyntheticPrices().quote("VTI", datetime(2024, 3, 5, 12))


@given(st.dates(date(2000, 1, 1), date(2040, 1, 1)), st.integers(0, 800))
def test_weekday_index_counts_weekdays(first: date, span: int) -> None:
    first += timedelta(days=(7 - first.weekday()) % 7)  # a Monday
    day = first + timedelta(days=span)
    if day.weekday() >= 5:
        return
    brute = sum(1 for i in range(1, span + 1) if (first + timedelta(days=i)).weekday() < 5)
    assert _weekday_index(first, day) == brute
    assert _weekday_index(day + timedelta(days=1), day) == -1


def test_last_close_day_across_the_week() -> None:
    assert last_close_day(ny(2024, 3, 11, 9)) == date(2024, 3, 10)  # calendar, for CSV
    assert last_close_day(ny(2024, 3, 11, 9), weekdays_only=True) == date(2024, 3, 8)
    utc_evening = datetime(2024, 3, 12, 2, 0, tzinfo=UTC)  # Monday 22:00 in New York
    assert last_close_day(utc_evening, weekdays_only=True) == date(2024, 3, 11)


def test_synthetic_settings_build_the_walk_they_describe() -> None:
    settings = SyntheticPriceSettings(seed=9, base_prices={"VTI": Decimal(100)})
    built = settings.build()
    assert built.describe() == {
        "source": "synthetic",
        "synthetic": True,
        "seed": 9,
        "start": "2020-01-02",
        "annual_drift": "0.07",
        "annual_volatility": "0.18",
    }
    assert built.quote("VTI", ny(2020, 1, 2)) == SyntheticPrices(
        seed=9, base_prices={"VTI": Decimal(100)}
    ).quote("VTI", ny(2020, 1, 2))


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"annual_volatility": "-0.1"}, "annual_volatility must not be negative"),
        ({"annual_volatility": "18"}, "annual_volatility 18 is over 2"),
        ({"annual_drift": "7"}, "less than or equal to 1"),
        ({"base_prices": {"VTI": "-5"}}, "base_prices.VTI must be positive"),
        ({"base_prices": {" ": "5"}}, "empty symbol name"),
        ({"source": "random"}, "does not match any of the expected tags"),
        ({"seed": 1, "sed": 2}, "Extra inputs are not permitted"),
    ],
)
def test_synthetic_settings_refuse_nonsense(prices: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SimSettings.model_validate({"prices": {"source": "synthetic", **prices}})


# -- CSV ----------------------------------------------------------------------------------------

CLOSES = """\
date,VTI,BND
2024-03-04,250.10,72.00
2024-03-05,251.20,
2024-03-06,249.90,72.30

2024-03-08,,72.10
"""


def write(tmp_path: Path, text: str, name: str = "closes.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_quotes_the_last_close_on_or_before_the_day(tmp_path: Path) -> None:
    prices = CsvPrices.from_file(write(tmp_path, CLOSES))

    def price(symbol: str, at: datetime) -> Decimal | None:
        quote = prices.quote(symbol, at)
        return None if quote is None else quote.price

    assert price("VTI", ny(2024, 3, 4)) == Decimal("250.10")
    assert price("BND", ny(2024, 3, 5)) == Decimal("72.00")  # empty cell: yesterday's close
    assert price("VTI", ny(2024, 3, 7)) == Decimal("249.90")  # no row: the last one before
    assert price("VTI", ny(2024, 3, 9)) == Decimal("249.90")
    assert price("BND", ny(2024, 3, 9)) == Decimal("72.10")
    assert price("VTI", ny(2030, 1, 1)) == Decimal("249.90")
    assert price("VTI", ny(2024, 3, 3)) is None  # before the file starts
    assert price("VTI", ny(2024, 3, 4, 15, 59)) is None  # the first close is not out yet
    assert price("VXUS", ny(2024, 3, 6)) is None  # unknown symbol


def test_csv_closes_are_the_rows_in_the_range_with_gaps_kept(tmp_path: Path) -> None:
    prices = CsvPrices.from_file(write(tmp_path, CLOSES))
    assert prices.closes("BND", date(2024, 3, 1), date(2024, 3, 31)) == [
        (date(2024, 3, 4), Decimal("72.00")),
        (date(2024, 3, 6), Decimal("72.30")),
        (date(2024, 3, 8), Decimal("72.10")),
    ]
    assert prices.closes("VTI", date(2024, 3, 5), date(2024, 3, 6)) == [
        (date(2024, 3, 5), Decimal("251.20")),
        (date(2024, 3, 6), Decimal("249.90")),
    ]
    assert prices.closes("VTI", date(2024, 3, 7), date(2024, 3, 7)) == []
    assert prices.closes("VXUS", date(2024, 3, 1), date(2024, 3, 31)) == []


def test_csv_quote_metadata(tmp_path: Path) -> None:
    prices = CsvPrices.from_file(write(tmp_path, CLOSES))
    quote = prices.quote("VTI", ny(2024, 3, 7, 10))  # before Thursday's close: Wednesday's
    assert quote is not None
    assert quote.as_of == datetime(2024, 3, 6, 21, 0, tzinfo=UTC)
    assert quote.source == "csv:closes.csv"
    assert quote.synthetic is False
    assert prices.describe() == {
        "source": "csv",
        "synthetic": False,
        "path": str(tmp_path / "closes.csv"),
        "symbols": ["VTI", "BND"],
    }


def test_csv_accepts_a_byte_order_mark_spaces_and_any_case_date_header(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffDate , VTI \r\n2024-03-04 , 250.1 \r\n".encode())
    table = read_closes_csv(path)
    assert table.symbols == ("VTI",)
    assert table.series["VTI"] == ((date(2024, 3, 4),), (Decimal("250.1"),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; row 1 must be date,SYMBOL"),
        ("day,VTI\n2024-03-04,1\n", "row 1, column 1 is 'day'; the header must start with 'date'"),
        ("date\n2024-03-04\n", "row 1 names no symbols"),
        ("date,VTI,\n2024-03-04,1,2\n", "row 1, column 3 has no symbol name"),
        ("date,VTI,VTI\n2024-03-04,1,2\n", "row 1, column 3 repeats symbol 'VTI'"),
        ("date,VTI\n", "has a header but no rows of closes"),
        ("date,VTI,BND\n2024-03-04,1\n", "row 2 has 2 cells but the header has 3"),
        (
            "date,VTI\n2024-03-04,1\n03/05/2024,2\n",
            "row 3, column 1 \\(date\\): '03/05/2024' is not",
        ),
        (
            "date,VTI\n2024-03-05,1\n2024-03-04,2\n",
            "row 3, column 1 \\(date\\): 2024-03-04 does not",
        ),
        (
            "date,VTI\n2024-03-05,1\n2024-03-05,2\n",
            "row 3, column 1 \\(date\\): 2024-03-05 does not",
        ),
        ("date,VTI,BND\n2024-03-04,1,$72\n", "row 2, column 3 \\(BND\\): '\\$72' is not a number"),
        ('date,VTI\n2024-03-04,"1,234.50"\n', "row 2, column 2 \\(VTI\\): '1,234.50' is not"),
        ("date,VTI\n2024-03-04,0\n", "row 2, column 2 \\(VTI\\): a close must be a positive"),
        ("date,VTI\n2024-03-04,-3\n", "row 2, column 2 \\(VTI\\): a close must be a positive"),
        ("date,VTI\n2024-03-04,NaN\n", "row 2, column 2 \\(VTI\\): 'NaN' is not a number"),
        ('date,VTI\n2024-03-04,"1\n', "row 2: malformed CSV"),
    ],
)
def test_csv_errors_name_the_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PriceFileError, match=message) as caught:
        read_closes_csv(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, DataError)


def test_csv_file_problems(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="does not exist"):
        read_closes_csv(tmp_path / "missing.csv")
    with pytest.raises(PriceFileError, match="is a directory"):
        read_closes_csv(tmp_path)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,VTI\n2024-03-04,1\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(PriceFileError, match="is not UTF-8 text"):
        read_closes_csv(latin)


def test_csv_settings_check_the_file_when_validated(tmp_path: Path) -> None:
    bad = write(tmp_path, "date,VTI\n2024-03-04,abc\n")
    with pytest.raises(ValidationError) as caught:
        SimSettings.model_validate({"prices": {"source": "csv", "path": str(bad)}})
    [error] = caught.value.errors()
    assert error["loc"] == ("prices", "csv", "path")
    assert f"{bad}: row 2, column 2 (VTI)" in error["msg"]
    assert "fix" in error.get("ctx", {})


def test_csv_settings_resolve_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write(config_dir, CLOSES)
    settings = CsvPriceSettings.model_validate(
        {"source": "csv", "path": "closes.csv"}, context={"config_dir": config_dir}
    )
    assert settings.path == config_dir / "closes.csv"
    monkeypatch.chdir(config_dir)
    from_cwd = CsvPriceSettings.model_validate({"source": "csv", "path": "closes.csv"})
    assert from_cwd.path == config_dir / "closes.csv"
    quote = from_cwd.build().quote("VTI", ny(2024, 3, 4))
    assert quote is not None
    assert quote.price == Decimal("250.10")


# -- static -------------------------------------------------------------------------------------


def test_static_prices_are_what_the_caller_set() -> None:
    prices = StaticPrices({"VTI": Decimal("100.00")})
    at = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)
    quote = prices.quote("VTI", at)
    assert quote is not None
    assert (quote.price, quote.as_of, quote.source, quote.synthetic) == (
        Decimal("100.00"),
        at,
        "static",
        False,
    )
    prices.set("VTI", Decimal("101.50"))
    assert prices.quote("VTI", at).price == Decimal("101.50")  # type: ignore[union-attr]
    assert prices.quote("BND", at) is None
    prices.remove("VTI")
    assert prices.quote("VTI", at) is None
    assert prices.describe() == {"source": "static", "synthetic": False, "prices": {}}


@pytest.mark.parametrize("bad", [Decimal(0), Decimal(-1), Decimal("NaN"), 100.0])
def test_static_prices_refuse_unusable_prices(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a positive Decimal"):
        StaticPrices().set("VTI", bad)  # type: ignore[arg-type]


def test_every_source_satisfies_the_protocol(tmp_path: Path) -> None:
    sources = [SyntheticPrices(), CsvPrices.from_file(write(tmp_path, CLOSES)), StaticPrices()]
    assert all(isinstance(source, PriceSource) for source in sources)
