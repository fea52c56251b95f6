"""Which IB holdings are trimtab's (`adapters.ibkr.account.listing_problem`): exactly those of
the SMART/USD contract the symbol qualifies to, by conId and currency, never by symbol."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from adapters.ibkr.account import Holding, listing_problem

TRADED_CON_ID = 55500002


@dataclass
class Contract:
    """The fields of ib_async's qualified `Contract` the check reads."""

    conId: int  # noqa: N815 (ib_async's name)
    primaryExchange: str  # noqa: N815 (ib_async's name)


NYSE_BMO = Contract(TRADED_CON_ID, "NYSE")


@given(
    con_id=st.sampled_from([TRADED_CON_ID, 55500001, 1]),
    currency=st.sampled_from(["USD", "CAD", "EUR", ""]),
)
@example(con_id=55500001, currency="CAD")  # BMO on the TSE: the audited case
@example(con_id=55500001, currency="USD")  # another USD listing of the symbol
@example(con_id=TRADED_CON_ID, currency="CAD")
def test_a_holding_is_trimtabs_only_when_it_is_the_traded_listing_in_usd(
    con_id: int, currency: str
) -> None:
    holding = Holding("BMO", con_id, "TSE", currency, Decimal(100))
    problem = listing_problem("main", holding, NYSE_BMO)
    if con_id == TRADED_CON_ID and currency == "USD":
        assert problem is None
    else:
        assert problem is not None
        assert f"(conId {con_id})" in problem
        assert f"conId {TRADED_CON_ID}" in problem
        assert "fix: sell or transfer that holding by hand" in problem


def test_a_holding_of_a_symbol_that_does_not_qualify_names_why_not_the_targets_fix() -> None:
    why = (
        "account main: IB has no SMART-routed USD stock or ETF TSXO (error 200) "
        "(fix: correct the symbol in the strategy's targets)"
    )
    problem = listing_problem("main", Holding("TSXO", 7, "TSE", "CAD", Decimal(30)), why)
    assert problem is not None
    assert "30 TSXO on TSE in CAD (conId 7)" in problem
    assert "IB has no SMART-routed USD stock or ETF TSXO (error 200)" in problem
    assert "strategy's targets" not in problem
