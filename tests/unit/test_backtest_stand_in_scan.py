"""The backtest's quiet-day scan never skips a day `decide` trades on while an alternate
stands in for its primary: a run that skips days gives the same JSON as `--every-day`.

A reviewer's random search (stand-in configs: one alternate, two, chains; bands with
overrides; target and band_edge; a cash buffer, withdrawals, contributions) found seeds 8,
101 and 156 differing, because the scan tested each leg alone while `decide` tests the pool
against targets a buffer scales; they are kept, with a few more seeds."""

from __future__ import annotations

import json
import random
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daemon.backtest.output import result_json
from daemon.config.settings import Settings
from tests.unit.backtest_helpers import run, weekdays, write_config, write_prices


def config(tmp: Path, rng: random.Random) -> tuple[Settings, str]:
    shape = rng.choice(["one", "two", "chain", "chain_rev", "chain2"])
    if shape == "one":
        alts = '{ BBB = "BBX" }'
    elif shape == "two":
        alts = '{ BBB = ["BBX", "BBY"] }'
    elif shape == "chain":
        alts = '{ BBB = "BBX", BBX = "BBY" }'
    elif shape == "chain_rev":
        alts = '{ BBX = "BBY", BBB = "BBX" }'
    else:
        alts = '{ BBB = ["BBX"], BBX = ["BBY", "AAX"] }'
    absd = rng.choice([2, 3, 5, 8])
    rel = rng.choice(["", "relative = 0.25\n", "relative = 0.1\n"])
    ov = []
    for s in ("BBB", "BBX", "BBY"):
        if rng.random() < 0.5:
            ov.append(f"{s} = {{ absolute_pp = {rng.choice([1, 2, 4, 10])} }}")
    overrides = f"overrides = {{ {', '.join(ov)} }}\n" if ov else ""
    mode = rng.choice(["target", "band_edge"])
    inner = rng.choice(["0", "0.5"])
    rtp = rng.choice(["true", "false"])
    buys = rng.choice(["redirect", "block"])
    cashw = rng.choice([None, "0.02"])
    targets = (
        {"AAA": "0.5", "BBB": "0.5"}
        if cashw is None
        else {"AAA": "0.49", "BBB": "0.49", "CASH": "0.02"}
    )
    extra = (
        # The parts are evaluated in order: the seeds' draws stay the search's.
        "[accounts.main.policy]\nfractional = false\n"
        f"min_trade_notional = {rng.choice([1, 200])}\n"
        f'rebalance_to = "{mode}"\ninner_band = {inner}\n'
        f"cash_buffer = {rng.choice([0, 2000])}\n"
        f"buy_only = {rng.choice(['false', 'false', 'true'])}\n"
        f"[accounts.main.bands]\nabsolute_pp = {absd}\n{rel}{overrides}"
        f'[accounts.main.tax]\nlot_method = "hifo"\nalternates = {alts}\n'
        f'[accounts.main.tax.wash_sale]\nbuys = "{buys}"\nloss_sales = "defer"\n'
        "[accounts.main.tax.harvest]\nenabled = true\nmin_loss_pct = 0.03\n"
        f"min_loss_amount = 100\nreturn_to_primary = {rtp}\n"
    )
    return write_config(tmp, targets, extra=extra), extra


def once(seed: int) -> tuple[bool, str, int, list[str], Any, Any]:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    count = 120
    days = weekdays(date(2022, 1, 3), count)
    closes: dict[str, list[float]] = {}
    for s, start in (("AAA", 100), ("BBB", 100), ("BBX", 50), ("BBY", 80)):
        vol = rng.choice([0.005, 0.01, 0.02])
        drift = rng.choice([-0.003, 0.0, 0.002])
        steps = nrng.normal(drift, vol, count)
        steps[0] = 0
        closes[s] = [round(float(v), 2) for v in start * np.exp(np.cumsum(steps))]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        table = write_prices(tmp, days, closes)
        cfg, extra = config(tmp, rng)
        w = Decimal(rng.choice([0, 0, 1500]))
        c = Decimal(rng.choice([0, 0, 3000]))
        a = run(cfg, table, skip=True, cash=Decimal(100_000), withdraw=w, contribute=c)
        b = run(cfg, table, skip=False, cash=Decimal(100_000), withdraw=w, contribute=c)
        ja, jb = result_json(a.result, a.metrics), result_json(b.result, b.metrics)
        same = json.dumps(ja) == json.dumps(jb)
        ntr = len(b.json()["trades"])
        syms = sorted({t["symbol"] for t in b.json()["trades"]})
        return same, extra, ntr, syms, ja, jb


@pytest.mark.parametrize("seed", [8, 101, 156, 0, 1, 2, 3])
def test_skipping_quiet_days_gives_the_every_day_run(seed: int) -> None:
    same, extra, _, _, skipping, every_day = once(seed)
    assert same, (extra, json.dumps(skipping)[:400], json.dumps(every_day)[:400])
