"""Split the household's target into per-account targets that together hit it.

The split is one small linear programme over x[a, s], the value account `a` is to hold of
symbol `s` (CASH included), in fractions of the household's value. Its costs are ranked so
that, in this order:

1. the household target is met (deviation costs 100,000 per unit);
2. taxable holdings with a gain (or an unknown gain) are kept rather than sold (1,000), so the
   difference is made up by trades in the IRA and Roth accounts (`avoid_taxable_gains`);
3. location preferences are met (100 per step down a preference list, weighted by the
   preference's place in the list: the first listed wins contested room);
4. trades are few (0.1 per unit traded): among equally good splits, the one closest to what
   is held, so the split is stable from one cycle to the next.

Each step's least cost per unit exceeds the most the later steps can save per unit, so the
order holds (the property tests check 1 and 3). Bounds carry the accounts' restrictions: a
symbol an account may not trade stays as held, a buy-only account never goes below what it
holds, and each account keeps its cash need (buffer and withdrawal) in cash, as far as it
can end with that much (negative cash, a fee or a pending debit, stays negative). A held
symbol outside the household strategy's universe (`universe`: a `max_turnover` blend keeping
some of a symbol it moves out of) is never more in any account than that account holds: each
member's own check lets such a symbol only be held or sold, never bought; so no account need
be able to trade it (only a universe symbol no account may hold is a `ConfigError`). When the
household's cash need exceeds its CASH target, the other targets are scaled down in
proportion, as each account's planner does.

The result's weights are of each account's managed value, summing to 1, for the account's
own planner: each account is then planned as on its own, with its own bands and tax rules.
"""

from __future__ import annotations

__all__ = ["split_household"]

from collections.abc import Collection, Sequence
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

import numpy as np

from daemon.core.domain import CASH, AccountType
from daemon.core.errors import ConfigError, DataError
from daemon.core.household.check import rule_problems
from daemon.core.household.location import preference_for, rank
from daemon.core.household.types import (
    AccountSplit,
    HouseholdAccount,
    HouseholdRow,
    HouseholdRules,
    HouseholdSplit,
    Placement,
)

W_DEVIATION = 100_000.0
W_TAXABLE_SALE = 1_000.0
W_LOCATION = 100.0
W_TRADE = 0.1
WEIGHT_PLACES = Decimal("0.000000001")
TINY = 1e-9
"""Below this fraction of the household, a value is rounding noise."""
_ZERO = Decimal(0)


def split_household(
    rules: HouseholdRules,
    accounts: Sequence[HouseholdAccount],
    *,
    universe: Collection[str] | None = None,
) -> HouseholdSplit:
    """Return per-account targets that add up to `rules.targets` as far as the accounts'
    cash and restrictions allow, with the household's drift and a reason per placement.

    `universe` is the symbols the household's targets may buy (its strategy's `universe()`,
    the fixed targets' symbols; not the members' tax alternates, which only the tax step
    buys); a symbol outside it stays at most what each account holds of it. None: every
    symbol may be bought (placed in any account).

    Raise `ConfigError` for rules no holdings can meet (a symbol of the universe no account
    may hold), and `DataError` for a household worth 0 or less for a member's negative cash.
    """
    symbols = _universe(rules, accounts)
    outside = frozenset() if universe is None else frozenset(symbols[:-1]) - set(universe)
    problems = rule_problems(_buyable(rules, outside), {a.name: a.restrictions for a in accounts})
    if problems:
        raise ConfigError(problems)
    household = sum((a.value for a in accounts), _ZERO)
    if household <= 0:
        owing = [a for a in accounts if a.cash < 0]
        if owing:
            # A split of a household worth nothing gives every member only cash: a member
            # free to sell would sell all it holds for another member's debit.
            raise DataError(_worth_nothing(household, owing))
        return _empty_split(rules, accounts, symbols)
    problem = _Problem(rules, accounts, symbols, float(household), outside)
    x = problem.solve()
    return _result(rules, accounts, symbols, household, problem, x)


def _worth_nothing(household: Decimal, owing: Sequence[HouseholdAccount]) -> str:
    debts = "; ".join(f"account {a.name} has negative cash ({a.cash:.2f})" for a in owing)
    return (
        f"the household is worth {household:.2f} in all: {debts}, more than the other "
        "accounts hold, so no split can place the household's targets and nothing is "
        "planned; bring that cash to 0 or above (a deposit, or settle the debit) at the broker"
    )


def _buyable(rules: HouseholdRules, outside: frozenset[str]) -> HouseholdRules:
    """Return `rules` with the weight of each `outside` symbol moved to CASH, for the check
    of what the accounts may hold: such a symbol is only held or sold, never bought, so no
    account need be able to trade it (a dropped holding on `risk.restricted_symbols` or off
    an account's `allowed_symbols` stays as held, and a blend keeping it is no config error)."""
    moved = sum((w for s, w in rules.targets.items() if s in outside), _ZERO)
    if not moved:
        return rules
    targets = {s: _ZERO if s in outside else w for s, w in rules.targets.items()}
    targets[CASH] = targets.get(CASH, _ZERO) + moved
    return replace(rules, targets=targets)


def _universe(rules: HouseholdRules, accounts: Sequence[HouseholdAccount]) -> tuple[str, ...]:
    held = {s for a in accounts for s, v in a.holdings.items() if v > 0}
    return (*sorted((set(rules.targets) | held) - {CASH}), CASH)


class _Problem:
    """The linear programme, its bounds and costs; values are fractions of the household."""

    def __init__(
        self,
        rules: HouseholdRules,
        accounts: Sequence[HouseholdAccount],
        symbols: tuple[str, ...],
        household: float,
        outside: frozenset[str] = frozenset(),
    ) -> None:
        self.rules, self.accounts, self.symbols = rules, accounts, symbols
        self.household = household
        n_acc, n_sym = len(accounts), len(symbols)
        self.held = np.zeros((n_acc, n_sym))
        self.lo = np.zeros((n_acc, n_sym))
        self.hi = np.zeros((n_acc, n_sym))
        self.value = np.zeros(n_acc)
        self.sale_cost = np.zeros((n_acc, n_sym))
        self.location_cost = np.zeros((n_acc, n_sym))
        cash_col = n_sym - 1
        for i, account in enumerate(accounts):
            for j, symbol in enumerate(symbols[:-1]):
                self.held[i, j] = float(account.holdings.get(symbol, _ZERO)) / household
            # Reserved cash (held by open buys) is part of the account's value, counted with
            # its cash; but it is an open buy's money on its way into a holding, as the
            # planner treats it: the split need not keep it in cash (the member's planner
            # never spends it, and would keep that much of its spendable cash idle besides).
            reserved = float(account.reserved_cash) / household
            self.held[i, cash_col] = float(account.cash) / household + reserved
            self.value[i] = self.held[i].sum()
            for j, symbol in enumerate(symbols[:-1]):
                if not account.may_trade(symbol):
                    self.lo[i, j] = self.hi[i, j] = self.held[i, j]
                else:
                    self.lo[i, j] = self.held[i, j] if account.buy_only else 0.0
                    # Negative cash (a fee, a pending debit) leaves the value below a
                    # buy-only holding: it still keeps what it holds.
                    self.hi[i, j] = max(self.value[i], self.lo[i, j])
                    if symbol in outside:
                        # Each member may only hold or sell it: moved to another member, that
                        # member's weight would exceed its holding and its decide refuse it.
                        self.hi[i, j] = min(self.hi[i, j], self.held[i, j])
                if self._sale_taxed(account, symbol) and self.lo[i, j] < self.hi[i, j]:
                    self.sale_cost[i, j] = W_TAXABLE_SALE
                found = preference_for(rules, symbol)
                if found is not None:
                    index, preference = found
                    weight = (len(rules.location) - index) / len(rules.location)
                    self.location_cost[i, j] = W_LOCATION * weight * rank(preference, account.type)
            pinned = self.lo[i, :cash_col].sum()
            need = float(account.cash_need) / household
            # The most cash the account can end with: what it holds when it may not sell,
            # else its value less what it may not sell. It keeps its cash need up to that;
            # when that is negative, its cash stays negative (never asked to hold more).
            room = self.held[i, cash_col] if account.buy_only else self.value[i] - pinned
            self.lo[i, cash_col] = min(max(need, 0.0), room)
            self.hi[i, cash_col] = room if account.buy_only else max(self.value[i], room)
        self.targets = self._effective_targets()

    def _sale_taxed(self, account: HouseholdAccount, symbol: str) -> bool:
        if not self.rules.avoid_taxable_gains or account.type is not AccountType.TAXABLE:
            return False
        if account.holdings.get(symbol, _ZERO) <= 0:
            return False
        gain = account.gains.get(symbol)
        return gain is None or gain > 0

    def _effective_targets(self) -> np.ndarray:
        """The household targets, the non-cash ones scaled down when the accounts' cash needs
        exceed the CASH target (each account's planner does the same)."""
        wanted = np.array([float(self.rules.targets.get(s, _ZERO)) for s in self.symbols])
        need = np.maximum(self.lo[:, -1], 0.0).sum()
        if need <= wanted[-1]:
            return wanted
        rest = 1.0 - wanted[-1]
        scale = max(0.0, 1.0 - need) / rest if rest > 0 else 0.0
        scaled = wanted * scale
        scaled[-1] = need
        return scaled

    def solve(self) -> np.ndarray:
        # Imported here: scipy.optimize takes a second or more to import, and every cycle
        # imports the engine, while only a household's cycles split.
        from scipy import sparse
        from scipy.optimize import linprog

        n_acc, n_sym = self.held.shape
        n_x = n_acc * n_sym
        # Variables: x (n_x), trade size u (n_x), taxable sale y (n_x), deviation +/- (n_sym).
        n_var = 3 * n_x + 2 * n_sym
        cost = np.concatenate(
            [
                self.location_cost.ravel(),
                np.full(n_x, W_TRADE),
                self.sale_cost.ravel(),
                np.full(2 * n_sym, W_DEVIATION),
            ]
        )
        # Sparse: a household of 10 accounts and 100 symbols has 3,000 variables.
        eq = sparse.vstack(
            [
                # Each account holds exactly its value...
                sparse.hstack(
                    [
                        sparse.kron(sparse.eye(n_acc), np.ones((1, n_sym))),
                        sparse.csr_matrix((n_acc, n_var - n_x)),
                    ]
                ),
                # ...and the accounts together hold each symbol's target, give or take the
                # deviations.
                sparse.hstack(
                    [
                        sparse.kron(np.ones((1, n_acc)), sparse.eye(n_sym)),
                        sparse.csr_matrix((n_sym, 2 * n_x)),
                        -sparse.eye(n_sym),
                        sparse.eye(n_sym),
                    ]
                ),
            ],
            format="csr",
        )
        eq_rhs = np.concatenate([self.value, self.targets])
        held = self.held.ravel()
        identity = sparse.eye(n_x, format="csr")
        zero = sparse.csr_matrix((n_x, n_x))
        devs = sparse.csr_matrix((n_x, 2 * n_sym))
        # u >= x - h, u >= h - x, y >= h - x: written as A @ v <= b.
        ub = sparse.vstack(
            [
                sparse.hstack([identity, -identity, zero, devs]),
                sparse.hstack([-identity, -identity, zero, devs]),
                sparse.hstack([-identity, zero, -identity, devs]),
            ],
            format="csr",
        )
        ub_rhs = np.concatenate([held, -held, -held])
        bounds = (
            list(zip(self.lo.ravel(), self.hi.ravel(), strict=True))
            + [(0.0, None)] * (2 * n_x)
            + [(0.0, None)] * (2 * n_sym)
        )
        result = linprog(
            cost, A_ub=ub, b_ub=ub_rhs, A_eq=eq, b_eq=eq_rhs, bounds=bounds, method="highs"
        )
        if result.status != 0 or result.x is None:
            raise DataError(
                f"the household split found no solution: {self._why_infeasible()}({result.message})"
            )
        x = np.clip(result.x[:n_x].reshape(n_acc, n_sym), self.lo, self.hi)
        # HiGHS meets each account's value only to its tolerance (1e-7 of the household), much
        # of a small account's value. Weighed against a row's own sum, a row short of it would
        # scale every holding up, a symbol outside the universe past what the account holds:
        # the shortfall is cash. A row over it is scaled down (cash taking the excess could
        # go negative), which never raises a weight above what the account holds.
        x[:, -1] += np.maximum(self.value - x.sum(axis=1), 0.0)
        return np.asarray(x, dtype=np.float64)

    def _why_infeasible(self) -> str:
        """Name the accounts whose bounds leave no way to hold exactly their value, and why."""
        tol = TINY * max(1.0, float(np.abs(self.held).sum()))
        causes = []
        for i, account in enumerate(self.accounts):
            low, high = self.lo[i].sum(), self.hi[i].sum()
            crossed = bool((self.lo[i] > self.hi[i] + tol).any())
            if not crossed and low - tol <= self.value[i] <= high + tol:
                continue
            cash = self.held[i, -1] * self.household
            may = "may not sell" if account.buy_only else "holds what it may not trade"
            what = f"account {account.name}"
            if cash < 0:
                what += f" has negative cash ({cash:.2f}) and"
            causes.append(
                f"{what} {may}: it must hold between {low * self.household:.2f} and "
                f"{high * self.household:.2f} but is worth {self.value[i] * self.household:.2f}"
            )
        return "; ".join(causes) + " " if causes else ""


def _weights(row: np.ndarray, symbols: tuple[str, ...]) -> dict[str, Decimal]:
    """Return the row's weights as Decimals summing to exactly 1, none negative.

    Negative cash (a fee, a pending debit a buy-only account cannot sell to cover) is left
    out and the holdings weighed of their own sum: folded into the largest weight, cash
    beyond the largest holding made it negative, and the member's decide then blamed
    the household's targets ("weight of VTI is negative") instead of naming the negative
    cash, which it refuses (it never plans on margin).
    """
    if float(row.sum()) <= TINY:
        return {CASH: Decimal(1)}
    row = np.maximum(row, 0.0)
    total = float(row.sum())
    weights = {
        s: Decimal(repr(float(v) / total)).quantize(WEIGHT_PLACES)
        for s, v in zip(symbols, row, strict=True)
        if v / total > TINY
    }
    weights = {s: w for s, w in weights.items() if w > 0}
    largest = max(weights, key=lambda s: (weights[s], s))
    weights[largest] += Decimal(1) - sum(weights.values(), _ZERO)
    return weights


def _result(
    rules: HouseholdRules,
    accounts: Sequence[HouseholdAccount],
    symbols: tuple[str, ...],
    household: Decimal,
    problem: _Problem,
    x: np.ndarray,
) -> HouseholdSplit:
    splits = tuple(
        AccountSplit(
            account=a.name,
            type=a.type,
            value=a.value,
            targets=MappingProxyType(_weights(x[i], symbols)),
        )
        for i, a in enumerate(accounts)
    )
    rows = _rows(rules, accounts, symbols, household, problem, x)
    placements = tuple(_placements(rules, accounts, symbols, household, problem, x))
    return HouseholdSplit(
        value=household,
        accounts=splits,
        rows=rows,
        placements=placements,
        notes=tuple(_notes(rows, placements)),
        targets_from=rules.targets_from,
        reasons=rules.reasons,
    )


def _fraction(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.000001"))


def _money(value: float, household: Decimal) -> Decimal:
    return (Decimal(repr(value)) * household).quantize(Decimal("0.01"))


def _rows(
    rules: HouseholdRules,
    accounts: Sequence[HouseholdAccount],
    symbols: tuple[str, ...],
    household: Decimal,
    problem: _Problem,
    x: np.ndarray,
) -> tuple[HouseholdRow, ...]:
    half = float(rules.band_pp) / 100.0
    rows = []
    for j, symbol in enumerate(symbols):
        weight = float(problem.held[:, j].sum())
        target = float(problem.targets[j])
        low, high = max(0.0, target - half), min(1.0, target + half)
        by_type: dict[str, Decimal] = {}
        for i, account in enumerate(accounts):
            if x[i, j] > TINY:
                key = str(account.type)
                by_type[key] = by_type.get(key, _ZERO) + _money(float(x[i, j]), household)
        rows.append(
            HouseholdRow(
                symbol=symbol,
                value=_money(weight, household),
                weight=_fraction(weight),
                target=_fraction(target),
                planned=_fraction(float(x[:, j].sum())),
                low=_fraction(low) if symbol != CASH else _fraction(target),
                high=_fraction(high) if symbol != CASH else _fraction(target),
                out_of_band=symbol != CASH and not low - TINY <= weight <= high + TINY,
                by_type=MappingProxyType(by_type),
            )
        )
    return tuple(rows)


def _placements(
    rules: HouseholdRules,
    accounts: Sequence[HouseholdAccount],
    symbols: tuple[str, ...],
    household: Decimal,
    problem: _Problem,
    x: np.ndarray,
) -> list[Placement]:
    placements = []
    for i, account in enumerate(accounts):
        for j, symbol in enumerate(symbols[:-1]):
            held, planned = float(problem.held[i, j]), float(x[i, j])
            if held <= TINY and planned <= TINY:
                continue
            placements.append(
                Placement(
                    account=account.name,
                    symbol=symbol,
                    held=_money(held, household),
                    value=_money(planned, household),
                    reason=_reason(rules, account, symbol, held, planned, problem, i, j),
                    choice=_choice(rules, account, symbol, held, planned),
                )
            )
    return placements


def _choice(
    rules: HouseholdRules, account: HouseholdAccount, symbol: str, held: float, planned: float
) -> int | None:
    if not account.may_trade(symbol) or (account.buy_only and planned <= held + TINY):
        return None
    found = preference_for(rules, symbol)
    return None if found is None else rank(found[1], account.type) + 1


def _reason(
    rules: HouseholdRules,
    account: HouseholdAccount,
    symbol: str,
    held: float,
    planned: float,
    problem: _Problem,
    i: int,
    j: int,
) -> str:
    where = f"{account.name} ({account.type})"
    if not account.may_trade(symbol):
        return f"held in {where}, which may not trade {symbol}: kept as it is"
    if account.buy_only and planned <= held + TINY:
        return f"held in {where}, a buy-only account: never sold"
    kept = problem.sale_cost[i, j] > 0 and planned >= held - TINY
    found = preference_for(rules, symbol)
    if found is None:
        place = f"{symbol} has no location preference"
        base = f"{place}: kept in {where} to trade least" if held > TINY else f"{place}: {where}"
    else:
        _, preference = found
        choice = rank(preference, account.type)
        order = ", ".join(str(t) for t in preference.prefer)
        label = preference.assets if preference.assets == symbol else f"{preference.assets}"
        base = f"{label} prefer {order}: {where} is choice {choice + 1}"
        if choice > 0 and planned > TINY:
            base += " (the better places are full, restricted, or hold taxable gains)"
    if kept and held > TINY:
        return f"{base}; kept in taxable: selling would realize a gain"
    return base


def _notes(rows: Sequence[HouseholdRow], placements: Sequence[Placement]) -> list[str]:
    notes = [
        f"{row.symbol}: the household target {row.target:.2%} cannot be reached now "
        f"(the accounts can hold {row.planned:.2%}): buy-only accounts, holdings that may not "
        "be traded, or cash that must stay in cash keep it off"
        for row in rows
        if abs(row.planned - row.target) > Decimal("0.000010")
    ]
    notes += [
        f"{p.symbol} in {p.account}: {p.reason}"
        for p in placements
        if p.value > 0 and p.choice is not None and p.choice > 1
    ]
    return notes


def _empty_split(
    rules: HouseholdRules, accounts: Sequence[HouseholdAccount], symbols: tuple[str, ...]
) -> HouseholdSplit:
    """Nothing to split: every account holds nothing, so each keeps cash for now."""
    rows = tuple(
        HouseholdRow(
            symbol=s,
            value=_ZERO,
            weight=_ZERO,
            target=rules.targets.get(s, _ZERO),
            planned=_ZERO,
            low=_ZERO,
            high=_ZERO,
            out_of_band=False,
            by_type=MappingProxyType({}),
        )
        for s in symbols
    )
    return HouseholdSplit(
        value=_ZERO,
        accounts=tuple(
            AccountSplit(a.name, a.type, _ZERO, MappingProxyType({CASH: Decimal(1)}))
            for a in accounts
        ),
        rows=rows,
        placements=(),
        notes=("the household holds nothing yet: no split",),
        targets_from=rules.targets_from,
        reasons=rules.reasons,
    )
