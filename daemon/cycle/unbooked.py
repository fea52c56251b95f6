"""What the broker reports that the ledger lacks, as trades for a plan's tax replay, recorded
nowhere: its fills and its dividend reinvestments.

A cycle that may trade records them first (reconciliation: the fills, and the reinvestments
the broker reports as lots, `book_reinvestments`; then `TaxCycle.record`: the fills,
`record_fills`) and replays the ledger with them. `trimtab plan` records nothing, yet must
decide as that cycle would: an owner's purchase at the broker since the last cycle, or a
dividend reinvested in shares, is a replacement that washes a loss sale, and its lots make the
account's lots match the broker's position again. So the plan reads the same (`read_unbooked`:
the fills and, through the same `broker_reinvestments`, the reinvestments from where
reconciliation would read them) and adds them to its replay in memory,
as the cycle would record them (`fold_fills`): a reinvestment is a lot, recorded before the
fills; a fill that buys is a lot; a sell relieves the lots the plan of its cycle chose
(specific identification only), then the account's method ranked on the broker's view of its
lots (only lots held on its day), and only the shares some lot covers enter the replay.
"""

from __future__ import annotations

__all__ = ["Unbooked", "fold_fills", "read_unbooked"]

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from adapters.base import Broker
from daemon.core.calendar import exchange_timezone
from daemon.core.domain import Fill, Side
from daemon.core.errors import TransientBrokerError
from daemon.core.money import cents
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.relief import broker_view, rank
from daemon.core.tax.types import LotMethod, LotPick, Split, TaxPolicy, Trade, amount_realized
from daemon.cycle.reconcile import fills_since_mark, reinvestments_since
from daemon.logs import Log
from daemon.store.db import Database
from daemon.store.tax_ledger import HouseholdAccount, lot_id_of
from daemon.store.tax_sources import Reinvestment, broker_reinvestments
from daemon.store.trading_state import reading_mark

_ZERO = Decimal(0)
PREFIX = "unbooked-"
"""The trade id of a fill not in the ledger: never a ledger lot (`lot_id_of` is None)."""

Chosen = Callable[[Fill], Sequence[tuple[str, Decimal]]]
"""The lots (engine trade id, shares) the plan of a sell's cycle chose for it; none for an
order not trimtab's or an account whose method is not specific identification."""


@dataclass(frozen=True, slots=True)
class Unbooked:
    """What a plan adds to its tax replay: the account's fills and reinvestments the broker
    reports since the last cycle (those the ledger holds already are left out later)."""

    fills: Sequence[Fill] = ()
    reinvestments: Sequence[Reinvestment] = ()
    stale: str | None = None
    """Why the replay may lack some (the broker could not report them): the plan's note."""


def read_unbooked(
    *,
    database: Database,
    broker: Broker,
    account: str,
    clock: Callable[[], datetime],
    exchange: str,
    log: Log,
) -> Unbooked:
    """Read what the run would book before it plans, recording nothing.

    The fills and the reinvestments from where the run's reconciliation reads them (the
    mark it last left). When the broker cannot report them, `stale` says the plan's tax
    figures are not current.
    """
    try:
        fills = fills_since_mark(database=database, broker=broker, account=account, clock=clock)
    except TransientBrokerError as exc:
        log.warning("plan_fills_unread", error=str(exc))
        return Unbooked(stale=_not_current("fills", exc))
    with database.transaction() as session:
        mark = reading_mark(session, account, clock()).fills_read_through
    try:
        found = broker_reinvestments(
            broker, since=reinvestments_since(mark), timezone=exchange_timezone(exchange)
        )
    except TransientBrokerError as exc:
        log.warning("plan_reinvestments_unread", error=str(exc))
        return Unbooked(fills=fills, stale=_not_current("dividend reinvestments", exc))
    return Unbooked(fills=fills, reinvestments=found)


def _not_current(what: str, exc: TransientBrokerError) -> str:
    return (
        f"tax: not current: the broker's {what} since the last cycle could not be read "
        f"({exc}); lots, wash-sale windows and gains are the ledger's as of that cycle, and "
        "a run may decide otherwise"
    )


def fold_fills(
    trades: Sequence[Trade | Split],
    fills: Sequence[Fill],
    *,
    account: HouseholdAccount,
    policy: TaxPolicy,
    timezone: ZoneInfo,
    chosen: Chosen,
    reinvestments: Sequence[Reinvestment] = (),
) -> list[Trade | Split]:
    """Return `trades` (the ledger's) with `reinvestments` and `fills` of `account` added:
    the reinvestments in the order given, then the fills, oldest first, as a cycle records
    them.

    Both are the account's the ledger does not hold yet. Nothing is written.
    """
    folded = list(trades)
    lots: set[str] = set()
    for found in reinvestments:
        if found.source_id in lots:  # one activity is one lot (`TaxLedger.add_lot`)
            continue
        lots.add(found.source_id)
        folded.append(
            Trade(
                id=PREFIX + found.source_id,
                date=found.on,
                account=account.name,
                account_type=account.type,
                symbol=found.symbol,
                side=Side.BUY,
                qty=found.qty,
                amount=found.cost,
                owner=account.owner,
                order_id=found.source_id,
            )
        )
    for fill in sorted(fills, key=lambda f: (f.at, f.fill_id)):
        if fill.fill_id in lots:  # `record_fills` skips a fill whose id a lot has
            continue
        on = fill.at.astimezone(timezone).date()
        if fill.side is Side.BUY:
            folded.append(
                Trade(
                    id=PREFIX + fill.fill_id,
                    date=on,
                    account=account.name,
                    account_type=account.type,
                    symbol=fill.symbol,
                    side=Side.BUY,
                    qty=fill.qty,
                    amount=fill.qty * fill.price + fill.commission,
                    owner=account.owner,
                    order_id=fill.broker_order_id or fill.client_order_id,
                )
            )
            continue
        sale = _sale(folded, fill, on, account, policy, chosen(fill))
        if sale is not None:
            folded.append(sale)
    return folded


def _sale(
    trades: Sequence[Trade | Split],
    fill: Fill,
    on: date,
    account: HouseholdAccount,
    policy: TaxPolicy,
    chosen: Sequence[tuple[str, Decimal]],
) -> Trade | None:
    """Return the sell as the ledger would replay it: its relieved shares only, or None."""
    own = [t for t in trades if t.account == account.name]
    # Only lots acquired on or before the sale's day (`TaxLedger.remaining`): a reinvestment
    # folded before the fills may come later.
    held = [
        lot
        for lot in replay_trades(own, broker_view(policy)).lots(account.name, fill.symbol)
        if lot.acquired <= on
    ]
    left: dict[str, Decimal] = {}
    for lot in held:  # a lot split by a partial wash appears once per piece
        left[lot.source_id] = left.get(lot.source_id, _ZERO) + lot.qty
    need = fill.qty

    def take(picks: dict[str, Decimal], source_id: str, wanted: Decimal) -> None:
        nonlocal need
        amount = min(wanted, left.get(source_id, _ZERO), need)
        if amount > 0:
            picks[source_id] = picks.get(source_id, _ZERO) + amount
            left[source_id] -= amount
            need -= amount

    named: dict[str, Decimal] = {}
    for source_id, wanted in chosen:
        take(named, source_id, wanted)
    proceeds = amount_realized(fill.qty, fill.price, fill.commission)
    method = policy.method_for(account.name)
    # Specific identification without names is FIFO (Treas. Reg. §1.1012-1(c)(1)).
    ranked = rank(held, LotMethod.FIFO if method is LotMethod.SPECIFIC else method, on, fill.price)
    by_method: dict[str, Decimal] = {}
    for lot in ranked:
        take(by_method, lot.source_id, lot.qty)
    # The ledger stores the method's picks by lot id, the order lots were recorded, after the
    # chosen ones (`tax_sources.relieve`); the replay relieves them in that order, which
    # decides where a cent of the proceeds and a same-day wash fall: the same order here.
    folded = {t.id: n for n, t in enumerate(trades) if t.id.startswith(PREFIX)}

    def recorded(source_id: str) -> tuple[int, int]:
        # The ledger's lots by id (`lot-N`), then the fills folded here, which it records
        # after them in the order they were folded.
        if source_id in folded:
            return 1, folded[source_id]
        lot_id = lot_id_of(source_id)
        return 0, -1 if lot_id is None else lot_id

    picks = [*named.items(), *sorted(by_method.items(), key=lambda pick: recorded(pick[0]))]
    matched = fill.qty - need
    if matched <= 0:
        return None
    return Trade(
        id=PREFIX + fill.fill_id,
        date=on,
        account=account.name,
        account_type=account.type,
        symbol=fill.symbol,
        side=Side.SELL,
        qty=matched,
        # The matched shares' part of the proceeds, as `LedgerSale.matched_proceeds`.
        amount=proceeds if matched == fill.qty else cents(proceeds * matched / fill.qty),
        lots=tuple(LotPick(s, q) for s, q in picks),
        owner=account.owner,
    )
