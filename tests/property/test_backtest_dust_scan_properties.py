"""The backtest's scan skips the days a held holding with a target of 0 is dust (its sale is
worth less than the minimum trade: the planner leaves it unsold, out of the managed value),
and decides the day its sale reaches the minimum again: a run that skips days gives the JSON
of one that decides every day.

Before, any such holding made every later day a decision day (correct, slow): C below."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.backtest.output import result_json
from daemon.backtest.runner import Run
from daemon.config.settings import load_config
from tests.hypothesis_profiles import scaled
from tests.unit.backtest_helpers import random_walk, run, weekdays, write_prices

D = Decimal
DAYS = weekdays(date(2021, 1, 4), 80)
DROP = 15
"""The row from which C is out of the targets."""


def _runs(
    tmp: Path,
    *,
    c_closes: list[float],
    min_trade: int,
    zero_weight: bool,
    whole_shares: bool,
    seed: int = 3,
) -> tuple[Run, Run]:
    """A: 48.5%, B: 48.5%, C: 3% of $2,000 from day 0; from row `DROP` A and B half each, and
    C out of the targets (or at 0 with `zero_weight`)."""
    later = '{ A = "0.5", B = "0.5"' + (', C = "0"' if zero_weight else "") + " }"
    text = (
        'mode = "dry-run"\nstate_dir = "state"\n[risk]\nmax_move_since_close = "0.9"\n'
        '[accounts.main]\ntype = "roth_ira"\nstrategy = "tests.fakes.dated_targets:PLUGIN"\n'
        "[accounts.main.strategy_params.targets]\n"
        f'"{DAYS[0]}" = {{ A = "0.485", B = "0.485", C = "0.03" }}\n"{DAYS[DROP]}" = {later}\n'
        "[accounts.main.bands]\nabsolute_pp = 10\n"
        '[accounts.main.policy]\nfractional = true\nfractional_increment = "0.001"\n'
        f"min_trade_notional = {min_trade}\n"
        + ("[accounts.main.broker_settings]\nfractional = false\n" if whole_shares else "")
    )
    (tmp / "config.toml").write_text(text)
    config = load_config(tmp / "config.toml")
    table = write_prices(
        tmp, DAYS, {**random_walk(seed, "AB", 80, volatility=0.005), "C": c_closes}
    )
    return run(config, table, cash=D(2_000)), run(config, table, cash=D(2_000), skip=False)


def _same(skipping: Run, every_day: Run) -> bool:
    return json.dumps(result_json(skipping.result, skipping.metrics)) == json.dumps(
        result_json(every_day.result, every_day.metrics)
    )


def _c_trades(done: Run) -> list[tuple[str, str]]:
    return [(t["date"], t["side"]) for t in done.json()["trades"] if t["symbol"] == "C"]


def test_dust_out_of_the_targets_is_skipped_past(tmp_path: Path) -> None:
    # 0.6 C bought at $100 ($60); at $70 its $42 is under the $50 minimum from row 10 on.
    skipping, every_day = _runs(
        tmp_path,
        c_closes=[100.0] * 10 + [70.0] * 70,
        min_trade=50,
        zero_weight=False,
        whole_shares=False,
    )
    assert _same(skipping, every_day)
    assert _c_trades(every_day) == [(DAYS[0].isoformat(), "buy")], "C stays, unsold"
    assert every_day.result.decide_calls == len(DAYS)
    # Day 0, the day the targets change, and a few the scan leaves to `decide`: not 70 more.
    assert skipping.result.decide_calls <= 8


def test_dust_is_sold_the_day_its_sale_reaches_the_minimum(tmp_path: Path) -> None:
    # At $90 the 0.6 C are worth $54: the planner sells them that day, and the scan says so.
    closes = [100.0] * 10 + [70.0] * 30 + [90.0] * 40
    skipping, every_day = _runs(
        tmp_path, c_closes=closes, min_trade=50, zero_weight=True, whole_shares=False
    )
    assert _same(skipping, every_day)
    assert _c_trades(skipping) == [(DAYS[0].isoformat(), "buy"), (DAYS[40].isoformat(), "sell")]


@settings(max_examples=scaled(15), deadline=None)
@given(
    drop=st.sampled_from([0.5, 0.7, 0.8, 0.84, 0.9]),
    back=st.sampled_from([0.6, 0.83, 0.85, 1.0, 1.2]),
    min_trade=st.sampled_from([1, 50, 55]),
    zero_weight=st.booleans(),
    whole_shares=st.booleans(),
    seed=st.integers(0, 50),
)
@example(drop=0.7, back=0.9, min_trade=50, zero_weight=False, whole_shares=False, seed=3)
@example(drop=0.7, back=0.7, min_trade=50, zero_weight=False, whole_shares=True, seed=3)
def test_skipping_past_dust_changes_nothing(
    drop: float, back: float, min_trade: int, zero_weight: bool, whole_shares: bool, seed: int
) -> None:
    """C falls to `drop` of its first close on row 10 and comes back to `back` on row 40,
    its small moves either way around those levels a random walk's."""
    walk = random_walk(seed + 100, "C", 80, volatility=0.01)["C"]
    level = [1.0] * 10 + [drop] * 30 + [back] * 40
    closes = [round(100 * f * w / walk[0], 2) for f, w in zip(level, walk, strict=True)]
    with tempfile.TemporaryDirectory() as folder:
        skipping, every_day = _runs(
            Path(folder),
            c_closes=closes,
            min_trade=min_trade,
            zero_weight=zero_weight,
            whole_shares=whole_shares,
            seed=seed,
        )
    assert _same(skipping, every_day)
    assert skipping.result.decide_calls <= every_day.result.decide_calls
