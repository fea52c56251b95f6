"""Properties of the check of an operator's `--withdraw` against the account's value:

- it refuses exactly the amounts above cash plus positions at the quotes, less the cash the
  cycle already keeps for an income payout; at or below, it lets the cycle go on unchanged;
- a refusal names the account, the amount and the value, and offers an amount that passes;
- an account with a held symbol it cannot price is left to the decision step's input check;
- holdings no cycle sells (`policy.keep`, `risk.restricted_symbols`, outside the allowed
  symbols) are left out of the bound, and a refusal names each one.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.domain import AccountSnapshot, Position, Quote
from daemon.core.money import usd
from daemon.cycle.withdrawal import (
    NeverSold,
    WithdrawalTooLarge,
    account_value,
    check_withdrawal,
)
from tests.hypothesis_profiles import scaled

D = Decimal
NOW = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=scaled(300), deadline=None)

cash = st.decimals(min_value=-1000, max_value=10**7, places=2)
qty = st.decimals(min_value=0, max_value=10**5, places=3)
price = st.decimals(min_value=D("0.01"), max_value=10**4, places=2)
holdings = st.dictionaries(st.sampled_from(("VTI", "BND", "VXUS")), st.tuples(qty, price))
amount = st.decimals(min_value=0, max_value=10**8, places=2)


def snapshot(money: Decimal, held: dict[str, tuple[Decimal, Decimal]]) -> AccountSnapshot:
    return AccountSnapshot(
        account="main",
        as_of=NOW,
        cash=money,
        positions=tuple(Position(s, q) for s, (q, _) in held.items()),
        quotes={s: Quote(s, p, NOW, "test") for s, (_, p) in held.items()},
    )


@SETTINGS
@given(cash, holdings, amount, st.sampled_from([D(0), D(0), D("250.00")]))
@example(D("100.00"), {}, D("100.00"), D(0))
@example(D("100.00"), {}, D("100.01"), D(0))
@example(D(0), {"VTI": (D("1.001"), D("99.99"))}, D("100.09"), D(0))
def test_refused_exactly_above_the_value(
    money: Decimal, held: dict[str, tuple[Decimal, Decimal]], asked: Decimal, kept: Decimal
) -> None:
    account = snapshot(money, held)
    value = money + sum((q * p for q, p in held.values()), start=D(0))
    assert account_value(account) == value
    if asked == 0 or asked <= value - kept:
        check_withdrawal("main", account, asked, kept=kept)
        return
    with pytest.raises(WithdrawalTooLarge) as refused:
        check_withdrawal("main", account, asked, kept=kept)
    message = str(refused.value)
    assert "account main" in message
    assert usd(asked) in message
    found = re.search(r"--withdraw (\S+) at most", message)
    assert found is not None
    offered = D(found.group(1))
    assert offered >= 0
    if offered > 0:  # the amount it offers passes
        check_withdrawal("main", account, offered, kept=kept)


@given(cash, amount)
def test_an_unpriced_holding_is_left_to_the_input_check(money: Decimal, asked: Decimal) -> None:
    account = AccountSnapshot(
        account="main", as_of=NOW, cash=money, positions=(Position("VTI", D(3)),), quotes={}
    )
    assert account_value(account) is None
    check_withdrawal("main", account, asked)


SYMBOLS = ("VTI", "BND", "VXUS")
symbol_sets = st.frozensets(st.sampled_from(SYMBOLS))
unsold_rules = st.builds(NeverSold, keep=symbol_sets, restricted=symbol_sets, allowed=symbol_sets)


@SETTINGS
@given(cash, holdings, amount, st.sampled_from([D(0), D(0), D("250.00")]), unsold_rules)
@example(
    D("1000.00"),
    {"VTI": (D(594), D("100.00")), "BND": (D(792), D("50.00"))},
    D("99999.00"),
    D(0),
    NeverSold(keep=frozenset({"BND"})),
)
def test_holdings_never_sold_are_left_out_of_the_bound(
    money: Decimal,
    held: dict[str, tuple[Decimal, Decimal]],
    asked: Decimal,
    kept: Decimal,
    unsold: NeverSold,
) -> None:
    account = snapshot(money, held)
    out = {s for s, (q, _) in held.items() if q != 0 and unsold.why(s) is not None}
    sellable = money + sum((q * p for s, (q, p) in held.items() if s not in out), start=D(0))
    assert account_value(account, leave_out=out) == sellable
    if asked == 0 or asked <= sellable - kept:
        check_withdrawal("main", account, asked, kept=kept, unsold=unsold)
        return
    with pytest.raises(WithdrawalTooLarge) as refused:
        check_withdrawal("main", account, asked, kept=kept, unsold=unsold)
    message = str(refused.value)
    assert "account main" in message
    assert usd(asked) in message
    for symbol in out:  # each holding left out is named, with why
        assert f"{symbol} {unsold.why(symbol)} and never sold" in message
    for symbol in set(SYMBOLS) - out:
        assert f"{symbol} is" not in message
    found = re.search(r"--withdraw (\S+) at most", message)
    assert found is not None
    offered = D(found.group(1))
    assert offered >= 0
    if offered > 0:  # the amount it offers passes
        check_withdrawal("main", account, offered, kept=kept, unsold=unsold)


@given(symbol_sets, symbol_sets, symbol_sets, st.sampled_from(SYMBOLS))
def test_never_sold_is_the_hard_rules(
    keep: frozenset[str], restricted: frozenset[str], allowed: frozenset[str], symbol: str
) -> None:
    rules = NeverSold(keep=keep, restricted=restricted, allowed=allowed)
    blocked = symbol in keep or symbol in restricted or (bool(allowed) and symbol not in allowed)
    assert (rules.why(symbol) is not None) == blocked


@SETTINGS
@given(cash, holdings, amount, st.decimals(min_value=D("0.01"), max_value=10**6, places=2))
@example(D(2000), {"VTI": (D(500), D(100))}, D(55000), D(8000))  # a reviewer's case
def test_cash_held_for_open_orders_is_left_out_and_said(
    money: Decimal, held: dict[str, tuple[Decimal, Decimal]], asked: Decimal, reserved: Decimal
) -> None:
    """Cash the broker holds for the owner's open orders is never spent: it is not in the
    bound, and a refusal says it is held apart rather than calling the account worth less
    than it is."""
    account = dataclasses.replace(snapshot(money, held), reserved_cash=reserved)
    bound = account_value(account)
    assert bound is not None
    try:
        check_withdrawal("main", account, asked)
    except WithdrawalTooLarge as refused:
        assert asked > 0
        assert asked > bound
        said = " ".join(str(refused).split())
        assert f"{usd(reserved)} of cash is held by the broker (for open orders, or" in said
        assert "cancel any open orders at the broker" in said
        assert "is more than the account holds" not in said
        return
    assert asked <= 0 or asked <= bound
