"""Fault injection for the simulated broker: for tests, and for fire drills on paper.

Faults are configured in an account's `broker_settings.faults` table and are all off by
default. They are deterministic: nothing is drawn at random, and every counter belongs to one
`SimBroker` (one per account per process), so a fault fires at the same call every time the
same process makes the same calls. A new process starts counting from zero.

| setting | what the sim does |
|---|---|
| `latency_ms` | every broker call (snapshot, funds, submit, get_order(s), cancel, fills) sleeps this long before it starts |
| `latency_after_ms` | every broker call sleeps this long after it has acted, before it answers (a slow answer) |
| `read_errors` | read calls number `read_errors_after + 1` to `read_errors_after + read_errors` (snapshot, funds, get_order(s), fills, orders_submitted, counted together from 1 in this process) raise `TransientBrokerError`; the others succeed |
| `reject_symbols` | an order in one of these symbols is stored as REJECTED with a message naming this setting, then `OrderRejected` |
| `partial_fill_ratio` | a market order fills only this fraction of its quantity, rounded down to the order's own quantity step (whole shares for a whole-share order); the rest stays open, PARTIALLY_FILLED (ACCEPTED if nothing filled), until cancelled |
| `lose_acknowledgements` | the order is decided and stored as usual (accepted, filled or rejected), then `submit` raises `OutcomeUnknown` instead of answering, as a timeout would |
| `drop_submissions` | submit calls number `drop_submissions_after + 1` to `drop_submissions_after + drop_submissions` (counted from 1 in this process) raise `OutcomeUnknown` without storing anything: the connection dropped, or a gateway answered 504, before the broker took the order |
| `cancel_race` | a cancel of an open order answers with the order still open (Alpaca's `pending_cancel`); the next read of the account's orders ends it `canceled`, or with `filled` fills the rest at the current quote first (the cancel lost the race) |
| `crash_after_accept = N` | the process is killed with SIGKILL right after the broker committed the Nth order it accepted in this process (rejected orders do not count), as in a power cut |

The sim's books stay consistent through every fault: an order and its fills are committed
before an answer is lost or the process dies, and a failed read changes nothing.
"""  # noqa: E501 (a table row per fault reads better than wrapped cells)

from __future__ import annotations

__all__ = ["FaultInjector", "FaultSettings", "power_cut"]

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from daemon.core.domain import BrokerOrder, OrderStatus
from daemon.core.errors import OutcomeUnknown, TransientBrokerError

MAX_LATENCY_MS = 600_000  # ten minutes: more is a unit slip (milliseconds, not microseconds)


class FaultSettings(BaseModel):
    """Faults the simulated broker injects on purpose; every one is off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(
        default=0,
        ge=0,
        le=MAX_LATENCY_MS,
        description="Every broker call (snapshot, funds, submit, get_order(s), cancel, "
        "fills) sleeps this many milliseconds before it starts.",
    )
    latency_after_ms: int = Field(
        default=0,
        ge=0,
        le=MAX_LATENCY_MS,
        description="Every broker call sleeps this many milliseconds after it has acted, "
        "before it answers (a slow answer: the order is already stored).",
    )
    read_errors: int = Field(
        default=0,
        ge=0,
        description="This many read calls (snapshot, funds, get_order(s), fills) in a row raise "
        "TransientBrokerError, starting after read_errors_after successful reads; counted "
        "per process from its first read.",
    )
    read_errors_after: int = Field(
        default=0,
        ge=0,
        description="How many read calls succeed before the read_errors failures start.",
    )
    reject_symbols: tuple[str, ...] = Field(
        default=(),
        description="Orders in these symbols are rejected (stored as REJECTED with a message "
        "naming this setting).",
    )
    partial_fill_ratio: Decimal | None = Field(
        default=None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Market orders fill only this fraction (0 to 1) of their quantity, "
        "rounded down to the order's quantity step; the rest stays open until cancelled. "
        "Unset: orders fill completely.",
    )
    lose_acknowledgements: bool = Field(
        default=False,
        description="Store and decide every order as usual, then raise OutcomeUnknown from "
        "submit instead of answering, as a timeout would.",
    )
    drop_submissions: int = Field(
        default=0,
        ge=0,
        description="This many submit calls in a row raise OutcomeUnknown without the order "
        "being stored (a connection dropped, or a 504, before the broker took it), starting "
        "after drop_submissions_after submits; counted per process.",
    )
    drop_submissions_after: int = Field(
        default=0,
        ge=0,
        description="How many submit calls go through before the drop_submissions start.",
    )
    cancel_race: Literal["canceled", "filled"] | None = Field(
        default=None,
        description="A cancel answers with the order still open (pending cancel); the next "
        "read ends it canceled, or filled (the rest filled at the current quote). Unset: a "
        "cancel takes effect at once.",
    )
    crash_after_accept: int | None = Field(
        default=None,
        ge=1,
        description="Kill the process (SIGKILL) right after the broker committed the Nth order "
        "it accepted in this process, as in a power cut. Unset: never.",
    )

    @field_validator("reject_symbols")
    @classmethod
    def _symbols_named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            if not symbol or symbol != symbol.strip():
                raise PydanticCustomError(
                    "trimtab_rule",
                    "reject_symbols has an empty symbol or one with surrounding spaces",
                    {"fix": 'list symbols as written in orders, e.g. ["VTI"]'},
                )
        return value

    @property
    def active(self) -> tuple[str, ...]:
        """Return the names of the faults that are switched on."""
        defaults = FaultSettings()
        return tuple(
            name
            for name in type(self).model_fields
            if name not in ("read_errors_after", "drop_submissions_after")
            and getattr(self, name) != getattr(defaults, name)
        )

    def describe(self) -> dict[str, Any]:
        """Return the faults that are on, JSON-ready (for logs and `trimtab sim state`)."""
        on = set(self.active)
        if "read_errors" in on:
            on.add("read_errors_after")
        if "drop_submissions" in on:
            on.add("drop_submissions_after")
        return self.model_dump(mode="json", include=on)


def power_cut() -> NoReturn:
    """End this process the way a power cut would: SIGKILL, no clean-up, no flush."""
    os.kill(os.getpid(), signal.SIGKILL)
    os._exit(137)  # not reached: SIGKILL cannot be caught; here for the type checker


class FaultInjector:
    """Applies `FaultSettings` to one `SimBroker`; holds its counters (so: per process).

    `sleep` and `crash` are handed in by tests; the defaults sleep for real and kill the
    process with SIGKILL.
    """

    def __init__(
        self,
        settings: FaultSettings,
        *,
        account: str = "",
        sleep: Callable[[float], None] = time.sleep,
        crash: Callable[[], Any] = power_cut,
    ) -> None:
        self.settings = settings
        self._account = account
        self._sleep = sleep
        self._crash = crash
        self._lock = threading.Lock()
        self.reads = 0
        """Read calls made so far (the count `read_errors` uses)."""
        self.accepted = 0
        """Orders accepted so far (the count `crash_after_accept` uses)."""
        self.submissions = 0
        """Submit calls so far (the count `drop_submissions` uses)."""
        self.pending_cancels: set[str] = set()
        """Client order ids whose cancel was asked for under `cancel_race`, not yet ended."""
        import structlog  # here, not at the top: validating a config loads no logging

        self._log = structlog.get_logger("adapters.sim").bind(account=account, broker="sim")
        if settings.active:
            self._log.warning("sim_faults_enabled", faults=settings.describe())

    @contextmanager
    def call(self, method: str, *, read: bool = False) -> Iterator[None]:
        """Wrap one broker call: latency before, a scheduled read error, latency after."""
        self._pause(self.settings.latency_ms)
        try:
            if read:
                self._read(method)
            yield
        finally:
            self._pause(self.settings.latency_after_ms)

    def rejection(self, symbol: str) -> str | None:
        """Return the refusal for an order in `symbol`, or `None` when it may trade."""
        if symbol not in self.settings.reject_symbols:
            return None
        self._log.warning("sim_fault_injected", fault="reject_symbols", symbol=symbol)
        return (
            f"{symbol} is not accepted by this account "
            "(fault injected by broker_settings.faults.reject_symbols)"
        )

    def market_fill_qty(self, qty: Decimal) -> Decimal:
        """Return how much of a market order for `qty` fills now."""
        ratio = self.settings.partial_fill_ratio
        if ratio is None or ratio == 1:
            return qty
        step = _step(qty)
        filled = (qty * ratio / step).to_integral_value(ROUND_FLOOR) * step
        self._log.warning(
            "sim_fault_injected", fault="partial_fill_ratio", qty=str(qty), filled=str(filled)
        )
        return filled

    def dropped(self, client_order_id: str) -> None:
        """Run before the sim looks at a submission: raise when this one is to be dropped."""
        with self._lock:
            self.submissions += 1
            number = self.submissions
        first = self.settings.drop_submissions_after + 1
        if first <= number < first + self.settings.drop_submissions:
            self._log.warning(
                "sim_fault_injected",
                fault="drop_submissions",
                client_order_id=client_order_id,
                submission=number,
            )
            raise OutcomeUnknown(
                client_order_id,
                "the connection dropped before the sim took the order "
                "(fault injected by broker_settings.faults.drop_submissions)",
            )

    def cancel_pending(self, client_order_id: str) -> bool:
        """Return True when this cancel is to stay pending (`cancel_race`), remembering it."""
        if self.settings.cancel_race is None:
            return False
        self._log.warning(
            "sim_fault_injected", fault="cancel_race", client_order_id=client_order_id
        )
        with self._lock:
            self.pending_cancels.add(client_order_id)
        return True

    def take_pending_cancels(self) -> tuple[str, ...]:
        """Return (and forget) the cancels asked for under `cancel_race`, oldest first."""
        with self._lock:
            pending = tuple(sorted(self.pending_cancels))
            self.pending_cancels.clear()
        return pending

    def answered(self, order: BrokerOrder) -> None:
        """Run after an order is committed: crash after the Nth accept, or lose the answer."""
        if order.status is not OrderStatus.REJECTED:
            with self._lock:
                self.accepted += 1
                accepted = self.accepted
            if accepted == self.settings.crash_after_accept:
                self._log.warning(
                    "sim_fault_injected",
                    fault="crash_after_accept",
                    client_order_id=order.client_order_id,
                    accepted=accepted,
                )
                self._crash()
        if self.settings.lose_acknowledgements:
            self._log.warning(
                "sim_fault_injected",
                fault="lose_acknowledgements",
                client_order_id=order.client_order_id,
                status=str(order.status),
            )
            raise OutcomeUnknown(
                order.client_order_id,
                "the sim stored the order but lost its answer "
                "(fault injected by broker_settings.faults.lose_acknowledgements)",
            )

    def _read(self, method: str) -> None:
        with self._lock:
            self.reads += 1
            number = self.reads
        first = self.settings.read_errors_after + 1
        if first <= number < first + self.settings.read_errors:
            self._log.warning("sim_fault_injected", fault="read_errors", call=method, read=number)
            raise TransientBrokerError(
                f"sim {method} failed: read {number} of this process "
                "(fault injected by broker_settings.faults.read_errors)"
            )

    def _pause(self, milliseconds: int) -> None:
        if milliseconds:
            self._sleep(milliseconds / 1000)


def _step(qty: Decimal) -> Decimal:
    """Return the quantity step an order is written in: 1 for whole shares, else its last place."""
    exponent = qty.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: the sim refused the order otherwise
    return Decimal(1).scaleb(min(exponent, 0))
