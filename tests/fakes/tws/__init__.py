"""A fake TWS / IB Gateway on 127.0.0.1 speaking the TWS API's text protocol, for the real
ib_async client. What it implements, message by message, and what it does not: README.md here.

    state = two_accounts()            # DU1234567 and DU7654321, a few ETFs priced
    with FakeTws(state) as tws:       # an ephemeral port: tws.port
        ib = IB(); ib.connect("127.0.0.1", tws.port, clientId=7)
        tws.queue(Reject())           # the next order gets error 201
        tws.count("placeOrder")       # what the client sent

Server state (`TwsState`) outlives connections and, handed to a new `FakeTws`, the server.
"""

from __future__ import annotations

__all__ = [
    "Account",
    "CancelRace",
    "Commissions",
    "DailyBar",
    "DelayedFill",
    "DropAfterAccept",
    "DropBeforeAccept",
    "Execution",
    "FakeTws",
    "Hold",
    "Instrument",
    "PartialFill",
    "Quote",
    "Received",
    "Reject",
    "ServerOrder",
    "SilentAfterAccept",
    "TwsState",
    "two_accounts",
]

from tests.fakes.tws.behaviours import (
    CancelRace,
    DelayedFill,
    DropAfterAccept,
    DropBeforeAccept,
    Hold,
    PartialFill,
    Reject,
    SilentAfterAccept,
)
from tests.fakes.tws.model import (
    Account,
    Commissions,
    DailyBar,
    Execution,
    Instrument,
    Quote,
    ServerOrder,
    TwsState,
)
from tests.fakes.tws.server import FakeTws, Received
from tests.fakes.tws.states import two_accounts
