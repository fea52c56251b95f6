"""A backtest day's value, cash + the sum of quantity x close, worked out on the closes'
digits in integers (`DayValues`), is the `Decimal` adding them up gives: the same number
written the same way (its exponent too, so its text in the JSON is the same), for any
quantities (zeros of any exponent among them), closes and cash, and when the sum needs more
digits than the context keeps (then `Decimal` rounds, and so does the fallback)."""

from __future__ import annotations

from decimal import Decimal
from operator import mul

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.backtest.prices import DecimalRows, _exact_floats
from daemon.backtest.values import DayValues
from tests.hypothesis_profiles import scaled

WIDTH = 3


def close(places: int) -> st.SearchStrategy[str]:
    whole = st.from_regex(r"0?[1-9][0-9]{0,5}", fullmatch=True)
    fraction = st.text("0123456789", min_size=places, max_size=places)
    return st.builds(lambda w, f: f"{w}.{f}" if places else w, whole, fraction)


@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    """Rows of closes, each with one number of places, or (now and then) mixed places."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 5)) == 5:
            cells = [draw(close(draw(st.integers(0, 4)))) for _ in range(WIDTH)]
        else:
            places = draw(st.integers(0, 4))
            cells = [draw(close(places)) for _ in range(WIDTH)]
        lines.append(",".join(cells))
    return lines


quantities = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=9, allow_nan=False),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
    st.integers(0, 5000).map(Decimal),
    st.sampled_from([Decimal(0), Decimal("0E-9"), Decimal("0.0"), Decimal("1E+3")]),
    st.sampled_from([Decimal("-0"), Decimal("-1.5"), Decimal("123456789012345678901.5")]),
)
cash = st.one_of(
    st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False),
    st.decimals(min_value=-1000, max_value=10**7, places=4, allow_nan=False),
    st.sampled_from([Decimal(0), Decimal("0E-2"), Decimal("5E+2"), Decimal("-0")]),
)


@settings(max_examples=scaled(400))
@given(lines=rows(), held=st.lists(quantities, min_size=WIDTH, max_size=WIDTH), money=cash)
@example(
    lines=["30.65,85.99,1.00"], held=[Decimal(0), Decimal("0E-9"), Decimal(0)], money=Decimal(5)
)
@example(
    lines=["30.65,85.99,1.00"],
    held=[Decimal("326.264274062"), Decimal(0), Decimal("1E+3")],
    money=Decimal("0.00"),
)
@example(  # 29 digits: Decimal rounds the product, and so the sum is added up in Decimal
    lines=["1.00,85.99,1.00"],
    held=[Decimal("123456789012345678.123456789"), Decimal(0), Decimal(0)],
    money=Decimal("0.01"),
)
def test_a_days_value_is_the_decimal_sum(
    lines: list[str], held: list[Decimal], money: Decimal
) -> None:
    exact = _exact_floats(lines, WIDTH)
    assert exact is not None
    decimals = DecimalRows(lines, tuple(range(WIDTH)))
    values = DayValues(decimals, exact[1])
    values.hold(held)
    for i in range(len(lines)):
        got = values.value(i, money)
        want = sum(map(mul, held, decimals[i]), money)
        assert got.as_tuple() == want.as_tuple(), (got, want)


def test_without_digits_the_decimal_sum_is_taken() -> None:
    decimals = DecimalRows(["1.5,2,3e1"], (0, 1, 2))
    values = DayValues(decimals, None)
    values.hold([Decimal(2), Decimal("0.5"), Decimal(1)])
    assert str(values.value(0, Decimal("1.00"))) == "35.00"


@settings(max_examples=scaled(100))
@given(
    width=st.integers(1, 4),
    places=st.integers(0, 3),
    days=st.integers(1, 60),
    holds=st.lists(
        st.tuples(st.integers(0, 59), st.lists(quantities, min_size=4, max_size=4)),
        min_size=1,
        max_size=5,
    ),
    data=st.data(),
)
def test_values_follow_the_quantities_held_from_day_to_day(
    width: int,
    places: int,
    days: int,
    holds: list[tuple[int, list[Decimal]]],
    data: st.DataObject,
) -> None:
    """As a run does: hold, value the days after, hold again on a later day, and so on (the
    sums made days at a time are made again for the new quantities)."""
    lines = [",".join(data.draw(close(places)) for _ in range(width)) for _ in range(days)]
    exact = _exact_floats(lines, width)
    assert exact is not None
    decimals = DecimalRows(lines, tuple(range(width)))
    values = DayValues(decimals, exact[1])
    money = data.draw(cash)
    # Cash from day to day: the same, equal but another object (a day's dividends of 0
    # added), or equal with another exponent.
    cashes = [money, money + Decimal(0), money + Decimal("0.000"), Decimal(str(money))]
    changes = {day % days: held[:width] for day, held in holds}
    held = changes.get(0, [Decimal(0)] * width)
    values.hold(held)
    for i in range(days):
        if i in changes:
            held = changes[i]
            values.hold(held)
        today = cashes[data.draw(st.integers(0, len(cashes) - 1))]
        got = values.value(i, today)
        assert got.as_tuple() == sum(map(mul, held, decimals[i]), today).as_tuple()
