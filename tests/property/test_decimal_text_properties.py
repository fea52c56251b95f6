"""The plain texts of Decimals written by `str` where that writes no exponent (the backtest's
JSON, the planner's order reasons) are `format(value, "f")`'s, for every Decimal; and an
f-string's `{value!s}` is its `{value}`."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.backtest.output import decimal_text
from daemon.core.planner.reasons import _plain
from tests.hypothesis_profiles import scaled

decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda coefficient, exponent: Decimal(coefficient).scaleb(exponent),
        st.integers(-(10**20), 10**20),
        st.integers(-20, 8),
    ),
)


@settings(max_examples=scaled(500))
@given(value=decimals)
@example(value=Decimal("0E-9"))
@example(value=Decimal("-0"))
@example(value=Decimal("1E+3"))
@example(value=Decimal("1E-7"))
@example(value=Decimal("0.000001"))
@example(value=Decimal("NaN"))
@example(value=Decimal("-Infinity"))
def test_the_plain_text_is_formats(value: Decimal) -> None:
    assert decimal_text(value) == format(value, "f")
    assert _plain(value) == format(value, "f")
    assert f"{value!s}" == f"{value}"
