"""Time `trimtab backtest` on tax-aware accounts over 20 years, whole process.

Run: `uv run python bench/bench_backtest_tax.py [--runs 3] [--source DIR]`.

The data: a seeded random walk of 8 symbols over 5,040 weekdays (closes in cents): five
targets (AAA 30%, BBB 20%, CCC 25%, DDD 15%, EEE 10%), AAX and BBX (the alternates of AAA
and BBB) and SPY (the benchmark), and quarterly dividends of AAA and CCC. Three taxable
accounts, each on the simulated broker's fill rules:

- `harvest`: HIFO lots, an absolute band of 5 points, whole shares, a minimum trade of 100,
  3 bps of slippage and 1 of commission, wash-sale buys redirected to the alternate, loss
  sales deferred, harvesting (2% and 200) with the return to the primary; 2,000 in a month,
  500 out, the dividends. The tax step decides often here: harvests, stand-ins, deferrals.
- `specific`: specific lots chosen by trimtab, bands of 3 points and 10% of target, a 2% cash
  buffer, harvesting without the return, a monthly cycle, 3,000 out a month, the dividends.
- `buy_only`: FIFO, a band of 2 points, `buy_only`, 5,000 in a month.

Each run is a fresh interpreter running trimtab's entry point from `--source` (default: this
checkout), so an older tree can be measured with the same interpreter and libraries
(`git worktree add /tmp/before REV`, then `--source /tmp/before`); the tree and the libraries
are byte-compiled first (`bench_cli.py` says why). Reported: the median and the minimum wall
time of `--runs` runs after one unmeasured run, the median CPU time, and each run's
rebalances and trades (the same for any tree that gives the same result).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Run as a script (`python bench/...`): the checkout's root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_cli import _ENTRY, REPO, _children_cpu, bytecode_env, compile_bytecode

DAYS = 5040
SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "AAX", "BBX", "SPY"]

BASE = """mode = "dry-run"
state_dir = "state"
[risk]
max_orders_per_cycle = 50
max_orders_per_minute = 50
[accounts.main]
broker = "sim"
type = "taxable"
strategy = "static"
{schedule}
[accounts.main.broker_settings]
slippage_bps = {slippage}
commission_per_order = "{commission}"
fractional = {fractional}
[accounts.main.strategy_params]
targets = {{ AAA = "0.3", BBB = "0.2", CCC = "0.25", DDD = "0.15", EEE = "0.1" }}
[accounts.main.bands]
{bands}
[accounts.main.policy]
min_trade_notional = "{min_trade}"
fractional = {fractional}
{policy}
[accounts.main.tax]
lot_method = "{lots}"
alternates = {{ AAA = "AAX", BBB = "BBX" }}
[accounts.main.tax.wash_sale]
buys = "{buys}"
loss_sales = "{loss_sales}"
[accounts.main.tax.harvest]
enabled = {harvest}
min_loss_pct = "0.02"
min_loss_amount = "200"
return_to_primary = {back}
"""

ACCOUNTS = {
    "harvest": (
        {
            "schedule": "",
            "slippage": 3,
            "commission": "1",
            "fractional": "false",
            "bands": "absolute_pp = 5",
            "min_trade": "100",
            "policy": "",
            "lots": "hifo",
            "buys": "redirect",
            "loss_sales": "defer",
            "harvest": "true",
            "back": "true",
        },
        ["--contribute", "2000/month", "--withdraw", "500/month", "--dividends", "div.csv"],
    ),
    "specific": (
        {
            "schedule": 'schedule = "first trading day of the month at close - 15m"',
            "slippage": 0,
            "commission": "0",
            "fractional": "true",
            "bands": "absolute_pp = 3\nrelative = 0.1",
            "min_trade": "10",
            "policy": 'cash_buffer = "0.02"',
            "lots": "specific",
            "buys": "block",
            "loss_sales": "choose_other_lots",
            "harvest": "true",
            "back": "false",
        },
        ["--withdraw", "3000/month", "--dividends", "div.csv"],
    ),
    "buy_only": (
        {
            "schedule": "",
            "slippage": 5,
            "commission": "0",
            "fractional": "false",
            "bands": "absolute_pp = 2",
            "min_trade": "50",
            "policy": "buy_only = true",
            "lots": "fifo",
            "buys": "block",
            "loss_sales": "allow",
            "harvest": "false",
            "back": "false",
        },
        ["--contribute", "5000/month"],
    ),
}


def write_market(folder: Path) -> None:
    """Write the price and dividends files and one config per account."""
    rng = np.random.default_rng(9)
    vols = rng.uniform(0.1, 0.5, len(SYMBOLS)) / np.sqrt(252)
    steps = 0.06 / 252 - 0.5 * vols**2 + vols * rng.standard_normal((DAYS, len(SYMBOLS)))
    steps[0] = 0.0
    start = rng.uniform(20, 200, len(SYMBOLS))
    closes = np.round(start * np.exp(np.cumsum(steps, axis=0)), 2)
    dates = np.busday_offset(np.datetime64("2005-01-03"), np.arange(DAYS), roll="forward")
    with (folder / "prices.csv").open("w") as out:
        out.write("date," + ",".join(SYMBOLS) + "\n")
        for day, row in zip(dates, closes, strict=True):
            out.write(f"{day}," + ",".join(f"{price:.2f}" for price in row) + "\n")
    with (folder / "div.csv").open("w") as out:
        out.write("date,symbol,amount\n")
        for i in range(60, DAYS, 63):
            out.write(f"{dates[i]},AAA,0.31\n{dates[i]},CCC,0.12\n")
    for name, (values, _) in ACCOUNTS.items():
        (folder / f"{name}.toml").write_text(BASE.format(**values))


def run_case(
    source: Path, env: dict[str, str], folder: Path, name: str, runs: int
) -> tuple[list[float], list[float], dict[str, int]]:
    """Return the wall and CPU seconds of `runs` runs (after one unmeasured), and the run's
    rebalances and trades."""
    _, options = ACCOUNTS[name]
    command = [sys.executable, "-c", _ENTRY, "backtest", "-c", str(folder / f"{name}.toml")]
    files = [str(folder / o) if o.endswith(".csv") else o for o in options]
    command += ["-a", "main", "--prices", str(folder / "prices.csv"), *files, "--json"]
    walls, cpus = [], []
    shape: dict[str, int] = {}
    for index in range(runs + 1):
        cpu_before = _children_cpu()
        start = time.perf_counter()
        # From the tree measured: `python -c` imports from its working directory first.
        done = subprocess.run(command, cwd=source, env=env, capture_output=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
        result = json.loads(done.stdout)
        shape = {"rebalances": len(result["rebalances"]), "trades": len(result["trades"])}
        if index:
            walls.append(wall)
            cpus.append(_children_cpu() - cpu_before)
    return walls, cpus, shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", type=Path, default=REPO, help="trimtab tree to measure")
    options = parser.parse_args()
    source = options.source.resolve()
    env = bytecode_env()
    compile_bytecode(source, env)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_market(folder)
        results = {name: run_case(source, env, folder, name, options.runs) for name in ACCOUNTS}
    load_after = os.getloadavg()[0]
    print(f"source: {source}  runs: {options.runs}  python: {sys.version.split()[0]}")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    print("| account | median wall s | min wall s | median CPU s | rebalances | trades |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (walls, cpus, shape) in results.items():
        print(
            f"| `{name}` | {statistics.median(walls):.2f} | {min(walls):.2f} "
            f"| {statistics.median(cpus):.2f} | {shape['rebalances']} | {shape['trades']} |"
        )


if __name__ == "__main__":
    main()
