"""The fake Alpaca's market: clock, calendar and market data JSON (numbers, not strings)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.fakes.alpaca_server.state import (
    EASTERN,
    AlpacaState,
    Refusal,
    session_bounds,
    stamp,
    trading_days,
)


def clock_json(state: AlpacaState) -> dict[str, Any]:
    now = state.now()
    today = now.astimezone(EASTERN).date()
    days = trading_days(today, today + timedelta(days=14), state.holidays)
    opens = [session_bounds(d)[0] for d in days]
    closes = [session_bounds(d)[1] for d in days]
    next_open = next((o for o in opens if o > now), opens[-1])
    next_close = next((c for c in closes if c > now), closes[-1])
    if state.market_open is not None:
        # A forced clock holds for an hour, then the adapter must ask again.
        edge = now + timedelta(hours=1)
        next_open, next_close = (
            (now + timedelta(days=1), edge)
            if state.market_open
            else (
                edge,
                now + timedelta(days=1),
            )
        )
    return {
        "timestamp": now.astimezone(EASTERN).isoformat(),
        "is_open": state.is_open(now),
        "next_open": next_open.astimezone(EASTERN).isoformat(timespec="seconds"),
        "next_close": next_close.astimezone(EASTERN).isoformat(timespec="seconds"),
    }


def calendar_json(state: AlpacaState, query: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        start = date.fromisoformat(query.get("start", "")[:10])
        end = date.fromisoformat(query.get("end", "")[:10])
    except ValueError as exc:
        raise Refusal(422, 40010001, "start and end must be dates") from exc
    return [
        {
            "date": day.isoformat(),
            "open": "09:30",
            "close": "16:00",
            "session_open": "0400",
            "session_close": "2000",
            "settlement_date": (day + timedelta(days=1)).isoformat(),
        }
        for day in trading_days(start, end, state.holidays)
    ]


def _bar(day: date, close: Decimal) -> dict[str, Any]:
    midnight = datetime.combine(day, datetime.min.time(), EASTERN)
    price = float(close)
    return {"t": stamp(midnight), "o": price, "h": price, "l": price, "c": price, "v": 1000,
            "n": 10, "vw": price}  # fmt: skip


def _previous_day(state: AlpacaState, day: date) -> date:
    before = trading_days(day - timedelta(days=10), day - timedelta(days=1), state.holidays)
    return before[-1]


def snapshots_json(state: AlpacaState, symbols: Sequence[str]) -> dict[str, Any]:
    """`GET /v2/stocks/snapshots`: unknown symbols are left out, as Alpaca does."""
    now = state.now()
    today = now.astimezone(EASTERN).date()
    result: dict[str, Any] = {}
    with state.lock:
        for symbol in symbols:
            price = state.prices.get(symbol)
            if price is None:
                continue
            previous = state.previous_closes.get(symbol, price)
            value = float(price)
            result[symbol] = {
                "latestTrade": {"t": stamp(now), "x": "V", "p": value, "s": 100, "c": ["@"],
                                "i": 1, "z": "B"},
                "latestQuote": {"t": stamp(now), "ax": "V", "ap": value + 0.01, "as": 1,
                                "bx": "V", "bp": value - 0.01, "bs": 1, "c": ["R"], "z": "B"},
                "minuteBar": _bar(today, price),
                "dailyBar": _bar(today, price),
                "prevDailyBar": _bar(_previous_day(state, today), previous),
            }  # fmt: skip
    return result


def latest_trades_json(state: AlpacaState, symbols: Sequence[str]) -> dict[str, Any]:
    now = state.now()
    with state.lock:
        return {
            "trades": {
                s: {"t": stamp(now), "x": "V", "p": float(state.prices[s]), "s": 100, "c": ["@"],
                    "i": 1, "z": "B"}
                for s in symbols
                if s in state.prices
            }
        }  # fmt: skip


SIP_DELAY = timedelta(minutes=15)
"""How old SIP data must be for the free plan to serve it."""


def refuse_unsubscribed_sip(state: AlpacaState, path: str, query: Mapping[str, str]) -> None:
    """Answer as Alpaca's data API does when the plan does not include recent SIP data."""
    if state.sip_subscription or query.get("feed") != "sip":
        return
    if path == "/v2/stocks/bars":
        end = query.get("end")
        if end:
            text = f"{end}T00:00:00+00:00" if len(end) == 10 else end.replace("Z", "+00:00")
            if datetime.fromisoformat(text) <= state.now() - SIP_DELAY:
                return  # history only: the free plan serves SIP bars older than 15 minutes
    raise Refusal(403, None, "subscription does not permit querying recent SIP data")
