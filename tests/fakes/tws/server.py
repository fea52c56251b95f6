"""`FakeTws`: the socket server, its thread, and the scripting API tests use.

The server runs an asyncio loop in a thread of its own, so a test can drive the real ib_async
client with its blocking API (`IB.connect`, `IB.sleep`) or its async one. Scripting calls made
from the test's thread run inside the fake's loop and return once done, so what they send is
on the socket, in order, when they return.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from tests.fakes.tws import outgoing as out
from tests.fakes.tws import texts
from tests.fakes.tws.behaviours import Behaviour, CancelRace
from tests.fakes.tws.incoming import ContractQuery, PlacedOrder
from tests.fakes.tws.model import DailyBar, Instrument, ServerOrder, TwsState
from tests.fakes.tws.orders import OrderDesk
from tests.fakes.tws.session import MAX_SERVER_VERSION, MIN_SERVER_VERSION, Session, matching

T = TypeVar("T")

# Request names by message id, for `FakeTws.requests`/`count` (IB's EClient names).
REQUEST_NAMES = {
    1: "reqMktData",
    2: "cancelMktData",
    3: "placeOrder",
    4: "cancelOrder",
    5: "reqOpenOrders",
    6: "reqAccountUpdates",
    7: "reqExecutions",
    8: "reqIds",
    9: "reqContractDetails",
    15: "reqAutoOpenOrders",
    16: "reqAllOpenOrders",
    17: "reqManagedAccts",
    20: "reqHistoricalData",
    25: "cancelHistoricalData",
    49: "reqCurrentTime",
    58: "reqGlobalCancel",
    59: "reqMarketDataType",
    61: "reqPositions",
    62: "reqAccountSummary",
    63: "cancelAccountSummary",
    64: "cancelPositions",
    71: "startApi",
    76: "reqAccountUpdatesMulti",
    77: "cancelAccountUpdatesMulti",
    99: "reqCompletedOrders",
}


@dataclass(frozen=True)
class Received:
    """One request as it arrived: when (monotonic seconds), on which connection, its fields."""

    at: float
    session: int
    client_id: int | None
    msg_id: int
    name: str
    fields: tuple[str, ...]


class FakeTws:
    """A fake TWS / IB Gateway on 127.0.0.1 (an ephemeral port unless given one)."""

    def __init__(
        self,
        state: TwsState | None = None,
        *,
        server_version: int = 176,
        port: int = 0,
        farm_messages: bool = True,
    ) -> None:
        if not MIN_SERVER_VERSION <= server_version <= MAX_SERVER_VERSION:
            raise ValueError(
                f"server_version {server_version}: the fake speaks "
                f"{MIN_SERVER_VERSION}..{MAX_SERVER_VERSION}"
            )
        self.state = state if state is not None else TwsState()
        self.server_version = server_version
        self.host = "127.0.0.1"
        self.port = port
        self.farm_messages = farm_messages
        self.read_only = False
        self.check_buying_power = True
        self.duplicate_status = True
        # How execution times are written (`outgoing.EXECUTION_TIME_FORMS`): with TWS's zone's
        # name (`20261206 09:30:01 America/New_York`), zone-less in UTC (`20261206-14:30:01`),
        # or zone-less in TWS's login zone, two spaces (`20261206  09:30:01`, `local_zone`).
        self.execution_times = "named"
        self.local_zone = "America/New_York"
        # TWS's "Master API client ID" setting: that client hears every client's orders.
        self.master_client_id: int | None = None
        # TWS allows 50 requests a second; set this to enforce it (error 100, disconnect).
        # Off by default: on a loaded machine the fake's arrival times are noisy.
        self.pacing_limit: int | None = None
        self.desk = OrderDesk(self)
        # IB's pacing rule for identical historical-data requests (`history.py`), and when
        # each request was last seen.
        self.history_pacing = True
        self.history_asked: dict[tuple[object, ...], datetime] = {}
        # Called (in the server's thread) after every order event: booked, filled, cancelled.
        self.on_change: Callable[[], None] | None = None
        self.sessions: list[Session] = []
        self.received: list[Received] = []
        self.sent_count = 0
        self.placed: list[PlacedOrder] = []
        self.unhandled: list[list[str]] = []
        self.protocol_errors: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._numbers = 0
        self._records = threading.Lock()

    # -- life ------------------------------------------------------------------------------

    def start(self) -> FakeTws:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(self._new_session, self.host, self.port)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                # One more turn: the sessions `stop` closed finish closing their sockets.
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()

        self._thread = threading.Thread(target=serve, name="fake-tws", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket (TWS shutting down)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shut() -> None:
            for session in list(self.sessions):
                session.close()
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = self._server = None

    def __enter__(self) -> FakeTws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _new_session(self) -> Session:
        self._numbers += 1
        session = Session(self, self._numbers)
        self.sessions.append(session)
        return session

    def session_closed(self, session: Session) -> None:
        if session in self.sessions:
            self.sessions.remove(session)

    def call(self, action: Callable[[], T]) -> T:
        """Run `action` in the server's loop (where sessions live) and return its result."""
        loop = self._loop
        if loop is None:
            return action()  # not serving: nobody to tell, the state alone changes
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return action()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(action())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        if self._loop is not None:
            self._loop.call_later(seconds, action)

    # -- recording -------------------------------------------------------------------------

    def record(self, session: Session, fields: list[str]) -> None:
        msg_id = int(fields[0]) if fields and fields[0].lstrip("-").isdigit() else -1
        client_id = session.client_id
        if msg_id == 71 and len(fields) > 2 and fields[2].isdigit():
            client_id = int(fields[2])  # startApi names the client id it is for
        entry = Received(
            session.arrived,
            session.number,
            client_id,
            msg_id,
            REQUEST_NAMES.get(msg_id, f"msg{msg_id}"),
            tuple(fields),
        )
        with self._records:
            self.received.append(entry)

    def count_sent(self, session: Session, fields: list[object]) -> None:
        with self._records:
            self.sent_count += 1

    def requests(self, name: str | None = None, client_id: int | None = None) -> list[Received]:
        """What clients sent, oldest first; by request name (`"placeOrder"`) and client id."""
        with self._records:
            return [
                r
                for r in self.received
                if (name is None or r.name == name)
                and (client_id is None or r.client_id == client_id)
            ]

    def count(self, name: str) -> int:
        return len(self.requests(name))

    def order_refs(self) -> list[str]:
        """The orderRef of every placeOrder received, in order (a resend shows up twice)."""
        with self._records:
            return [p.order_ref for p in self.placed]

    def clear_received(self) -> None:
        with self._records:
            self.received.clear()
            self.placed.clear()

    def max_rate(self, window: float = 1.0) -> int:
        """The most requests received within any `window` seconds (TWS allows 50 a second)."""
        with self._records:
            times = [r.at for r in self.received]
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- queries the sessions and the desk share ------------------------------------------

    def lookup(self, query: ContractQuery) -> list[Instrument]:
        with self.state.lock:
            return matching(self.state.instruments, query)

    def client_in_use(self, client_id: int) -> bool:
        return any(s.client_id == client_id and not s.closed for s in self.sessions)

    def order_sessions(self, client_id: int) -> list[Session]:
        return [
            s
            for s in self.sessions
            if not s.closed
            and s.client_id is not None
            and s.client_id in (client_id, self.master_client_id)
        ]

    def account_changed(self, account: str, con_id: int | None = None) -> None:
        """Push what subscribers of `account` see after a change (fill, cash, price).

        It writes to the sessions, which live in the server's loop: from a test's thread call
        it through `tws.call(lambda: tws.account_changed(...))` (the `set_*` calls do).
        """
        state = self.state
        with state.lock:
            holding = state.accounts[account].holdings.get(con_id) if con_id else None
            instrument = state.instrument(con_id) if con_id else None
        for session in [s for s in self.sessions if not s.closed]:
            if session.account_updates == account:
                session.send_account(account, instrument if holding is None else None)
            if session.positions and instrument is not None:
                quantity = holding.quantity if holding else Decimal(0)
                cost = holding.average_cost if holding else Decimal(0)
                session.send(out.position(account, instrument, quantity, cost))
            for req_id, subscribed in session.multi.items():
                if subscribed == account:
                    session.send_account_multi(req_id, account)

    # -- scripting -------------------------------------------------------------------------

    def queue(self, *behaviours: Behaviour | CancelRace) -> None:
        """Script what happens to the next orders, one behaviour per placeOrder (a
        `CancelRace` to the next cancel of a working order)."""

        def run() -> None:
            for behaviour in behaviours:
                if isinstance(behaviour, CancelRace):
                    self.desk.cancel_races.append(behaviour)
                else:
                    self.desk.behaviours.append(behaviour)

        self.call(run)

    def finish_cancel(self, order_ref: str) -> ServerOrder:
        """End the pending cancel of a `CancelRace(after=None)` with its outcome."""

        def run() -> ServerOrder:
            order = self.state.order_by_ref(order_ref)
            self.desk.finish_cancel(order)
            return order

        return self.call(run)

    def set_price(
        self, symbol: str, last: Decimal | int | str, spread: Decimal | int | str = "0.02"
    ) -> None:
        """Move a quote; working orders that now cross fill, subscribers see the change."""

        def move() -> None:
            instrument = self.state.by_symbol(symbol)
            self.state.set_price(instrument.con_id, last, spread)
            with self.state.lock:
                working = [
                    o
                    for o in self.state.orders.values()
                    if o.is_open and o.con_id == instrument.con_id
                ]
            for order in working:
                if order.status == "Submitted":
                    self.desk.match(order)
            for session in [s for s in self.sessions if not s.closed]:
                for req_id, con_id in session.streams.items():
                    if con_id == instrument.con_id:
                        session.send_ticks(
                            req_id,
                            instrument,
                            session.market_data_type
                            if not self.state.market_data_subscribed
                            else 1,
                        )

        self.call(move)

    def fill(
        self,
        order_ref: str,
        quantity: Decimal | int | str | None = None,
        price: Decimal | str | None = None,
    ) -> ServerOrder:
        """Fill a working order (all of what remains unless `quantity`) as the exchange would."""

        def run() -> ServerOrder:
            order = self.state.order_by_ref(order_ref)
            self.desk.execute(
                order,
                Decimal(quantity) if quantity is not None else order.remaining,
                Decimal(price) if price is not None else None,
            )
            return order

        return self.call(run)

    def finish_cancels(self) -> int:
        """End every pending cancel (`CancelRace`) with its outcome; return how many."""

        def run() -> int:
            with self.state.lock:
                pending = [self.state.orders[p] for p in self.desk.pending_cancels]
            for order in pending:
                self.desk.finish_cancel(order)
            return len(pending)

        return self.call(run)

    def add_bars(self, symbol: str, bars: list[DailyBar]) -> None:
        """Give a listing daily bars in IB's historical data service (reqHistoricalData)."""
        self.state.add_bars(self.state.by_symbol(symbol).con_id, bars)

    def set_cash(self, account: str, amount: Decimal | int | str, currency: str = "USD") -> None:
        """Change an account's cash in one currency (a deposit, a fee); subscribers see the
        new values."""

        def run() -> None:
            self.state.set_cash(account, amount, currency)
            self.account_changed(account)

        self.call(run)

    def set_position(
        self,
        account: str,
        symbol: str,
        quantity: Decimal | int | str,
        average_cost: Decimal | int | str,
    ) -> None:
        """Change a holding outside the API (a transfer, a corporate action, a trade in the
        TWS window); subscribers see it."""

        def run() -> None:
            instrument = self.state.by_symbol(symbol)
            self.state.set_position(account, instrument.con_id, quantity, average_cost)
            self.account_changed(account, instrument.con_id)

        self.call(run)

    def open_market(self) -> None:
        """Regular trading hours begin: waiting (PreSubmitted) orders route and may fill."""
        self.call(self.desk.open_market)

    def close_market(self) -> None:
        """Regular trading hours end: working DAY orders expire; new orders wait."""
        self.call(self.desk.close_market)

    def cancel_from_server(self, order_ref: str, reason: str = "Order Canceled - reason:") -> None:
        """IB cancels a working order itself (end of day for a DAY order, an exchange cancel)."""
        self.call(lambda: self.desk.cancel_order(self.state.order_by_ref(order_ref), reason))

    def send_error(
        self, code: int, text: str, req_id: int = -1, client_id: int | None = None
    ) -> None:
        """Send an error/notice message to every client (or one client id)."""

        def run() -> None:
            for session in self.connected(client_id):
                session.send(out.error(session.version, req_id, code, text))

        self.call(run)

    def connectivity_lost(self) -> None:
        """IB's servers unreachable from TWS: error 1100 to every client, socket kept."""
        self.send_error(1100, texts.LOST)

    def connectivity_restored(self, data_lost: bool = False) -> None:
        """1101 (subscriptions lost: resubscribe) or 1102 (data maintained)."""
        if data_lost:
            self.send_error(
                1101,
                texts.RESTORED_LOST,
            )
        else:
            self.send_error(
                1102,
                texts.RESTORED_KEPT,
            )

    def farm_status(self, ok: bool = True) -> None:
        """The data-farm notices (2104/2106/2158 when OK; 2103/2105/2157 when broken)."""
        codes = (2104, 2106, 2158) if ok else (2103, 2105, 2157)
        state = "is OK" if ok else "is broken"
        for code, farm in zip(
            codes,
            (
                "Market data farm connection",
                "HMDS data farm connection",
                "Sec-def data farm connection",
            ),
            strict=True,
        ):
            self.send_error(code, f"{farm} {state}:usfarm")

    def drop_connections(self, client_id: int | None = None) -> None:
        """Close client sockets from the server's side (a network drop or a TWS restart)."""

        def run() -> None:
            for session in self.connected(client_id):
                session.close()

        self.call(run)

    def go_silent(self, client_id: int | None = None) -> None:
        """Stop answering and sending without closing the sockets (a hung TWS)."""

        def run() -> None:
            for session in self.connected(client_id):
                session.silent = True

        self.call(run)

    def resume(self) -> None:
        """End `go_silent`: sessions send again (what they missed stays missed)."""

        def run() -> None:
            for session in self.sessions:
                session.silent = False

        self.call(run)

    def connected(self, client_id: int | None = None) -> list[Session]:
        return [
            s
            for s in self.sessions
            if not s.closed
            and s.client_id is not None
            and (client_id is None or s.client_id == client_id)
        ]

    def connected_client_ids(self) -> list[int]:
        return sorted(s.client_id for s in self.connected() if s.client_id is not None)

    @contextmanager
    def counting(self) -> Iterator[list[Received]]:
        """The requests received inside the block (the list fills as the block runs)."""
        with self._records:
            start = len(self.received)
        seen: list[Received] = []
        try:
            yield seen
        finally:
            with self._records:
                seen.extend(self.received[start:])

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll `condition` until true; fail after `timeout` seconds (a deadline, not a sleep)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake TWS did not reach the condition in time")
            time.sleep(0.005)
