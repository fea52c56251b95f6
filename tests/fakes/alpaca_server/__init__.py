"""A fake Alpaca (trading API v2 and market data v2) on 127.0.0.1, for the real alpaca-py.

`FakeAlpaca(state).start()` serves on an ephemeral port (`.url`); `python -m
tests.fakes.alpaca_server --port N --state FILE` runs one as its own process, its account
kept in FILE. The keys it accepts are `KEY_ID`/`SECRET` (paper) and `LIVE_KEY_ID`/
`LIVE_SECRET` (live).
"""

from __future__ import annotations

__all__ = [
    "KEY_ID",
    "LIVE_KEY_ID",
    "LIVE_SECRET",
    "SECRET",
    "AlpacaState",
    "FakeAlpaca",
    "FakeAsset",
    "FakeOrder",
    "Fault",
    "Refusal",
    "rate_limited",
    "server_errors",
]

from tests.fakes.alpaca_server.server import (
    KEY_ID,
    LIVE_KEY_ID,
    LIVE_SECRET,
    SECRET,
    FakeAlpaca,
    Fault,
    rate_limited,
    server_errors,
)
from tests.fakes.alpaca_server.state import AlpacaState, FakeAsset, FakeOrder, Refusal
