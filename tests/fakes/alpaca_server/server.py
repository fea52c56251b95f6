"""A fake of Alpaca's trading API v2 and market data API v2 over real HTTP on 127.0.0.1.

One server answers both alpaca-py clients (their paths do not collide). It checks the key
headers, records every request, sends `X-Ratelimit-*` headers and answers 429 past its
per-minute limit, and plays scripted faults:

| fault | what the client sees |
|---|---|
| `Fault(status=500/503/...)` | that status, nothing done |
| `Fault(status=504)` on POST /v2/orders | a gateway timeout before the order was taken |
| `Fault(status=504, after=True)` | the request is carried out (an order is placed), then 504 |
| `Fault(status=429)` | 429 with `X-Ratelimit-Reset` and `Retry-After` |
| `Fault(status=503, times=5)` | a burst: five 503s, then normal answers (`server_errors`) |
| `Fault(status=429, headers={...})` | 429 with those headers on top (`rate_limited`) |
| `Fault(stall=s)` | no answer for `s` seconds (before acting, or after with `after=True`) |
| `Fault(reset=True)` | the connection is closed without an answer, before anything is done |
| `Fault(reset=True, after=True)` | the request is carried out, then the connection is closed |
| `Fault(body="<html>...", content_type="text/html")` | a non-JSON error body |

Faults match on method and path prefix, let `skip` matching requests through, then fire
`times` times; `fired` is set each time, so a test (or a drill) can wait for the moment.
Each fault counts the matching requests that reach it (`seen`): a request an earlier fault
answered is not counted by the later ones, so two faults on one path fire one after the other.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.alpaca_server.bars import BarsBook
from tests.fakes.alpaca_server.market import (
    calendar_json,
    clock_json,
    latest_trades_json,
    refuse_unsubscribed_sip,
    snapshots_json,
)
from tests.fakes.alpaca_server.state import AlpacaState, Refusal

KEY_ID = "PKFAKEKEYID0000000001"
SECRET = "fake-secret-never-logged-0123456789"
LIVE_KEY_ID = "AKFAKELIVEKEY00000001"
LIVE_SECRET = "fake-live-secret-0123456789"


@dataclass
class Fault:
    """A scripted misbehaviour for requests matching `method` and `path` (a prefix)."""

    method: str
    path: str
    status: int | None = None
    body: str | None = None
    content_type: str = "application/json"
    after: bool = False
    stall: float = 0.0
    reset: bool = False
    times: int = 1
    skip: int = 0
    """Matching requests to let through untouched before the fault fires."""
    fired: threading.Event = field(default_factory=threading.Event)
    fired_at: float | None = None
    """`time.monotonic()` when the fault first fired (a drill waits from then)."""
    seen: int = 0
    """Matching requests so far (those let through included); counted under the fake's lock."""
    count: int = 0
    """Times the fault fired."""
    headers: dict[str, str] = field(default_factory=dict)
    """Headers sent with the fault's answer, over the rate-limit ones (a 429's hints)."""


# -- read-retry faults: bursts of 5xx and 429s with Alpaca's rate-limit headers -------------


def server_errors(method: str, path: str, times: int, status: int = 503) -> Fault:
    """Return a burst of `times` answers `status` (nothing done) to requests on `path`."""
    return Fault(method, path, status=status, times=times)


def rate_limited(
    method: str,
    path: str,
    *,
    retry_after: str | None = None,
    reset_at: float | None = None,
    times: int = 1,
) -> Fault:
    """Return `times` 429s on `path`, as Alpaca answers past its rate limit.

    `retry_after` is sent as `Retry-After` (seconds, or an HTTP date); `reset_at` as
    `X-Ratelimit-Reset` (epoch seconds at which the window reopens). Without `retry_after`
    no `Retry-After` is sent, so the reset header is the only hint.
    """
    headers = {"Retry-After": retry_after} if retry_after is not None else {"Retry-After": ""}
    if reset_at is not None:
        headers["X-Ratelimit-Reset"] = str(int(reset_at))
    return Fault(method, path, status=429, times=times, headers=headers)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int


class FakeAlpaca:
    """The server; `state` is the account behind it. Use as a context manager."""

    def __init__(
        self,
        state: AlpacaState | None = None,
        *,
        environment: str = "paper",
        latency: float = 0.0,
        rate_limit: int = 200,
        port: int = 0,
    ) -> None:
        self.state = state or AlpacaState()
        self.environment = environment
        self.latency = latency
        self.rate_limit = rate_limit
        self.requests: list[Recorded] = []
        self.bars = BarsBook()
        self.faults: list[Fault] = []
        self.on_change: Any = None
        self._window: tuple[int, int] = (0, 0)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeAlpaca:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeAlpaca:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def count(self, method: str, path: str = "") -> int:
        """Return how many requests of `method` went to paths starting with `path`."""
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and r.path.startswith(path))

    @contextmanager
    def counting(self) -> Iterator[list[Recorded]]:
        """Yield the list of requests made inside the block (filled in when it ends)."""
        with self._lock:
            start = len(self.requests)
        made: list[Recorded] = []
        yield made
        with self._lock:
            made.extend(self.requests[start:])

    # -- request handling ----------------------------------------------------------------

    def _fault_for(self, method: str, path: str) -> Fault | None:
        """Count this request against every fault it matches; return the first that fires.

        A fault fires on its matching requests number `skip + 1` to `skip + times`. Each fault
        counts the matching requests that reach it: those an earlier fault answered do not, so
        faults on one path queue up. The count is taken under the lock (the fake serves from
        threads).
        """
        with self._lock:
            for fault in self.faults:
                if fault.method != method or not path.startswith(fault.path):
                    continue
                fault.seen += 1
                if fault.skip < fault.seen <= fault.skip + fault.times:
                    fault.count += 1
                    return fault
        return None

    def _rate(self) -> tuple[int, int, int]:
        """Count this request in the current minute; return (limit, remaining, reset)."""
        with self._lock:
            minute = int(time.time() // 60)
            window, used = self._window
            used = used + 1 if window == minute else 1
            self._window = (minute, used)
            return self.rate_limit, max(self.rate_limit - used, 0), (minute + 1) * 60

    def wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def authorized(self, headers: Any) -> tuple[int, str] | None:
        """Return (status, message) when the key headers do not open this environment."""
        key, secret = headers.get("APCA-API-KEY-ID"), headers.get("APCA-API-SECRET-KEY")
        mine = (KEY_ID, SECRET) if self.environment == "paper" else (LIVE_KEY_ID, LIVE_SECRET)
        other = (LIVE_KEY_ID, LIVE_SECRET) if self.environment == "paper" else (KEY_ID, SECRET)
        if (key, secret) == mine:
            return None
        if (key, secret) == other:
            return 403, "forbidden"
        return 401, "request is not authorized"

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Carry out one request on the state; return (status, JSON answer)."""
        state = self.state
        with state.lock:
            before = (len(state.activities), [o.status for o in state.orders])
            state.advance_pending_cancels()
            state.step()
            after = (len(state.activities), [o.status for o in state.orders])
        if after != before:
            self._changed()
        if method == "GET":
            return 200, self._get(path, query)
        if method == "POST" and path == "/v2/orders":
            if not isinstance(body, dict):
                raise Refusal(400, 40010001, "request body format is invalid")
            order = state.place(body)
            self._changed()
            return 200, order.to_json()
        if method == "DELETE" and path.startswith("/v2/orders/"):
            state.cancel(path.removeprefix("/v2/orders/"))
            self._changed()
            return 204, None
        raise Refusal(404, 40410000, f"no route {method} {path}")

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _get(self, path: str, query: dict[str, str]) -> Any:
        state = self.state
        if path == "/v2/account":
            return state.account_json()
        if path == "/v2/account/configurations":
            return {"dtbp_check": "entry", "fractional_trading": state.fractional_trading,
                    "no_shorting": True, "suspend_trade": state.trade_suspended_by_user,
                    "trade_confirm_email": "all", "max_margin_multiplier": "1"}  # fmt: skip
        if path == "/v2/positions":
            return state.positions_json()
        if path.startswith("/v2/positions/"):
            symbol = path.removeprefix("/v2/positions/")
            found = [p for p in state.positions_json() if p["symbol"] == symbol]
            if not found:
                raise Refusal(404, 40410000, "position does not exist")
            return found[0]
        if path == "/v2/clock":
            return clock_json(state)
        if path == "/v2/calendar":
            return calendar_json(state, query)
        if path.startswith("/v2/assets/"):
            asset = state.asset_json(path.removeprefix("/v2/assets/"))
            if asset is None:
                raise Refusal(404, 40410000, "asset not found")
            return asset
        if path == "/v2/orders":
            return self._orders(query)
        if path == "/v2/orders:by_client_order_id":
            order = state.find(query.get("client_order_id", ""))
            if (
                order is None
                or order.client_order_id != query.get("client_order_id")
                or not state.visible(order)
            ):
                raise Refusal(404, 40410000, "order not found")
            return order.to_json()
        if path.startswith("/v2/orders/"):
            key = path.removeprefix("/v2/orders/")
            order = state.find(key)
            if order is None or order.id != key or not state.visible(order):
                raise Refusal(404, 40410000, "order not found")
            return order.to_json()
        if path.startswith("/v2/account/activities"):
            return self._activities(path, query)
        symbols = [s for s in query.get("symbols", "").split(",") if s]
        if path.startswith("/v2/stocks/"):
            refuse_unsubscribed_sip(state, path, query)
        if path == "/v2/stocks/snapshots":
            return snapshots_json(state, symbols)
        if path == "/v2/stocks/trades/latest":
            return latest_trades_json(state, symbols)
        if path == "/v2/stocks/bars":
            return self.bars.answer(state, query)
        raise Refusal(404, 40410000, f"no route GET {path}")

    def _orders(self, query: dict[str, str]) -> list[dict[str, Any]]:
        status = query.get("status", "open")
        limit = min(int(query.get("limit") or 50), 500)
        symbols = {s for s in query.get("symbols", "").split(",") if s}
        after = query.get("after")
        since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        before = query.get("until")
        until = datetime.fromisoformat(before.replace("Z", "+00:00")) if before else None
        with self.state.lock:
            orders = [
                o
                for o in self.state.orders
                if (status == "all" or (status == "open") == o.open)
                and (not symbols or o.symbol in symbols)
                and (since is None or o.created_at > since)
                and (until is None or o.created_at < until)
                and self.state.visible(o)
            ]
            if query.get("direction", "desc") == "desc":
                orders.reverse()
            return [o.to_json() for o in orders[:limit]]

    def _activities(self, path: str, query: dict[str, str]) -> list[dict[str, Any]]:
        kind = path.removeprefix("/v2/account/activities").strip("/")
        types = {kind} if kind else {t for t in query.get("activity_types", "").split(",") if t}
        category = query.get("category")
        after = query.get("after")
        with self.state.lock:
            rows = [
                a
                for a in self.state.activities
                if (not types or a["activity_type"] in types)
                and (category != "trade_activity" or a["activity_type"] == "FILL")
                and (category != "non_trade_activity" or a["activity_type"] != "FILL")
            ]
        if after:
            since = datetime.fromisoformat(after.replace("Z", "+00:00"))
            rows = [a for a in rows if _activity_time(a) > since]
        if query.get("direction", "desc") == "desc":
            rows.reverse()
        token = query.get("page_token")
        if token:
            ids = [a["id"] for a in rows]
            rows = rows[ids.index(token) + 1 :] if token in ids else []
        return rows[: min(int(query.get("page_size") or 100), 100)]


def _activity_time(activity: dict[str, Any]) -> datetime:
    text = activity.get("transaction_time") or f"{activity['date']}T00:00:00Z"
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _handler(fake: FakeAlpaca) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body go out in two writes; with Nagle's algorithm the body
        # waited for the client's delayed ACK of the headers: 40 ms more on every answer.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw, parse_float=Decimal) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            if fake.latency:
                time.sleep(fake.latency)
            status, answer, headers = self._answer(method, parts.path, query, body)
            with fake._lock:
                fake.requests.append(Recorded(method, parts.path, query, body, status))
            if status < 0:  # the connection is reset: no answer at all
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self._send(status, answer, headers)

        def _answer(
            self, method: str, path: str, query: dict[str, str], body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            limit, remaining, reset = fake._rate()
            headers = {
                "X-Ratelimit-Limit": str(limit),
                "X-Ratelimit-Remaining": str(remaining),
                "X-Ratelimit-Reset": str(reset),
            }
            denied = fake.authorized(self.headers)
            if denied is not None:
                return denied[0], {"code": 40110000, "message": denied[1]}, headers
            fault = fake._fault_for(method, path)
            if fault is None and remaining == 0 and path.startswith("/v2"):
                return 429, {"code": 42910000, "message": "rate limit exceeded"}, headers
            if fault is not None and not fault.after:
                return self._faulty(fault, headers, reset)
            try:
                status, answer = fake.route(method, path, query, body)
            except Refusal as refusal:
                status, answer = refusal.status, refusal.body()
            if fault is not None:
                return self._faulty(fault, headers, reset)
            return status, answer, headers

        def _faulty(
            self, fault: Fault, headers: dict[str, str], reset: int
        ) -> tuple[int, Any, dict[str, str]]:
            if fault.fired_at is None:
                fault.fired_at = time.monotonic()
            fault.fired.set()
            if fault.stall:
                fake.wait(fault.stall)
            if fault.reset:
                return -1, None, headers
            status = fault.status or 500
            if status == 429:
                headers = {**headers, "X-Ratelimit-Remaining": "0", "Retry-After": "1",
                           "X-Ratelimit-Reset": str(reset)}  # fmt: skip
            # A fault's own headers win; an empty value drops the header (no Retry-After).
            headers = {k: v for k, v in {**headers, **fault.headers}.items() if v}
            if fault.body is not None:
                return status, _Raw(fault.body, fault.content_type), headers
            return status, {"code": status * 100000, "message": f"fault {status}"}, headers

        def _send(self, status: int, answer: Any, headers: dict[str, str]) -> None:
            if isinstance(answer, _Raw):
                payload, content_type = answer.text.encode(), answer.content_type
            elif answer is None:
                payload, content_type = b"", "application/json"
            else:
                payload = json.dumps(answer, default=_json_default).encode()
                content_type = "application/json"
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout, or the process was killed)

    return Handler


@dataclass(frozen=True)
class _Raw:
    text: str
    content_type: str
