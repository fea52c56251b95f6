"""The order desk: placeOrder, cancelOrder and fills, and who hears about them.

IB's flow for an accepted order: `openOrder` (status Submitted) and `orderStatus`; then per
execution `execDetails` (reqId -1), `orderStatus` with the cumulative fill, and a separate
`commissionReport` for the same execId; the last fill also brings `openOrder` with status
Filled. Updates go to the sessions of the client id that placed the order (and of the master
client id), so a client reconnecting with the same id hears about its orders again.
Positions, portfolio and account values are pushed to the sessions subscribed to them.

Refusals, by the error codes TWS uses:

| case | error |
|---|---|
| order id not above the client's last one (and not an open order of it) | 103 Duplicate order id |
| no listing / several listings for the contract | 200 |
| account not managed by this login, or none given with several accounts | 321 |
| "Read-Only API" set on the fake (`FakeTws.read_only`) | 321 |
| quantity zero | 434 |
| fractional quantity of a stock | 10243 |
| a buy beyond the cash not committed to working buys; a sale beyond the shares not already
  being sold | 201 (IB's margin wording); booked as a completed, cancelled order |
| order types other than MKT / LMT, algos, conditions, scale, hedge, cash quantity | 321 |
| cancel of an order not found / already done | 10147 / 10148 |

A queued behaviour (`behaviours.py`) applies to the next order that passes these checks.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import TYPE_CHECKING

from tests.fakes.tws import outgoing as out
from tests.fakes.tws import texts
from tests.fakes.tws.behaviours import (
    Behaviour,
    CancelRace,
    DelayedFill,
    DropAfterAccept,
    DropBeforeAccept,
    Hold,
    PartialFill,
    Reject,
    SilentAfterAccept,
)
from tests.fakes.tws.incoming import PlacedOrder, read_place_order
from tests.fakes.tws.model import ServerOrder
from tests.fakes.tws.wire import Fields, ProtocolError

if TYPE_CHECKING:
    from tests.fakes.tws.server import FakeTws
    from tests.fakes.tws.session import Session


class Refused(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def _validation(cause: str) -> Refused:
    return Refused(321, f"Error validating request:-'bO' : cause - {cause}")


class OrderDesk:
    def __init__(self, fake: FakeTws) -> None:
        self.fake = fake
        self.behaviours: deque[Behaviour] = deque()
        self.cancel_races: deque[CancelRace] = deque()
        # permId -> the race its cancel is in, until it ends (`finish_cancel`).
        self.pending_cancels: dict[int, CancelRace] = {}

    def used_ids(self, client_id: int) -> list[int]:
        last = self.fake.state.highest_order_ids.get(client_id)
        return [] if last is None else [last + 1]

    # -- placeOrder --------------------------------------------------------------------------

    def place(self, session: Session, fields: list[str]) -> None:
        if self.behaviours and isinstance(self.behaviours[0], DropBeforeAccept):
            # Lost in flight: TWS never read it, so nothing is parsed, checked or booked.
            self.behaviours.popleft()
            session.close()
            return
        try:
            placed = read_place_order(fields, session.version)
        except ProtocolError as exc:
            self.fake.protocol_errors.append(f"placeOrder: {exc}")
            session.send(
                out.error(
                    session.version,
                    Fields(fields, 1).integer(),
                    320,
                    f"Error reading request: {exc}",
                )
            )
            return
        self.fake.placed.append(placed)
        if placed.what_if:
            self._what_if(session, placed)
            return
        client_id = session.client_id or 0
        state = self.fake.state
        with state.lock:
            existing = state.order_by_id(client_id, placed.order_id)
            if existing is not None and existing.is_open:
                self._modify(session, existing, placed)
                return
            try:
                order = self._accept(client_id, placed)
            except Refused as refused:
                session.send(
                    out.error(session.version, placed.order_id, refused.code, refused.text)
                )
                return
            behaviour: Behaviour | None = self._buying_power(order)
            if (
                behaviour is None
                and self.behaviours
                and not isinstance(self.behaviours[0], DropBeforeAccept)
            ):
                behaviour = self.behaviours.popleft()
        self.fake.changed()
        if isinstance(behaviour, Reject):
            state.finish(order, behaviour.status, f"Rejected: {behaviour.text}")
            self.fake.changed()
            session.send(out.error(session.version, order.order_id, behaviour.code, behaviour.text))
            if behaviour.status == "Inactive":
                self.notify(order, with_open_order=True)
            return
        if not state.market_open and order.outside_rth and order.order_type == "MKT":
            session.send(
                out.error(session.version, order.order_id, 2109, texts.OUTSIDE_RTH_IGNORED)
            )
        waits = not state.market_open and not (order.outside_rth and order.order_type == "LMT")
        if waits:
            instrument = state.instrument(order.con_id)
            text = texts.held_until_open(order.action, order.quantity, instrument.symbol)
            session.send(out.error(session.version, order.order_id, 399, text))
        order.status = "PreSubmitted" if waits else "Submitted"
        self.notify(order, with_open_order=True)
        if isinstance(behaviour, Hold):
            return
        if isinstance(behaviour, DropAfterAccept):
            session.close()
            if behaviour.fill:
                self.match(order)
            return
        if isinstance(behaviour, SilentAfterAccept):
            session.silent = True
            if behaviour.fill:
                self.match(order)
            return
        if isinstance(behaviour, DelayedFill):
            self.fake.later(behaviour.seconds, lambda: self.match(order))
            return
        if isinstance(behaviour, PartialFill):
            for quantity in behaviour.quantities:
                self.execute(order, Decimal(quantity))
            return
        self.match(order)

    def _accept(self, client_id: int, placed: PlacedOrder) -> ServerOrder:
        """Check an order as TWS does before routing it; book it, or raise `Refused`."""
        state = self.fake.state
        last = state.highest_order_ids.get(client_id, 0)
        if placed.order_id <= last:
            raise Refused(103, f"Duplicate order id {placed.order_id}")
        state.highest_order_ids[client_id] = placed.order_id
        state.next_order_id = max(state.next_order_id, placed.order_id + 1)
        if self.fake.read_only:
            raise _validation("The API interface is currently in Read-Only mode.")
        found = self.fake.lookup(placed.contract)
        if not found:
            raise Refused(200, "No security definition has been found for the request")
        if len(found) > 1:
            raise Refused(
                200,
                f"The contract description specified for {placed.contract.symbol} is ambiguous.",
            )
        instrument = found[0]
        account = placed.account or (next(iter(state.accounts)) if len(state.accounts) == 1 else "")
        if not account:
            raise _validation("You must specify an account.")
        if account not in state.accounts:
            raise _validation(f"Invalid account code {account}")
        if placed.order_type not in ("MKT", "LMT"):
            raise _validation(
                f"the fake TWS models MKT and LMT orders only, not {placed.order_type}"
            )
        if placed.unsupported:
            raise _validation(f"the fake TWS does not model {', '.join(placed.unsupported)}")
        if placed.quantity is None:
            raise _validation("the fake TWS does not model cash quantity orders")
        if placed.order_type == "LMT" and placed.limit_price is None:
            raise _validation("a limit order needs a limit price")
        quantity = placed.quantity
        if quantity <= 0:
            raise Refused(434, "The order size cannot be zero.")
        if quantity != quantity.to_integral_value() and instrument.sec_type == "STK":
            raise Refused(
                10243,
                texts.FRACTIONAL,
            )
        order = ServerOrder(
            order_id=placed.order_id,
            client_id=client_id,
            perm_id=state.new_perm_id(),
            account=account,
            con_id=instrument.con_id,
            action=placed.action,
            quantity=quantity,
            order_type=placed.order_type,
            limit_price=placed.limit_price,
            tif=placed.tif or "DAY",
            order_ref=placed.order_ref,
            outside_rth=placed.outside_rth,
            placed_at=state.clock(),
        )
        state.orders[order.perm_id] = order
        return order

    def _buying_power(self, order: ServerOrder) -> Reject | None:
        """IB's margin check on a booked order, for a cash account: buys within the cash not
        already committed to working buys; sells within the shares not already being sold
        (no shorting). IB words both as an initial-margin shortfall."""
        state = self.fake.state
        if not self.fake.check_buying_power:
            return None
        working = [
            o
            for o in state.orders.values()
            if o.is_open and o.account == order.account and o is not order
        ]
        price = self._reference_price(order)
        if price is None:
            return None
        if order.action == "SELL":
            holding = state.accounts[order.account].holdings.get(order.con_id)
            held = holding.quantity if holding else Decimal(0)
            selling = sum(
                (o.remaining for o in working if o.action == "SELL" and o.con_id == order.con_id),
                Decimal(0),
            )
            short = order.quantity - max(held - selling, Decimal(0))
            if short <= 0:
                return None
            cash, cost = Decimal(0), short * price
        else:
            currency = state.instrument(order.con_id).currency
            committed = sum(
                (
                    o.remaining * (self._reference_price(o) or 0)
                    for o in working
                    if o.action == "BUY"
                ),
                Decimal(0),
            )
            cash = state.accounts[order.account].cash.get(currency, Decimal(0)) - committed
            cost = order.quantity * price
            if cost <= cash:
                return None
        return Reject(
            201,
            "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED "
            f"POSITION YOUR EQUITY WITH LOAN VALUE [{cash:.2f} USD] MUST EXCEED THE INITIAL "
            f"MARGIN [{cost:.2f} USD]",
        )

    def _reference_price(self, order: ServerOrder) -> Decimal | None:
        quote = self.fake.state.quotes.get(order.con_id)
        return order.limit_price or (quote.ask if quote and quote.ask else None)

    def _modify(self, session: Session, order: ServerOrder, placed: PlacedOrder) -> None:
        """A placeOrder with the id of a working order changes its quantity or limit."""
        if placed.quantity is not None:
            order.quantity = placed.quantity
        if placed.limit_price is not None:
            order.limit_price = placed.limit_price
        self.fake.changed()
        self.notify(order, with_open_order=True)
        self.match(order)

    # -- fills -------------------------------------------------------------------------------

    def match(self, order: ServerOrder) -> None:
        """Fill what is marketable now: a market order at the far side, a limit that crosses."""
        state = self.fake.state
        with state.lock:
            if order.status != "Submitted" or order.remaining <= 0:
                return  # PreSubmitted waits for the market to open
            quote = state.quotes.get(order.con_id)
            if quote is None:
                return
            side = quote.ask if order.action == "BUY" else quote.bid
            price = side if side is not None else quote.last
            if price is None:
                return
            if order.order_type == "LMT" and order.limit_price is not None:
                crosses = (
                    price <= order.limit_price
                    if order.action == "BUY"
                    else price >= order.limit_price
                )
                if not crosses:
                    if order.tif == "IOC":
                        self.cancel_order(order, "Order Canceled - reason:IOC not marketable")
                    return
        self.execute(order, order.remaining, price)

    def execute(self, order: ServerOrder, shares: Decimal, price: Decimal | None = None) -> None:
        state = self.fake.state
        with state.lock:
            if not order.is_open:
                return
            shares = min(shares, order.remaining)
            if price is None:
                quote = state.quotes[order.con_id]
                price = (quote.ask if order.action == "BUY" else quote.bid) or quote.last
            if price is None or shares <= 0:
                return
            execution = state.record_fill(order, shares, price)
            instrument = state.instrument(order.con_id)
        self.fake.changed()
        for session in self.fake.order_sessions(order.client_id):
            session.send(
                out.exec_details(
                    session.version,
                    -1,
                    execution,
                    instrument,
                    time_form=self.fake.execution_times,
                    local_zone=self.fake.local_zone,
                )
            )
            if not order.is_open:
                session.send(out.open_order(session.version, order, instrument))
            self._status(session, order)
            session.send(out.commission_report(execution))
        self.fake.account_changed(order.account, order.con_id)

    def notify(self, order: ServerOrder, with_open_order: bool) -> None:
        instrument = self.fake.state.instrument(order.con_id)
        for session in self.fake.order_sessions(order.client_id):
            if with_open_order:
                session.send(out.open_order(session.version, order, instrument))
            self._status(session, order)

    def _status(self, session: Session, order: ServerOrder) -> None:
        session.send(out.order_status(order))
        if self.fake.duplicate_status:
            # "There are not guaranteed to be orderStatus callbacks for every change in
            # order status" and duplicates are common (IB's API notes): send each twice.
            session.send(out.order_status(order))

    def open_market(self) -> None:
        """Regular hours begin: orders waiting for the open are routed and may fill."""
        state = self.fake.state
        with state.lock:
            state.market_open = True
            waiting = [o for o in state.orders.values() if o.status == "PreSubmitted"]
        for order in waiting:
            order.status = "Submitted"
            self.notify(order, with_open_order=False)
            self.match(order)

    def close_market(self) -> None:
        """Regular hours end: working DAY orders expire (Cancelled), others keep waiting."""
        state = self.fake.state
        with state.lock:
            state.market_open = False
            expiring = [o for o in state.orders.values() if o.is_open and o.tif == "DAY"]
        for order in expiring:
            state.finish(order, "Cancelled", "Cancelled by System")
            self.fake.changed()
            self.notify(order, with_open_order=False)

    # -- what-if -----------------------------------------------------------------------------

    def _what_if(self, session: Session, placed: PlacedOrder) -> None:
        """Answer a what-if order with its margin and commission; nothing is booked."""
        state = self.fake.state
        with state.lock:
            found = self.fake.lookup(placed.contract)
            account = placed.account or next(iter(state.accounts), "")
            if len(found) != 1 or account not in state.accounts or placed.quantity is None:
                session.send(out.error(session.version, placed.order_id, 200, texts.NO_DEFINITION))
                return
            instrument = found[0]
            quote = state.quotes.get(instrument.con_id)
            price = placed.limit_price or (quote.mark() if quote else None) or Decimal(0)
            equity = state.net_liquidation(account)
            preview = ServerOrder(
                order_id=placed.order_id,
                client_id=session.client_id or 0,
                perm_id=0,
                account=account,
                con_id=instrument.con_id,
                action=placed.action,
                quantity=placed.quantity,
                order_type=placed.order_type,
                limit_price=placed.limit_price,
                tif=placed.tif or "DAY",
                order_ref=placed.order_ref,
                outside_rth=placed.outside_rth,
            )
            # A cash account margins a stock at its full value.
            value = placed.quantity * price * (1 if placed.action == "BUY" else -1)
            fee = state.commissions.of(placed.quantity, abs(value))
            margin = out.WhatIf(
                init_before=Decimal(0),
                init_change=value,
                equity_before=equity,
                equity_change=-fee,
                commission=fee,
            )
        session.send(out.open_order(session.version, preview, instrument, margin))

    # -- cancels -----------------------------------------------------------------------------

    def cancel(self, session: Session, fields: list[str]) -> None:
        order_id = int(fields[2])
        order = self.fake.state.order_by_id(session.client_id or 0, order_id)
        if order is None:
            session.send(
                out.error(
                    session.version,
                    order_id,
                    10147,
                    texts.not_found(order_id),
                )
            )
        elif not order.is_open:
            session.send(
                out.error(
                    session.version,
                    order_id,
                    10148,
                    texts.not_cancellable(order_id, order.status),
                )
            )
        elif order.perm_id in self.pending_cancels:
            # Already cancelling: IB's "cannot be cancelled, state: PendingCancel".
            session.send(
                out.error(
                    session.version, order_id, 10148, texts.not_cancellable(order_id, order.status)
                )
            )
        elif self.cancel_races:
            race = self.cancel_races.popleft()
            self.pending_cancels[order.perm_id] = race
            order.status = "PendingCancel"
            self.fake.changed()
            self.notify(order, with_open_order=False)
            if race.after is not None:
                self.fake.later(race.after, lambda: self.finish_cancel(order))
        else:
            self.cancel_order(order, "Order Canceled - reason:")

    def finish_cancel(self, order: ServerOrder) -> None:
        """End a pending cancel (`CancelRace`): cancelled, or filled before the cancel landed."""
        race = self.pending_cancels.pop(order.perm_id, None)
        if race is None or not order.is_open:
            return
        if race.outcome == "filled":
            price = order.limit_price if order.order_type == "LMT" else None
            self.execute(order, order.remaining, price)
        else:
            self.cancel_order(order, "Order Canceled - reason:")

    def cancel_order(self, order: ServerOrder, reason: str) -> None:
        self.fake.state.finish(
            order, "Cancelled", "Cancelled by Trader" if reason.endswith(":") else reason
        )
        self.fake.changed()
        self.notify(order, with_open_order=False)
        for session in self.fake.order_sessions(order.client_id):
            session.send(out.error(session.version, order.order_id, 202, reason))

    def global_cancel(self, session: Session) -> None:
        with self.fake.state.lock:
            working = [o for o in self.fake.state.orders.values() if o.is_open]
        for order in working:
            self.cancel_order(order, "Order Canceled - reason:")
