"""The link to TWS / IB Gateway: ib_async on an event loop of its own, behind blocking calls.

trimtab's broker port is synchronous; ib_async needs its event loop to keep running for
orders to move on (a blocked loop leaves them "PendingSubmit"). So each adapter owns one
thread running one asyncio loop, with one `IB` on it; `IbLink.call` runs a coroutine there and
waits for it with a deadline. Everything that touches the `IB` runs on that loop.

Connection life:

| event | what the link does |
|---|---|
| connect | TCP and API handshake within `connect_timeout_seconds`, then ib_async's start-up sync (positions, open and completed orders, account values of `account_id`, executions), every step bounded, errors raised |
| `disconnectedEvent`, error 1100, an unanswered heartbeat | the link is lost: `lost` says why; no order is sent until a reconnect and a reconciliation (`reconciled`) |
| next use after a loss | reconnect, at most once per backoff (1 s doubling to `reconnect_max_backoff_seconds`); sooner raises `TransientBrokerError` with `retry_after` |
| error 1101 / 1102 (IB restored its side) | counted as a reconnect: the orders and fills are read again before anything is sent |
| idle for `heartbeat_seconds` | `probe()` sends `reqCurrentTime` before an order goes out; a background task looks every second and probes the same way once the link is idle, since IB can go silent without closing the socket |

Pacing: ib_async queues messages above `Client.MaxRequests` per `Client.RequestsInterval`;
trimtab sets 4 per 0.1 s (40 a second, spread out), under IB's limit of 50 (error 100, then a
disconnect).
"""  # noqa: E501 (a table row per event reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "CONNECTIVITY_LOST",
    "CONNECTIVITY_RESTORED",
    "INFORMATION",
    "PACING_MESSAGES",
    "PACING_SECONDS",
    "REJECTIONS",
    "IbError",
    "IbLink",
    "LinkDown",
    "classify",
    "read_only_refusal",
]

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from adapters.base import CredentialsRejected
from adapters.ibkr.config import IbkrSettings
from adapters.ibkr.parsing import execution_time
from adapters.ibkr.sdk import IB, StartupFetch
from daemon.core.errors import BrokerError, TransientBrokerError

T = TypeVar("T")
PACING_MESSAGES, PACING_SECONDS = 4, 0.1
"""ib_async's throttle: at most 4 messages in any 0.1 s, 40 a second. IB disconnects a client
that sends more than 50 a second as IB counts them on arrival. ib_async's default, 45 per 1 s,
sends a queue in bursts of 45 exactly one second apart, so a burst reaching IB a millisecond
late shares IB's second with the next one (up to 90); in bursts of 4 a tenth apart, IB still
counts at most 48 in a second when one burst arrives up to 0.2 s later than the next."""
SYNC = (
    StartupFetch.POSITIONS
    | StartupFetch.ORDERS_OPEN
    | StartupFetch.ORDERS_COMPLETE
    | StartupFetch.EXECUTIONS
)
"""ib_async's start-up sync without account updates: those are asked for the configured
account alone, once the login is known to manage it (other managed accounts are never read)."""
CONNECTIVITY_LOST = frozenset({1100, 2110})
"""IB Gateway lost IB's servers (1100), or TWS its link to them (2110): nothing can be sent."""
CONNECTIVITY_RESTORED = frozenset({1101, 1102})
"""Restored with data lost (1101) or kept (1102): reconcile before sending again."""
INFORMATION = frozenset({2104, 2106, 2107, 2108, 2158, 2119})
"""Data farm status messages ("connection is OK", "inactive but available"): logged only."""
REJECTIONS = {
    201: "IB rejected the order",
    202: "the order was cancelled",
    103: "duplicate order id",
    110: "the price does not fit the contract's tick",
    200: "IB has no security definition for the contract",
    203: "the account may not trade this security",
    354: "no market data subscription",
    382: "the order would exceed a size limit",
    383: "the order size exceeds a limit",
    399: "order message",
    10243: "IB does not accept fractional quantities through the API",
    10147: "no order with that id to cancel",
}
"""IB error codes trimtab recognises on an order, with what they mean."""
DUPLICATE_CLIENT = 326
VALIDATION = 321
READ_ONLY_TEXT = "Read-Only"
"""In IB's 321 text when the Gateway's "Read-Only API" setting is on."""
READ_ONLY_FIX = (
    "fix: turn 'Read-Only API' off in IB Gateway or TWS (Configure, Settings, API; IBC: "
    "READ_ONLY_API=no), then run again"
)
PACING = 100
EXEC_DETAILS, EXEC_TIME_FIELD = 11, 15
"""execDetails' message id, and where its time is: msgId, reqId, orderId, 11 contract
fields, execId, time (brokers.md's layout, the same at ib_async's server versions)."""
_log = structlog.get_logger("adapters.ibkr")


@dataclass(frozen=True, slots=True)
class IbError:
    """One error message IB sent (msg 4): request or order id, code, text."""

    req_id: int
    code: int
    text: str
    at: float
    """time.monotonic() when it arrived."""


def classify(code: int) -> str:
    """Return how trimtab treats an IB error code (docs/ibkr.md, "Error codes").

    `information` is logged only; `connectivity` marks the link lost or restored; `order`
    settles an order (a rejection when nothing filled); `request` fails the read it answers;
    `pacing` (100) disconnects, as IB itself is about to.
    """
    if code in INFORMATION or (2100 <= code < 2200 and code != 2110):
        return "information"
    if code in CONNECTIVITY_LOST or code in CONNECTIVITY_RESTORED or code in (502, 504, 1300):
        return "connectivity"
    if code == PACING:
        return "pacing"
    if code in REJECTIONS or 10000 <= code < 11000 or 100 <= code < 500:
        return "order"
    return "request"


def read_only_refusal(errors: list[IbError]) -> IbError | None:
    """Return IB's 321 saying the API is in Read-Only mode, if `errors` hold one."""
    return next((e for e in errors if e.code == VALIDATION and READ_ONLY_TEXT in e.text), None)


class LinkDown(TransientBrokerError):
    """The link to IB is down or not yet reconciled; nothing was sent."""


class IbLink:
    """One API connection to TWS / IB Gateway for one account, on a loop thread of its own."""

    def __init__(self, settings: IbkrSettings, account: str) -> None:
        self.settings = settings
        self.account = account
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=f"ibkr-{account}", daemon=True)
        self._thread.start()
        self.ib: Any = self.run(self._make)
        self.generation = 0
        """Connections made so far; each one re-read IB's orders and fills (start-up sync)."""
        self.lost: str | None = "not connected yet"
        """Why the link cannot be used now; None while it is up."""
        self.reconciled = True
        """False after a reconnect until the broker has been read afresh (`snapshot`)."""
        self.read_only = False
        """Connected without IB's orders (for the checks)."""

        self.errors: list[IbError] = []
        self._backoff = 0.0
        self._failure = ""
        """What the last failed connect said (it names the account and the fix)."""
        self._next_attempt = 0.0
        self._last_contact = 0.0
        self._heartbeat: asyncio.Task[None] | None = None
        self._closed = False

    # -- running things on the loop -----------------------------------------------------------

    def call(self, make: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Run the coroutine `make()` on the loop; wait at most `timeout` seconds.

        `make` is called on the loop thread, so the request is built and sent there.
        Raises `TimeoutError` when no answer came in time (the coroutine is cancelled).
        """

        async def runner() -> T:
            return await make()

        future = asyncio.run_coroutine_threadsafe(runner(), self._loop)
        wait = float(self.settings.request_timeout_seconds) if timeout is None else timeout
        try:
            return future.result(wait)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise TimeoutError(f"no answer from IB within {wait:g}s") from exc

    def run(self, read: Callable[[], T]) -> T:
        """Run a plain function on the loop (a read of ib_async's state, a placeOrder)."""

        async def runner() -> T:
            return read()

        return self.call(runner)

    def _make(self) -> Any:
        ib = IB()
        ib.client.MaxRequests = PACING_MESSAGES
        # ib_async declares an int (its default, 1) but only does arithmetic with it.
        ib.client.RequestsInterval = PACING_SECONDS  # type: ignore[assignment]
        ib.RaiseRequestErrors = False
        self._read_execution_times(ib)
        ib.disconnectedEvent += self._on_disconnected
        ib.errorEvent += self._on_error
        ib.updateEvent += self._on_update
        return ib

    def _read_execution_times(self, ib: Any) -> None:
        """Have ib_async read every execution time at IB's instant (`execution_time`).

        ib_async reads both of TWS's zone-less forms in one zone (`IB.TimezoneTWS`, else the
        host's): the UTC `20231214-20:57:37` (ib_insync #671, ib_async #230) and the two-space
        `20231214  15:57:37` in TWS's log-in zone. Each execDetails' time is rewritten to Unix
        seconds before ib_async decodes it; a form not known is left to ib_async, in the
        configured zone (else the host's).
        """
        zone = self.settings.tws_timezone
        ib.TimezoneTWS = zone or ""
        handlers = ib.client.decoder.handlers
        decode = handlers[EXEC_DETAILS]

        def exec_details(fields: list[str]) -> None:
            if len(fields) > EXEC_TIME_FIELD:
                at = execution_time(fields[EXEC_TIME_FIELD], zone)
                if at is not None:
                    fields = list(fields)
                    fields[EXEC_TIME_FIELD] = str(int(at.timestamp()))
            decode(fields)

        handlers[EXEC_DETAILS] = exec_details

    # -- events (on the loop thread) ----------------------------------------------------------

    def _on_update(self) -> None:
        self._last_contact = time.monotonic()

    def _on_disconnected(self) -> None:
        if self.lost is None and not self._closed:
            self._lose("IB closed the API connection (a Gateway restart, or the network)")

    def _on_error(self, req_id: int, code: int, text: str, contract: Any = None) -> None:
        del contract
        self.errors.append(IbError(req_id, code, text, time.monotonic()))
        del self.errors[:-200]
        kind = classify(code)
        if kind == "information":
            _log.debug("ibkr_information", account=self.account, code=code, text=text)
            return
        _log.warning("ibkr_error", account=self.account, req_id=req_id, code=code, text=text)
        if code in CONNECTIVITY_LOST:
            self._lose(f"IB reports its link to IB's servers lost (error {code}: {text})")
        elif code in CONNECTIVITY_RESTORED and self.generation:
            # IB's side came back; what happened meanwhile must be read before sending.
            self.lost = None
            self.reconciled = False
            _log.warning("ibkr_link_restored", account=self.account, code=code)
        elif code == PACING:
            self._lose(f"IB refused the message rate (error {code}: {text})")
            self.ib.disconnect()

    def _lose(self, why: str) -> None:
        if self.lost is None:
            _log.warning("ibkr_link_lost", account=self.account, why=why)
        self.lost = why
        self.reconciled = False

    # -- connection ---------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.api_port}"

    def ensure(self, *, read_only: bool = False) -> None:
        """Make sure the link is up: connect or reconnect (with backoff) when it is not.

        `read_only` (the checks) connects without reading IB's orders; a later call that is
        not read-only reconnects with the full sync.
        """
        if self._closed:
            raise BrokerError(f"account {self.account}: the IB link is closed")
        if self.lost is None and self.run(self.ib.isConnected):
            if read_only or not self.read_only:
                return
            self.run(self.ib.disconnect)
            self.lost = "reconnecting with the order sync"
        if self.lost is None:
            self._lose("the API connection is closed")
        wait = self._next_attempt - time.monotonic()
        if wait > 0:
            raise LinkDown(
                f"{self._failure or self.lost}; next reconnect to IB in {wait:.0f}s",
                retry_after=wait,
            )
        try:
            self._connect(read_only)
        except BrokerError as exc:
            self._failure = str(exc)
            self._backoff = min(
                max(self._backoff * 2, 1.0), float(self.settings.reconnect_max_backoff_seconds)
            )
            self._next_attempt = time.monotonic() + self._backoff
            raise
        self._backoff = 0.0
        self._failure = ""

    def _connect(self, read_only: bool) -> None:
        settings = self.settings
        timeout = float(settings.connect_timeout_seconds)
        seen = len(self.errors)
        if self.run(self.ib.isConnected):
            self.run(self.ib.disconnect)
        try:
            self.call(
                lambda: self.ib.connectAsync(
                    settings.host,
                    settings.api_port,
                    clientId=settings.client_id,
                    timeout=timeout,
                    account=settings.account_id,
                    raiseSyncErrors=True,
                    readonly=read_only,
                    fetchFields=SYNC,
                ),
                # The handshake and then each sync step are bounded by `timeout`.
                timeout=timeout * 4,
            )
        except Exception as exc:
            self.run(self.ib.disconnect)
            refused = read_only_refusal(self.errors[seen:])
            if refused is not None:
                # IB lists no orders to a read-only API, so the start-up sync never ends.
                raise TransientBrokerError(
                    f"account {self.account}: IB at {self.where} is in Read-Only API mode: it "
                    f"lists no orders and refuses every order (error 321: {refused.text}) "
                    f"({READ_ONLY_FIX})"
                ) from exc
            codes = {e.code for e in self.errors[seen:]}
            raise self._connect_failed(exc, codes) from exc
        managed = self.run(self.ib.managedAccounts)
        if settings.account_id not in managed:
            self.run(self.ib.disconnect)
            raise CredentialsRejected(
                self.account,
                f"IB account {settings.account_id} is not among the accounts the login at "
                f"{self.where} manages ({', '.join(managed) or 'none'})",
                "set broker_settings.account_id to one of those, or log IB Gateway in with "
                "the user that holds the account",
            )
        try:
            # Cash, net liquidation and the portfolio's prices of this account, streamed.
            self.call(lambda: self.ib.reqAccountUpdatesAsync(settings.account_id), timeout)
        except TimeoutError as exc:
            self.run(self.ib.disconnect)
            raise TransientBrokerError(
                f"account {self.account}: IB sent no account values for "
                f"{settings.account_id} within {timeout:g}s (fix: check IB Gateway's log; "
                "raise broker_settings.connect_timeout_seconds if it is slow to answer)"
            ) from exc
        self.run(lambda: self.ib.reqMarketDataType(settings.market_data_type))
        first = self.generation == 0 or self.read_only
        self.read_only = read_only
        self.generation += 1
        self.lost = None
        # A fresh broker reads everything before it trades anyway; after a loss the orders
        # and fills are read again (reconciliation) before anything is sent.
        self.reconciled = first
        self._last_contact = time.monotonic()
        if self._heartbeat is None:
            self._heartbeat = self.run(lambda: asyncio.ensure_future(self._beat()))
        _log.info("ibkr_connected", account=self.account, at=self.where, generation=self.generation)

    def _connect_failed(self, exc: BaseException, codes: set[int]) -> BrokerError:
        settings = self.settings
        if DUPLICATE_CLIENT in codes or "already in use" in str(exc):
            cid = settings.client_id
            return TransientBrokerError(
                f"account {self.account}: IB at {self.where} refused client id {cid}: another "
                "API client is connected with it (error 326); when the trimtab service runs "
                "with this configuration, that client is the service itself, holding client "
                f"id {cid} (fix: set broker_settings.client_id to a number no other API client "
                "of this Gateway uses, or stop the other program; to cancel the service's "
                "orders with `trimtab kill --cancel-open`, stop the service first, e.g. `sudo "
                "systemctl stop trimtab`, then run the command again: IB lets only the client "
                "that placed an order cancel it)"
            )
        if isinstance(exc, ConnectionRefusedError | OSError) and not isinstance(exc, TimeoutError):
            return TransientBrokerError(
                f"account {self.account}: nothing is listening at {self.where} "
                f"({type(exc).__name__}) (fix: start IB Gateway or TWS, enable its API, and set "
                f"broker_settings.port to its API port: Gateway 4002 paper / 4001 live, TWS "
                "7497 paper / 7496 live)"
            )
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            return TransientBrokerError(
                f"account {self.account}: IB at {self.where} did not complete the API "
                f"handshake and sync within {settings.connect_timeout_seconds}s (fix: check "
                "that the Gateway is logged in, that 'Enable ActiveX and Socket Clients' is on "
                "and this host is a trusted IP, or raise broker_settings."
                "connect_timeout_seconds)"
            )
        return TransientBrokerError(
            f"account {self.account}: connecting to IB at {self.where} failed: "
            f"{type(exc).__name__}: {exc} (fix: check IB Gateway's API settings and log)"
        )

    def probe(self) -> None:
        """Check the link with one `reqCurrentTime` if nothing came from IB for a heartbeat."""
        idle = time.monotonic() - self._last_contact
        if idle < self.settings.heartbeat_seconds:
            return
        try:
            self.call(self.ib.reqCurrentTimeAsync)
        except (TimeoutError, ConnectionError) as exc:
            why = f"IB did not answer a heartbeat ({exc})"
            self.run(lambda: self._lose(why))
            self.run(self.ib.disconnect)
            raise LinkDown(
                f"account {self.account}: IB at {self.where} stopped answering (heartbeat); "
                "reconnecting"
            ) from exc
        self._last_contact = time.monotonic()

    async def _beat(self) -> None:
        """Probe an idle link in the background, so a silent IB is noticed between cycles."""
        period = self.settings.heartbeat_seconds
        timeout = float(self.settings.request_timeout_seconds)
        while not self._closed:
            # Looking costs nothing; a message goes out only after `period` of silence.
            await asyncio.sleep(1.0)
            if self.lost is not None or not self.ib.isConnected():
                continue
            if time.monotonic() - self._last_contact < period:
                continue
            try:
                await asyncio.wait_for(self.ib.reqCurrentTimeAsync(), timeout)
            except (TimeoutError, ConnectionError) as exc:
                self._lose(f"IB did not answer a heartbeat ({type(exc).__name__})")
                self.ib.disconnect()

    async def _stop_beat(self) -> None:
        task = self._heartbeat
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def messages_sent(self) -> int:
        """Messages sent on the current connection (ib_async's own count)."""
        return int(self.run(lambda: self.ib.client.conn.numMsgSent))

    def errors_for(self, req_id: int, since: int = 0) -> list[IbError]:
        """Return the errors IB sent about request or order `req_id` (from index `since`)."""
        return [e for e in self.errors[since:] if e.req_id == req_id]

    def _serve(self) -> None:
        """The loop thread: run the loop until `close` stops it, then close it here, in the
        thread that ran it, however long that took (a `close` that stopped waiting for this
        thread left the loop and the connection's socket open until garbage collection)."""
        try:
            self._loop.run_forever()
        finally:
            # One more turn: a transport the disconnect closed finishes closing its socket.
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    def close(self) -> None:
        """Disconnect and stop the loop thread (which closes the loop)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.run(self.ib.disconnect)
            self.call(self._stop_beat, timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
