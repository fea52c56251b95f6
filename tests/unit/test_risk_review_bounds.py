"""The pre-trade review leaves out the checks that pass every order of a review: those of the
cycle's state, and those an order's own numbers or the review's totals pass for every order
(all priced, above the minimum trade, under the caps, the counts and turnover within their
limits even were every order approved). Leaving them out never changes a decision: the review
decides as running every check on every order, in order, would."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core import risk
from daemon.core.domain import Side
from daemon.core.planner import PlannedOrder
from daemon.core.risk import RiskConfig, RiskState, review_orders
from tests.hypothesis_profiles import scaled

D = Decimal
Outcome = tuple[str, bool, str, str, tuple[str, ...]]


def every_check_on_every_order(
    orders: tuple[PlannedOrder, ...], config: RiskConfig, state: RiskState
) -> list[Outcome]:
    """The review as first written: every check on every order, in order, until one denies."""
    review = risk._Review(config, state, state.cash - config.cash_buffer, dict(state.holdings))
    out: list[Outcome] = []
    for planned in sorted(orders, key=lambda o: o.side != Side.SELL):
        passed: list[str] = []
        denial = ("all", "passed every check")
        for check, rule in risk._RULES:
            reason = rule(planned, review)
            if reason is not None:
                denial = (str(check), reason)
                break
            passed.append(str(check))
        if denial[0] == "all":
            review.approved += 1
            review.traded += planned.notional
            if planned.side is Side.SELL:
                review.spendable += planned.notional
                review.unsold[planned.symbol] -= planned.qty
            else:
                review.spendable -= planned.notional
        out.append((planned.symbol, denial[0] == "all", *denial, tuple(passed)))
    return out


symbols = st.sampled_from(["A", "B", "A", "B", "C", "D"])
HELD = {"A": D(20), "B": D(20), "C": D("0.5")}


@settings(max_examples=scaled(500), deadline=None)
@given(data=st.data())
def test_leaving_out_checks_that_pass_every_order_changes_no_decision(data: st.DataObject) -> None:
    planned = data.draw(
        st.lists(
            st.tuples(
                symbols,
                st.sampled_from(list(Side)),
                # Mostly orders the other checks pass (A and B are held), now and then not.
                st.decimals(min_value=0, max_value=4, places=3),
                st.decimals(min_value=0, max_value=120, places=2),
            ),
            max_size=6,
        ),
        label="planned",
    )
    orders = tuple(PlannedOrder(s, side, q, p, q * p, "r") for s, side, q, p in planned)
    notionals = [o.notional for o in orders] or [D(0)]
    total = sum(notionals, D(0))
    nav = data.draw(st.decimals(min_value=1, max_value=20000, places=2), label="nav")

    # One limit near what the orders reach (so that its check both passes and denies, the
    # last orders only when the earlier ones used the room up), the others mostly loose.
    tight = data.draw(
        st.sampled_from(["min", "cap", "pct", "cycle", "minute", "turnover", "day"]), label="tight"
    )

    def near(name: str, value: Decimal, loose: Decimal) -> Decimal:
        """About `value` when `name` is the tight limit: on it, or a cent or more either side."""
        if name != tight and data.draw(st.integers(0, 4), label=f"{name} loose") > 0:
            return loose
        offset = data.draw(st.sampled_from(["0", "0.01", "-0.01", "50", "-50"]), label=name)
        return max(value + D(offset), D(0))

    def count(name: str, value: int) -> int:
        if name != tight and data.draw(st.integers(0, 4), label=f"{name} loose") > 0:
            return 1_000
        return max(value + data.draw(st.integers(-2, 1), label=name), 0)

    big = D(10) ** 6
    in_last_minute = data.draw(st.integers(min_value=0, max_value=3), label="in_last_minute")
    traded_today = data.draw(st.decimals(min_value=0, max_value=500, places=2), label="today")
    config = RiskConfig(
        min_trade_notional=near("min", min(notionals), D(0)),
        max_order_notional=near("cap", max(notionals), big)
        if data.draw(st.booleans(), label="has cap")
        else None,
        max_order_pct_nav=near("pct", max(notionals), big) / nav,
        max_orders_per_cycle=count("cycle", len(orders)),
        max_orders_per_minute=count("minute", in_last_minute + len(orders)),
        max_turnover_per_cycle=near("turnover", total, big) / nav,
        max_turnover_per_day=near("day", traded_today + total, big) / nav,
    )
    state = RiskState(
        cash=data.draw(st.sampled_from([big, big, D(500), D(0)]), label="cash"),
        nav=nav,
        holdings=HELD,
        previous_closes=data.draw(
            st.just({})
            | st.dictionaries(symbols, st.decimals(min_value=0, max_value=300, places=2)),
            label="previous",
        ),
        orders_in_last_minute=in_last_minute,
        traded_today=traded_today,
    )
    review = review_orders(orders, config, state)
    got = [(d.symbol, d.allowed, str(d.check), d.reason, d.passed) for d in review.decisions]
    assert got == every_check_on_every_order(orders, config, state)


def test_a_plan_within_every_limit_runs_only_the_checks_left() -> None:
    orders = tuple(
        PlannedOrder(s, side, D(2), D(50), D(100), "r")
        for s, side in (("A", Side.SELL), ("B", Side.BUY))
    )
    config = RiskConfig(min_trade_notional=D(10), max_orders_per_cycle=2)
    state = RiskState(cash=D(500), nav=D(5000), holdings={"A": D(20)})
    review = risk._Review(config, state, state.cash, dict(state.holdings))
    left = {str(risk._CHECKS[i]) for i, _ in risk._rules_that_can_deny(review, orders)}
    # The one sell of A is of less than the 20 held: no order can short.
    assert left == {"cash"}
    # One order more than the cycle allows: that count is checked order by order again.
    config = RiskConfig(min_trade_notional=D(10), max_orders_per_cycle=1)
    review = risk._Review(config, state, state.cash, dict(state.holdings))
    left = {str(risk._CHECKS[i]) for i, _ in risk._rules_that_can_deny(review, orders)}
    assert left == {"orders_per_cycle", "cash"}
    # A sell of more than is held, or two sells of one symbol: shorts are checked per order.
    config = RiskConfig(min_trade_notional=D(10), max_orders_per_cycle=3)
    for sells in [(("A", D(21)),), (("A", D(2)), ("A", D(2))), (("E", D(2)),)]:
        more = tuple(PlannedOrder(s, Side.SELL, q, D(50), q * D(50), "r") for s, q in sells)
        review = risk._Review(config, state, state.cash, dict(state.holdings))
        left = {str(risk._CHECKS[i]) for i, _ in risk._rules_that_can_deny(review, more)}
        assert left == {"would_short", "cash"}
