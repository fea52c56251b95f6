"""The operator's one-off withdrawal (`--withdraw`), checked against what trimtab may sell.

A withdrawal larger than the cash plus every holding trimtab may sell cannot be raised: the
planner's cash-flow rule would sell every holding it manages and still fall short. Asked by
hand (`run --once --withdraw`, `plan --withdraw`), such an amount is almost always a typo
(500000 for 50000), and selling everything for it costs taxes and spreads. So the cycle
refuses it as bad input, after the snapshot is read and before targets are asked or anything
is planned: the cycle fails (audited, nothing sent), naming the account, the amount, what it
may raise, the holdings left out and the fix.

This is input validation of the live cycle and of `trimtab plan`, not a planning rule: the
decision step (`daemon.core.decide`) and the planner are unchanged, so a backtest's scheduled
withdrawals (`--withdraw AMOUNT/month`) still deplete an account through the same rule.

The bound is the account's cash plus its positions at the snapshot's quotes, less the
holdings no cycle ever sells (`NeverSold`): `policy.keep` (the planner leaves them out),
`risk.restricted_symbols` and, when allowed symbols are set (`risk.allowed_symbols`,
`policy.allowed_symbols`), every other symbol (the pre-trade checks refuse any order in
them, a sale too). Only these hard rules: a wash-sale guard gives way when the other
holdings cannot raise the cash, and an open order ends; neither is left out. Nothing else is
taken off: not the cash buffer (the operator may take it out; the planner then keeps what it
can), not the trading costs (they are not known before the plan, and at most they make the
last cents short: the command's shortfall message covers that, as before). A withdrawal of
exactly the bound is planned as it always was. When the cycle already keeps cash for the
month's income payout (`[income]`), the operator's amount must fit beside it.
"""

from __future__ import annotations

__all__ = ["NeverSold", "WithdrawalTooLarge", "account_value", "check_withdrawal", "never_sold"]

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from daemon.config.policy import risk_config
from daemon.config.settings import Settings
from daemon.core.domain import AccountSnapshot
from daemon.core.errors import DataError
from daemon.core.money import cents_down, usd

_ZERO = Decimal(0)


class WithdrawalTooLarge(DataError):
    """The operator's withdrawal is more than trimtab may raise: refused, nothing planned."""


@dataclass(frozen=True, slots=True)
class NeverSold:
    """The symbols an account's cycles never sell, whatever the withdrawal."""

    keep: frozenset[str] = frozenset()
    """`policy.keep`: the planner leaves them out of the plan."""
    restricted: frozenset[str] = frozenset()
    """`risk.restricted_symbols`: the pre-trade checks refuse every order in them."""
    allowed: frozenset[str] = frozenset()
    """The account's allowed symbols (empty: any); the checks refuse orders in any other."""

    def why(self, symbol: str) -> str | None:
        """Return why `symbol` is never sold, or None when a cycle may sell it."""
        if symbol in self.keep:
            return "is kept (policy.keep)"
        if symbol in self.restricted:
            return "is on risk.restricted_symbols"
        if self.allowed and symbol not in self.allowed:
            return "is not on the allowed symbols (risk.allowed_symbols, policy.allowed_symbols)"
        return None


def never_sold(settings: Settings, account: str) -> NeverSold:
    """Return what `account`'s cycles never sell, from its configuration."""
    configured = settings.account(account)
    risk = risk_config(configured, settings.risk)
    return NeverSold(
        keep=frozenset(configured.policy.keep),
        restricted=risk.restricted_symbols,
        allowed=risk.allowed_symbols,
    )


def account_value(snapshot: AccountSnapshot, *, leave_out: Collection[str] = ()) -> Decimal | None:
    """Return cash plus every position at the snapshot's quotes, less those in `leave_out`;
    None when a held position has no usable quote (the decision step's input check then
    names it)."""
    value = snapshot.cash
    for position in snapshot.positions:
        if position.qty == 0:
            continue
        quote = snapshot.quotes.get(position.symbol)
        price = quote.price if quote is not None else None
        if price is None or not price.is_finite() or price <= 0:
            return None
        if position.symbol not in leave_out:
            value += position.qty * price
    return value


def check_withdrawal(
    account: str,
    snapshot: AccountSnapshot,
    asked: Decimal,
    *,
    kept: Decimal = _ZERO,
    unsold: NeverSold = NeverSold(),
) -> None:
    """Raise `WithdrawalTooLarge` when `asked` (the operator's `--withdraw`) is more than the
    account's cash plus the holdings a cycle may sell (all but `unsold`'s), less `kept` (cash
    the cycle already keeps: the income payout's share)."""
    if asked <= 0:
        return
    held = sorted(p.symbol for p in snapshot.positions if p.qty != 0)
    reasons = {s: why for s in held if (why := unsold.why(s)) is not None}
    value = account_value(snapshot, leave_out=reasons)
    if value is None:
        return
    room = value - max(kept, _ZERO)
    if asked <= room:
        return
    most = max(cents_down(room), _ZERO)
    income = (
        f", of which {usd(kept)} is already kept for the month's income payout" if kept > 0 else ""
    )
    fix = "(check the amount), or sell by hand at the broker"
    # Cash the broker holds for the owner's open orders is the account's but never spent:
    # said apart, so the message does not tell the owner the account is worth less than it is.
    reserved = max(snapshot.reserved_cash, _ZERO)
    if reasons or reserved:
        out = sum(
            (
                p.qty * snapshot.quotes[p.symbol].price
                for p in snapshot.positions
                if p.symbol in reasons
            ),
            start=_ZERO,
        )  # priced: account_value saw to it
        left_out = [f"{s} {why} and never sold" for s, why in reasons.items()]
        if reasons:
            left_out[-1] += f" ({usd(cents_down(out))} of holdings left out)"
        if reserved:
            left_out.append(
                f"{usd(reserved)} of cash is held by the broker (for open orders, or beyond "
                "its buying power) and never spent"
            )
        what = (
            f"is more than trimtab can raise in the account: it may raise "
            f"{usd(cents_down(value))} (cash {usd(snapshot.cash)} plus the positions it may "
            f"sell at the snapshot's quotes{income}); "
            + "; ".join(left_out)
            + "; selling everything it may sell"
        )
        frees = []
        if reasons:
            frees.append("take a holding off the list that keeps it unsold first")
        if reserved:
            frees.append("cancel any open orders at the broker to free their cash")
        fix = f"(check the amount), {', '.join(frees)}, or sell by hand at the broker"
    else:
        what = (
            f"is more than the account holds: it is worth {usd(cents_down(value))} (cash "
            f"{usd(snapshot.cash)} plus its positions at the snapshot's quotes{income}); "
            "selling everything"
        )
    raise WithdrawalTooLarge(
        f"--withdraw {usd(asked)} for account {account} {what} could not raise it, so nothing "
        f"was planned or sent. Fix: ask for --withdraw {most} at most {fix}"
    )
