"""A sell that raises cash is never washed for good (an IRA purchase of the group in the
last 30 days, Rev. Rul. 2008-5) while another holding could raise the cash unwashed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.core.decide import decide
from daemon.core.domain import AccountType, Side
from tests.fakes.tax_household import Household
from tests.hypothesis_profiles import scaled
from tests.unit.test_decide_raising_wash import BOUGHT, TODAY
from tests.unit.test_decide_raising_wash import given as decision_input

D = Decimal
SETTINGS = settings(max_examples=scaled(60), deadline=None)
PRICES = st.integers(min_value=40, max_value=140).map(D)


@SETTINGS
@given(
    vti_price=PRICES,
    bnd_price=PRICES,
    ira_buys=st.sets(st.sampled_from(("VTI", "BND"))),
    withdrawal=st.integers(min_value=0, max_value=9_000).map(D),
    loss_sales=st.sampled_from(("defer", "allow")),
)
@example(D(60), D(90), {"VTI"}, D(1000), "defer")  # the audit's case
@example(D(60), D(90), {"VTI"}, D(1000), "allow")
def test_a_raising_sell_is_never_permanently_washed_when_another_holding_could_raise_it(
    vti_price: Decimal,
    bnd_price: Decimal,
    ira_buys: set[str],
    withdrawal: Decimal,
    loss_sales: str,
) -> None:
    h = Household()
    h.account("brokerage")
    h.account("ira", AccountType.TRADITIONAL_IRA)
    h.buy("brokerage", "VTI", BOUGHT, 100, 10_000)
    h.buy("brokerage", "BND", BOUGHT, 50, 5_000)
    for symbol in sorted(ira_buys):
        h.buy("ira", symbol, TODAY - timedelta(days=7), 10, 600)
    prices = {"VTI": vti_price, "BND": bnd_price}
    given_ = decision_input(h, withdrawal=withdrawal, loss_sales=loss_sales, prices=prices)
    decision = decide(given_)
    book = given_.tax.book
    held = {p.symbol: p.qty for p in given_.snapshot.positions}
    for order in decision.plan.orders:
        if order.side is not Side.SELL or order.raises <= 0:
            continue
        preview = book.preview_sale(
            "brokerage", order.symbol, order.qty, TODAY, order.qty * order.price
        )
        if preview.permanent <= 0:
            continue
        others = D(0)
        for symbol, qty in held.items():
            whole = book.preview_sale("brokerage", symbol, qty, TODAY, qty * prices[symbol])
            if symbol != order.symbol and whole.disallowed == 0:
                others += qty * prices[symbol]
        assert others < withdrawal, (order, others)
