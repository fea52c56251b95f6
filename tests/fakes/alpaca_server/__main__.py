"""Run the fake Alpaca as its own process: `python -m tests.fakes.alpaca_server --port N --state FILE`.

FILE (JSON) is read at start when it exists and written after every order, cancel and fill,
so the account outlives the server and any client that was killed. A new FILE starts from
`--cash` and `--asset SYMBOL=PRICE` (fractionable, tradable). The URL is printed on stdout.
"""  # noqa: E501 (the command line reads better whole)

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fakes.alpaca_server.server import FakeAlpaca
from tests.fakes.alpaca_server.state import AlpacaState, FakeAsset, FakeOrder

_ORDER_DECIMALS = (
    "qty",
    "notional",
    "limit_price",
    "filled_qty",
    "filled_notional",
    "held_price",
)


def dump(state: AlpacaState) -> dict[str, Any]:
    """Return the account as JSON-ready data."""
    with state.lock:
        orders = []
        for order in state.orders:
            row: dict[str, Any] = {}
            for f in fields(FakeOrder):
                value = getattr(order, f.name)
                if isinstance(value, Decimal):
                    value = str(value)
                elif isinstance(value, datetime):
                    value = value.isoformat()
                row[f.name] = value
            orders.append(row)
        return {
            "cash": str(state.cash),
            "auto_fill": state.auto_fill,
            "market_open": state.market_open,
            "assets": {s: vars(a) for s, a in state.assets.items()},
            "prices": {s: str(p) for s, p in state.prices.items()},
            "previous_closes": {s: str(p) for s, p in state.previous_closes.items()},
            "positions": {s: [str(q), str(c)] for s, (q, c) in state.positions.items()},
            "orders": orders,
            "client_order_ids": sorted(state.client_order_ids),
            "activities": state.activities,
        }


def load(data: dict[str, Any]) -> AlpacaState:
    """Rebuild an account from `dump`'s data."""
    state = AlpacaState(
        cash=Decimal(data["cash"]),
        auto_fill=bool(data.get("auto_fill")),
        market_open=data.get("market_open"),
    )
    state.assets = {s: FakeAsset(**a) for s, a in data["assets"].items()}
    state.prices = {s: Decimal(p) for s, p in data["prices"].items()}
    state.previous_closes = {s: Decimal(p) for s, p in data["previous_closes"].items()}
    state.positions = {s: (Decimal(q), Decimal(c)) for s, (q, c) in data["positions"].items()}
    for row in data["orders"]:
        for name in _ORDER_DECIMALS:
            if row.get(name) is not None:
                row[name] = Decimal(row[name])
        for name in ("created_at", "updated_at", "expired_at", "failed_at"):
            if row.get(name) is not None:
                row[name] = datetime.fromisoformat(row[name])
        state.orders.append(FakeOrder(**row))
    state.client_order_ids = set(data["client_order_ids"])
    state.activities = list(data["activities"])
    return state


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.alpaca_server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--cash", default="100000")
    parser.add_argument("--asset", action="append", default=[], metavar="SYMBOL=PRICE")
    parser.add_argument("--auto-fill", action="store_true")
    parser.add_argument("--market-open", action="store_true")
    args = parser.parse_args()
    if args.state.exists():
        state = load(json.loads(args.state.read_text()))
    else:
        state = AlpacaState(cash=Decimal(args.cash))
        for item in args.asset:
            symbol, price = item.split("=", 1)
            state.add_asset(symbol, price)
    state.auto_fill = state.auto_fill or args.auto_fill
    state.market_open = True if args.market_open else state.market_open
    fake = FakeAlpaca(state, port=args.port)

    def save() -> None:
        temporary = args.state.with_suffix(".tmp")
        temporary.write_text(json.dumps(dump(state)))
        temporary.replace(args.state)

    fake.on_change = save
    save()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with fake:
        print(fake.url, flush=True)
        stop.wait()
    save()


if __name__ == "__main__":
    main()
