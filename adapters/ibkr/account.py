"""The account as IB lists it, read purely: stock holdings by listing, and the cash trimtab
may spend.

IB keys a position by its contract id (conId), one per listing: BMO on the Toronto Stock
Exchange (CAD) and BMO on NYSE (USD) are two positions with one symbol. trimtab trades only
the SMART-routed USD listing a symbol qualifies to, so a holding of any other listing is
refused before planning: matched by symbol, it would be valued at the other listing's quote
and a sell of the symbol would go to the other listing (a short sale in a margin account),
leaving the holding where it was.

For a USD-base account IB reports `TotalCashValue` in USD with every currency converted, and
`CashBalance` once per currency held (and for `BASE`, the converted total). trimtab buys USD
listings and never converts currencies, so only the USD balance is spendable: a positive
balance in another currency is left out (the caller says so), and a negative one, a loan in
that currency, is refused, as trimtab never plans on margin.
"""

from __future__ import annotations

__all__ = ["Cash", "Holding", "cash_of", "holdings_of", "listing_problem"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.ibkr.parsing import account_value, decimal_or_none
from daemon.core.errors import DataError


@dataclass(frozen=True, slots=True)
class Holding:
    """One stock position at IB: a listing (conId) and how many shares of it."""

    symbol: str
    con_id: int
    exchange: str
    """The listing's exchange as IB sends it with the position (its primary, when given)."""
    currency: str
    qty: Decimal

    def named(self) -> str:
        """How a message names the holding: shares, symbol, exchange, currency and conId."""
        return (
            f"{self.qty} {self.symbol} on {self.exchange or '?'} in {self.currency or '?'} "
            f"(conId {self.con_id})"
        )


def holdings_of(positions: Iterable[Any]) -> tuple[Holding, ...]:
    """Read ib_async's `Position`s of one account: its stock holdings, zero ones left out."""
    found = []
    for position in positions:
        contract = position.contract
        qty = decimal_or_none(position.position)
        if contract.secType != "STK" or not qty:
            continue
        found.append(
            Holding(
                symbol=str(contract.symbol),
                con_id=int(contract.conId or 0),
                exchange=str(contract.primaryExchange or contract.exchange or ""),
                currency=str(contract.currency or ""),
                qty=qty,
            )
        )
    return tuple(found)


def listing_problem(account: str, holding: Holding, traded: Any | str) -> str | None:
    """Return why `holding` is not of the listing trimtab trades for its symbol, or None.

    `traded` is the qualified SMART/USD contract of the holding's symbol, or why the symbol
    does not qualify. A holding is trimtab's only if it is that very contract (same conId) and
    in USD.
    """
    if not isinstance(traded, str) and (
        holding.con_id == int(traded.conId) and holding.currency == "USD"
    ):
        return None
    if isinstance(traded, str):
        instead = f"{holding.symbol} has no US listing trimtab can trade ({_core(traded)})"
    else:
        instead = (
            f"trimtab trades {holding.symbol} as the SMART-routed USD listing on "
            f"{traded.primaryExchange or '?'} (conId {traded.conId}), so it would value this "
            "holding at that listing's price and a sell would go to that listing (a short sale "
            "in a margin account) and leave this holding as it is"
        )
    return (
        f"account {account}: IB holds {holding.named()}, not a listing trimtab trades: {instead} "
        "(fix: sell or transfer that holding by hand in TWS or Client Portal, or move it to an "
        "account trimtab does not manage; trimtab has no setting to leave a holding out, and "
        "policy.keep matches symbols, not listings)"
    )


def _core(why: str) -> str:
    """The reason a symbol did not qualify, without the account and the targets' fix."""
    core = why.split(": ", 1)[-1]
    return core.split(" (fix:", 1)[0]


@dataclass(frozen=True, slots=True)
class Cash:
    """The cash of a USD-base IB account as trimtab counts it."""

    usd: Decimal
    """The USD balance: all trimtab spends."""
    not_spent: Mapping[str, Decimal]
    """Positive balances in other currencies, by currency: not spent, not converted."""

    def named(self) -> str:
        """The balances left out, e.g. `EUR 10000.00, CAD 12.50`."""
        return ", ".join(f"{c} {v}" for c, v in self.not_spent.items())


def cash_of(values: Iterable[Any], account: str, acct: str) -> Cash:
    """Read the cash of IB account `acct` from its account values (`updateAccountValue`).

    Raises `DataError` naming the fix when the account's base currency is not USD (IB sends
    no `TotalCashValue` in USD) or it owes money in another currency.
    """
    values = list(values)
    total = account_value(values, acct, "TotalCashValue", "USD")
    if total is None:
        raise DataError(
            f"account {account}: IB sent no USD cash value for {acct} (fix: check that the "
            "account's base currency is USD and that IB Gateway is logged in)"
        )
    currencies = sorted(
        {
            str(v.currency)
            for v in values
            if v.account == acct and v.tag == "CashBalance" and v.currency not in ("", "BASE")
        }
    )
    balances = {c: account_value(values, acct, "CashBalance", c) for c in currencies}
    others = {c: b for c, b in balances.items() if c != "USD" and b is not None and b != 0}
    owed = {c: b for c, b in others.items() if b < 0}
    if owed:
        named = ", ".join(f"{c} {b}" for c, b in owed.items())
        raise DataError(
            f"account {account}: IB account {acct} has a negative cash balance of {named}, a "
            "loan in that currency; trimtab spends only USD and never plans on margin (fix: "
            "convert USD to cover it, or deposit it, in TWS or Client Portal)"
        )
    usd = balances.get("USD")
    if usd is None:
        # No USD line: with no other currency either, the total is the USD balance.
        usd = total if not others else Decimal(0)
    return Cash(usd=usd, not_spent=others)
