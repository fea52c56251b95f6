"""Measure one trimtab cycle of 10 orders on the Alpaca adapter against the fake Alpaca.

Run: `uv run python bench/bench_alpaca.py [--latency-ms 20] [--repeat 3]`.

The fake Alpaca (tests/fakes/alpaca_server) runs on loopback with `--latency-ms` added to
every request; orders fill when the next request arrives (never inside the POST). A paper
account holds ten ETFs, five far over target and five far under, so a cycle sends five sells
and then five buys. Two cycles run per repetition on one `App` (as the daemon would):

- cold: a fresh process's first cycle (assets and the market clock are read once);
- warm: the next cycle after prices moved the account out of its bands again.

Reported: wall time of `Engine.run_once` (median over `--repeat`), requests per cycle by
endpoint, and every request made twice with the same method, path, query and body, each with
its cause. Target (issue 5): at most 2 requests per order plus 10, no request repeated
without cause.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daemon.bootstrap import open_app  # noqa: E402 (after the path set-up)
from tests.fakes.alpaca_server import KEY_ID, SECRET, AlpacaState, FakeAlpaca  # noqa: E402
from tests.fakes.alpaca_server.client import ENV_PREFIX, account_toml  # noqa: E402
from tests.fakes.alpaca_server.server import Recorded  # noqa: E402

OVER = {"VTI": "250", "VXUS": "60", "BND": "72", "VNQ": "90", "SCHD": "27"}
UNDER = {"VEA": "50", "VWO": "44", "BNDX": "49", "VTIP": "48", "VGIT": "59"}
HEAD = """
mode = "paper"
database_url = "sqlite:///{state}/trimtab.db"
state_dir = "{state}"
[log]
format = "json"
level = "warning"
"""

CAUSES = {
    "/v2/account/activities": "the reconciliation after trading repeats the one before it with "
    "the same range (it starts a day before the last fill seen) and finds the cycle's fills",
    "/v2/account": "reconciliation before trading, cash before the buys, reconciliation after",
    "/v2/positions": "the two reconciliations, before and after trading",
    "/v2/orders": "the two reconciliations (open orders)",
    "/v2/stocks/snapshots": "the two reconciliations (quotes of every held or targeted symbol)",
    "/v2/orders:by_client_order_id": "polling an order that was not final yet",
}


def household() -> AlpacaState:
    """$100,000 in ten ETFs at 10% targets: five at ~19%, five at ~1%."""
    state = AlpacaState(cash=Decimal(0), market_open=True, auto_fill=True)
    for symbol, price in {**OVER, **UNDER}.items():
        state.add_asset(symbol, price, fractionable=False)
    for symbol, price in OVER.items():
        state.set_position(symbol, str(int(19_000 / Decimal(price))))
    for symbol, price in UNDER.items():
        state.set_position(symbol, str(int(1_000 / Decimal(price))))
    return state


def drift(state: AlpacaState) -> None:
    """Move prices so the account is out of its bands again: winners up, losers down."""
    with state.lock:
        for symbol in OVER:
            state.prices[symbol] *= Decimal("1.6")
        for symbol in UNDER:
            state.prices[symbol] *= Decimal("0.6")
        # Over days, not in one: the risk gate refuses a 60% move since the last close.
        state.previous_closes.update(state.prices)


def repeats(made: list[Recorded]) -> Counter[str]:
    """Count requests identical to an earlier one in the cycle, by path."""
    seen: set[tuple[str, str, str, str]] = set()
    again: Counter[str] = Counter()
    for r in made:
        key = (r.method, r.path, repr(sorted(r.query.items())), repr(r.body))
        if key in seen:
            again[r.path] += 1
        seen.add(key)
    return again


def one_run(latency: float) -> list[dict[str, object]]:
    os.environ[ENV_PREFIX + "API_KEY_ID"] = KEY_ID
    os.environ[ENV_PREFIX + "API_SECRET_KEY"] = SECRET
    state = household()
    targets = ", ".join(f'{s} = "0.1"' for s in {**OVER, **UNDER})
    with FakeAlpaca(state, latency=latency) as fake, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "trimtab.toml"
        policy = 'cash_buffer = "100"\noutside_hours = true'
        config.write_text(HEAD.format(state=tmp) + account_toml(fake.url, targets, policy=policy))
        app = open_app(config)
        results: list[dict[str, object]] = []
        try:
            engine = app.engine(fill_timeout=10)
            for label in ("cold", "warm"):
                with fake.counting() as made:
                    started = time.perf_counter()
                    report = engine.run_once("main", force=True)
                    wall = time.perf_counter() - started
                assert report.outcome == "succeeded", report.error
                orders = len(report.outcomes)
                results.append(
                    {
                        "cycle": label,
                        "orders": orders,
                        "filled": sum(1 for o in report.outcomes if o.status.value == "filled"),
                        "wall_s": wall,
                        "requests": len(made),
                        "by_path": Counter(f"{r.method} {r.path}" for r in made),
                        "repeats": repeats(made),
                    }
                )
                drift(state)
        finally:
            app.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [one_run(args.latency_ms / 1000) for _ in range(args.repeat)]
    for index, label in enumerate(("cold", "warm")):
        cycles = [run[index] for run in runs]
        first = cycles[0]
        orders = int(first["orders"])  # type: ignore[call-overload]
        counts = sorted(int(c["requests"]) for c in cycles)  # type: ignore[call-overload]
        print(f"\n{label} cycle: {orders} orders, {first['filled']} filled")
        print(f"  wall time: median {statistics.median(float(c['wall_s']) for c in cycles):.2f} s")  # type: ignore[arg-type]
        print(f"  requests: {counts} (target {2 * orders + 10}: 2 per order + 10)")
        for path, n in sorted(first["by_path"].items()):  # type: ignore[attr-defined]
            print(f"    {n:3d}  {path}")
        print("  repeated identical requests, with their cause:")
        for path, n in sorted(first["repeats"].items()):  # type: ignore[attr-defined]
            print(f"    {n:3d}  {path}: {CAUSES.get(path, 'NO KNOWN CAUSE')}")


if __name__ == "__main__":
    main()
