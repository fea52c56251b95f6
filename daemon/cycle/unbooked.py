"""The broker's fills the ledger lacks, as trades for a plan's tax replay, recorded nowhere.

A cycle that may trade records the fills first (reconciliation, then `TaxCycle.record`) and
replays the ledger with them. `trimtab plan` records nothing, yet must decide as that cycle
would: an owner's purchase at the broker since the last cycle is a replacement that washes a
loss sale, and its lots make the account's lots match the broker's position again. So the
plan reads the same fills and adds them to its replay in memory, as `record_fills`
(`daemon.store.tax_sources`) would record them: a buy is a lot; a sell relieves the lots the
plan of its cycle chose (specific identification only), then the account's method ranked on
the broker's view of its lots, and only the shares some lot covers enter the replay.
"""

from __future__ import annotations

__all__ = ["fold_fills"]

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from daemon.core.domain import Fill, Side
from daemon.core.money import cents
from daemon.core.tax.engine import replay_trades
from daemon.core.tax.relief import broker_view, rank
from daemon.core.tax.types import LotMethod, LotPick, Split, TaxPolicy, Trade, amount_realized
from daemon.store.tax_ledger import HouseholdAccount, lot_id_of

_ZERO = Decimal(0)
PREFIX = "unbooked-"
"""The trade id of a fill not in the ledger: never a ledger lot (`lot_id_of` is None)."""

Chosen = Callable[[Fill], Sequence[tuple[str, Decimal]]]
"""The lots (engine trade id, shares) the plan of a sell's cycle chose for it; none for an
order not trimtab's or an account whose method is not specific identification."""


def fold_fills(
    trades: Sequence[Trade | Split],
    fills: Sequence[Fill],
    *,
    account: HouseholdAccount,
    policy: TaxPolicy,
    timezone: ZoneInfo,
    chosen: Chosen,
) -> list[Trade | Split]:
    """Return `trades` (the ledger's) with `fills` of `account` added, oldest first.

    `fills` are the account's fills the ledger does not hold yet. Nothing is written.
    """
    folded = list(trades)
    for fill in sorted(fills, key=lambda f: (f.at, f.fill_id)):
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
    held = replay_trades(own, broker_view(policy)).lots(account.name, fill.symbol)
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
