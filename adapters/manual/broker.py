"""`ManualBroker`: an account read from positions exports and traded by order tickets.

The account is the newest export plus the fills the person confirmed after the export's time;
the export's prices are the quotes, dated at the export's time. `submit` writes a ticket and
answers UNKNOWN: trimtab cannot know whether a person entered it, so the executor does not
wait for it and the next cycles block its symbol until it is confirmed (docs/manual.md).
"""

from __future__ import annotations

__all__ = ["ExportRead", "ManualBroker"]

import csv
import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from adapters.base import (
    AbsenceRule,
    AccountCheck,
    AssetCheck,
    BrokerEnvironment,
    CalendarUnavailable,
    CheckNote,
    SessionDay,
    notional_problem,
)
from adapters.manual.config import ManualSettings
from adapters.manual.parsing import TICKER, Export, ExportError, parse_export, parse_money
from adapters.manual.tickets import Ticket, TicketStore
from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.domain import (
    AccountSnapshot,
    BrokerOrder,
    Fill,
    Funds,
    OrderIntent,
    Position,
    Quote,
    Side,
)
from daemon.core.errors import BrokerError, OrderRejected

_FIX = "download a new positions export from the broker's website into {folder}"


@dataclass(frozen=True, slots=True)
class ExportRead:
    """The newest export of the account, read and checked."""

    path: Path
    export: Export
    as_of: datetime
    """The export's stated time, else the file's modification time (UTC)."""
    stated: bool
    """True when the time comes from the export's own text."""


@dataclass(frozen=True, slots=True)
class Account:
    """The account now: the newest export plus the fills confirmed after its time."""

    as_of: datetime
    """When the positions and cash were true: the export's time, or a later confirmed fill's.
    Never a `prices_file` price's: a price says nothing of what is held (its quote keeps its
    own time)."""
    cash: Decimal
    """The export's cash plus what confirmed fills after it moved."""
    positions: Mapping[str, Decimal]
    quotes: Mapping[str, Quote]
    held: Decimal
    """What the open buy tickets will still spend: not free for another order."""


class ManualBroker:
    """One account at a broker without an API (see the module docstring)."""

    def __init__(self, settings: ManualSettings, env: BrokerEnvironment) -> None:
        self.settings = settings
        self.account = env.account
        self._clock = env.clock
        self.tickets = TicketStore(env.state_dir / "manual" / env.account)

    # -- reading the account ------------------------------------------------------------------

    def read_export(self) -> ExportRead:
        """Read the newest export; raise `ExportError` naming the file and the fix."""
        folder = self.settings.exports
        fix = _FIX.format(folder=folder)
        files = [p for p in folder.glob(self.settings.pattern) if p.is_file()]
        if not files:
            raise ExportError(
                f"account {self.account}: no positions export matching "
                f"{self.settings.pattern!r} in {folder} (fix: {fix})"
            )
        newest = max(files, key=lambda p: (p.stat().st_mtime, p.name))
        try:
            text = newest.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            text = newest.read_text(encoding="latin-1")
        export = parse_export(
            text,
            name=str(newest),
            layout=self.settings.layout(),
            account_number=self.settings.account_number,
            cash_symbols=self.settings.cash_symbols,
            ignore=self.settings.ignore,
        )
        if export.rows == 0:
            number = self.settings.account_number
            which = f" for account {number}" if number else ""
            raise ExportError(
                f"{newest}: no positions or cash rows{which} (fix: check "
                "broker_settings.account_number against the file's account column, or "
                f"{fix})"
            )
        stated = export.as_of is not None
        as_of = export.as_of or datetime.fromtimestamp(newest.stat().st_mtime, UTC)
        age = self._clock() - as_of
        limit = timedelta(hours=float(self.settings.max_export_age_hours))
        if age > limit:
            hours = age.total_seconds() / 3600
            raise ExportError(
                f"{newest}: the newest export is {hours:.1f} hours old (as of "
                f"{as_of.isoformat(timespec='minutes')}), over max_export_age_hours "
                f"{self.settings.max_export_age_hours} (fix: {fix})"
            )
        return ExportRead(newest, export, as_of, stated)

    def _extra_prices(self) -> dict[str, Quote]:
        path = self.settings.prices_file
        if path is None:
            return {}
        as_of = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        age = self._clock() - as_of
        if age > timedelta(hours=float(self.settings.max_export_age_hours)):
            raise ExportError(
                f"{path}: prices_file is {age.total_seconds() / 3600:.1f} hours old, over "
                f"max_export_age_hours {self.settings.max_export_age_hours} (fix: write "
                "today's prices into it, or remove the symbols you do not hold from the targets)"
            )
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        if not rows or [c.strip().lower() for c in rows[0][:2]] != ["symbol", "price"]:
            raise ExportError(f"{path}: the header must be symbol,price (fix: write it so)")
        quotes: dict[str, Quote] = {}
        for number, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            symbol = row[0].strip().upper()
            try:
                price = parse_money(row[1]) if len(row) > 1 else None
            except ValueError:
                price = None
            if not TICKER.match(symbol) or price is None or price <= 0:
                raise ExportError(
                    f"{path}, row {number}: {','.join(row)!r} is not a ticker and a positive "
                    "price (fix: correct or remove the row)"
                )
            quotes[symbol] = Quote(symbol, price, as_of, f"manual prices {path.name}")
        return quotes

    def account_now(self) -> Account:
        """The account now: its time, cash, positions and quotes.

        The time is when its holdings were true (`AccountSnapshot.as_of`): the export's, or a
        later confirmed fill's. A `prices_file` refreshed since does not move it: its quotes
        carry their own time, and a household stand-in's age is counted from this one, so
        new prices never make an old export's holdings look fresh (docs/household.md).
        """
        read = self.read_export()
        cash = read.export.cash
        positions = {h.symbol: h.qty for h in read.export.holdings}
        quotes = self._extra_prices()
        source = f"manual export {read.path.name}"
        for h in read.export.holdings:
            quotes[h.symbol] = Quote(h.symbol, h.price, read.as_of, source)
        as_of = read.as_of
        # Fills confirmed after the export's time are not in it yet: the account is both.
        for fill in self._confirmed(since=None):
            if fill.at <= read.as_of:
                continue
            signed = fill.side.signed(fill.qty)
            positions[fill.symbol] = positions.get(fill.symbol, Decimal(0)) + signed
            cash -= signed * fill.price + fill.commission
            as_of = max(as_of, fill.at)
        open_buys = [
            t for t in self.tickets.all() if t.status.is_open and t.intent.side is Side.BUY
        ]
        held = sum((_hold(t, quotes) for t in open_buys), Decimal(0))
        held_positions = {s: q for s, q in positions.items() if q != 0}
        return Account(as_of, cash, held_positions, quotes, held)

    def snapshot(self, symbols: Collection[str]) -> AccountSnapshot:
        now = self.account_now()
        wanted = set(now.positions) | set(symbols)
        shown = {s: q for s, q in now.quotes.items() if s in wanted}
        return AccountSnapshot(
            account=self.account,
            as_of=now.as_of,  # the holdings' time (docs/manual.md): the export's or a fill's
            # Cash an open buy ticket will spend is not there for another order: a ticket
            # stays open across cycles, unlike an order the executor cancels at its end.
            cash=now.cash - now.held,
            reserved_cash=now.held,  # still the account's: in its value, never spent
            positions=tuple(Position(s, q) for s, q in sorted(now.positions.items())),
            quotes=shown,
            open_orders=tuple(t.order() for t in self.tickets.all() if t.status.is_open),
            fractionable=frozenset(shown) if self.settings.fractional else frozenset(),
        )

    def funds(self, symbols: Collection[str]) -> Funds:
        now = self.account_now()
        wanted = set(symbols)
        return Funds(
            now.as_of, now.cash - now.held, {s: q for s, q in now.quotes.items() if s in wanted}
        )

    # -- orders: tickets ----------------------------------------------------------------------

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        """Write the order as a ticket for a person to enter; answer UNKNOWN (never assumed)."""
        coid = intent.client_order_id
        if intent.account != self.account:
            raise OrderRejected(coid, f"order is for account {intent.account}, not {self.account}")
        if not intent.qty.is_finite() or intent.qty <= 0:
            raise OrderRejected(coid, f"quantity {intent.qty} is not positive")
        problem = notional_problem(intent)
        if problem is not None:
            raise OrderRejected(coid, problem)
        if not self.settings.fractional and intent.notional is None and intent.qty % 1 != 0:
            raise OrderRejected(
                coid,
                f"fractional quantity {intent.qty} {intent.symbol}: this account's tickets are "
                "whole shares (broker_settings.fractional = false)",
            )
        if self.tickets.get(coid) is None:  # a taken id is answered below, as a duplicate
            try:
                now = self.account_now()
            except ExportError as exc:
                raise OrderRejected(coid, f"the export cannot be read: {exc}") from exc
            problem = self._refusal(intent, now)
            if problem:
                raise OrderRejected(coid, problem)
        ticket = Ticket(intent=intent, issued_at=self._clock())
        self.tickets.add(ticket)  # DuplicateClientOrderId if the id is taken
        return ticket.order(self._ticket_message(coid))

    def _refusal(self, intent: OrderIntent, now: Account) -> str:
        """What the broker would refuse the ticket for, as a last line ("" if nothing).

        The decision step never approves such an order; these keep a ticket from asking the
        person for something the account cannot do, counting what open tickets already ask.
        """
        symbol, limit = intent.symbol, intent.limit_price
        quote = now.quotes.get(symbol)
        if quote is None:
            return f"{symbol} has no price in the export or prices_file: no ticket without one"
        if limit is not None and (
            not limit.is_finite()
            or limit <= 0
            or limit != limit.quantize(Decimal("0.01") if limit >= 1 else Decimal("0.0001"))
        ):
            return f"limit price {limit} is not a price the broker takes (cents from $1 up)"
        open_tickets = [t for t in self.tickets.all() if t.status.is_open]
        if any(
            t.intent.symbol == symbol and t.intent.side is not intent.side for t in open_tickets
        ):
            return f"an open ticket for {symbol} is on the other side: confirm it first"
        if intent.side is Side.SELL:
            offered = sum(
                (
                    t.remaining
                    for t in open_tickets
                    if (t.intent.symbol, t.intent.side) == (symbol, Side.SELL)
                ),
                Decimal(0),
            )
            free = now.positions.get(symbol, Decimal(0)) - offered
            if intent.qty > free:
                return f"sells {intent.qty} {symbol} but {free} are held and not on an open ticket"
            return ""
        cost = (
            intent.notional if intent.notional is not None else intent.qty * (limit or quote.price)
        )
        free_cash = now.cash - now.held
        if cost > free_cash:
            return (
                f"costs {cost:,.2f} but the cash not held by open buy tickets is {free_cash:,.2f}"
            )
        return ""

    def _ticket_message(self, coid: str) -> str:
        return (
            f"order ticket written to {self.tickets.open_csv}: enter it at the broker by hand, "
            f"then record it with `trimtab manual confirm -a {self.account} {coid}`"
        )

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        ticket = self.tickets.get(client_order_id)
        return None if ticket is None else ticket.order()

    def get_orders(self, client_order_ids: Collection[str]) -> Mapping[str, BrokerOrder]:
        found = {coid: self.get_order(coid) for coid in client_order_ids}
        return {coid: order for coid, order in found.items() if order is not None}

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """A ticket cannot be taken back from a person: it stays as it is, and says so."""
        ticket = self.tickets.get(client_order_id)
        if ticket is None:
            raise BrokerError(f"no order ticket {client_order_id} in account {self.account}")
        if not ticket.status.is_open:
            return ticket.order()
        return ticket.order(
            "a ticket cannot be cancelled by trimtab: if you have not entered it, record that "
            f"with `trimtab manual confirm -a {self.account} {client_order_id} --not-done`"
        )

    # -- UncancellableOrders ------------------------------------------------------------------

    def why_uncancellable(self) -> str:
        return (
            "a ticket is entered by a person at the broker: trimtab cannot take it back, it "
            "stays open until confirmed (trimtab manual confirm)"
        )

    def _confirmed(self, since: datetime | None) -> list[Fill]:
        fills = [
            Fill(
                fill_id=c.fill_id,
                client_order_id=t.intent.client_order_id,
                broker_order_id=t.intent.client_order_id,
                symbol=t.intent.symbol,
                side=t.intent.side,
                qty=c.qty,
                price=c.price,
                at=c.at,
                commission=c.commission,
            )
            for t in self.tickets.all()
            for c in t.fills
            if since is None or c.recorded_at >= since
        ]
        return sorted(fills, key=lambda f: (f.at, f.fill_id))

    def fills(self, since: datetime) -> Sequence[Fill]:
        """The fills confirmed at or after `since`, oldest first by trade time.

        "At or after" is when trimtab learned of the fill (its confirmation was recorded),
        not its trade time: a person confirms after trading, often days after with `--at`,
        and a broker reports a fill when it learns of it. Reconciliation reads from a day
        before the latest trade time it recorded; a fill traded earlier but confirmed since
        is still found, and its fill id keeps it from being recorded twice.
        """
        return self._confirmed(since)

    def close(self) -> None:
        """Nothing to release: every call reads the files afresh."""

    @property
    def market_buy_hold_fraction(self) -> Decimal:
        return Decimal(0)  # a ticket holds nothing: the person pays at the broker

    @property
    def trade_costs(self) -> TradeCosts:
        # The person trades at a broker trimtab cannot see: the account's cash_buffer is
        # where its commissions are kept back (docs/manual.md).
        return NO_COSTS

    # -- OrderAbsence -------------------------------------------------------------------------

    def absence_rule(self) -> AbsenceRule:
        return AbsenceRule(
            grace=timedelta(0),
            listing=False,
            why="the manual broker writes and fsyncs a ticket before submit returns, so no "
            "ticket under the id means it was never written and no person saw it",
        )

    def orders_submitted(self, start: datetime, end: datetime) -> Sequence[BrokerOrder]:
        return [t.order() for t in self.tickets.all() if start <= t.issued_at <= end]

    # -- BrokerChecks, MoreChecks (`trimtab check`) -------------------------------------------

    def check_account(self) -> AccountCheck:
        """The newest export, read and checked as a cycle reads it (`ExportError` names the
        file and the fix): the account "answers" when its export does."""
        read = self.read_export()
        when = read.as_of.strftime("%Y-%m-%d %H:%M UTC")
        number = self.settings.account_number or "the account"
        return AccountCheck(
            account=self.account,
            broker_account=f"{number} by export {read.path.name} of {when}",
            environment=self.settings.environment,
            status="export read",
            active=True,
            trading_blocked=False,
            account_blocked=False,
            trade_suspended_by_user=False,
            has_paper=False,
        )

    def check_assets(self, symbols: Collection[str]) -> Mapping[str, AssetCheck]:
        """Any ticker is one the person can trade by hand; whether trimtab can price it is
        `more_checks`' finding."""
        return {
            s: AssetCheck(s, True, True, self.settings.fractional, "traded by hand")
            for s in symbols
        }

    def calendar(self, start: date, end: date) -> Sequence[SessionDay]:
        raise CalendarUnavailable(
            "a broker without an API has no calendar; trimtab follows the exchange's"
        )

    def more_checks(self, symbols: Collection[str]) -> Sequence[CheckNote]:
        """Whether every target symbol has a price (the export's, else `prices_file`'s: a plan
        sizes its tickets by it), and the tickets still open."""
        now = self.account_now()
        unpriced = sorted(set(symbols) - set(now.quotes))
        file = self.settings.prices_file
        notes = []
        if unpriced:
            where = f"to {file}" if file else "to a prices_file (broker_settings.prices_file)"
            notes.append(
                CheckNote(
                    "prices",
                    "fail",
                    f"neither the export nor the prices_file prices {', '.join(unpriced)}: a "
                    "plan cannot size a ticket for it",
                    f"add a row symbol,price for {unpriced[0]} {where}, or hold it so the "
                    "export lists it",
                )
            )
        else:
            notes.append(CheckNote("prices", "ok", f"every target symbol priced ({len(symbols)})"))
        open_tickets = [t for t in self.tickets.all() if t.status.is_open]
        if open_tickets:
            notes.append(
                CheckNote(
                    "tickets",
                    "warn",
                    f"{len(open_tickets)} ticket(s) open: their symbols are not traded again "
                    "until each is confirmed"
                    + (
                        ", and nothing in the account while a buy ticket is open"
                        if any(t.intent.side is Side.BUY for t in open_tickets)
                        else ""
                    ),
                    "enter them at the broker, then `trimtab manual confirm` each "
                    "(`trimtab manual tickets` lists them)",
                )
            )
        else:
            notes.append(CheckNote("tickets", "ok", "no ticket open"))
        return notes


def _hold(ticket: Ticket, quotes: Mapping[str, Quote]) -> Decimal:
    """What an open buy ticket will still spend: its rest at its limit or its price."""
    intent = ticket.intent
    if intent.notional is not None:
        spent = sum((f.qty * f.price for f in ticket.fills), Decimal(0))
        return max(intent.notional - spent, Decimal(0))
    quote = quotes.get(intent.symbol)
    price = intent.limit_price or intent.reference_price or (quote.price if quote else Decimal(0))
    return ticket.remaining * price
