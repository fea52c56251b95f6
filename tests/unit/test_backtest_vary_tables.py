"""`--vary` into a table keyed by name (`bands.overrides.SYMBOL.KEY`), as the config file
writes it (`[accounts.main.bands.overrides.A]`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.errors import BacktestInputError
from daemon.backtest.vary import combinations, configure, parse_vary
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices


def test_a_per_symbol_band_can_be_varied(tmp_path: Path) -> None:
    parsed = parse_vary(["bands.overrides.A.absolute_pp=1,2"])
    assert parsed == [("bands.overrides.A.absolute_pp", ["1", "2"])]
    settings = write_config(tmp_path, {"A": "0.5", "B": "0.5"})
    runs = configure(tmp_path / "config.toml", settings, "main", combinations(parsed))
    narrow, wide = (varied for _, varied in runs)
    assert narrow.account("main").bands.overrides["A"].absolute_pp == Decimal(1)
    assert wide.account("main").bands.overrides["A"].absolute_pp == Decimal(2)
    # The rest of the override keeps its default, as in the config file.
    assert narrow.account("main").bands.overrides["A"].relative is None
    assert "B" not in narrow.account("main").bands.overrides


def test_the_varied_override_runs_as_the_same_override_in_the_config(tmp_path: Path) -> None:
    days = weekdays(date(2021, 1, 4), 80)
    walk = random_walk(11, ["A", "B"], 80, volatility=0.03)
    from_file = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra="[accounts.main.bands.overrides.A]\nabsolute_pp = 1\n",
    )
    table = write_prices(tmp_path, days, walk)
    want = run(from_file, table).json()
    plain = write_config(tmp_path, {"A": "0.5", "B": "0.5"})
    overrides = combinations(parse_vary(["bands.overrides.A.absolute_pp=1"]))
    [(_, varied)] = configure(tmp_path / "config.toml", plain, "main", overrides)
    got = run(varied, table).json()
    assert got == want
    assert got != run(plain, table).json()  # the override changed the trades


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bands.overrides=1", "bands.overrides is a table of tables, one per name; vary "),
        ("bands.overrides.A=1", "vary one of its keys: bands.overrides.A.absolute_pp"),
        # The audit's slip: the symbol left out.
        ("bands.overrides.absolute_pp=1", "give the name first: bands.overrides.NAME.absolute_pp"),
        ("bands.overrides.A.absolut_pp=1", "bands.overrides.A has no key 'absolut_pp'"),
        ("bands.overrides.A.relative.x=1", "bands.overrides.A.relative is a value, not a table"),
    ],
)
def test_a_bad_key_in_a_named_table_names_the_valid_keys(text: str, expected: str) -> None:
    with pytest.raises(BacktestInputError) as caught:
        parse_vary([text])
    assert expected in str(caught.value)
