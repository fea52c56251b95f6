"""Turn a validated `PlanInput` into float64 arrays indexed by sorted symbol, once per plan."""

from __future__ import annotations

__all__ = ["Book", "Unsold", "open_book"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.core.domain import CASH
from daemon.core.planner.bands import BandLimits, band_limits
from daemon.core.planner.types import Band, PlanInput, PlanningPolicy

_ZERO = Decimal(0)
_ONE = Decimal(1)

VALUE_TOLERANCE = 1e-12
"""Fraction of the managed value below which two float amounts are the same amount.

Float64 sums of a few thousand values drift by about 1e-15 of the total; this is far above
that and far below a cent on any account a person holds.
"""


@dataclass(frozen=True, slots=True)
class Unsold:
    """A held holding with a target of 0 that no order can sell, left as it is.

    What a sale of it could sell (all of it; in a symbol the broker takes in whole increments
    only, its whole increments) is worth less than the minimum trade: dust a dividend
    reinvestment or a rounding left. It is out of the managed value, as a `keep` holding is,
    so it sets off no rebalance and its money is not counted as there to invest; a plan in
    which its sale reaches the minimum trade (its price rose) sells it.
    """

    symbol: str
    qty: Decimal
    price: Decimal
    sellable: Decimal
    """The quantity a sale of it would sell: `qty`, or its whole increments."""
    whole_only: bool
    """The broker takes the symbol in whole increments only."""


@dataclass(frozen=True, slots=True)
class Book:
    """The managed part of an account as arrays, and the cash figures the phases work to.

    Arrays are indexed like `symbols` (sorted). Values are in currency, weights are fractions of
    `nav`. `targets` and `target_values` are the effective targets, after any scaling for the
    cash buffer and withdrawal.
    """

    symbols: tuple[str, ...]
    qty: tuple[Decimal, ...]
    price: tuple[Decimal, ...]
    value: tuple[Decimal, ...]
    unit_value: tuple[Decimal, ...]
    increment: tuple[Decimal, ...]
    bands: tuple[Band, ...]
    in_targets: NDArray[np.bool_]
    values: NDArray[np.float64]
    prices: NDArray[np.float64]
    unit_values: NDArray[np.float64]
    max_steps: NDArray[np.float64]
    targets: NDArray[np.float64]
    target_values: NDArray[np.float64]
    limits: BandLimits
    kept: tuple[str, ...]
    kept_qty: tuple[Decimal, ...]
    kept_price: tuple[Decimal, ...]
    unsold: tuple[Unsold, ...]
    """Held target-0 holdings no order can sell (`Unsold`): out of `symbols` and `nav`."""
    cash: Decimal
    """The cash the plan may spend."""
    reserved_cash: Decimal
    """Cash held but not to be spent (`PlanInput.reserved_cash`): in `nav` only."""
    nav: Decimal
    cash_weight: Decimal
    cash_target: Decimal
    cash_need: Decimal
    withdrawal: Decimal
    sale_costs: Decimal
    target_scale: Decimal
    raw_targets: tuple[Decimal, ...]
    raises_from: NDArray[np.bool_]
    """The holdings the cash flows may sell to raise cash (not in `PlanInput.raise_without`)."""
    fraction_left: NDArray[np.bool_]
    """The holdings the broker takes in whole increments only (`whole_shares_only`) that hold
    a fraction besides: selling them sells at most `max_steps` increments, never the whole."""

    @property
    def size(self) -> int:
        """Return the number of managed symbols."""
        return len(self.symbols)

    @property
    def nav_f(self) -> float:
        """Return the managed value as a float."""
        return float(self.nav)

    @property
    def tolerance(self) -> float:
        """Return the currency amount below which the phases treat an amount as zero."""
        return VALUE_TOLERANCE * max(self.nav_f, 1.0)

    @property
    def scaled(self) -> bool:
        """Return whether the holdings' targets were scaled down to make room for cash."""
        return self.target_scale != _ONE

    def effective_targets(self) -> list[Decimal]:
        """Return the effective target weights as Decimals."""
        if not self.scaled:
            return list(self.raw_targets)
        scale = self.target_scale
        return [raw * scale for raw in self.raw_targets]


def open_book(inp: PlanInput, policy: PlanningPolicy) -> Book:
    """Build the arrays for `inp`; the input must have passed `validate_plan_input`."""
    everything = sorted((inp.holdings.keys() | inp.targets.keys()) - {CASH})
    keep = policy.keep
    managed = [s for s in everything if s not in keep] if keep else everything
    unsold = _unsold(inp, policy)
    if unsold:
        left = {u.symbol for u in unsold}
        managed = [s for s in managed if s not in left]
    symbols = tuple(managed)
    kept = tuple(s for s in everything if s in keep)
    # List comprehensions with bound methods: this runs over every symbol of every plan.
    held, quote, goal = inp.holdings.get, inp.prices.__getitem__, inp.targets.get
    steps, default_step = policy.increment_overrides.get, policy.share_increment
    qty = tuple([held(s, _ZERO) for s in symbols])
    price = tuple([quote(s) for s in symbols])
    increment = tuple([steps(s, default_step) for s in symbols])
    raw_targets = tuple([goal(s, _ZERO) for s in symbols])

    value = tuple([q * p for q, p in zip(qty, price, strict=True)])
    # Reserved cash is the account's (its weights are of the whole account) but never spent:
    # it is in the value, not in `cash`.
    nav = inp.cash + inp.reserved_cash + sum(value, _ZERO)
    cash_weight = inp.targets.get(CASH, _ZERO)
    cash_need = policy.cash_buffer + inp.withdrawal + inp.sale_costs
    cash_target, scale = _cash_target(nav, cash_weight, cash_need)

    q, p, step = _floats(qty), _floats(price), _floats(increment)
    targets = _floats(raw_targets) * float(scale)
    band_of, default_band = policy.band_overrides.get, policy.default_band
    bands = tuple([band_of(s, default_band) for s in symbols])
    return Book(
        symbols=symbols,
        qty=qty,
        price=price,
        value=value,
        unit_value=tuple([a * b for a, b in zip(increment, price, strict=True)]),
        increment=increment,
        bands=bands,
        in_targets=_in_targets(symbols, inp, some_left=bool(unsold)),
        values=q * p,
        prices=p,
        unit_values=step * p,
        # Exact in Decimal: a float quotient could round up past what is held.
        max_steps=_floats([a // b for a, b in zip(qty, increment, strict=True)]),
        targets=targets,
        target_values=targets * float(nav),
        limits=band_limits(bands, targets, _pools(symbols, inp.stand_ins)),
        kept=kept,
        kept_qty=tuple(inp.holdings.get(s, _ZERO) for s in kept),
        kept_price=tuple(inp.prices[s] for s in kept),
        unsold=unsold,
        cash=inp.cash,
        reserved_cash=inp.reserved_cash,
        nav=nav,
        cash_weight=cash_weight,
        cash_target=cash_target,
        cash_need=cash_need,
        withdrawal=inp.withdrawal,
        sale_costs=inp.sale_costs,
        target_scale=scale,
        raw_targets=raw_targets,
        raises_from=(
            np.array([s not in inp.raise_without for s in symbols], dtype=bool)
            if inp.raise_without
            else np.ones(len(symbols), dtype=bool)
        ),
        fraction_left=_fraction_left(symbols, qty, increment, policy.whole_shares_only),
    )


def _floats(values: Sequence[Decimal]) -> NDArray[np.float64]:
    """Return `values` as float64s, each `float(value)` (numpy's loop over `map`: half the
    time of a list of floats, once per symbol of every plan)."""
    return np.fromiter(map(float, values), dtype=np.float64, count=len(values))


def _pools(symbols: tuple[str, ...], stand_ins: Mapping[str, str]) -> NDArray[np.intp] | None:
    """Return each symbol's pool for the band test: the index of the primary its alternates'
    chain ends in (`PlanInput.stand_ins`, checked: in the targets, so managed, and ending),
    or None when none stands in."""
    if not stand_ins:
        return None
    index = {s: i for i, s in enumerate(symbols)}
    pools = np.arange(len(symbols), dtype=np.intp)
    for alternate, primary in stand_ins.items():
        root = primary
        while root in stand_ins:
            root = stand_ins[root]
        pools[index[alternate]] = index[root]
    return pools


def _fraction_left(
    symbols: tuple[str, ...],
    qty: tuple[Decimal, ...],
    increment: tuple[Decimal, ...],
    whole_only: frozenset[str],
) -> NDArray[np.bool_]:
    """Return which holdings the broker takes in whole increments only hold a fraction of one."""
    flags = np.zeros(len(symbols), dtype=bool)
    if whole_only:
        for i, symbol in enumerate(symbols):
            flags[i] = symbol in whole_only and qty[i] % increment[i] != 0
    return flags


def _unsold(inp: PlanInput, policy: PlanningPolicy) -> tuple[Unsold, ...]:
    """Return the held holdings not in `keep` with a target of 0 that no order can sell.

    A primary or an alternate standing in for it (`PlanInput.stand_ins`) is never one: its
    pool is tested as one holding, with the pool's target.
    """
    holdings, targets = inp.holdings, inp.targets
    # Most holdings have a target above 0: look only at the others.
    zero = holdings.keys() - targets.keys()
    zero.update(s for s, weight in targets.items() if not weight and s in holdings)
    zero -= policy.keep | inp.stand_ins.keys() | set(inp.stand_ins.values()) | {CASH}
    found: list[Unsold] = []
    least = policy.min_trade
    whole_only = policy.whole_shares_only
    for symbol in zero:
        qty = holdings[symbol]
        if qty <= 0:
            continue
        price = inp.prices[symbol]
        # What the rounding module would sell of it (rule 1 of `rounding`), then drop as
        # below the minimum trade (rule 4).
        sellable = qty
        if symbol in whole_only:
            step = policy.increment_for(symbol)
            sellable = qty // step * step
        if sellable * price < least:
            found.append(Unsold(symbol, qty, price, sellable, symbol in whole_only))
    return tuple(sorted(found, key=lambda u: u.symbol))


def _in_targets(symbols: tuple[str, ...], inp: PlanInput, *, some_left: bool) -> NDArray[np.bool_]:
    # Every target symbol is managed, none left unsold: the targets cover every symbol.
    if not some_left and len(inp.targets) - (CASH in inp.targets) == len(symbols):
        return np.ones(len(symbols), dtype=bool)
    return np.array([s in inp.targets for s in symbols], dtype=bool)


def _cash_target(nav: Decimal, cash_weight: Decimal, need: Decimal) -> tuple[Decimal, Decimal]:
    """Return the cash target and the factor the other targets are scaled by to make room."""
    wanted = cash_weight * nav
    if need <= wanted:
        return wanted, _ONE
    rest = nav - wanted
    if rest <= 0:
        return need, _ZERO
    return need, max(_ZERO, nav - need) / rest
