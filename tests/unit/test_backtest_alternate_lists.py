"""A list of alternates in the backtest: a harvest whose first alternate is refused buys the
next, that one stands in for its primary, and skipping days still gives the result of deciding
every day (the scan's stand-ins take every alternate of the list)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.output import result_json
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_config, write_prices

START = date(2021, 1, 4)


def _tax(alternates: str, *, band: int = 5, return_to_primary: bool = False) -> str:
    return (
        "[accounts.main.policy]\nfractional = false\nmin_trade_notional = 1\n"
        f"[accounts.main.bands]\nabsolute_pp = {band}\n"
        f"[accounts.main.tax]\nalternates = {{ A = {alternates} }}\n"
        "[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = 0.02\n"
        "min_loss_amount = 50\n"
        f"return_to_primary = {'true' if return_to_primary else 'false'}\n"
    )


def test_a_restricted_first_alternate_harvests_into_the_second(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra=_tax('["ALT", "ALT2"]', band=50),
        top='[risk]\nrestricted_symbols = ["ALT"]\n',
    )
    days = weekdays(START, 4)
    table = write_prices(
        tmp_path,
        days,
        {
            "A": [100, 80, 80, 80],
            "B": [100] * 4,
            "ALT": [50, 40, 40, 40],
            "ALT2": [25, 20, 20, 20],
        },
    )
    done = run(config, table, cash=Decimal(20_000))
    trades = done.json()["trades"]
    harvest = [t for t in trades if t["date"] == days[1].isoformat()]
    assert [(t["symbol"], t["side"], t["qty"]) for t in harvest] == [
        ("A", "sell", "100"),
        ("ALT2", "buy", "400"),
    ]
    # ALT2 stands in for A afterwards: neither sold nor A bought back.
    later = [(t["symbol"], t["side"]) for t in trades if t["date"] > days[1].isoformat()]
    assert ("ALT2", "sell") not in later
    assert ("A", "buy") not in later
    assert done.metrics["harvested_losses"] == "2000.00"


@pytest.mark.parametrize("seed", [2, 12, 31])
@pytest.mark.parametrize("return_to_primary", [False, True])
def test_skipping_days_gives_the_result_of_every_day_with_a_list(
    tmp_path: Path, seed: int, return_to_primary: bool
) -> None:
    # X is restricted: every harvest of A buys Z, which then stands in for A.
    config = write_config(
        tmp_path,
        {"A": "0.5", "B": "0.5"},
        extra=_tax('["X", "Z"]', return_to_primary=return_to_primary),
        top='[risk]\nrestricted_symbols = ["X"]\n',
    )
    count = 80
    table = write_prices(
        tmp_path, weekdays(START, count), random_walk(seed, "ABXZ", count, volatility=0.03)
    )
    skipping = run(config, table, skip=True, cash=Decimal(100_000))
    every_day = run(config, table, skip=False, cash=Decimal(100_000))
    assert json.dumps(result_json(skipping.result, skipping.metrics)) == json.dumps(
        result_json(every_day.result, every_day.metrics)
    )
    assert skipping.result.decide_calls <= every_day.result.decide_calls
    bought = {t["symbol"] for t in every_day.json()["trades"] if t["side"] == "buy"}
    assert "X" not in bought
    assert "Z" in bought
    assert Decimal(every_day.metrics["harvested_losses"]) > 0
