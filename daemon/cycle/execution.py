"""Send approved orders: intent written first, sells before buys, unknown outcomes looked up.

The executor decides nothing: it sends what `daemon.core.decide` approved. Its one check is
the kill switch, read again right before each send (a time-of-send check), and buys are
sized to the cash the sells left by `daemon.core.sizing.size_buy` (pure).

The order of operations per order is the safety argument:
1. in one transaction: check the kill switch, store the intent, move it to SUBMITTING, audit;
2. send it with its deterministic client order id;
3. in one transaction: store the broker's answer and audit it.
A crash between 1 and 3 leaves SUBMITTING; the next cycle asks the broker for that id
(`daemon.cycle.unresolved.resolve_unresolved`) instead of sending again.

An order whose answer was lost (UNKNOWN: a 504, a dropped connection) and that the broker's
lookup does not show yet (its reads lag behind its writes) is looked up again by its id
during the fill wait, never sent again; found working, it is cancelled at the deadline like
the others. One still not found when the wait ends is left to reconciliation, which cancels
it if it turns up working (`daemon.cycle.unresolved`).

An order the adapter refused before sending it, for a cause that may pass (`NotSent`: the link
to the broker lost, a rate limit), is recorded as not sent (CANCELLED), like one under the kill
switch, and so is every order of the cycle not sent yet: the next cycle reads the account
before it plans again. Neither is a broker rejection, so neither counts towards the rejection
trip rule.
"""

from __future__ import annotations

__all__ = ["Executor", "cancel_open_orders"]

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from adapters.base import Broker, OrderAbsence
from daemon.audit.events import OrderIntentSent, OrderResult
from daemon.core.cycle_report import NOT_SENT, OrderOutcome
from daemon.core.domain import BrokerOrder, OrderIntent, OrderStatus, Side, merge_report
from daemon.core.errors import (
    BrokerError,
    DuplicateClientOrderId,
    NotSent,
    OrderRejected,
    StateError,
)
from daemon.core.money import usd
from daemon.core.planner import PlannedOrder
from daemon.core.sizing import (
    TOP_UP_PASSES,
    OrderTerms,
    buy_cost_bound,
    limit_price,
    notional_amount,
    size_buy,
    top_up_order,
)
from daemon.logs import Log
from daemon.store.activity import recent_activity
from daemon.store.audit_log import AuditLog
from daemon.store.db import Database
from daemon.store.intents import IntentStore, client_order_id, database_identity
from daemon.store.killswitch import current as kill_switch_state

MAX_POLL_INTERVAL = 4.0
"""Longest pause between two reads of resting orders (seconds)."""
CANCEL_TIMEOUT = 30.0
"""How long a cancelled order is polled for its final state (seconds)."""


class Executor:
    """Turn approved orders into intents and broker orders for one cycle."""

    def __init__(
        self,
        *,
        database: Database,
        broker: Broker,
        clock: Callable[[], datetime],
        log: Log,
        fill_timeout: float = 60.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = MAX_POLL_INTERVAL,
        cancel_timeout: float = CANCEL_TIMEOUT,
        should_stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`sleep` and `monotonic` pace and bound the wait for fills and for cancels."""
        self._sleep = sleep
        self._monotonic = monotonic
        self._database = database
        # A stopping daemon lets the orders already sent reach a recorded fate and sends no
        # more: each unsent order is then recorded as not sent, like one under the kill switch.
        self._should_stop = should_stop
        self._broker = broker
        self._clock = clock
        self._log = log
        self._fill_timeout = fill_timeout
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self._cancel_timeout = cancel_timeout
        self._held: str | None = None
        """Why this cycle sends nothing more (an order was not sent), or None."""
        self._database_id = ""
        """The database's identity, part of every client order id; read by `execute`."""
        self._lost: dict[str, _Lost] = {}
        """Orders whose lookup missed them, by client order id (`_sought`)."""

    def execute(
        self,
        *,
        cycle_id: str,
        account: str,
        orders: Iterable[PlannedOrder],
        terms: OrderTerms,
        increment_for: Callable[[str], Decimal],
    ) -> list[OrderOutcome]:
        """Send sells, wait for them, re-read cash, then send buys that the cash covers.

        `increment_for` gives each symbol's quantity step, as the planner used it.
        """
        planned = list(orders)
        self._held = None
        with self._database.transaction() as session:
            self._database_id = database_identity(session)
        sells = [o for o in planned if o.side is Side.SELL]
        buys = [o for o in planned if o.side is Side.BUY]
        outcomes: list[OrderOutcome] = []
        seq = 0
        for order in sells:
            seq += 1
            outcomes.append(self._send(self._intent(cycle_id, account, seq, order, terms)))
        outcomes = self._await_all(outcomes)
        if not buys:
            return outcomes
        if self._should_stop() or self._held is not None:
            # Each buy is recorded as not sent by `_send`; no need to read the account again.
            for order in buys:
                seq += 1
                outcomes.append(self._send(self._intent(cycle_id, account, seq, order, terms)))
            return outcomes
        pieces: dict[str, PlannedOrder] = {}  # client order id -> the planned buy it is of
        waiting: dict[int, _Waiting] = {}  # planned buys crowded out by others' holds, unsent
        seq = self._send_buys(
            cycle_id,
            account,
            seq,
            [(o, o) for o in buys],
            terms,
            increment_for,
            outcomes,
            pieces,
            waiting,
        )
        outcomes = self._await_all(outcomes)
        rank = {id(o): i for i, o in enumerate(buys)}
        for _ in range(TOP_UP_PASSES):
            # The rests of the buys the holds shrank and the buys they crowded out, in the
            # plan's order (most underweight first).
            crowded = [(w.order, w.order) for w in waiting.values() if w.crowded]
            rests = sorted(
                crowded + self._short_buys(outcomes, pieces), key=lambda r: rank[id(r[0])]
            )
            if not rests or self._should_stop() or self._held is not None:
                break
            rests = self._within_rate(cycle_id, account, rests, outcomes, terms, waiting)
            if not rests:
                break
            seq = self._send_buys(
                cycle_id,
                account,
                seq,
                rests,
                terms,
                increment_for,
                outcomes,
                pieces,
                waiting,
                top_up=True,
            )
            outcomes = self._await_all(outcomes)
        for still in waiting.values():  # never sent: recorded as skipped, as any other
            self._skip(cycle_id, account, still.order, still.detail)
        return outcomes

    def _send_buys(
        self,
        cycle_id: str,
        account: str,
        seq: int,
        buys: list[tuple[PlannedOrder, PlannedOrder]],
        terms: OrderTerms,
        increment_for: Callable[[str], Decimal],
        outcomes: list[OrderOutcome],
        pieces: dict[str, PlannedOrder],
        waiting: dict[int, _Waiting],
        *,
        top_up: bool = False,
    ) -> int:
        """Size each buy (a planned buy, and what of it to send now) to the cash the broker
        has now and send it; return the last seq used.

        Every open buy holds buying power until it fills, so each sent buy's hold is taken off
        what the next may spend. A top-up that no longer fits is dropped quietly: its order
        already went out in part, and its skip would say nothing the first piece did not.
        A planned buy that does not fit only because of the holds of the buys sent before it
        in this pass waits in `waiting` (crowded out) for the next pass, once those have filled
        and freed their hold; one that is never sent is recorded as skipped by `execute`.
        """
        fresh = self._broker.funds([o.symbol for _, o in buys])
        spendable = fresh.cash - terms.cash_buffer
        available = spendable  # before this pass's holds
        hold = self._broker.market_buy_hold_fraction  # what each open market buy holds above
        costs = self._broker.trade_costs
        for planned, order in buys:
            seq += 1  # one per buy, sent or not: a buy's id is its place in the plan
            quote = fresh.quotes.get(order.symbol)
            price = max(order.price, quote.price) if quote is not None else order.price
            # Sized at the most the broker's own rules let it fill at (the sim's slippage,
            # the tick) and with the most it charges: otherwise the buy that spends the
            # last of the cash is refused for its commission or its slippage.
            price = costs.fill_bound(Side.BUY, price)
            fee = costs.buy_charge_bound(order.qty)
            increment = increment_for(order.symbol)
            sized = size_buy(order, price, spendable, terms, increment, hold=hold, fee=fee)
            if sized is None:
                if order is planned:  # nothing of this buy sent yet
                    fit_alone = size_buy(
                        order, price, available, terms, increment, hold=hold, fee=fee
                    )
                    detail = _skip_detail(order, spendable, terms)
                    if fit_alone is not None or id(planned) in waiting:
                        waiting[id(planned)] = _Waiting(planned, detail, fit_alone is not None)
                    elif not top_up:
                        self._skip(cycle_id, account, order, detail)
                continue
            in_dollars = terms.notional_buys and increment < 1
            intent = self._intent(cycle_id, account, seq, sized, terms, notional=in_dollars)
            outcome = self._send(intent)
            outcomes.append(outcome)
            pieces[intent.client_order_id] = planned
            waiting.pop(id(planned), None)
            if outcome.status not in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
                sent = outcome.intent
                spendable -= buy_cost_bound(
                    sized, price, limit=sent.limit_price, notional=sent.notional, hold=hold, fee=fee
                )
        return seq

    def _within_rate(
        self,
        cycle_id: str,
        account: str,
        rests: list[tuple[PlannedOrder, PlannedOrder]],
        outcomes: list[OrderOutcome],
        terms: OrderTerms,
        waiting: dict[int, _Waiting],
    ) -> list[tuple[PlannedOrder, PlannedOrder]]:
        """The top-ups that fit `max_orders_per_cycle` and `max_orders_per_minute`.

        The pre-trade checks counted each planned buy once; its top-ups are more orders. Sent
        past the limits, the next cycle counts them and trips the rate rule (a halt for a
        runaway loop that is not one). A top-up that does not fit is dropped like one the
        cash no longer covers: its buy already went out in part. A buy crowded out by the
        holds (nothing of it sent) that does not fit is recorded as skipped, naming the limits.
        """
        room = len(rests)
        if terms.max_orders_per_cycle is not None:
            sent = sum(1 for o in outcomes if o.sent)
            room = min(room, terms.max_orders_per_cycle - sent)
        if terms.max_orders_per_minute is not None:
            room = min(room, terms.max_orders_per_minute - self._sent_last_minute(account))
        kept, dropped = rests[: max(room, 0)], rests[max(room, 0) :]
        for planned, rest in dropped:
            if rest is planned:
                detail = (
                    f"{rest.symbol} buy skipped: it waited for the other buys' hold to be "
                    "released, and the cycle's orders then reached risk.max_orders_per_cycle "
                    "or risk.max_orders_per_minute; the next cycle buys what is still short"
                )
                waiting[id(planned)] = _Waiting(planned, detail, crowded=False)
                continue
            detail = (
                f"{rest.symbol} top-up of {rest.qty} not sent: the cycle's orders reached "
                "risk.max_orders_per_cycle or risk.max_orders_per_minute; the next cycle buys "
                "what is still short"
            )
            self._log.info("top_up_dropped", cycle_id=cycle_id, symbol=rest.symbol, detail=detail)
        return kept

    def _sent_last_minute(self, account: str) -> int:
        """Count the account's orders sent (moved to SUBMITTING) in the last 60 seconds, this
        cycle's included: the window the pre-trade check `orders_per_minute` counts."""
        # The exchange only sets where "today" starts, for the turnover figure not used here.
        with self._database.transaction() as session:
            return recent_activity(session, account, self._clock(), "XNYS").sent_last_minute

    def _short_buys(
        self, outcomes: list[OrderOutcome], pieces: dict[str, PlannedOrder]
    ) -> list[tuple[PlannedOrder, PlannedOrder]]:
        """The rest of each share buy the broker's hold shrank, once all its pieces filled.

        A market buy is sized so its hold (Alpaca: a few percent above the price) fits the
        cash; once it fills, the hold is released and the cash it did not spend can buy the
        rest. Only buys whose every piece filled in full are topped up: a rejected, cancelled
        or still-working piece means the broker said no or is not done, and chasing it would
        be a guess. The rest never exceeds what the pre-trade checks approved.
        """
        by_plan: dict[int, tuple[PlannedOrder, list[OrderOutcome]]] = {}
        for outcome in outcomes:
            planned = pieces.get(outcome.intent.client_order_id)
            if planned is None:
                continue
            by_plan.setdefault(id(planned), (planned, []))[1].append(outcome)
        rests = []
        for planned, done in by_plan.values():
            if any(o.status is not OrderStatus.FILLED or o.intent.notional for o in done):
                continue
            filled = sum((o.order.filled_qty for o in done if o.order), Decimal(0))
            rest = top_up_order(planned, filled)
            if rest is not None:
                rests.append((planned, rest))
        return rests

    def _intent(
        self,
        cycle_id: str,
        account: str,
        seq: int,
        order: PlannedOrder,
        terms: OrderTerms,
        *,
        notional: bool = False,
    ) -> OrderIntent:
        """The order to store and send; with `notional`, a buy for its planned dollar amount."""
        limit = limit_price(order, terms)
        return OrderIntent(
            client_order_id=client_order_id(cycle_id, seq, self._database_id),
            cycle_id=cycle_id,
            account=account,
            seq=seq,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=terms.order_type,
            reason=order.reason,
            limit_price=limit,
            reference_price=order.price,
            notional=notional_amount(order) if notional else None,
        )

    def _skip(self, cycle_id: str, account: str, order: PlannedOrder, detail: str) -> None:
        self._log.warning("buy_skipped", symbol=order.symbol, detail=detail)
        with self._database.transaction() as session:
            AuditLog(session).append(
                OrderResult(symbol=order.symbol, side=order.side, status="skipped", detail=detail),
                at=self._clock(),
                account=account,
                cycle_id=cycle_id,
            )

    def _send(self, intent: OrderIntent) -> OrderOutcome:
        with self._database.transaction() as session:
            store = IntentStore(session)
            now = self._clock()
            store.add(intent, now)
            kill = kill_switch_state(session)
            audit = AuditLog(session)
            if kill.engaged:
                detail = f"{NOT_SENT}kill switch engaged ({kill.reason})"
            elif self._should_stop():
                detail = f"{NOT_SENT}trimtab is stopping; the next cycle plans anew"
            elif self._held is not None:
                detail = (
                    f"{NOT_SENT}an earlier order of this cycle was not sent ({self._held}); "
                    "the next cycle reads the account first"
                )
            else:
                detail = ""
            if detail:
                store.move(intent.client_order_id, OrderStatus.CANCELLED, now, detail=detail)
                audit.append(
                    OrderResult.of(intent, OrderStatus.CANCELLED, None, detail),
                    at=now,
                    account=intent.account,
                    cycle_id=intent.cycle_id,
                )
                return OrderOutcome(intent, OrderStatus.CANCELLED, None, detail)
            store.move(intent.client_order_id, OrderStatus.SUBMITTING, now)
            audit.append(
                OrderIntentSent(intent),
                at=now,
                account=intent.account,
                cycle_id=intent.cycle_id,
            )
        self._log.info(
            "order_submitting",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=str(intent.side),
            qty=str(intent.qty),
            notional=None if intent.notional is None else str(intent.notional),
        )
        status, order, detail = self._submit(intent)
        return self._record(intent, status, order, detail)

    def _lookup_window(self) -> float:
        """How long (seconds) an order of unknown outcome is looked up again during the wait:
        the fill wait, or less when the broker's `AbsenceRule` makes "not found" final
        sooner without a listing (the sim's, at once: nothing to wait for)."""
        if isinstance(self._broker, OrderAbsence):
            rule = self._broker.absence_rule()
            if not rule.listing:
                return min(self._fill_timeout, rule.grace.total_seconds())
        return self._fill_timeout

    def _submit(self, intent: OrderIntent) -> tuple[OrderStatus, BrokerOrder | None, str]:
        try:
            order = self._broker.submit(intent)
        except NotSent as exc:
            # Certainly not placed (nothing to look up), and the cause may pass: send nothing
            # more this cycle; the next one reads the account first.
            self._held = exc.reason
            self._log.warning(
                "order_not_sent",
                client_order_id=intent.client_order_id,
                reason=exc.reason,
                retry_after=exc.retry_after,
            )
            return OrderStatus.CANCELLED, None, f"{NOT_SENT}{exc.reason}"
        except DuplicateClientOrderId:
            # The broker has it already: adopt what it says, never send again.
            return self._adopt(
                intent, "broker already had this client order id", OrderStatus.REJECTED
            )
        except OrderRejected as exc:
            return OrderStatus.REJECTED, None, exc.reason
        except BrokerError as exc:  # OutcomeUnknown, or a failure that may have sent it
            self._log.warning(
                "order_outcome_unknown", client_order_id=intent.client_order_id, error=str(exc)
            )
            return self._adopt(intent, f"outcome unknown after: {exc}", OrderStatus.UNKNOWN)
        return order.status, order, order.message

    def _adopt(
        self, intent: OrderIntent, why: str, if_foreign: OrderStatus
    ) -> tuple[OrderStatus, BrokerOrder | None, str]:
        """Look the order up by its id and adopt it, unless the id holds a different order."""
        status, found, detail = _lookup(self._broker, intent.client_order_id, why)
        self._refuse_foreign(intent, found, if_foreign)
        if status is OrderStatus.UNKNOWN:  # not found yet: looked up again in the fill wait
            until = self._monotonic() + self._lookup_window()
            self._lost[intent.client_order_id] = _Lost(until, if_foreign)
        return status, found, detail

    def _refuse_foreign(
        self, intent: OrderIntent, found: BrokerOrder | None, if_foreign: OrderStatus
    ) -> None:
        """Record and raise `StateError` if the broker's order under the intent's id is not
        this intent (`_mismatch`): it is not adopted, and nothing more is sent."""
        mismatch = _mismatch(intent, found)
        if mismatch:
            self._record(intent, if_foreign, None, mismatch)
            raise StateError(mismatch)

    def _record(
        self, intent: OrderIntent, status: OrderStatus, order: BrokerOrder | None, detail: str
    ) -> OrderOutcome:
        with self._database.transaction() as session:
            now = self._clock()
            store = IntentStore(session)
            if order is None:
                status = store.move(intent.client_order_id, status, now, detail=detail)
            else:
                status = store.apply(intent.client_order_id, order, now, detail=detail)
            AuditLog(session).append(
                OrderResult.of(intent, status, order, detail),
                at=now,
                account=intent.account,
                cycle_id=intent.cycle_id,
            )
        self._log.info(
            "order_result",
            client_order_id=intent.client_order_id,
            status=str(status),
            detail=detail,
        )
        return OrderOutcome(intent, status, order, detail)

    def _await_all(self, outcomes: list[OrderOutcome]) -> list[OrderOutcome]:
        """Poll a batch of accepted orders until each is final, then cancel what is left.

        One shared deadline, and one lookup per round for every order still working (the
        broker answers them together where it can), and for every order of unknown outcome
        the broker may still show (`_sought`). An order left working after the cycle
        would compete with the next cycle's plan, so the unfilled rest is cancelled at the
        deadline (a partial fill keeps its filled quantity). A cancel is a request: the
        broker may answer "pending cancel" and still fill the order, so each cancelled order
        is then polled (within `cancel_timeout`) until it is final; a fill after the cancel
        is kept, and the cash the buys are sized by is read only after that.
        """
        current = self._poll(outcomes, self._monotonic() + self._fill_timeout)
        if not any(o.status in _WORKING for o in current):
            return current
        current = [self._cancel_rest(o) if o.status in _WORKING else o for o in current]
        current = self._poll(current, self._monotonic() + self._cancel_timeout, cancelled=True)
        for outcome in current:
            if outcome.status in _WORKING:
                # Still working at the broker: the intent stays open, the next cycle looks
                # it up and no new order is sent for its symbol until it is final.
                self._log.warning(
                    "cancel_unconfirmed",
                    client_order_id=outcome.intent.client_order_id,
                    waited=self._cancel_timeout,
                )
        return current

    def _poll(
        self, outcomes: list[OrderOutcome], deadline: float, *, cancelled: bool = False
    ) -> list[OrderOutcome]:
        """Read the working orders until none is working or `deadline` (monotonic) passes.

        A round changes an order only when the broker's report changes what is stored (its
        status after `merge_report`, its filled quantity): only then is it recorded and
        audited. A report the merge ignores (a stale one, a status trimtab does not know)
        is not a change. The pause between rounds doubles from `poll_interval` up to
        `max_poll_interval` while nothing changes (resting orders need not be read twice a
        second: Alpaca allows 200 requests a minute), and starts again from `poll_interval`
        after a change. It never sleeps past the deadline. With `cancelled`, the orders
        were cancelled at the fill deadline and each change is described as such.
        """
        current = list(outcomes)
        pause = self._poll_interval
        while True:
            working = [i for i, o in enumerate(current) if self._watched(o)]
            if not working:
                return current
            found = self._broker.get_orders([current[i].intent.client_order_id for i in working])
            changed = False
            for i in working:
                order = found.get(current[i].intent.client_order_id)
                after = None if order is None else _merged(current[i], order)
                if order is None or after is None:
                    continue
                if current[i].status is OrderStatus.UNKNOWN:
                    current[i] = self._found(current[i], order, cancelled=cancelled)
                else:
                    detail = self._cancel_detail(*after) if cancelled else order.message
                    current[i] = self._record(current[i].intent, order.status, order, detail)
                changed = True
            if not any(self._watched(current[i]) for i in working):
                return current
            left = self._end_of(current, deadline) - self._monotonic()
            if left <= 0:
                return current
            pause = self._poll_interval if changed else pause
            self._sleep(min(pause, left))
            pause = min(pause * 2, max(self._max_poll_interval, self._poll_interval))

    def _watched(self, outcome: OrderOutcome) -> bool:
        """Whether the wait reads this order: working, or of unknown outcome and `_sought`."""
        return outcome.status in _WORKING or self._sought(outcome)

    def _sought(self, outcome: OrderOutcome) -> bool:
        """Whether an order of unknown outcome is still looked up (within its window)."""
        lost = self._lost.get(outcome.intent.client_order_id)
        return (
            outcome.status is OrderStatus.UNKNOWN
            and lost is not None
            and self._monotonic() < lost.until
        )

    def _end_of(self, current: list[OrderOutcome], deadline: float) -> float:
        """When this wait ends: `deadline`, or sooner when only orders of unknown outcome
        are left and their windows close before it."""
        if any(o.status in _WORKING for o in current):
            return deadline
        ends = [self._lost[o.intent.client_order_id].until for o in current if self._sought(o)]
        return min(deadline, max(ends, default=deadline))

    def _found(self, current: OrderOutcome, order: BrokerOrder, *, cancelled: bool) -> OrderOutcome:
        """Adopt an order of unknown outcome the broker now shows (unless the id holds
        another order: `_refuse_foreign`); past the fill deadline (`cancelled`), one still
        working is cancelled at once, as the others were."""
        intent = current.intent
        self._refuse_foreign(intent, order, self._lost[intent.client_order_id].if_foreign)
        said = f": {order.message}" if order.message else ""
        detail = f"found by lookup after its answer was lost; adopted the broker's order{said}"
        found = self._record(intent, order.status, order, detail)
        if cancelled and found.status in _WORKING:
            return self._cancel_rest(found)
        return found

    def _cancel_rest(self, current: OrderOutcome) -> OrderOutcome:
        coid = current.intent.client_order_id
        try:
            order = self._broker.cancel(coid)
        except BrokerError as exc:
            self._log.warning("cancel_failed", client_order_id=coid, error=str(exc))
            return current
        status, filled = _merged(current, order) or (current.status, _filled(current))
        if status in _WORKING:
            self._log.info("cancel_pending", client_order_id=coid, status=str(status))
        return self._record(
            current.intent, order.status, order, self._cancel_detail(status, filled)
        )

    def _cancel_detail(self, status: OrderStatus, filled: Decimal) -> str:
        """Say what came of the cancel sent at the fill deadline, from the order's status."""
        late = f"unfilled after {self._fill_timeout:g}s"
        if status is OrderStatus.FILLED:
            return (
                f"not filled within {self._fill_timeout:g}s; filled before the cancel took effect"
            )
        if status in _WORKING:
            return f"{late}: cancel requested, pending at the broker (filled {filled} so far)"
        if status is OrderStatus.CANCELLED:
            return f"{late}: cancelled the rest"
        return f"{late}: cancel requested; the broker reports {status} (filled {filled})"


_WORKING = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class _Lost:
    """An order the lookup after its submission missed: until when (monotonic) the fill
    wait looks it up again, and what its intent is recorded as if the id turns out to hold
    another order (`Executor._adopt`'s `if_foreign`)."""

    until: float
    if_foreign: OrderStatus


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A planned buy not sent yet because it did not fit the cash: why (its skip detail, if
    it is never sent), and whether it fitted the cash before this pass's other buys held
    theirs (`crowded`: tried again once they have filled and released it)."""

    order: PlannedOrder
    detail: str
    crowded: bool


def _skip_detail(order: PlannedOrder, spendable: Decimal, terms: OrderTerms) -> str:
    return (
        f"{order.symbol} buy skipped: cash after sells ({usd(max(spendable, Decimal(0)))} "
        f"spendable) does not cover a trade of at least {usd(terms.min_trade)}"
    )


def _filled(current: OrderOutcome) -> Decimal:
    return current.order.filled_qty if current.order is not None else Decimal(0)


def _merged(current: OrderOutcome, order: BrokerOrder) -> tuple[OrderStatus, Decimal] | None:
    """The status and filled quantity the broker's report leaves stored; None if it changes
    neither (what `IntentStore.apply` does with it)."""
    return merge_report(current.status, _filled(current), order.status, order.filled_qty)


def _mismatch(intent: OrderIntent, order: BrokerOrder | None) -> str:
    """Say why the broker's order under the intent's id is not this intent ("" if it is)."""
    if order is None:
        return ""
    ours = (intent.symbol, intent.side, intent.notional)
    same = (order.symbol, order.side, order.notional) == ours
    # A notional order's shares are the broker's to decide: its amount is what must agree.
    if same and (intent.notional is not None or order.qty == intent.qty):
        return ""
    return (
        f"client order id {intent.client_order_id} belongs at the broker to "
        f"{order.side} {_size(order)} {order.symbol}, not to this {intent.side} "
        f"{_size(intent)} {intent.symbol}; not adopted, nothing sent; check the account by hand. "
        "Likely cause: the database was restored from a backup taken before that order was "
        "sent, and `trimtab db restored` was not run after the restore: run it (new order ids, "
        "kill switch engaged), check the account, then `trimtab resume` (docs/operations.md, "
        '"Back up and restore")'
    )


def _size(order: OrderIntent | BrokerOrder) -> str:
    """An order's size as sent: its dollar amount if it is a notional order, else shares."""
    return f"${order.notional}" if order.notional is not None else f"{order.qty} sh"


def _lookup(broker: Broker, coid: str, why: str) -> tuple[OrderStatus, BrokerOrder | None, str]:
    try:
        order = broker.get_order(coid)
    except BrokerError as exc:
        return OrderStatus.UNKNOWN, None, f"{why}; lookup failed: {exc}"
    if order is None:
        return OrderStatus.UNKNOWN, None, f"{why}; the broker has no order with this id yet"
    return order.status, order, f"{why}; adopted the broker's order"


def cancel_open_orders(
    *, database: Database, broker: Broker, account: str, clock: Callable[[], datetime]
) -> list[tuple[str, bool]]:
    """Cancel every open order of the account at the broker, trimtab's and others'.

    Return one line per order and whether its cancel went through; each is audited.
    """
    lines: list[tuple[str, bool]] = []
    for order in broker.snapshot(()).open_orders:
        coid = order.client_order_id
        try:
            after = broker.cancel(coid)
        except BrokerError as exc:
            lines.append(
                (f"{coid} {order.side} {order.qty} {order.symbol}: cancel failed: {exc}", False)
            )
            continue
        with database.transaction() as session:
            now = clock()
            store = IntentStore(session)
            ours = store.find(coid)
            if ours is not None:
                store.apply(coid, after, now, detail="cancelled by the operator")
            AuditLog(session).append(
                OrderResult(
                    client_order_id=coid,
                    symbol=order.symbol,
                    side=order.side,
                    qty=order.qty,
                    status=after.status,
                    broker_order=after,
                    detail="cancelled by the operator (kill --cancel-open)",
                    external=ours is None,
                ),
                at=now,
                account=account,
                cycle_id=ours.intent.cycle_id if ours is not None else None,
            )
        lines.append((f"{coid} {order.side} {order.qty} {order.symbol}: {after.status}", True))
    return lines
