"""The cash trimtab spends at IB (`adapters.ibkr.account.cash_of`): the USD balance only,
never IB's converted total of every currency; a debt in another currency is refused."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.ibkr.account import cash_of
from daemon.core.errors import DataError

ACCT = "DU1234567"
RATES = {"EUR": Decimal("1.08"), "CAD": Decimal("0.73")}


@dataclass(frozen=True)
class Value:
    """ib_async's `AccountValue` (values are strings, as IB sends them)."""

    account: str
    tag: str
    value: str
    currency: str


def values(usd: Decimal, others: dict[str, Decimal]) -> list[Value]:
    """What IB sends a USD-base account: totals converted, a CashBalance per currency."""
    total = usd + sum((v * RATES[c] for c, v in others.items()), Decimal(0))
    found = [
        Value(ACCT, "TotalCashValue", f"{total:.2f}", "USD"),
        Value(ACCT, "CashBalance", f"{total:.2f}", "BASE"),
        Value(ACCT, "CashBalance", f"{usd:.2f}", "USD"),
    ]
    found += [Value(ACCT, "CashBalance", f"{v:.2f}", c) for c, v in others.items()]
    return found


money = st.decimals(min_value=-(10**7), max_value=10**7, places=2)


@given(usd=money, eur=money, cad=money)
@example(usd=Decimal(0), eur=Decimal(10000), cad=Decimal(0))  # the audited account
@example(usd=Decimal(5000), eur=Decimal("0.37"), cad=Decimal(0))  # a dividend's leftover
def test_only_the_usd_balance_is_spendable(usd: Decimal, eur: Decimal, cad: Decimal) -> None:
    sent = values(usd, {"EUR": eur, "CAD": cad})
    if eur < 0 or cad < 0:
        with pytest.raises(DataError, match="negative cash balance of"):
            cash_of(sent, "main", ACCT)
        return
    cash = cash_of(sent, "main", ACCT)
    assert cash.usd == usd
    assert dict(cash.not_spent) == {c: v for c, v in {"CAD": cad, "EUR": eur}.items() if v}


def test_a_usd_only_account_without_a_usd_line_spends_its_total() -> None:
    sent = [Value(ACCT, "TotalCashValue", "1234.50", "USD")]
    assert cash_of(sent, "main", ACCT).usd == Decimal("1234.50")


def test_a_non_usd_base_account_is_refused_with_the_fix() -> None:
    sent = [Value(ACCT, "TotalCashValue", "1000.00", "CAD")]
    with pytest.raises(DataError, match="base currency is USD"):
        cash_of(sent, "main", ACCT)


def test_another_accounts_balances_are_not_read() -> None:
    sent = [*values(Decimal(100), {}), Value("DU7654321", "CashBalance", "-50.00", "EUR")]
    assert cash_of(sent, "main", ACCT).usd == Decimal(100)
