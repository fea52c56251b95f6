"""The backtest after a harvest: the pair of primary and alternate is banded as one holding.

The audit's run (`c4.toml`, `p4.csv`) traded the whole account every day of the wash-sale
window after harvesting BBB into BBX (86 trades in 43 days): the primary's small residual
target had a band its weight of 0 was always outside. Skipping quiet days must still give
the result of deciding every day: the scan tests each leg alone, so it must never be looser
than the planner's pair test (a primary with a narrower band than its alternate's).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from daemon.backtest.output import result_json
from daemon.backtest.prices import PriceTable
from daemon.config.settings import Settings
from tests.unit.backtest_helpers import run, weekdays, write_config, write_prices

START = date(2022, 1, 3)
COUNT = 90
HARVEST_DAY = 21
"""The first close at which BBB is 5% below what it was bought at."""


def _config(tmp_path: Path, *, bands: str = "", return_to_primary: bool = True) -> Settings:
    return write_config(
        tmp_path,
        {"AAA": "0.5", "BBB": "0.5"},
        extra=(
            "[accounts.main.policy]\nfractional = false\nmin_trade_notional = 1\n"
            f"[accounts.main.bands]\nabsolute_pp = 5\n{bands}"
            '[accounts.main.tax]\nlot_method = "hifo"\nalternates = { BBB = "BBX" }\n'
            '[accounts.main.tax.wash_sale]\nbuys = "redirect"\nloss_sales = "defer"\n'
            "[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = 0.05\n"
            "min_loss_amount = 100\n"
            f"return_to_primary = {'true' if return_to_primary else 'false'}\n"
        ),
    )


def _closes(after: float) -> dict[str, list[float]]:
    """AAA creeping up; BBB and BBX falling 0.25% a day to the harvest, then BBX moving
    `after` a day."""
    bbb = [100 * 0.9975**n for n in range(COUNT)]
    bbx = [
        50 * 0.9975 ** min(n, HARVEST_DAY) * after ** max(n - HARVEST_DAY, 0) for n in range(COUNT)
    ]
    return {"AAA": [100 * 1.0008**n for n in range(COUNT)], "BBB": bbb, "BBX": bbx}


def _trades(config: Settings, table: PriceTable) -> list[dict[str, str]]:
    """Return the run's trades, checking that skipping quiet days gives the same run."""
    skipping = run(config, table, skip=True, cash=Decimal(100_000))
    every_day = run(config, table, skip=False, cash=Decimal(100_000))
    assert json.dumps(result_json(skipping.result, skipping.metrics)) == json.dumps(
        result_json(every_day.result, every_day.metrics)
    )
    trades: list[dict[str, str]] = every_day.json()["trades"]
    return trades


def test_after_a_harvest_the_account_does_not_trade_every_day(tmp_path: Path) -> None:
    days = weekdays(START, COUNT)
    table = write_prices(tmp_path, days, _closes(0.998))
    trades = _trades(_config(tmp_path), table)
    harvest = days[HARVEST_DAY].isoformat()
    traded = sorted({t["date"] for t in trades})
    assert harvest in traded
    assert [(t["symbol"], t["side"]) for t in trades if t["date"] == harvest] == [
        ("BBB", "sell"),
        ("BBX", "buy"),
    ]
    # The window's 30 days: AAA up, BBX down, the pair and AAA in their bands all along.
    window = [d for d in traded if harvest < d <= days[HARVEST_DAY + 21].isoformat()]
    assert window == []


def test_a_primary_with_a_narrower_band_skips_no_day_the_pair_leaves_it(tmp_path: Path) -> None:
    # BBX rises past BBB's target and stands in for all of it: the pair is out of BBB's 2pp
    # band while BBX is inside the default 5pp; a scan with BBX's own band skipped that day.
    days = weekdays(START, COUNT)
    table = write_prices(tmp_path, days, _closes(1.004))
    config = _config(
        tmp_path,
        bands="overrides = { BBB = { absolute_pp = 2 } }\n",
        return_to_primary=False,
    )
    trades = _trades(config, table)
    later = {(t["symbol"], t["side"]) for t in trades if t["date"] > days[HARVEST_DAY].isoformat()}
    assert ("BBX", "sell") in later
