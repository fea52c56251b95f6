"""The fake TWS's book keeping: fills move positions, cash and commissions as IB would.

If the fake's arithmetic drifted, a broker adapter tested against it would be checked
against wrong numbers; these properties pin it for any order of fills.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.tws.model import Commissions, ServerOrder, TwsState
from tests.fakes.tws.states import FIRST, VTI
from tests.hypothesis_profiles import scaled

prices = st.decimals(min_value=Decimal("0.50"), max_value=Decimal("900"), places=2)
orders = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=4),
        prices,
    ),
    min_size=1,
    max_size=6,
)


def book(start_shares: int) -> TwsState:
    state = TwsState()
    state.add_instrument(VTI)
    state.add_account(FIRST, "100000")
    if start_shares:
        state.set_position(FIRST, VTI.con_id, start_shares, "100")
    return state


def an_order(state: TwsState, action: str, quantity: int) -> ServerOrder:
    order = ServerOrder(
        order_id=len(state.orders) + 1,
        client_id=1,
        perm_id=state.new_perm_id(),
        account=FIRST,
        con_id=VTI.con_id,
        action=action,
        quantity=Decimal(quantity),
        order_type="MKT",
        limit_price=None,
        tif="DAY",
        order_ref=f"o{len(state.orders)}",
        outside_rth=False,
        status="Submitted",
    )
    state.orders[order.perm_id] = order
    return order


@settings(max_examples=scaled(200))
@given(start=st.integers(min_value=0, max_value=500), plan=orders)
def test_fills_add_up_to_positions_cash_and_per_order_commissions(
    start: int, plan: list[tuple[str, list[int], Decimal]]
) -> None:
    state = book(start)
    shares, cash = Decimal(start), Decimal(100000)
    for action, executions, price in plan:
        order = an_order(state, action, sum(executions))
        for quantity in executions:
            state.record_fill(order, Decimal(quantity), price)
        fills = [e for e in state.executions if e.perm_id == order.perm_id]
        sign = 1 if action == "BUY" else -1
        shares += sign * order.quantity
        cash -= sign * order.quantity * price + sum(e.commission for e in fills)
        assert order.status == "Filled"
        assert order.filled == sum(e.shares for e in fills) == order.quantity
        assert [e.cum_qty for e in fills][-1] == order.quantity
        assert order.average_price == price
        # IB's minimum is per order however it is split into executions.
        assert sum(e.commission for e in fills) == Commissions().of(
            order.quantity, order.quantity * price
        )
        assert all(e.commission >= 0 for e in fills)
    account = state.accounts[FIRST]
    held = account.holdings.get(VTI.con_id)
    assert (held.quantity if held else Decimal(0)) == shares
    assert account.cash["USD"] == cash


@settings(max_examples=scaled(200))
@given(
    bought=st.integers(min_value=1, max_value=300),
    sold=st.integers(min_value=1, max_value=300),
    buy=prices,
    sell=prices,
)
def test_a_sale_realizes_the_difference_to_the_average_cost(
    bought: int, sold: int, buy: Decimal, sell: Decimal
) -> None:
    state = book(0)
    state.record_fill(an_order(state, "BUY", bought), Decimal(bought), buy)
    cost = state.accounts[FIRST].holdings[VTI.con_id].average_cost
    sale = state.record_fill(an_order(state, "SELL", sold), Decimal(sold), sell)
    closed = min(bought, sold)
    assert sale.realized_pnl == (sell - cost) * closed - sale.commission
    left = state.accounts[FIRST].holdings.get(VTI.con_id)
    if bought == sold:
        assert left is None
    elif sold < bought:
        assert left is not None
        assert (left.quantity, left.average_cost) == (bought - sold, cost)
    else:  # through zero: the rest is a short opened at the sale price
        assert left is not None
        assert (left.quantity, left.average_cost) == (bought - sold, sell)
