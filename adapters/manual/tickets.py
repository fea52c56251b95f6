"""The manual broker's own record: one JSON file per order ticket, under the state directory.

A ticket is written (fsynced, renamed into place) before `submit` returns, so "no ticket with
this id" is final at once. Confirmations are added to the ticket's file by `trimtab manual
confirm`, under a lock shared with the daemon. After each change the list of open tickets is
rewritten as `open-tickets.csv` beside them: what the person enters at the broker.
"""

from __future__ import annotations

__all__ = ["Confirm", "Confirmation", "Ticket", "TicketError", "TicketStore", "open_row"]

import csv
import fcntl
import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from daemon.core.domain import BrokerOrder, OrderIntent, OrderStatus, OrderType, Side
from daemon.core.errors import DuplicateClientOrderId, TrimtabError

OPEN_CSV_COLUMNS = (
    "client_order_id",
    "issued_at",
    "symbol",
    "side",
    "quantity",
    "dollar_amount",
    "order_type",
    "limit_price",
    "reference_price",
    "status",
    "filled_qty",
)


class TicketError(TrimtabError):
    """A confirmation that does not fit its ticket (or no such ticket); names the fix."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """One fill the person reported: what they did at the broker."""

    fill_id: str
    qty: Decimal
    price: Decimal
    commission: Decimal
    at: datetime
    """When it was done at the broker."""
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    """An order written for a person to enter, and what they confirmed of it."""

    intent: OrderIntent
    issued_at: datetime
    fills: tuple[Confirmation, ...] = ()
    closed: Literal["filled", "cancelled"] | None = None
    """Set when the person said the ticket is done: all of it, or the rest not done."""
    note: str = ""

    @property
    def filled_qty(self) -> Decimal:
        return sum((f.qty for f in self.fills), Decimal(0))

    @property
    def avg_price(self) -> Decimal | None:
        qty = self.filled_qty
        if qty == 0:
            return None
        return sum((f.qty * f.price for f in self.fills), Decimal(0)) / qty

    @property
    def status(self) -> OrderStatus:
        """UNKNOWN until confirmed: trimtab cannot know whether the person entered it."""
        if self.closed == "cancelled":
            return OrderStatus.CANCELLED
        if self.closed == "filled":
            return OrderStatus.FILLED
        if not self.fills:
            return OrderStatus.UNKNOWN
        if self.intent.notional is None and self.filled_qty >= self.intent.qty:
            return OrderStatus.FILLED
        return OrderStatus.PARTIALLY_FILLED

    @property
    def remaining(self) -> Decimal:
        return max(self.intent.qty - self.filled_qty, Decimal(0))

    def order(self, message: str = "") -> BrokerOrder:
        """The ticket as a broker's order report."""
        intent = self.intent
        return BrokerOrder(
            client_order_id=intent.client_order_id,
            broker_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=self.filled_qty if intent.notional is not None else intent.qty,
            order_type=intent.order_type,
            status=self.status,
            filled_qty=self.filled_qty,
            avg_fill_price=self.avg_price,
            limit_price=intent.limit_price,
            submitted_at=self.issued_at,
            message=message or self.note,
            notional=intent.notional,
        )


class TicketStore:
    """The tickets of one account, in `root` (`<state_dir>/manual/<account>`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.open_csv = root / "open-tickets.csv"
        self._tickets = root / "tickets"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the account's ticket lock: the daemon and a confirming CLI take turns."""
        self._tickets.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def add(self, ticket: Ticket) -> None:
        """Write a new ticket durably; raise `DuplicateClientOrderId` if its id is taken."""
        coid = ticket.intent.client_order_id
        with self.locked():
            if self._path(coid).exists():
                raise DuplicateClientOrderId(coid)
            self._write(ticket)
            self._write_open_csv()

    def get(self, client_order_id: str) -> Ticket | None:
        path = self._path(client_order_id)
        if not path.exists():
            return None
        return _ticket(json.loads(path.read_text()))

    def all(self) -> list[Ticket]:
        """Every ticket, oldest first."""
        if not self._tickets.is_dir():
            return []
        found = [_ticket(json.loads(p.read_text())) for p in self._tickets.glob("*.json")]
        return sorted(found, key=lambda t: (t.issued_at, t.intent.client_order_id))

    def find(self, ref: str) -> Ticket:
        """The ticket whose id is `ref` or ends with it; `TicketError` naming the fix if none."""
        exact = self.get(ref) if "/" not in ref and ref.strip() else None
        if exact is not None:
            return exact
        matches = [t for t in self.all() if ref and t.intent.client_order_id.endswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise TicketError(
                f"no order ticket {ref!r} in {self.root} (fix: copy the client_order_id from "
                "`trimtab manual tickets`)"
            )
        raise TicketError(
            f"{ref!r} names {len(matches)} tickets (fix: give more of the client_order_id)"
        )

    def confirm(
        self,
        ref: str,
        *,
        qty: Decimal,
        price: Decimal,
        at: datetime,
        now: datetime,
        commission: Decimal = Decimal(0),
        rest: Literal["open", "cancelled"] | None = None,
    ) -> Ticket:
        """Record a fill the person made; return the ticket afterwards (see `Confirm`)."""
        [after] = self.confirm_all([Confirm(ref, qty, price, at, commission, rest)], now=now)
        return after

    def confirm_all(self, confirms: Sequence[Confirm], *, now: datetime) -> list[Ticket]:
        """Record several confirmations: all of them, or none if any does not fit its ticket.

        Return each confirmed ticket as it is afterwards, in the order first confirmed.
        """
        with self.locked():
            changed: dict[str, Ticket] = {}
            for confirm in confirms:
                ticket = self.find(confirm.ref)
                coid = ticket.intent.client_order_id
                changed[coid] = _confirmed(changed.get(coid, ticket), confirm, now)
            for ticket in changed.values():
                self._write(ticket)
            self._write_open_csv()
            return list(changed.values())

    def close_not_done(self, ref: str, note: str) -> Ticket:
        """Record that nothing (more) of the ticket was done; return it closed."""
        with self.locked():
            ticket = self.find(ref)
            _check_open(ticket)
            after = replace(ticket, closed="cancelled", note=note)
            self._write(after)
            self._write_open_csv()
            return after

    def _path(self, client_order_id: str) -> Path:
        return self._tickets / f"{client_order_id}.json"

    def _write(self, ticket: Ticket) -> None:
        _atomic_write(self._path(ticket.intent.client_order_id), json.dumps(_json(ticket)))

    def _write_open_csv(self) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(OPEN_CSV_COLUMNS)
        for ticket in self.all():
            if ticket.status.is_open:
                writer.writerow(open_row(ticket))
        _atomic_write(self.open_csv, out.getvalue())


def open_row(ticket: Ticket) -> tuple[str, ...]:
    """A ticket as a line of `open-tickets.csv` (and of `trimtab manual tickets`)."""
    intent = ticket.intent
    return (
        intent.client_order_id,
        ticket.issued_at.isoformat(timespec="seconds"),
        intent.symbol,
        str(intent.side),
        "" if intent.notional is not None else str(intent.qty),
        "" if intent.notional is None else str(intent.notional),
        str(intent.order_type),
        "" if intent.limit_price is None else str(intent.limit_price),
        "" if intent.reference_price is None else str(intent.reference_price),
        str(ticket.status),
        str(ticket.filled_qty),
    )


@dataclass(frozen=True, slots=True)
class Confirm:
    """One fill as the person reports it: on ticket `ref` (its id, or the id's end).

    `rest` says what became of the unfilled rest: still open at the broker, or not done (the
    ticket is then closed). Default: a share ticket stays open while shares remain; a
    dollar-amount ticket is done with its one fill.
    """

    ref: str
    qty: Decimal
    price: Decimal
    at: datetime
    commission: Decimal = Decimal(0)
    rest: Literal["open", "cancelled"] | None = None


def _confirmed(ticket: Ticket, confirm: Confirm, now: datetime) -> Ticket:
    """The ticket with `confirm`'s fill added, or `TicketError` saying why it does not fit."""
    coid = ticket.intent.client_order_id
    _check_open(ticket)
    qty, price, commission = confirm.qty, confirm.price, confirm.commission
    if not qty.is_finite() or qty <= 0 or not price.is_finite() or price <= 0:
        raise TicketError(
            f"{coid}: quantity {qty} and price {price} must be positive numbers (fix: give "
            "what the broker's confirmation shows; --not-done if nothing was done)"
        )
    if not commission.is_finite() or commission < 0:
        raise TicketError(f"{coid}: commission {commission} must be zero or more")
    if ticket.intent.notional is None and qty > ticket.remaining:
        raise TicketError(
            f"{coid}: {qty} is more than the {ticket.remaining} shares left on the ticket "
            f"(fix: confirm at most {ticket.remaining}; an extra trade made by hand is not "
            "this ticket's)"
        )
    if confirm.at > now:
        raise TicketError(f"{coid}: the fill's time {confirm.at.isoformat()} is in the future")
    if confirm.at < ticket.issued_at:
        raise TicketError(
            f"{coid}: the fill's time {confirm.at.isoformat()} is before the ticket was written "
            f"({ticket.issued_at.isoformat(timespec='minutes')}) (fix: give the time you traded "
            "with --at (exchange time unless it has an offset); a trade made before the ticket "
            "is not this ticket's)"
        )
    fill = Confirmation(f"{coid}-c{len(ticket.fills) + 1}", qty, price, commission, confirm.at, now)
    after = replace(ticket, fills=(*ticket.fills, fill))
    if confirm.rest == "cancelled" and after.status is not OrderStatus.FILLED:
        return replace(after, closed="cancelled")
    if confirm.rest is None and ticket.intent.notional is not None:
        return replace(after, closed="filled")
    return after


def _check_open(ticket: Ticket) -> None:
    if not ticket.status.is_open:
        raise TicketError(
            f"ticket {ticket.intent.client_order_id} is already {ticket.status} (fix: a trade "
            "made after it was closed is not this ticket's; the next export shows it and "
            "reconciliation asks about it)"
        )


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so a crash leaves the old file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _json(ticket: Ticket) -> dict[str, Any]:
    intent = ticket.intent
    return {
        "client_order_id": intent.client_order_id,
        "cycle_id": intent.cycle_id,
        "account": intent.account,
        "seq": intent.seq,
        "symbol": intent.symbol,
        "side": str(intent.side),
        "qty": str(intent.qty),
        "order_type": str(intent.order_type),
        "reason": intent.reason,
        "limit_price": _opt(intent.limit_price),
        "reference_price": _opt(intent.reference_price),
        "notional": _opt(intent.notional),
        "issued_at": ticket.issued_at.isoformat(),
        "closed": ticket.closed,
        "note": ticket.note,
        "fills": [
            {
                "fill_id": f.fill_id,
                "qty": str(f.qty),
                "price": str(f.price),
                "commission": str(f.commission),
                "at": f.at.isoformat(),
                "recorded_at": f.recorded_at.isoformat(),
            }
            for f in ticket.fills
        ],
    }


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _ticket(data: dict[str, Any]) -> Ticket:
    intent = OrderIntent(
        client_order_id=data["client_order_id"],
        cycle_id=data["cycle_id"],
        account=data["account"],
        seq=int(data["seq"]),
        symbol=data["symbol"],
        side=Side(data["side"]),
        qty=Decimal(data["qty"]),
        order_type=OrderType(data["order_type"]),
        reason=data["reason"],
        limit_price=_dec(data["limit_price"]),
        reference_price=_dec(data["reference_price"]),
        notional=_dec(data["notional"]),
    )
    fills = tuple(
        Confirmation(
            fill_id=f["fill_id"],
            qty=Decimal(f["qty"]),
            price=Decimal(f["price"]),
            commission=Decimal(f["commission"]),
            at=datetime.fromisoformat(f["at"]),
            recorded_at=datetime.fromisoformat(f["recorded_at"]),
        )
        for f in data["fills"]
    )
    return Ticket(
        intent=intent,
        issued_at=datetime.fromisoformat(data["issued_at"]),
        fills=fills,
        closed=data["closed"],
        note=data["note"],
    )
