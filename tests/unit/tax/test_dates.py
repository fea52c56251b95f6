"""Calendar rules: the 61-day window and the anniversary used for the holding period."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.core.tax import SubstantiallyIdentical, is_long_term, one_year_after, window


def test_the_window_spans_61_calendar_days() -> None:
    first, last = window(date(2024, 3, 15))
    assert (first, last) == (date(2024, 2, 14), date(2024, 4, 14))
    assert (last - first).days + 1 == 61


@pytest.mark.parametrize(
    ("start", "anniversary"),
    [
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2023, 2, 28), date(2024, 2, 28)),
        (date(2023, 12, 31), date(2024, 12, 31)),
    ],
)
def test_one_year_after_clamps_feb_29(start: date, anniversary: date) -> None:
    assert one_year_after(start) == anniversary
    assert not is_long_term(start, anniversary)
    assert is_long_term(start, date.fromordinal(anniversary.toordinal() + 1))


def test_identical_groups_merge_when_they_share_a_symbol() -> None:
    groups = SubstantiallyIdentical.of([["VOO", "IVV"], ["IVV", "SPLG"], ["BND"], ["VTI", "ITOT"]])
    assert groups.members("SPLG") == {"VOO", "IVV", "SPLG"}
    assert groups.key("VOO") == groups.key("SPLG") != groups.key("VTI")
    assert groups.members("BND") == {"BND"}
    assert groups.members("QQQ") == {"QQQ"}
    assert groups.groups == (frozenset({"ITOT", "VTI"}), frozenset({"IVV", "SPLG", "VOO"}))
