"""Percentages, points, ratios and basis points never read "−0.0": a value that rounds to zero
carries no minus, as `money` already writes -0.004 as $0.00."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from daemon.backtest.report import _pct
from daemon.report import fmt


def test_values_that_round_to_zero_have_no_minus() -> None:
    assert fmt.money(Decimal("-0.004")) == "$0.00"
    assert fmt.pct(-0.0001) == "0.0%"
    assert fmt.pct(-0.0) == "0.0%"
    assert fmt.signed_pct(-0.00001) == "+0.00%"
    assert fmt.neg_pct(0.00001) == "0.0%"
    assert fmt.pp(-0.0003) == "+0.0 pp"
    assert fmt.ratio(-0.001) == "0.00"
    assert fmt.bps(-0.04) == "+0.0 bp"
    assert _pct(-1e-7) == "0.00%"


def test_negatives_keep_their_minus() -> None:
    assert fmt.pct(-0.0006) == "−0.1%"
    assert fmt.signed_pct(-0.0001) == "−0.01%"
    assert fmt.neg_pct(0.12) == "−12.0%"
    assert fmt.pp(-0.0006) == "−0.1 pp"
    assert fmt.ratio(-0.005) == "−0.01"
    assert fmt.bps(-0.06) == "−0.1 bp"
    assert fmt.pp(0.0006) == "+0.1 pp"
    assert _pct(-0.00006) == "-0.01%"


@given(st.floats(min_value=-1e6, max_value=1e6), st.integers(min_value=0, max_value=4))
@example(-0.0, 1)
@example(-0.04, 1)
def test_a_minus_comes_with_a_digit_that_is_not_zero(value: float, places: int) -> None:
    for text in (fmt.fixed(value, places), fmt.fixed(value, places, plus=True)):
        digits = text.lstrip("+−")
        if text.startswith("−"):
            assert float(digits) != 0
        assert float(digits) == abs(float(f"{value:.{places}f}"))
