"""A backtest and live cycles on the simulated broker trade alike, day by day (invariant 6).

They share the decision step, but not what surrounds it: the live cycle reads a snapshot
from the sim, records intents, sends orders through the executor (which sizes buys to the
cash the sells left) and the sim fills them by its rules; the backtest fills in memory by
the same rules. Over the same closes and the same config, every day's trades must be the
same, to the share and the cent: a difference would be a rule that lives in one only.

The live side is the config's own sim account, priced by its CSV source from the same file
the backtest reads, with one forced cycle a session 5 minutes after the close (with
`outside_hours`, as the demo runs): it trades at that day's close, as the backtest does,
and its quotes carry the previous close, so the price-move check applies to both (VXUS
jumps 30% for a day, which both sit out).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from adapters.sim.broker import SimBroker
from daemon.bootstrap import open_app
from daemon.cli import app as cli
from daemon.core.calendar import exchange_calendar
from tests.unit.backtest_helpers import random_walk

D = Decimal
NEW_YORK = ZoneInfo("America/New_York")
SYMBOLS = ("VTI", "BND", "VXUS", "ITOT")
"""ITOT is VTI's tax alternate: harvesting and redirected buys trade it."""
SESSIONS = 45

CONFIG = """
mode = "paper"
database_url = "{database_url}"
state_dir = "state"
[accounts.main]
broker = "sim"
type = "{account_type}"
{strategy}
[accounts.main.bands]
absolute_pp = {band}
[accounts.main.broker_settings]
starting_cash = "100000"
slippage_bps = {slippage}
commission_per_order = "{per_order}"
market_buy_hold_fraction = "{hold}"
fractional = {fractional}
[accounts.main.broker_settings.prices]
source = "csv"
path = "prices.csv"
[accounts.main.policy]
min_trade_notional = "25"
cash_buffer = "{buffer}"
order_type = "{order_type}"
outside_hours = true
rebalance_to = "{rebalance_to}"
inner_band = {inner_band}
buy_only = {buy_only}
notional_buys = {notional_buys}
{fractions}
[accounts.main.tax]
lot_method = "{lot_method}"
alternates = {{ VTI = "ITOT" }}
[accounts.main.tax.wash_sale]
buys = "{buys}"
loss_sales = "{loss_sales}"
[accounts.main.tax.gains_budget]
{budget}
[accounts.main.tax.harvest]
enabled = {harvest}
min_loss_pct = "0.03"
min_loss_amount = "100"
"""
PLAIN = {
    "order_type": "market", "lot_method": "fifo", "buys": "block", "harvest": "false",
    "band": "2", "rebalance_to": "target", "inner_band": "0", "buy_only": "false",
    "notional_buys": "false", "flows": "", "loss_sales": "defer", "budget": "",
    "strategy": 'strategy = "static"\n[accounts.main.strategy_params]\n'
    'targets = { VTI = "0.5", BND = "0.3", VXUS = "0.2" }',
    "start": "0",
}  # fmt: skip

Trade = tuple[str, str, Decimal, Decimal]
"""symbol, side, quantity, price"""
WITHDRAWAL = D(3000)
"""Taken on the first session of each month after the first (the backtest's `--withdraw`)."""
CONTRIBUTION = D(4000)
"""Paid in on the first session of each month after the first (`--contribute`)."""

CASES = {
    "taxable-harvest-redirect-hifo-limit": {
        "account_type": "taxable", "slippage": 5, "per_order": "0", "fractional": "false",
        "buffer": "0", "fractions": "", "hold": "0",
        "order_type": "limit", "lot_method": "hifo", "buys": "redirect", "harvest": "true",
        "band": "6",  # wide: no rebalancing buy of VTI opens a wash-sale window before it
    },
    "ira-fractional-costs-withdrawals": {
        "account_type": "traditional_ira", "slippage": 5, "per_order": "1.00",
        "fractional": "true", "buffer": "50", "hold": "0", "flows": "withdraw",
        "fractions": 'fractional = true\nfractional_increment = "0.000000001"',
    },
    "taxable-specific-lots-gains-budget": {
        "account_type": "taxable", "slippage": 0, "per_order": "0", "fractional": "false",
        "buffer": "0", "fractions": "", "hold": "0", "lot_method": "specific",
        "loss_sales": "choose_other_lots", "budget": 'short_term = "150"', "harvest": "true",
        "band": "3", "flows": "withdraw",
    },
    "ira-inverse-vol-20-day-history": {
        "account_type": "traditional_ira", "slippage": 0, "per_order": "0",
        "fractional": "true", "buffer": "0", "hold": "0",
        "fractions": 'fractional = true\nfractional_increment = "0.000000001"',
        "strategy": 'strategy = "inverse_vol"\n[accounts.main.strategy_params]\n'
        'universe = ["VTI", "BND", "VXUS"]\nlookback_days = 20',
        "start": "21",  # 21 sessions of history before the first cycle
    },
    "taxable-whole-shares": {
        "account_type": "taxable", "slippage": 0, "per_order": "0", "fractional": "false",
        "buffer": "0", "fractions": "", "hold": "0",
    },
    "ira-notional-band-edge-contributions": {
        "account_type": "traditional_ira", "slippage": 5, "per_order": "0",
        "fractional": "true", "buffer": "0", "hold": "0.04", "notional_buys": "true",
        "fractions": 'fractional = true\nfractional_increment = "0.000000001"',
        "rebalance_to": "band_edge", "inner_band": "0.5", "flows": "contribute",
    },
    "taxable-buy-only-contributions": {
        "account_type": "taxable", "slippage": 0, "per_order": "1.00", "fractional": "false",
        "buffer": "0", "fractions": "", "hold": "0", "buy_only": "true", "flows": "contribute",
    },
    # The sim takes whole shares only while the policy allows fractions: live the snapshot
    # says nothing is fractionable and the plan is in whole shares; so must the backtest's.
    "ira-sim-whole-shares-policy-fractional": {
        "account_type": "traditional_ira", "slippage": 5, "per_order": "0",
        "fractional": "false", "buffer": "0", "hold": "0",
        "fractions": 'fractional = true\nfractional_increment = "0.001"',
    },
    # Day 0 is VXUS's 30% jump: the live quote's previous close is the session before, so
    # the backtest's first day checks the move against the file's row before --start.
    "ira-start-on-a-jump": {
        "account_type": "traditional_ira", "slippage": 0, "per_order": "0",
        "fractional": "true", "buffer": "0", "hold": "0", "start": "30",
        "fractions": 'fractional = true\nfractional_increment = "0.000000001"',
    },
    "ira-whole-shares-hold": {
        "account_type": "traditional_ira", "slippage": 5, "per_order": "0",
        "fractional": "false", "buffer": "0", "fractions": "", "hold": "0.04",
    },
    # Day 0: VTI's 4% hold leaves less than a share of the $3,000 of VXUS; VXUS is bought
    # once VTI filled and freed its hold, the same day, live as in the backtest.
    "ira-hold-crowds-out-a-buy": {
        "account_type": "traditional_ira", "slippage": 5, "per_order": "0",
        "fractional": "false", "buffer": "0", "fractions": "", "hold": "0.04",
        "strategy": 'strategy = "static"\n[accounts.main.strategy_params]\n'
        'targets = { VTI = "0.97", VXUS = "0.03" }', "band": "0.5",
    },
}  # fmt: skip


def _sessions(count: int) -> list[date]:
    calendar = exchange_calendar("XNYS")
    found = calendar.sessions_in_range("2025-02-03", "2025-06-30")
    return [s.date() for s in found[:count]]


def _closes(days: list[date]) -> dict[date, dict[str, Decimal]]:
    """A seeded walk, VTI drifting down 0.4% a session for the first 25 and up after: lots
    bought early fall far enough below their basis to be harvested into ITOT."""
    walk = random_walk(11, list(SYMBOLS), len(days), volatility=0.025)
    drift = [0.996 ** min(i, 25) * 1.004 ** max(i - 25, 0) for i in range(len(days))]
    walk["VTI"] = [v * f for v, f in zip(walk["VTI"], drift, strict=True)]
    walk["VXUS"][30] *= 1.3  # one day 30% up: past the 25% price-move check, then back
    return {day: {s: D(f"{walk[s][i]:.2f}") for s in SYMBOLS} for i, day in enumerate(days)}


def _backtest(config: Path, prices: Path, *, flows: str, start: date) -> dict[date, list[Trade]]:
    options = {
        "withdraw": ["--withdraw", f"{WITHDRAWAL}/month"],
        "contribute": ["--contribute", f"{CONTRIBUTION}/month"],
    }.get(flows, [])
    options += ["--start", str(start)]
    result = CliRunner().invoke(
        cli,
        ["backtest", "-c", str(config), "-a", "main", "--prices", str(prices),
         "--cash", "100000", "--json", *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    trades: dict[date, list[Trade]] = defaultdict(list)
    for t in json.loads(result.stdout)["trades"]:
        trades[date.fromisoformat(t["date"])].append(
            (t["symbol"], t["side"], D(t["qty"]), D(t["price"]))
        )
    return trades


def _live(config: Path, days: list[date], *, flows: str) -> dict[date, list[Trade]]:
    """Run the config's own sim account (its CSV price source is the backtest's file) with
    one forced cycle a session, 5 minutes after the close (`outside_hours`)."""
    now = [datetime.combine(days[0], time(16, 5), NEW_YORK).astimezone(UTC)]
    app = open_app(config, clock=lambda: now[0])
    sim = app.broker("main")  # built by the bootstrap, as the daemon builds it
    assert isinstance(sim, SimBroker)
    trades: dict[date, list[Trade]] = defaultdict(list)
    try:
        month = days[0].month
        for day in days:
            now[0] = datetime.combine(day, time(16, 5), NEW_YORK).astimezone(UTC)
            new_month, month = day.month != month, day.month
            out = WITHDRAWAL if flows == "withdraw" and new_month else D(0)
            if flows == "contribute" and new_month:
                sim.deposit(CONTRIBUTION)  # paid in before the day's cycle, as the backtest
            report = app.engine(fill_timeout=1).run_once("main", force=True, withdrawal=out)
            assert report.outcome == "succeeded", (day, report.error)
            for fill in sim.fills(now[0] - timedelta(minutes=1)):
                trades[day].append((fill.symbol, str(fill.side), fill.qty, fill.price))
            if out:  # the owner takes it, as the backtest does after the day's cycle
                sim.withdraw(min(out, sim.snapshot(()).cash))
    finally:
        app.close()
    return trades


@pytest.mark.parametrize("case", sorted(CASES))
def test_live_cycles_on_the_sim_trade_as_the_backtest_does(tmp_path: Path, case: str) -> None:
    days = _sessions(SESSIONS)
    closes = _closes(days)
    prices = tmp_path / "prices.csv"
    rows = [",".join(("date", *SYMBOLS))]
    rows += [",".join((str(d), *(str(closes[d][s]) for s in SYMBOLS))) for d in days]
    prices.write_text("\n".join(rows) + "\n")
    config = tmp_path / "trimtab.toml"
    database_url = f"sqlite:///{tmp_path / 'trimtab.db'}"
    given = {**PLAIN, **CASES[case]}
    config.write_text(CONFIG.format(database_url=database_url, **given))
    flows, run = str(given["flows"]), days[int(str(given["start"])) :]
    expected = _backtest(config, prices, flows=flows, start=run[0])
    live = _live(config, run, flows=flows)
    assert len([d for d in expected if d != run[0]]) >= 3, "the walk should cross the bands"
    if CASES[case].get("harvest") == "true":
        assert any(t[0] == "ITOT" for trades in expected.values() for t in trades), "no harvest"
    for day in days:
        assert sorted(live.get(day, [])) == sorted(expected.get(day, [])), (
            day,
            sorted(live.get(day, [])),
            sorted(expected.get(day, [])),
        )
