"""One API connection: the handshake, startApi, and every request that only reads.

Runs in the fake's event-loop thread. Orders (placeOrder, cancelOrder, reqGlobalCancel) go to
the order desk (`orders.py`); everything is recorded first (`FakeTws.received`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tests.fakes.tws import history, texts
from tests.fakes.tws import outgoing as out
from tests.fakes.tws.accounts import account_values, portfolio, summary_values
from tests.fakes.tws.incoming import (
    ContractQuery,
    ExecutionFilter,
    read_contract_details,
    read_executions,
    read_market_data,
)
from tests.fakes.tws.model import Execution, Instrument
from tests.fakes.tws.wire import HANDSHAKE_PREFIX, ProtocolError, frame, split_frames
from tests.fakes.tws.wire import version_range as read_version_range

if TYPE_CHECKING:
    from tests.fakes.tws.server import FakeTws

# The oldest server version whose layouts this fake writes (error with advancedOrderRejectJson,
# contractDetails without a version field, ...); the newest is the text protocol's last, 178.
MIN_SERVER_VERSION = 166
MAX_SERVER_VERSION = 178

FARM_MESSAGES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)


class Session(asyncio.Protocol):
    """The server end of one client socket."""

    def __init__(self, fake: FakeTws, number: int) -> None:
        self.fake = fake
        self.number = number
        self.buffer = bytearray()
        self.greeted = False
        self.version = 0
        self.client_id: int | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.silent = False
        self.market_data_type = 1
        self.account_updates: str | None = None  # the account of reqAccountUpdates
        self.positions = False  # reqPositions subscribed
        self.multi: dict[int, str] = {}  # reqAccountUpdatesMulti reqId -> account
        self.streams: dict[int, int] = {}  # streaming reqMktData reqId -> conId
        self.auto_open = False
        self.paced = False  # the client asked TWS to pace its requests (+PACEAPI)
        self.arrivals: deque[float] = deque()  # request times within the last second
        self.pending: deque[tuple[float, list[str]]] = deque()  # (arrival, fields) unanswered
        self.arrived = 0.0  # when the request being answered reached the fake (monotonic s)

    # -- transport -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fake.session_closed(self)

    def data_received(self, data: bytes) -> None:
        # Requests are timed when their bytes reach the fake, as TWS counts arrivals, and
        # answered one per turn of the loop so the next bytes are read (and timed) between
        # them: timing each after the handlers before it ran bunched a burst's tail into the
        # next second on a loaded machine.
        arrived = time.monotonic()
        self.buffer += data
        try:
            if not self.greeted:
                if len(self.buffer) < len(HANDSHAKE_PREFIX):
                    return
                if bytes(self.buffer[: len(HANDSHAKE_PREFIX)]) != HANDSHAKE_PREFIX:
                    raise ProtocolError("the connection did not start with API\\0")
                del self.buffer[: len(HANDSHAKE_PREFIX)]
                self.greeted = True
            frames = split_frames(self.buffer)
        except ProtocolError as exc:
            self.fake.protocol_errors.append(f"session {self.number}: {exc}")
            self.close()
            return
        if frames and not self.pending:
            asyncio.get_running_loop().call_soon(self.answer_next)
        self.pending.extend((arrived, fields) for fields in frames)

    def answer_next(self) -> None:
        arrived, fields = self.pending.popleft()
        if self.pending:
            asyncio.get_running_loop().call_soon(self.answer_next)
        self.arrived = arrived
        try:
            self.receive(fields)
        except ProtocolError as exc:
            self.fake.protocol_errors.append(f"session {self.number}: {exc}")
            self.close()

    def send(self, fields: out.Fields) -> None:
        if self.closed or self.silent or self.transport is None:
            return
        self.transport.write(frame(fields))
        self.fake.count_sent(self, fields)

    def close(self) -> None:
        """Close the socket from the server's side (TWS closing, or the network dropping)."""
        if self.transport is not None and not self.closed:
            # What was written still goes out first (a close, not a reset).
            self.transport.close()
        self.closed = True

    def hang_up(self) -> None:
        """End the connection after what was written, as TWS does after error 100: send the
        end of the stream and let the client close. A close while the client is still
        sending goes out as a reset once its next bytes arrive, and a reset can cost the
        client the error it had not read yet (1 run in 7 on a loaded machine)."""
        if self.transport is not None and not self.closed:
            if self.transport.can_write_eof():
                self.transport.write_eof()
            else:
                self.transport.close()
        self.closed = True

    # -- dispatch --------------------------------------------------------------------------

    def receive(self, fields: list[str]) -> None:
        if not self.version:
            self.handshake(fields)
            return
        self.fake.record(self, fields)
        if self.silent or not fields:
            return
        if self.over_the_rate():
            return
        msg_id = int(fields[0])
        if self.client_id is None and msg_id != 71:
            return  # TWS ignores requests before startApi
        handler = self.handlers().get(msg_id)
        if handler is None:
            self.fake.unhandled.append(fields)
            return
        try:
            handler(fields)
        except (ProtocolError, ValueError, IndexError, KeyError) as exc:
            # A request the fake could not read or answer: recorded for the test to fail on,
            # the connection kept (TWS answers bad requests with an error, not a close).
            self.fake.protocol_errors.append(f"session {self.number}, msg {msg_id}: {exc!r}")
            self.send(out.error(self.version, -1, 320, f"Error reading request: {exc}"))

    def handlers(self) -> dict[int, Callable[[list[str]], None]]:
        desk = self.fake.desk
        return {
            71: self.start_api,
            1: self.market_data,
            2: self.cancel_market_data,
            3: lambda f: desk.place(self, f),
            4: lambda f: desk.cancel(self, f),
            5: self.open_orders,
            6: self.account_updates_request,
            7: self.executions,
            8: self.ids,
            9: self.contract_details,
            15: self.auto_open_orders,
            16: self.all_open_orders,
            17: lambda f: self.send(out.managed_accounts(list(self.fake.state.accounts))),
            20: lambda f: history.answer(self, f),
            25: lambda f: None,  # cancelHistoricalData: every answer is sent at once
            49: lambda f: self.send(out.current_time(int(time.time()))),
            58: lambda f: desk.global_cancel(self),
            59: self.market_data_type_request,
            61: self.positions_request,
            62: self.account_summary,
            63: lambda f: None,  # cancelAccountSummary
            64: self.cancel_positions,
            76: self.account_updates_multi,
            77: self.cancel_account_updates_multi,
            99: self.completed_orders,
        }

    def over_the_rate(self) -> bool:
        """TWS's 50 messages a second (when the fake enforces it): error 100, then the close."""
        limit = self.fake.pacing_limit
        if not limit or self.paced:
            return False
        now = self.arrived
        self.arrivals.append(now)
        while now - self.arrivals[0] >= 1.0:
            self.arrivals.popleft()
        if len(self.arrivals) <= limit:
            return False
        self.send(out.error(self.version, -1, 100, texts.over_the_rate(limit, len(self.arrivals))))
        self.hang_up()
        return True

    def handshake(self, fields: list[str]) -> None:
        low, high = read_version_range(fields[0] if fields else "")
        version = min(self.fake.server_version, high)
        if version < max(low, MIN_SERVER_VERSION):
            self.fake.protocol_errors.append(f"no common version with v{low}..{high}")
            self.close()
            return
        self.version = version
        self.paced = "+PACEAPI" in fields[0]
        now = datetime.now(UTC).astimezone(ZoneInfo(out.TWS_ZONE))
        self.send([version, now.strftime("%Y%m%d %H:%M:%S ") + out.TWS_ZONE])

    def start_api(self, fields: list[str]) -> None:
        client_id = int(fields[2])
        if self.fake.client_in_use(client_id):
            self.send(out.error(self.version, -1, 326, texts.CLIENT_ID_IN_USE))
            self.close()
            return
        self.client_id = client_id
        state = self.fake.state
        with state.lock:
            accounts = list(state.accounts)
            next_id = max([state.next_order_id, *self.fake.desk.used_ids(client_id)])
        self.send(out.managed_accounts(accounts))
        self.send(out.next_valid_id(next_id))
        if self.fake.farm_messages:
            for code, text in FARM_MESSAGES:
                self.send(out.error(self.version, -1, code, text))

    def ids(self, fields: list[str]) -> None:
        state = self.fake.state
        with state.lock:
            next_id = max([state.next_order_id, *self.fake.desk.used_ids(self.client_id or 0)])
        self.send(out.next_valid_id(next_id))

    # -- accounts and positions ------------------------------------------------------------

    def positions_request(self, fields: list[str]) -> None:
        self.positions = True
        state = self.fake.state
        with state.lock:
            rows = [
                out.position(
                    account.account_id, state.instrument(con_id), h.quantity, h.average_cost
                )
                for account in state.accounts.values()
                for con_id, h in account.holdings.items()
            ]
        for row in rows:
            self.send(row)
        self.send(out.position_end())

    def cancel_positions(self, fields: list[str]) -> None:
        self.positions = False

    def account_updates_request(self, fields: list[str]) -> None:
        subscribe, account = fields[2] == "1", fields[3]
        if not subscribe:
            self.account_updates = None
            return
        if account not in self.fake.state.accounts:
            self.send(
                out.error(
                    self.version,
                    -1,
                    321,
                    f"Error validating request:-'bb' : cause - Invalid account code {account}",
                )
            )
            return
        self.account_updates = account
        self.send_account(account)
        self.send(out.account_download_end(account))

    def send_account(self, account: str, closed: Instrument | None = None) -> None:
        """Everything reqAccountUpdates streams for `account`: values, portfolio, time; a
        position just `closed` is sent once more with quantity 0, as TWS does."""
        state = self.fake.state
        if closed is not None:
            mark = state.quotes[closed.con_id].mark() or Decimal(0)
            self.send(
                out.portfolio_value(account, closed, Decimal(0), mark, Decimal(0), Decimal(0))
            )
        for value in account_values(state, account):
            self.send(out.account_value(value.tag, value.value, value.currency, account))
        for row in portfolio(state, account):
            self.send(
                out.portfolio_value(
                    account, row.instrument, row.quantity, row.price, row.average_cost, row.realized
                )
            )
        self.send(out.account_time(datetime.now(UTC)))

    def account_updates_multi(self, fields: list[str]) -> None:
        req_id, account = int(fields[2]), fields[3]
        self.multi[req_id] = account
        self.send_account_multi(req_id, account)
        self.send(out.account_update_multi_end(req_id))

    def send_account_multi(self, req_id: int, account: str) -> None:
        if account not in self.fake.state.accounts:
            return
        for value in account_values(self.fake.state, account):
            self.send(
                out.account_update_multi(req_id, account, value.tag, value.value, value.currency)
            )

    def cancel_account_updates_multi(self, fields: list[str]) -> None:
        self.multi.pop(int(fields[2]), None)

    def account_summary(self, fields: list[str]) -> None:
        req_id, group, tags = int(fields[2]), fields[3], fields[4]
        state = self.fake.state
        accounts = (
            list(state.accounts) if group == "All" else [a for a in state.accounts if a == group]
        )
        for account in accounts:
            for value in summary_values(state, account, tags):
                self.send(
                    out.account_summary(req_id, account, value.tag, value.value, value.currency)
                )
        self.send(out.account_summary_end(req_id))

    # -- orders seen from this client ------------------------------------------------------

    def open_orders(self, fields: list[str]) -> None:
        # Its own orders only (for client 0 IB adds TWS-manual ones, which the fake has not),
        # and every client's for the master client id.
        self.send_open_orders(
            lambda order_client: self.client_id in (order_client, self.fake.master_client_id)
        )

    def all_open_orders(self, fields: list[str]) -> None:
        self.send_open_orders(lambda order_client: True)

    def auto_open_orders(self, fields: list[str]) -> None:
        if self.client_id != 0:
            self.send(
                out.error(
                    self.version,
                    -1,
                    321,
                    texts.AUTO_BIND,
                )
            )
            return
        self.auto_open = fields[2] == "1"

    def send_open_orders(self, wanted: Callable[[int], bool]) -> None:
        state = self.fake.state
        with state.lock:
            orders = [
                (o, state.instrument(o.con_id))
                for o in state.orders.values()
                if o.is_open and wanted(o.client_id)
            ]
        for order, instrument in orders:
            self.send(out.open_order(self.version, order, instrument))
            self.send(out.order_status(order))
        self.send(out.open_order_end())

    def completed_orders(self, fields: list[str]) -> None:
        if self.fake.read_only:
            # IB: "Information about orders is not available to the API when read-only mode
            # is enabled"; ib_async's author: reqCompletedOrders "is not allowed when the API
            # is in read-only mode" (ib_insync #224). 321 on no request id, and no end.
            self.send(out.error(self.version, -1, 321, texts.READ_ONLY_COMPLETED))
            return
        state = self.fake.state
        with state.lock:
            done = sorted(
                (o for o in state.orders.values() if not o.is_open and o.completed_at),
                key=lambda o: o.completed_at or o.placed_at,
            )
            rows = [(o, state.instrument(o.con_id)) for o in done]
        for order, instrument in rows:
            self.send(out.completed_order(self.version, order, instrument))
        self.send(out.completed_orders_end())

    def executions(self, fields: list[str]) -> None:
        wanted = read_executions(fields)
        state = self.fake.state
        with state.lock:
            rows = [
                (e, state.instrument(e.con_id))
                for e in state.executions
                if _matches(wanted, e, state.instrument(e.con_id))
            ]
        for execution, instrument in rows:
            self.send(
                out.exec_details(
                    self.version,
                    wanted.req_id,
                    execution,
                    instrument,
                    time_form=self.fake.execution_times,
                    local_zone=self.fake.local_zone,
                )
            )
            self.send(out.commission_report(execution))
        self.send(out.exec_details_end(wanted.req_id))

    # -- contracts and market data -----------------------------------------------------------

    def contract_details(self, fields: list[str]) -> None:
        req_id, query = read_contract_details(fields)
        found = self.fake.lookup(query)
        if not found:
            self.send(out.error(self.version, req_id, 200, texts.NO_DEFINITION))
            return
        for instrument in found:
            # Without an exchange IB answers one listing per exchange it trades on.
            exchanges = (
                [query.exchange] if query.exchange else ["SMART", instrument.primary_exchange]
            )
            for exchange in exchanges:
                self.send(out.contract_details(req_id, instrument, exchange))
        self.send(out.contract_details_end(req_id))

    def market_data_type_request(self, fields: list[str]) -> None:
        self.market_data_type = int(fields[2])

    def market_data(self, fields: list[str]) -> None:
        request = read_market_data(fields)
        found = self.fake.lookup(request.contract)
        if len(found) != 1:
            self.send(out.error(self.version, request.req_id, 200, texts.NO_DEFINITION))
            return
        if request.snapshot and request.generic_ticks:
            self.send(
                out.error(
                    self.version,
                    request.req_id,
                    321,
                    texts.SNAPSHOT_GENERIC,
                )
            )
            return
        instrument = found[0]
        kind = 1 if self.fake.state.market_data_subscribed else self.market_data_type
        if kind in (1, 2) and not self.fake.state.market_data_subscribed:
            self.send(
                out.error(
                    self.version,
                    request.req_id,
                    354,
                    texts.NOT_SUBSCRIBED,
                )
            )
            return
        if kind in (3, 4):
            self.send(
                out.error(
                    self.version,
                    request.req_id,
                    10167,
                    texts.DELAYED,
                )
            )
        self.send(out.market_data_type(request.req_id, kind))
        self.send_ticks(request.req_id, instrument, kind)
        if request.snapshot:
            self.send(out.tick_snapshot_end(request.req_id))
        else:
            self.streams[request.req_id] = instrument.con_id

    def send_ticks(self, req_id: int, instrument: Instrument, kind: int) -> None:
        with self.fake.state.lock:
            quote = self.fake.state.quotes.get(instrument.con_id)
            prices = (
                []
                if quote is None
                else [(1, quote.bid), (2, quote.ask), (4, quote.last), (9, quote.close)]
            )
            traded_at = None if quote is None or quote.last is None else quote.last_time
        delayed = {1: 66, 2: 67, 4: 68, 9: 75, 45: 88}
        for tick, price in prices:
            if price is not None:
                tick_type = delayed[tick] if kind in (3, 4) else tick
                self.send(out.tick_price(req_id, tick_type, price, 100))
            if tick == 4 and traded_at is not None:
                # The last trade's time follows the last: LAST_TIMESTAMP (45; 88 delayed),
                # Unix seconds as a string.
                tick_type = delayed[45] if kind in (3, 4) else 45
                self.send(out.tick_string(req_id, tick_type, str(int(traded_at.timestamp()))))

    def cancel_market_data(self, fields: list[str]) -> None:
        self.streams.pop(int(fields[2]), None)


def _matches(wanted: ExecutionFilter, execution: Execution, instrument: Instrument) -> bool:
    side = {"BUY": "BOT", "SELL": "SLD"}.get(wanted.side.upper(), wanted.side.upper())
    return (
        (not wanted.client_id or wanted.client_id == execution.client_id)
        and (not wanted.account or wanted.account == execution.account)
        and (not wanted.symbol or wanted.symbol == instrument.symbol)
        and (not wanted.sec_type or wanted.sec_type == instrument.sec_type)
        and (not wanted.exchange or wanted.exchange == instrument.primary_exchange)
        and (not side or side == execution.side)
        and (not wanted.time or execution.time >= _filter_time(wanted.time))
    )


def _filter_time(text: str) -> datetime:
    """`yyyymmdd-hh:mm:ss` is UTC; `yyyymmdd hh:mm:ss [zone]` is in the zone (TWS's by default)."""
    if "-" in text.split(" ", 1)[0]:
        return datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
    parts = text.split(" ")
    zone = ZoneInfo(parts[2]) if len(parts) > 2 else ZoneInfo(out.TWS_ZONE)
    return datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S").replace(tzinfo=zone)


def matching(instruments: list[Instrument], query: ContractQuery) -> list[Instrument]:
    """The listings a contract query names: by conId, else by symbol narrowed by the fields
    given (secType, currency, primary exchange; an exchange other than SMART must be the
    primary)."""
    if query.con_id:
        return [i for i in instruments if i.con_id == query.con_id]
    symbol = query.symbol or query.local_symbol
    return [
        i
        for i in instruments
        if i.symbol == symbol
        and (not query.sec_type or query.sec_type == i.sec_type)
        and (not query.currency or query.currency == i.currency)
        and (not query.primary_exchange or query.primary_exchange == i.primary_exchange)
        and (query.exchange in ("", "SMART") or query.exchange == i.primary_exchange)
    ]


__all__ = ["Session", "matching"]
