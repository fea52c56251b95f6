"""Assemble the `Plan`: orders with reasons, the drift table before and after, plan notes."""

from __future__ import annotations

__all__ = ["assemble"]

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.core.domain import CASH, Side
from daemon.core.money import money
from daemon.core.planner.bands import decimal_limits, outside_band, pool_sums
from daemon.core.planner.book import Book
from daemon.core.planner.reasons import Why, order_reason, percent, row_note, unsold_note
from daemon.core.planner.rounding import Settled
from daemon.core.planner.types import DriftRow, Plan, PlannedOrder, PlanningPolicy
from daemon.core.records import later

_ZERO = Decimal(0)
_ONE = Decimal(1)
_KEPT = "kept: not managed"


def assemble(
    book: Book,
    policy: PlanningPolicy,
    *,
    settled: Settled,
    out_before: NDArray[np.bool_],
    rebalanced: bool,
    why: NDArray[np.int64],
    origin: NDArray[np.int64],
    raised: tuple[NDArray[np.float64], NDArray[np.bool_]],
    dropped: NDArray[np.float64],
    notes: list[str],
) -> Plan:
    """Return the plan for the settled orders, with a drift row per symbol and a CASH row."""
    nav = book.nav
    off = _off_target(book, policy, settled, rebalanced).tolist()
    targets = book.effective_targets()
    pools = None if book.limits.pools is None else book.limits.pools.of.tolist()
    limits = decimal_limits(book.bands, targets, pools)
    weights = [v / nav for v in book.value] if nav > 0 else [_ZERO] * book.size
    pooled = {} if pools is None else _pool_notes(book.symbols, pools, weights, targets, limits)
    # A multi-member pool's rows name its primary, so a later re-test can add them up again.
    symbols_pool = (
        [""] * book.size
        if pools is None
        else [book.symbols[pools[i]] if i in pooled else "" for i in range(book.size)]
    )
    out = out_before.tolist()
    listed = book.in_targets.tolist()
    purpose = origin.tolist()
    raise_steps, raise_all = raised[0].tolist(), raised[1].tolist()
    sells: list[PlannedOrder] = []
    buys: list[PlannedOrder] = []
    rows: list[DriftRow] = []
    noted: list[str] = []
    # Once per symbol of every plan: the columns zipped rather than indexed.
    for i, (
        symbol,
        qty,
        price,
        value,
        target,
        weight,
        (half, low, high),
        sold,
        bought,
    ) in enumerate(
        zip(
            book.symbols,
            book.qty,
            book.price,
            book.value,
            targets,
            weights,
            limits,
            settled.sell_qty,
            settled.buy_qty,
            strict=True,
        )
    ):
        after = qty
        if sold:
            after = qty - sold
            raises = _ZERO
            if raise_all[i] or raise_steps[i] > 0:
                # As `settle` turns phase A's increments into shares, within what is sold.
                part = qty if raise_all[i] else int(raise_steps[i]) * book.increment[i]
                raises = min(part, sold)
            sells.append(
                _order(
                    symbol,
                    Side.SELL,
                    sold,
                    price,
                    weight,
                    target,
                    half,
                    listed[i],
                    purpose[i],
                    raises or _ZERO,  # none raised: the field's default, as it was
                )
            )
        if bought:
            after = after + bought
            buys.append(
                _order(symbol, Side.BUY, bought, price, weight, target, half, listed[i], purpose[i])
            )
        note = ""
        if off[i]:
            note = _note(book, policy, i, int(why[i]), float(dropped[i]))
            noted.append(symbol)
        if i in pooled:
            note = f"{note}; {pooled[i]}" if note else pooled[i]
        # Positional, in field order: keyword arguments cost a third more on 5,000 rows.
        rows.append(
            DriftRow(
                symbol,
                qty,
                price,
                value,
                weight,
                target,
                low,
                high,
                out[i],
                True,  # managed
                after,
                weight if after is qty else _share(after * price, nav),
                note,
                symbols_pool[i],
            )
        )
    rows.extend(_kept_rows(book, policy))
    rows.append(_cash_row(book, settled.cash_after))
    return Plan(
        orders=tuple(sells + buys),
        drift=tuple(rows),
        nav=nav,
        cash_before=book.cash,
        cash_after=settled.cash_after,
        triggered=bool(out_before.any()),
        notes=tuple(notes + _summary(out_before, rebalanced, noted)),
        reserved_cash=book.reserved_cash,
    )


def _order(
    symbol: str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    weight: Decimal,
    target: Decimal,
    half: Decimal,
    in_targets: bool,
    origin: int,
    raises: Decimal = _ZERO,
) -> PlannedOrder:
    notional = qty * price
    # The reason is written when first read (`lazy_text`): most plans' never are.
    reason = later(
        order_reason,
        symbol=symbol,
        weight=weight,
        target=target,
        half_width=half,
        in_targets=in_targets,
        side=side,
        qty=qty,
        notional=notional,
        origin=origin,
    )
    return PlannedOrder(symbol, side, qty, price, notional, reason, raises)


def _note(book: Book, policy: PlanningPolicy, i: int, why: int, dropped: float) -> str:
    return row_note(
        why=Why(why),
        overweight=bool(book.values[i] > book.target_values[i]),
        in_targets=bool(book.in_targets[i]),
        buy_only=policy.buy_only,
        dropped=None if np.isnan(dropped) else Decimal(repr(dropped)),
        min_trade=policy.min_trade_words,
        increment=book.increment[i],
        fraction=book.qty[i] % book.increment[i],
    )


def _pool_notes(
    symbols: Sequence[str],
    pools: Sequence[int],
    weights: Sequence[Decimal],
    targets: Sequence[Decimal],
    limits: Sequence[tuple[Decimal, Decimal, Decimal]],
) -> dict[int, str]:
    """Return, for each member of a pool of more than one symbol (a primary and the
    alternates standing in for it), what the band test saw: "BBB with BBX: 45.8% vs target
    50.0% ±5.0pp"."""
    members: dict[int, list[int]] = {}
    for i, pool in enumerate(pools):
        members.setdefault(pool, []).append(i)
    weight, target = pool_sums(weights, pools), pool_sums(targets, pools)
    notes: dict[int, str] = {}
    for pool, group in members.items():
        if len(group) < 2:
            continue
        names = ", ".join(symbols[i] for i in group if i != pool)
        half = percent(limits[pool][0]).removesuffix("%")
        note = (
            f"{symbols[pool]} with {names}: {percent(weight[pool])} vs target "
            f"{percent(target[pool])} ±{half}pp"
        )
        notes.update(dict.fromkeys(group, note))
    return notes


def _off_target(
    book: Book, policy: PlanningPolicy, settled: Settled, rebalanced: bool
) -> NDArray[np.bool_]:
    """Return which holdings end outside their band, or (after a rebalance to target) further
    than one increment from it: the rows that owe the reader a note."""
    if book.nav_f <= 0:
        return book.targets > 0
    change = np.array(
        [float(b - s) for s, b in zip(settled.sell_qty, settled.buy_qty, strict=True)],
        dtype=np.float64,
    )
    values = book.values + change * book.prices
    off = outside_band(values / book.nav_f, book.limits, book.targets)
    if rebalanced and policy.rebalance_to == "target":
        miss = np.abs(values - book.target_values)
        off |= miss > book.unit_values + book.tolerance
    return off


def _kept_rows(book: Book, policy: PlanningPolicy) -> list[DriftRow]:
    """Return the rows of the holdings the plan does not manage: `keep` holdings, and those
    left unsold (`Book.unsold`: a target of 0, no sale possible), each note saying which."""
    unmanaged = [
        (symbol, qty, price, _KEPT)
        for symbol, qty, price in zip(book.kept, book.kept_qty, book.kept_price, strict=True)
    ]
    unmanaged += [
        (
            u.symbol,
            u.qty,
            u.price,
            unsold_note(
                qty=u.qty,
                price=u.price,
                sellable=u.sellable,
                whole_only=u.whole_only,
                min_trade=policy.min_trade_words,
            )[0],
        )
        for u in book.unsold
    ]
    rows = []
    for symbol, qty, price, note in sorted(unmanaged, key=lambda r: r[0]):
        weight = _share(qty * price, book.nav)
        rows.append(
            DriftRow(
                symbol=symbol,
                qty=qty,
                price=price,
                value=qty * price,
                weight=weight,
                target=_ZERO,
                low=_ZERO,
                high=_ZERO,
                out_of_band=False,
                managed=False,
                qty_after=qty,
                weight_after=weight,
                note=note,
            )
        )
    return rows


def _cash_row(book: Book, cash_after: Decimal) -> DriftRow:
    """Return the CASH row: all the account's cash, the reserved part with it (so the weights
    sum to 1), which its note names; `Plan.cash_before` and `cash_after` are the spendable."""
    target = _share(book.cash_target, book.nav)
    notes = []
    reserved = book.reserved_cash
    if reserved:
        notes.append(f"includes {money(reserved)} held by open buys at the broker: not spent")
    if cash_after < book.cash_need:
        notes.append(f"below the cash buffer and withdrawal ({money(book.cash_need)})")
    return DriftRow(
        symbol=CASH,
        qty=book.cash + reserved,
        price=_ONE,
        value=book.cash + reserved,
        weight=_share(book.cash + reserved, book.nav),
        target=target,
        low=target,
        high=target,
        out_of_band=False,
        managed=True,
        qty_after=cash_after + reserved,
        weight_after=_share(cash_after + reserved, book.nav),
        note="; ".join(notes),
    )


def _summary(out_before: NDArray[np.bool_], rebalanced: bool, noted: Sequence[str]) -> list[str]:
    notes = []
    if not rebalanced:
        if out_before.any():
            notes.append("the cash flows brought every holding back inside its band")
        else:
            notes.append("every holding is inside its band: no rebalance")
    if noted:
        names = ", ".join(noted[:10]) + (f" and {len(noted) - 10} more" if len(noted) > 10 else "")
        notes.append(f"staying off target (see their drift notes): {names}")
    return notes


def _share(value: Decimal, nav: Decimal) -> Decimal:
    return value / nav if nav > 0 else _ZERO
