"""Measure one trimtab cycle of 10 orders on the IB adapter against the fake TWS.

Run: `uv run python bench/bench_ibkr.py [--repeat 3]` (needs the extra: `uv sync --extra ibkr`).

The fake TWS (tests/fakes/tws) runs on loopback (no added latency) and fills a marketable
order as soon as it is placed, with IB's fixed-rate commissions. A paper account holds ten
ETFs, five far over target and five far under, so a cycle sends five sells and then five
buys. Two cycles run per repetition on one `App` (as the daemon would):

- cold: a fresh process's first cycle (connect with ib_async's start-up sync, contract
  details once per symbol and day);
- warm: the next cycle after prices moved the account out of its bands again.

Reported: wall time of `Engine.run_once` (median over `--repeat`), the messages the client
sent (the fake's log of what it received) by kind, and every message sent twice with the same
content (request and order ids aside), each with its cause. Target (issue 17): no request
repeated without cause, under 50 messages a second.
"""

from __future__ import annotations

import argparse
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
from tests.fakes.tws import FakeTws, Instrument, Received, TwsState  # noqa: E402

OVER = {"VTI": "250", "VXUS": "60", "BND": "72", "VNQ": "90", "SCHD": "27"}
UNDER = {"VEA": "50", "VWO": "44", "BNDX": "49", "VTIP": "48", "VGIT": "59"}
ACCOUNT_ID = "DU1234567"
CONFIG = """
mode = "paper"
database_url = "sqlite:///{state}/trimtab.db"
state_dir = "{state}"
[log]
format = "json"
level = "warning"
[accounts.main]
broker = "ibkr"
[accounts.main.broker_settings]
environment = "paper"
account_id = "{account}"
port = {port}
maintenance_windows = []
[accounts.main.strategy_params]
targets = {{ {targets} }}
[accounts.main.policy]
cash_buffer = "100"
outside_hours = true
"""
REQUEST_ID_AT = {
    "reqContractDetails": 2,
    "reqMktData": 2,
    "reqExecutions": 2,
    "reqAccountSummary": 2,
    "reqAccountUpdatesMulti": 2,
    "cancelMktData": 2,
    "placeOrder": 1,
    "cancelOrder": 2,
}
"""Where a message carries its request or order id, left out when comparing contents."""
CAUSES = {
    "reqMktData": "a quote per held or targeted symbol for each of the two reconciliations "
    "(before and after trading) and for the cash read before the buys",
    "reqCurrentTime": "the heartbeat, after the link was idle",
    "reqAccountUpdates": "cash read afresh after orders went out: before the buys, before the "
    "top-up, and by the reconciliation after trading",
}


def household() -> TwsState:
    """$100,000 in ten ETFs at 10% targets: five at ~19%, five at ~1%."""
    state = TwsState()
    state.add_account(ACCOUNT_ID, "0")
    for n, (symbol, price) in enumerate({**OVER, **UNDER}.items()):
        instrument = state.add_instrument(Instrument(50_000_000 + n, symbol, "ARCA"))
        state.set_price(instrument.con_id, price, spread="0.02")
        weight = 19_000 if symbol in OVER else 1_000
        state.set_position(ACCOUNT_ID, instrument.con_id, int(weight / Decimal(price)), price)
    return state


def drift(tws: FakeTws) -> None:
    """Move prices so the account is out of its bands again: winners up, losers down."""
    for symbol, price in OVER.items():
        tws.set_price(symbol, Decimal(price) * Decimal("1.6"), spread="0.02")
    for symbol, price in UNDER.items():
        tws.set_price(symbol, Decimal(price) * Decimal("0.6"), spread="0.02")
    with tws.state.lock:  # over days, not in one: the risk gate refuses a 60% daily move
        for quote in tws.state.quotes.values():
            quote.close = quote.last


def repeats(sent: list[Received]) -> Counter[str]:
    """Count messages identical to an earlier one of the cycle (ids aside), by kind."""
    seen: set[tuple[str, ...]] = set()
    again: Counter[str] = Counter()
    for r in sent:
        fields = list(r.fields)
        at = REQUEST_ID_AT.get(r.name)
        if at is not None and at < len(fields):
            fields[at] = "*"
        key = (r.name, *fields)
        if key in seen:
            again[r.name] += 1
        seen.add(key)
    return again


def one_run() -> list[dict[str, object]]:
    targets = ", ".join(f'{s} = "0.1"' for s in {**OVER, **UNDER})
    with FakeTws(household()) as tws, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "trimtab.toml"
        config.write_text(
            CONFIG.format(state=tmp, account=ACCOUNT_ID, port=tws.port, targets=targets)
        )
        app = open_app(config)
        results: list[dict[str, object]] = []
        try:
            engine = app.engine(fill_timeout=10)
            for label in ("cold", "warm"):
                with tws.counting() as sent:
                    started = time.perf_counter()
                    report = engine.run_once("main", force=True)
                    wall = time.perf_counter() - started
                assert report.outcome == "succeeded", report.error
                results.append(
                    {
                        "cycle": label,
                        "orders": len(report.outcomes),
                        "filled": sum(1 for o in report.outcomes if o.status.value == "filled"),
                        "wall_s": wall,
                        "messages": len(sent),
                        "by_kind": Counter(r.name for r in sent),
                        "repeats": repeats(sent),
                        "max_rate": _max_rate(sent),
                    }
                )
                drift(tws)
        finally:
            app.close()
    return results


def _max_rate(sent: list[Received]) -> int:
    times = [r.at for r in sent]
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [one_run() for _ in range(args.repeat)]
    for index, label in enumerate(("cold", "warm")):
        cycles = [run[index] for run in runs]
        first = cycles[0]
        walls = [float(c["wall_s"]) for c in cycles]  # type: ignore[arg-type]
        counts = sorted(int(c["messages"]) for c in cycles)  # type: ignore[call-overload]
        print(f"\n{label} cycle: {first['orders']} orders, {first['filled']} filled")
        print(f"  wall time: median {statistics.median(walls):.2f} s")
        print(f"  messages sent: {counts}; most in any 1 s: {first['max_rate']} (IB's limit 50)")
        for kind, n in sorted(first["by_kind"].items()):  # type: ignore[attr-defined]
            print(f"    {n:3d}  {kind}")
        print("  repeated identical messages, with their cause:")
        for kind, n in sorted(first["repeats"].items()):  # type: ignore[attr-defined]
            print(f"    {n:3d}  {kind}: {CAUSES.get(kind, 'NO KNOWN CAUSE')}")


if __name__ == "__main__":
    main()
