"""The operator's one-off withdrawal (`--withdraw`), checked against what the account holds.

A withdrawal larger than the whole account cannot be raised: the planner's cash-flow rule
would sell every holding and still fall short. Asked by hand (`run --once --withdraw`, `plan
--withdraw`), such an amount is almost always a typo (500000 for 50000), and selling
everything for it costs taxes and spreads. So the cycle refuses it as bad input, after the
snapshot is read and before targets are asked or anything is planned: the cycle fails
(audited, nothing sent), naming the account, the amount, the account's value and the fix.

This is input validation of the live cycle and of `trimtab plan`, not a planning rule: the
decision step (`daemon.core.decide`) and the planner are unchanged, so a backtest's scheduled
withdrawals (`--withdraw AMOUNT/month`) still deplete an account through the same rule.

The value is the account's cash plus every position at the snapshot's quotes, with nothing
taken off: not the cash buffer (the operator may take it out; the planner then keeps what it
can), not the trading costs (they are not known before the plan, and at most they make the
last cents short: the command's shortfall message covers that, as before). A withdrawal of
exactly the value is planned as it always was. When the cycle already keeps cash for the
month's income payout (`[income]`), the operator's amount must fit beside it.
"""

from __future__ import annotations

__all__ = ["WithdrawalTooLarge", "account_value", "check_withdrawal"]

from decimal import Decimal

from daemon.core.domain import AccountSnapshot
from daemon.core.errors import DataError
from daemon.core.money import cents_down, usd

_ZERO = Decimal(0)


class WithdrawalTooLarge(DataError):
    """The operator's withdrawal is more than the account holds: refused, nothing planned."""


def account_value(snapshot: AccountSnapshot) -> Decimal | None:
    """Return cash plus every position at the snapshot's quotes; None when a held position
    has no usable quote (the decision step's input check then names it)."""
    value = snapshot.cash
    for position in snapshot.positions:
        if position.qty == 0:
            continue
        quote = snapshot.quotes.get(position.symbol)
        price = quote.price if quote is not None else None
        if price is None or not price.is_finite() or price <= 0:
            return None
        value += position.qty * price
    return value


def check_withdrawal(
    account: str, snapshot: AccountSnapshot, asked: Decimal, *, kept: Decimal = _ZERO
) -> None:
    """Raise `WithdrawalTooLarge` when `asked` (the operator's `--withdraw`) is more than the
    account's value less `kept` (cash the cycle already keeps: the income payout's share)."""
    if asked <= 0:
        return
    value = account_value(snapshot)
    if value is None:
        return
    room = value - max(kept, _ZERO)
    if asked <= room:
        return
    most = max(cents_down(room), _ZERO)
    income = (
        f", of which {usd(kept)} is already kept for the month's income payout" if kept > 0 else ""
    )
    raise WithdrawalTooLarge(
        f"--withdraw {usd(asked)} for account {account} is more than the account holds: it is "
        f"worth {usd(cents_down(value))} (cash {usd(snapshot.cash)} plus its positions at the "
        f"snapshot's quotes{income}); selling everything could not raise it, so nothing was "
        f"planned or sent. Fix: ask for --withdraw {most} at most (check the amount), or sell "
        "by hand at the broker"
    )
