"""Measure `trimtab backtest` whole-process against bt 1.4.1 and vectorbt's first call.

Run: `uv run --group bench python bench/bench_backtest.py [--runs 3] [--assets 100]
[--days 5040] [--relative 0.25]`.

The data: a seeded geometric random walk of `--assets` symbols over `--days` weekdays (about
20 years at 5,040), written as one price file (date,SYM1,...; whole cents). The account: equal
target weights, a relative band of `--relative` x target on every symbol, fractional shares
(1e-9), no costs, a minimum trade of 1 (spare cents are not an order), room in `[risk]` for
one order per symbol on day 0, 1,000,000 of cash on day 0, trades at each close (issue 16).

Each measured run is a fresh process, started and waited for here; the wall-clock time is
from start to exit; the peak memory and the CPU time (user + system, which a busy machine
inflates much less) are the child's own (`os.wait4`). Reported:
medians of `--runs` runs after one unmeasured run of each (which fills the bytecode cache and,
for vectorbt, numba's on-disk cache), and the ratios. The three contenders:

- `trimtab backtest -c CONFIG -a bench --prices FILE --cash 1000000 --json > out.json`.
- bt: a child process reads the same file with pandas and runs
  `bt.Strategy([SelectAll(), WeighSpecified(equal), BandTrigger(relative), Rebalance()])`
  in `bt.Backtest(..., initial_capital=1e6, integer_positions=False)`, then `bt.run`. bt has
  no band algo; `BandTrigger` (below) is the closest equivalent: every day, after bt has
  marked the tree to that day's close, it passes (so `Rebalance` trades every holding back
  to target at that close) when the strategy holds nothing yet (day 0) or a child's weight,
  value over the strategy's value, lies outside target +/- relative x target. No
  commissions (bt's default), so the rebalance days must be trimtab's and the NAV path
  too, but for the simulated broker's cents (it keeps cash in cents, each fill rounded
  against the account); the bench prints both runs' rebalance days and final NAVs.
- vectorbt: a child process reads the same file and the rebalance days of trimtab's run,
  and calls `Portfolio.from_orders(close, size=weights on those days (NaN elsewhere),
  size_type="targetpercent", group_by=True, cash_sharing=True, call_seq="auto",
  init_cash=1e6)` and then `.value()`: vectorbt executes the same orders but does not decide
  them (a band is path-dependent; from_orders cannot express it). "First call" = that whole
  fresh process, numba's on-disk cache warm (as after a user's first ever run); one extra
  run with an empty cache is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRIMTAB = Path(sys.executable).parent / "trimtab"
CASH = 1_000_000
TARGETS = {"bt": 10.0, "vectorbt": 5.0, "memory": 0.5}


def bytecode_env() -> dict[str, str]:
    """Return the environment of every run: a bytecode cache of the bench's own (this sandbox
    sets PYTHONDONTWRITEBYTECODE; bench_cli.py says why), none of the caller's TRIMTAB_ vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIMTAB_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "trimtab-bench-pycache")
    return env


def compile_bytecode() -> None:
    """Byte-compile trimtab and the installed libraries into the bench's cache (once)."""
    trees = [str(REPO / package) for package in ("daemon", "adapters", "strategies")]
    trees.append(sysconfig.get_paths()["purelib"])
    command = [sys.executable, "-m", "compileall", "-q", "-j", "1", *trees]
    # Not checked: a library may ship a file that does not compile; it is never imported.
    subprocess.run(command, env=bytecode_env(), check=False, stdout=subprocess.DEVNULL)


def write_market(folder: Path, assets: int, days: int, relative: float) -> tuple[Path, Path]:
    """Write the price file and a one-account config; return their paths."""
    rng = np.random.default_rng(20261206)
    vols = rng.uniform(0.1, 0.4, assets) / np.sqrt(252.0)
    steps = 0.07 / 252.0 - 0.5 * vols**2 + vols * rng.standard_normal((days, assets))
    steps[0] = 0.0
    # Whole cents, as real closes are: a fill without slippage is then at the close exactly.
    closes = np.round(rng.uniform(20.0, 200.0, assets) * np.exp(np.cumsum(steps, axis=0)), 2)
    dates = np.busday_offset(np.datetime64("2005-01-03"), np.arange(days), roll="forward")
    symbols = [f"S{i:03d}" for i in range(assets)]
    prices = folder / "prices.csv"
    with prices.open("w") as out:
        out.write("date," + ",".join(symbols) + "\n")
        for day, row in zip(dates, closes, strict=True):
            out.write(f"{day}," + ",".join(f"{price:.2f}" for price in row) + "\n")
    weight = f"{1 / assets:.12f}".rstrip("0")
    targets = ", ".join(f'{s} = "{weight}"' for s in symbols[:-1])
    # The last weight takes the remainder so the targets sum to exactly 1.
    last = format(1 - (assets - 1) * float(weight), ".12f").rstrip("0")
    config = folder / "config.toml"
    config.write_text(
        "\n".join(
            [
                'mode = "dry-run"',
                'state_dir = "state"',
                # 100 orders on day 0 (one per symbol): room for them in one cycle.
                "[risk]",
                f"max_orders_per_cycle = {2 * assets}",
                f"max_orders_per_minute = {2 * assets}",
                "[accounts.bench]",
                'broker = "sim"',
                'type = "traditional_ira"',
                'strategy = "static"',
                "[accounts.bench.broker_settings]",
                "slippage_bps = 0",
                "fractional = true",
                "[accounts.bench.strategy_params]",
                f'targets = {{ {targets}, {symbols[-1]} = "{last}" }}',
                "[accounts.bench.bands]",
                f"relative = {relative}",
                "[accounts.bench.policy]",
                'rebalance_to = "target"',
                'cash_buffer = "0"',
                # Spare cents (the sim keeps cash in cents) are not worth an order.
                'min_trade_notional = "1"',
                "fractional = true",
                'fractional_increment = "0.000000001"',
                "",
            ]
        )
    )
    return prices, config


def measure(command: list[str], env: dict[str, str], stdout: Path) -> tuple[float, float, float]:
    """Run `command` to completion; return its wall seconds, peak RSS (MiB) and CPU seconds
    (user + system; a shared machine inflates them much less than the wall-clock time)."""
    with stdout.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        error = child.stderr.read().decode() if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    if child.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({child.returncode}):\n{error[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024.0, cpu  # Linux reports ru_maxrss in kilobytes


def runs_of(
    name: str, command: list[str], env: dict[str, str], out: Path, runs: int
) -> dict[str, Any]:
    measure(command, env, out)  # unmeasured: fills the bytecode (and numba) caches
    walls, peaks, cpus = [], [], []
    for _ in range(runs):
        wall, peak, cpu = measure(command, env, out)
        walls.append(wall)
        peaks.append(peak)
        cpus.append(cpu)
    print(f"  {name}: {', '.join(f'{w:.2f}' for w in walls)} s", file=sys.stderr)
    return {
        "wall": statistics.median(walls),
        "min": min(walls),
        "cpu": statistics.median(cpus),
        "rss": statistics.median(peaks),
    }


# --- the children -------------------------------------------------------------------------


def child_bt(prices: Path, relative: float, out: Path) -> None:
    import bt
    import pandas as pd

    frame = pd.read_csv(prices, index_col=0, parse_dates=True)
    weight = 1.0 / frame.shape[1]

    class BandTrigger(bt.Algo):  # type: ignore[misc]  # bt is untyped
        """Pass on day 0 and on days a child's weight is outside target +/- relative x target."""

        def __init__(self, target: float, relative: float) -> None:
            super().__init__()
            self.low = target * (1 - relative) - 1e-9
            self.high = target * (1 + relative) + 1e-9

        def __call__(self, strategy: Any) -> bool:
            value = strategy.value
            children = strategy.children
            if not children:
                return True  # day 0: buy the targets
            weights = np.fromiter((c.value for c in children.values()), float) / value
            return bool(np.any((weights < self.low) | (weights > self.high)))

    algos = [
        bt.algos.SelectAll(),
        bt.algos.WeighSpecified(**dict.fromkeys(frame.columns, weight)),
        BandTrigger(weight, relative),
        bt.algos.Rebalance(),
    ]
    test = bt.Backtest(
        bt.Strategy("band", algos),
        frame,
        initial_capital=float(CASH),
        integer_positions=False,
        progress_bar=False,
    )
    result = bt.run(test)
    nav = result.prices["band"] * CASH / 100.0  # bt's prices start at 100
    trades = result.get_transactions()
    days = sorted({str(index[0].date()) for index in trades.index})
    out.write_text(json.dumps({"final": float(nav.iloc[-1]), "trade_days": days}))


def child_vbt(prices: Path, rebalances: Path, out: Path) -> None:
    import pandas as pd
    import vectorbt as vbt

    frame = pd.read_csv(prices, index_col=0, parse_dates=True)
    days = pd.to_datetime([frame.index[0], *json.loads(rebalances.read_text())])
    size = pd.DataFrame(np.nan, index=frame.index, columns=frame.columns)
    size.loc[days] = 1.0 / frame.shape[1]
    portfolio = vbt.Portfolio.from_orders(
        frame,
        size=size,
        size_type="targetpercent",
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        init_cash=float(CASH),
        freq="1D",
    )
    value = portfolio.value()
    out.write_text(json.dumps({"final": float(value.iloc[-1])}))


# --- the parent ---------------------------------------------------------------------------


def contend(options: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Run every contender on one generated market; return the figures and the cross-checks."""
    env = bytecode_env()
    env["NUMBA_CACHE_DIR"] = str(folder / "numba")
    prices, config = write_market(folder, options.assets, options.days, options.relative)
    this = [sys.executable, str(Path(__file__).resolve())]
    load_before = os.getloadavg()[0]
    ours = folder / "trimtab.json"
    trimtab = [str(TRIMTAB), "backtest", "-c", str(config), "-a", "bench"]
    trimtab += ["--prices", str(prices), "--cash", str(CASH), "--json"]
    results = {"trimtab": runs_of("trimtab", trimtab, env, ours, options.runs)}
    output = json.loads(ours.read_text())
    rebalances = folder / "rebalances.json"
    rebalances.write_text(json.dumps(output["rebalances"]))
    bt_out, vbt_out = folder / "bt.json", folder / "vbt.json"
    bt_command = [*this, "--relative", str(options.relative), "--child", "bt", str(prices)]
    results["bt"] = runs_of("bt", [*bt_command, str(bt_out)], env, folder / "bt.log", options.runs)
    vbt_command = [*this, "--child", "vbt", str(prices), str(rebalances), str(vbt_out)]
    results["vectorbt"] = runs_of("vectorbt", vbt_command, env, folder / "vbt.log", options.runs)
    cold = dict(env, NUMBA_CACHE_DIR=str(folder / "numba-cold"))
    wall, rss, cpu = measure(vbt_command, cold, folder / "vbt.log")
    results["vectorbt, empty numba cache"] = {"wall": wall, "cpu": cpu, "rss": rss}
    bt_check = json.loads(bt_out.read_text())
    return {
        "results": results,
        "load": (load_before, os.getloadavg()[0]),
        "rebalances": output["rebalances"],
        "bt_days": [d for d in bt_check["trade_days"] if d != output["nav"][0]["date"]],
        "final": {
            "trimtab": float(output["nav"][-1]["value"]),
            "bt": bt_check["final"],
            "vectorbt": json.loads(vbt_out.read_text())["final"],
        },
    }


def report(options: argparse.Namespace, run: dict[str, Any]) -> None:
    """Print the figures as the Markdown docs/benchmarks.md takes."""
    results, final = run["results"], run["final"]
    print(
        f"{options.assets} assets x {options.days} days, relative band {options.relative}; "
        f"runs: {options.runs}; python {sys.version.split()[0]}; load average (1 min) "
        f"{run['load'][0]:.2f} before, {run['load'][1]:.2f} after"
    )
    print(
        f"rebalance days: trimtab {len(run['rebalances'])}, bt {len(run['bt_days'])} "
        f"(the same days: {run['bt_days'] == run['rebalances']}); final NAV: "
        + ", ".join(f"{name} {value:.6f}" for name, value in final.items())
    )
    print("| run | median wall s | min wall s | median CPU s | peak RSS MiB | wall / trimtab's |")
    print("|---|---:|---:|---:|---:|---:|")
    base = results["trimtab"]["wall"]
    for name, result in results.items():
        low = f"{result['min']:.2f}" if "min" in result else "-"
        print(
            f"| {name} | {result['wall']:.2f} | {low} | {result['cpu']:.2f} "
            f"| {result['rss']:.0f} | {result['wall'] / base:.1f}x |"
        )
    bt_ratio = results["bt"]["wall"] / base
    vbt_ratio = results["vectorbt"]["wall"] / base
    memory = results["trimtab"]["rss"] / results["bt"]["rss"]
    cpu = results["trimtab"]["cpu"]
    print(
        f"CPU-time ratios (less sensitive to a busy machine): bt "
        f"{results['bt']['cpu'] / cpu:.1f}x, vectorbt {results['vectorbt']['cpu'] / cpu:.1f}x"
    )
    verdicts = (
        bt_ratio >= TARGETS["bt"],
        vbt_ratio >= TARGETS["vectorbt"],
        memory < TARGETS["memory"],
    )
    met = ["met" if ok else "MISSED" for ok in verdicts]
    print(
        f"targets: >= {TARGETS['bt']:.0f}x bt: {bt_ratio:.1f}x ({met[0]}); "
        f">= {TARGETS['vectorbt']:.0f}x vectorbt's first call: {vbt_ratio:.1f}x ({met[1]}); "
        f"peak memory < {TARGETS['memory']} of bt's: {memory:.2f} ({met[2]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--days", type=int, default=5040)
    parser.add_argument("--relative", type=float, default=0.25)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        kind, *paths = options.child
        if kind == "bt":
            child_bt(Path(paths[0]), options.relative, Path(paths[1]))
        else:
            child_vbt(Path(paths[0]), Path(paths[1]), Path(paths[2]))
        return
    compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        run = contend(options, Path(tmp))
    report(options, run)


if __name__ == "__main__":
    main()
