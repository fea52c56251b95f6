"""Which account raises how much of a month's income: cash first, then sales, least tax first.

Pure. The caller hands in each account's cash and the sale candidates: slices of lots, each
with its value at today's price, its unrealized gain, its term and whether selling it now
would be a wash sale (the tax engine's what-if preview says so); this module only orders and
takes them.

The order, cheapest first:
1. cash above the cash buffer (dividends and interest that arrived, unspent deposits) of the
   payout account, then of the taxable accounts; an IRA's or a Roth's comes in step 2;
2. sales of the overweight part of holdings, then (only if that is not enough) of the rest,
   each pass ordered by
   - account type: taxable, then tax-deferred (traditional IRA), then Roth;
   - in a taxable account: losses, then long-term gains, then short-term gains;
   - the payout account before the others (its cash needs no transfer), then the largest
     loss (or smallest gain per dollar) first, then account, symbol and lot, for a stable order.
A loss that would be washed is never sold; a gain is sold only as far as the account's gains
budget for its term has room (losses are not counted as extending that room: the budget is
kept even if a loss sale were later disallowed). A sale in an IRA realizes nothing taxable
inside the account, but taking cash out of it is a distribution, so it comes after taxable.
So does an IRA's or a Roth's free cash: after every taxable sale, just before the sales of
its own tier in the below-target pass (traditional before Roth).

The plan's withdrawal per account is what that account keeps in cash for the payout; the
account's own cycle turns it into orders through the planner's cash-flow rules (decide() is
the one place orders are decided). Cash raised outside the payout account has to be moved by
the owner: trimtab cannot move cash between accounts or brokers, so each such amount is a
`Transfer` the plan reports.
"""

from __future__ import annotations

__all__ = [
    "AccountCash",
    "IncomeTooLarge",
    "RaisePlan",
    "RaisedSale",
    "SaleCandidate",
    "Skipped",
    "Transfer",
    "raise_cash",
    "sale_order_key",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from daemon.core.domain import AccountType
from daemon.core.errors import ConfigError, ConfigProblem
from daemon.core.money import cents_down, cents_up, money
from daemon.core.tax.types import Term

_ZERO = Decimal(0)

TIER = MappingProxyType(
    {AccountType.TAXABLE: 0, AccountType.TRADITIONAL_IRA: 1, AccountType.ROTH_IRA: 2}
)
"""Which account type gives cash first (taxable before tax-deferred before Roth)."""


class IncomeTooLarge(ConfigError):
    """The month's income cannot be raised without breaking a cash buffer or the tax rules."""


@dataclass(frozen=True, slots=True)
class AccountCash:
    """An account's cash as the snapshot gives it, and the buffer its policy keeps."""

    account: str
    account_type: AccountType
    cash: Decimal
    cash_buffer: Decimal

    @property
    def free(self) -> Decimal:
        return max(self.cash - self.cash_buffer, _ZERO)


@dataclass(frozen=True, slots=True)
class SaleCandidate:
    """Shares of one lot that may be sold: `value` at today's price, `gain` on them."""

    account: str
    account_type: AccountType
    symbol: str
    lot: str
    value: Decimal
    gain: Decimal
    """Unrealized gain on `value` (negative: a loss); 0 in an IRA (nothing is realized)."""
    term: Term
    washed: bool = False
    """Selling it now would be a wash sale (the what-if preview disallows part of its loss)."""
    overweight: bool = True
    """The part of a holding above its target; the rest is sold only if this is not enough."""

    @property
    def character(self) -> int:
        """0 a loss (or an IRA), 1 a long-term gain, 2 a short-term gain."""
        if self.account_type is not AccountType.TAXABLE or self.gain <= 0:
            return 0
        return 1 if self.term is Term.LONG else 2


def sale_order_key(c: SaleCandidate, payout_account: str) -> tuple[object, ...]:
    """Return the key sales are taken in (smallest first): see the module's docstring."""
    per_dollar = c.gain / c.value if c.value > 0 else _ZERO
    return (
        0 if c.overweight else 1,
        TIER[c.account_type],
        c.character,
        0 if c.account == payout_account else 1,
        per_dollar,
        c.account,
        c.symbol,
        c.lot,
    )


@dataclass(frozen=True, slots=True)
class RaisedSale:
    """A slice of a candidate the plan expects to be sold, and why it comes where it does."""

    candidate: SaleCandidate
    value: Decimal
    gain: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A candidate left unsold, and why (a wash sale, the gains budget)."""

    candidate: SaleCandidate
    reason: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """Cash the owner must move into the payout account: trimtab cannot move it."""

    from_account: str
    to_account: str
    amount: Decimal
    note: str


@dataclass(frozen=True, slots=True)
class RaisePlan:
    """How one month's income is raised."""

    amount: Decimal
    payout_account: str
    from_cash: Mapping[str, Decimal]
    sales: tuple[RaisedSale, ...]
    skipped: tuple[Skipped, ...]
    withdrawals: Mapping[str, Decimal]
    """Per account: the cash it keeps for the payout (cash used plus sales); the amount fed
    to its cycle as a withdrawal."""
    transfers: tuple[Transfer, ...]
    shortfall: Decimal

    @property
    def raised(self) -> Decimal:
        return self.amount - self.shortfall

    def check(self, plan_name: str = "income") -> None:
        """Raise `IncomeTooLarge` when the plan cannot raise the whole amount."""
        if self.shortfall <= 0:
            return
        held_back = (
            f"; {len(self.skipped)} lot(s) were held back by the wash-sale and gains-budget rules"
            if self.skipped
            else ""
        )
        raise IncomeTooLarge(
            [
                ConfigProblem(
                    plan_name,
                    f"the income plan needs {money(self.amount)} this month but the household "
                    f"can raise only {money(self.raised)} without going below the accounts' "
                    f"cash buffers{held_back}",
                    "lower income.monthly_amount (or income.annual_pct), lower the accounts' "
                    "policy.cash_buffer, or add cash; nothing was sold",
                )
            ]
        )


def raise_cash(
    amount: Decimal,
    payout_account: str,
    accounts: Sequence[AccountCash],
    candidates: Sequence[SaleCandidate],
    gains_room: Mapping[str, Mapping[Term, Decimal | None]],
) -> RaisePlan:
    """Return how `amount` is raised across `accounts`; `gains_room` is each taxable account's
    remaining gains budget this year by term (None or absent: no cap)."""
    need = max(amount, _ZERO)
    from_cash: dict[str, Decimal] = {}
    sales: list[RaisedSale] = []
    skipped: list[Skipped] = []
    room = {a: dict(r) for a, r in gains_room.items()}
    for source in _sources(payout_account, accounts, candidates):
        if need <= 0:
            break
        if isinstance(source, AccountCash):
            take = min(cents_down(source.free), need)
            if take > 0:
                from_cash[source.account] = take
                need -= take
            continue
        c = source
        if c.value <= 0:
            continue
        if c.washed and c.gain < 0:
            skipped.append(
                Skipped(c, f"selling {c.symbol} lot {c.lot} at a loss now would be a wash sale")
            )
            continue
        take = min(c.value, need)
        gain = c.gain * take / c.value
        if c.account_type is AccountType.TAXABLE and gain > 0:
            limit = room.get(c.account, {}).get(c.term)
            if limit is not None:
                if limit <= 0:
                    skipped.append(
                        Skipped(c, f"the {c.term} gains budget of {c.account} is used up")
                    )
                    continue
                if gain > limit:
                    take = cents_down(c.value * limit / c.gain)
                    gain = c.gain * take / c.value
                    skipped.append(
                        Skipped(
                            c, f"the {c.term} gains budget of {c.account} allows only part of it"
                        )
                    )
                    if take <= 0:
                        continue
                room[c.account][c.term] = limit - gain
        sales.append(RaisedSale(c, take, gain, _why(c, payout_account)))
        need -= take
    withdrawals: dict[str, Decimal] = dict(from_cash)
    for s in sales:
        withdrawals[s.candidate.account] = withdrawals.get(s.candidate.account, _ZERO) + s.value
    transfers = tuple(
        Transfer(
            account,
            payout_account,
            cents_up(value),
            _transfer_note(next(a.account_type for a in accounts if a.account == account)),
        )
        for account, value in sorted(withdrawals.items())
        if account != payout_account and value > 0
    )
    return RaisePlan(
        amount=amount,
        payout_account=payout_account,
        from_cash=MappingProxyType(from_cash),
        sales=tuple(sales),
        skipped=tuple(skipped),
        # A cash need: rounded up to the cent, so the payout is never a rounding short.
        withdrawals=MappingProxyType({a: cents_up(v) for a, v in withdrawals.items()}),
        transfers=transfers,
        shortfall=max(need, _ZERO),
    )


def _sources(
    payout_account: str, accounts: Sequence[AccountCash], candidates: Sequence[SaleCandidate]
) -> list[AccountCash | SaleCandidate]:
    """Return the cash and the sale candidates in the order they are taken.

    The payout account's cash and the taxable accounts' cash come first. Cash in a
    traditional IRA or a Roth that is not the payout account is a distribution once moved
    out, so it ranks with that account's sales: after every taxable sale (the below-target
    pass's included), before the sales of its own tier in that pass, traditional before Roth.
    """
    first = sorted(
        (a for a in accounts if a.account == payout_account or _taxable(a.account_type)),
        key=lambda a: (a.account != payout_account, a.account),
    )
    keyed: list[tuple[tuple[object, ...], AccountCash | SaleCandidate]] = [
        (sale_order_key(c, payout_account), c) for c in candidates
    ]
    keyed += [
        # The below-target pass (1), its tier, before any sale of that tier (-1).
        ((1, TIER[a.account_type], -1, 0, _ZERO, a.account, "", ""), a)
        for a in accounts
        if a.account != payout_account and not _taxable(a.account_type)
    ]
    keyed.sort(key=lambda pair: pair[0])
    return [*first, *(source for _, source in keyed)]


def _taxable(account_type: AccountType) -> bool:
    return account_type is AccountType.TAXABLE


def _why(c: SaleCandidate, payout_account: str) -> str:
    part = "overweight" if c.overweight else "below-target (overweights were not enough)"
    if c.account_type is not AccountType.TAXABLE:
        what = f"{c.account_type} account: nothing realized in the account"
    elif c.gain <= 0:
        what = f"a {c.term}-term loss of {money(-c.gain)}"
    else:
        what = f"a {c.term}-term gain of {money(c.gain)}"
    where = "" if c.account == payout_account else f"; to be moved to {payout_account}"
    return f"{part} {c.symbol} in {c.account}, {what}{where}"


def _transfer_note(account_type: AccountType) -> str:
    if account_type is AccountType.TAXABLE:
        return "move it to the payout account at its broker"
    return f"a distribution from a {account_type} account: taxes and rules of the account apply"
