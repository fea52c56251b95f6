"""alpaca-py's HTTP layer made fit for an unattended daemon, and its errors made trimtab's.

alpaca-py 0.44 sets no timeout on its `requests` session and retries every request, order
submissions included, after a fixed 3 s on 429 and 504; its `APIError.code`/`.message` raise
when the body is not JSON. `harden` gives a client a session with connect and read timeouts
and switches its retries off: trimtab retries reads itself (`daemon.cycle.retry.ReadRetrying`,
which waits what `retry_after` reads from Alpaca's headers, else its own jittered backoff)
and never resends an order.

| what failed | read | submit | cancel |
|---|---|---|---|
| timeout, connection reset | TransientBrokerError | OutcomeUnknown | BrokerError |
| 401, 403 on a read | CredentialsRejected | - | - |
| 429 | TransientBrokerError with `retry_after` | NotSent (not placed) | BrokerError |
| 500, 502, 503, 504 | TransientBrokerError (1) | OutcomeUnknown (may be placed) | BrokerError |
| 422/403 "client_order_id must be unique" | - | DuplicateClientOrderId | - |
| other 4xx | BrokerError | OrderRejected with Alpaca's message | BrokerError |

(1) with `retry_after` when Alpaca sent `Retry-After`. The wait Alpaca asks for
(`retry_after` below) travels on the error, broker-neutral; the retry wrapper does the
waiting, within its budget.
"""

from __future__ import annotations

__all__ = [
    "Failure",
    "TimeoutSession",
    "describe",
    "harden",
    "is_duplicate_id",
    "retry_after",
]

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from adapters.alpaca.sdk import APIError

_REQUIRED_ATTRIBUTES = ("_session", "_retry", "_retry_codes")
_MAX_DETAIL = 300
_DUPLICATE = re.compile(
    r"client[ _]order[ _]id.*(unique|duplicate|already)|duplicate.*client[ _]order[ _]id",
    re.IGNORECASE,
)


class TimeoutSession(requests.Session):
    """A `requests` session that always gives up: (connect, read) seconds unless told."""

    def __init__(self, connect: float, read: float) -> None:
        super().__init__()
        self.timeouts = (connect, read)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]  # requests types `method` as str | bytes
        kwargs.setdefault("timeout", self.timeouts)
        return super().request(method, url, *args, **kwargs)


def harden(client: Any, connect: float, read: float) -> None:
    """Give an alpaca-py client a session with timeouts, and switch off its own retries.

    alpaca-py exposes neither through its constructors; the attributes are checked so an SDK
    upgrade that renames them fails at start, not by hanging or double-sending later.
    """
    missing = [name for name in _REQUIRED_ATTRIBUTES if not hasattr(client, name)]
    if missing:
        raise RuntimeError(
            f"this alpaca-py's {type(client).__name__} has no {', '.join(missing)}: trimtab "
            "cannot set its timeouts or switch off its retries; install the alpaca-py version "
            "in uv.lock"
        )
    client._session.close()
    client._session = TimeoutSession(connect, read)
    # `_request` loops while retry >= 0 and only raises RetryException while retry > 0.
    client._retry = 0
    client._retry_codes = []


@dataclass(frozen=True, slots=True)
class Failure:
    """What an alpaca-py call failed with, read without trusting the body to be JSON."""

    status: int | None
    """HTTP status; None when no answer came (timeout, connection error)."""
    message: str
    """Alpaca's message, or the start of a non-JSON body, or the transport error."""
    headers: Mapping[str, str]

    @property
    def server_side(self) -> bool:
        return self.status is None or self.status >= 500


def describe(exc: BaseException, secrets: tuple[str, ...]) -> Failure:
    """Read an exception from alpaca-py or requests into a `Failure`; secrets blanked out."""
    if isinstance(exc, APIError):
        response = exc.response
        status = response.status_code if response is not None else None
        headers = dict(response.headers) if response is not None else {}
        message = _body_message(str(exc))
        return Failure(status, _scrub(message, secrets), headers)
    if isinstance(exc, requests.Timeout):
        return Failure(None, "no answer before the timeout", {})
    if isinstance(exc, requests.ConnectionError):
        return Failure(None, _scrub(f"connection failed: {type(exc).__name__}", secrets), {})
    return Failure(None, _scrub(f"{type(exc).__name__}: {exc}", secrets), {})


def _body_message(body: str) -> str:
    """Return Alpaca's `message` from a JSON body, else the body's start (an HTML page)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = parsed.get("message") or parsed.get("error")
        if isinstance(message, str) and message:
            return message[:_MAX_DETAIL]
    text = " ".join(body.split())
    if not text:
        return "empty answer"
    return f"non-JSON answer: {text[:_MAX_DETAIL]}"


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def is_duplicate_id(failure: Failure) -> bool:
    """Say whether Alpaca refused an order because its client order id is taken."""
    return failure.status in (400, 403, 409, 422) and bool(_DUPLICATE.search(failure.message))


def retry_after(failure: Failure, now: datetime, cap: float) -> float | None:
    """Return the seconds Alpaca asks to wait before the next request, capped; None if it
    gives no hint.

    `Retry-After` (RFC 9110: delay-seconds or an HTTP date) counts on any 429 or 5xx. On a
    429 without it, `X-RateLimit-Reset` (Unix epoch seconds at which the window reopens,
    sent on every answer) says when; on other answers that header is only bookkeeping.
    A time already past is 0; an unreadable header is no hint.
    """
    if failure.status != 429 and not failure.server_side:
        return None
    headers = {k.lower(): v.strip() for k, v in failure.headers.items()}
    wait: float | None = None
    if "retry-after" in headers:
        wait = _delay_or_date(headers["retry-after"], now)
    if wait is None and failure.status == 429 and "x-ratelimit-reset" in headers:
        try:
            wait = float(headers["x-ratelimit-reset"]) - now.timestamp()
        except ValueError:
            wait = None
    if wait is None or math.isnan(wait):  # "nan" in the reset header
        return None
    return min(max(wait, 0.0), cap)


def _delay_or_date(value: str, now: datetime) -> float | None:
    """Read a `Retry-After` value: whole seconds, or an HTTP date (IMF-fixdate)."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 850/asctime forms carry no zone: they are GMT
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()
