"""The money module: rounding to the cent by what the amount is for, and money as text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.money import CENT, cents, cents_down, cents_up, is_whole_cents, money, usd

amounts = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False
)


@given(amounts)
def test_spending_rounds_down_and_costs_round_up_by_less_than_a_cent(amount: Decimal) -> None:
    down, up = cents_down(amount), cents_up(amount)
    assert down <= amount <= up
    assert up - down in (Decimal(0), CENT)
    assert is_whole_cents(down)
    assert is_whole_cents(up)
    assert (down == up) == is_whole_cents(amount)


@given(amounts)
def test_a_reported_value_rounds_to_the_nearest_cent(amount: Decimal) -> None:
    assert abs(cents(amount) - amount) <= CENT / 2
    assert is_whole_cents(cents(amount))


@pytest.mark.parametrize(
    ("amount", "nearest", "down", "up"),
    [
        ("10.005", "10.00", "10.00", "10.01"),  # half to even
        ("10.015", "10.02", "10.01", "10.02"),
        ("-10.005", "-10.00", "-10.01", "-10.00"),  # down is towards less money, not zero
        ("3", "3.00", "3.00", "3.00"),
    ],
)
def test_each_rounding_goes_its_own_way(amount: str, nearest: str, down: str, up: str) -> None:
    value = Decimal(amount)
    assert str(cents(value)) == nearest
    assert str(cents_down(value)) == down
    assert str(cents_up(value)) == up


def test_whole_cents() -> None:
    assert is_whole_cents(Decimal("12.30"))
    assert is_whole_cents(Decimal(5))
    assert not is_whole_cents(Decimal("12.305"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "$0.00"),
        ("1234.5", "$1,234.50"),
        ("1234567.891", "$1,234,567.89"),
        ("-3.2", "-$3.20"),
    ],
)
def test_usd_shows_cents_and_separators_with_the_sign_before_the_dollar(
    amount: str, text: str
) -> None:
    assert usd(Decimal(amount)) == text


def test_usd_takes_the_reports_minus_sign() -> None:
    assert usd(Decimal("-3.2"), minus="\u2212") == "\u2212$3.20"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("3110.4", "$3,110"),  # as in `sell 12 sh ($3,110)`
        ("3110.5", "$3,111"),  # halves round up
        ("99.995", "$100.00"),  # below $100 it keeps cents, rounded half up
        ("54.324", "$54.32"),
        ("-12.5", "-$12.50"),
        ("-250", "-$250"),
    ],
)
def test_money_is_whole_dollars_from_100_and_cents_below(amount: str, text: str) -> None:
    assert money(Decimal(amount)) == text
