"""Pre-trade checks: each denial names its check; buys never exceed cash after sells."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.domain import Side, TradingState
from daemon.core.planner import PlannedOrder
from daemon.core.risk import TRIPPING_CHECKS, Check, RiskConfig, RiskState, review_orders
from tests.hypothesis_profiles import scaled

D = Decimal


def order(symbol: str, side: Side, qty: str, price: str) -> PlannedOrder:
    q, p = D(qty), D(price)
    return PlannedOrder(symbol, side, q, p, q * p, f"{side} {qty} {symbol}")


def limits(**overrides: object) -> tuple[RiskConfig, RiskState]:
    """The limits and the cycle's state, each field overridable by name."""
    base: dict[str, object] = {
        "cash": D(1000),
        "nav": D(10000),
        "holdings": {"VTI": D(10)},
        "busy_symbols": (),
        "cash_buffer": D(0),
        "min_trade_notional": D(10),
        "max_order_notional": None,
        "max_order_pct_nav": D(1),
        "kill_switch_reason": None,
    }
    base.update(overrides)
    config = {k: v for k, v in base.items() if k in RiskConfig.__dataclass_fields__}
    state = {k: v for k, v in base.items() if k not in config}
    return RiskConfig(**config), RiskState(**state)  # type: ignore[arg-type]


def denied_by(review_checks: list[tuple[str, str]], symbol: str) -> str:
    return dict(review_checks)[symbol]


def test_everything_passes_with_every_check_listed() -> None:
    review = review_orders(
        (order("VTI", Side.SELL, "2", "100"), order("BND", Side.BUY, "10", "70")), *limits()
    )
    assert len(review.approved) == 2
    assert review.decisions[0].passed == tuple(str(c) for c in Check)


def test_kill_switch_denies_everything() -> None:
    review = review_orders(
        (order("VTI", Side.SELL, "2", "100"),), *limits(kill_switch_reason="vacation")
    )
    assert review.approved == ()
    assert review.decisions[0].check == Check.KILL_SWITCH
    assert "vacation" in review.decisions[0].reason


def test_each_check_names_itself() -> None:
    cases = [
        (order("VTI", Side.SELL, "11", "100"), limits(), Check.WOULD_SHORT),
        (order("VTI", Side.SELL, "1", "0"), limits(), Check.PRICE),
        (order("VTI", Side.SELL, "0", "100"), limits(), Check.QUANTITY),
        (order("VTI", Side.SELL, "1", "100"), limits(busy_symbols={"VTI"}), Check.OPEN_ORDER),
        (order("VTI", Side.SELL, "1", "5"), limits(), Check.MIN_TRADE),
        (
            order("VTI", Side.SELL, "5", "100"),
            limits(max_order_notional=D(400)),
            Check.MAX_ORDER_NOTIONAL,
        ),
        (
            order("VTI", Side.SELL, "5", "100"),
            limits(max_order_pct_nav=D("0.01")),
            Check.MAX_ORDER_PCT_NAV,
        ),
        (order("BND", Side.BUY, "20", "70"), limits(), Check.CASH),
        (order("BND", Side.BUY, "14", "70"), limits(cash_buffer=D(100)), Check.CASH),
    ]
    for planned, lim, check in cases:
        review = review_orders((planned,), *lim)
        assert review.approved == (), check
        assert review.decisions[0].check == check


def test_trading_states() -> None:
    sell, buy = order("VTI", Side.SELL, "2", "100"), order("BND", Side.BUY, "2", "70")
    halted = review_orders(
        (sell, buy), *limits(trading_state=TradingState.HALTED, trading_state_reason="mismatch")
    )
    assert halted.approved == ()
    assert "HALTED (mismatch)" in halted.decisions[0].reason
    reducing = review_orders((sell, buy), *limits(trading_state=TradingState.REDUCING))
    assert reducing.approved == (sell,)
    assert reducing.denied[0].check == Check.TRADING_STATE


@pytest.mark.parametrize(
    ("planned", "overrides", "check", "words"),
    [
        (
            order("VTI", Side.SELL, "1", "100"),
            {"market_open": False},
            Check.MARKET_HOURS,
            "market is closed",
        ),
        (
            order("VTI", Side.SELL, "1", "100"),
            {"restricted_symbols": frozenset({"VTI"})},
            Check.SYMBOL_LIST,
            "restricted_symbols",
        ),
        (
            order("VTI", Side.SELL, "1", "100"),
            {"allowed_symbols": frozenset({"BND"})},
            Check.SYMBOL_LIST,
            "not on risk.allowed_symbols",
        ),
        (
            order("VTI", Side.SELL, "1", "100"),
            {"previous_closes": {"VTI": D(10)}},
            Check.PRICE_MOVE,
            "+900.0% since the previous close",
        ),
        (
            order("VTI", Side.SELL, "1", "100"),
            {"limit_prices": {"VTI": D(90)}},
            Check.PRICE_COLLAR,
            "10.0% from the quote",
        ),
        (
            order("VTI", Side.SELL, "1", "100"),
            {"max_orders_per_cycle": 0},
            Check.ORDERS_PER_CYCLE,
            "max_orders_per_cycle",
        ),
        (
            order("VTI", Side.SELL, "1", "100"),
            {"orders_in_last_minute": 30, "max_orders_per_minute": 30},
            Check.ORDERS_PER_MINUTE,
            "runaway",
        ),
        (
            order("VTI", Side.SELL, "5", "100"),
            {"max_turnover_per_cycle": D("0.01")},
            Check.TURNOVER_PER_CYCLE,
            "max_turnover_per_cycle",
        ),
        (
            order("VTI", Side.SELL, "5", "100"),
            {"traded_today": D(29_900), "max_turnover_per_day": D(3)},
            Check.TURNOVER_PER_DAY,
            "today would trade $30,400.00",
        ),
    ],
)
def test_each_control_denies_with_its_name(
    planned: PlannedOrder, overrides: dict[str, object], check: Check, words: str
) -> None:
    review = review_orders((planned,), *limits(**overrides))
    assert review.approved == ()
    assert review.decisions[0].check == check
    assert words in review.decisions[0].reason


def test_tripping_checks_are_the_malfunction_ones() -> None:
    assert {
        Check.ORDERS_PER_MINUTE,
        Check.TURNOVER_PER_CYCLE,
        Check.TURNOVER_PER_DAY,
    } == TRIPPING_CHECKS


def test_a_move_within_the_limit_and_a_sane_collar_pass() -> None:
    review = review_orders(
        (order("VTI", Side.SELL, "1", "100"),),
        *limits(previous_closes={"VTI": D(90)}, limit_prices={"VTI": D("99.5")}),
    )
    assert len(review.approved) == 1


def test_buys_are_funded_by_approved_sells_only() -> None:
    sells = (order("VTI", Side.SELL, "5", "100"), order("XYZ", Side.SELL, "5", "100"))
    buy = order("BND", Side.BUY, "20", "70")  # $1,400: needs cash $1,000 + the VTI sale
    review = review_orders((buy, *sells), *limits())
    # XYZ is not held, so it is refused, but the VTI sale funds the buy.
    assert [o.symbol for o in review.approved] == ["VTI", "BND"]
    assert {d.symbol: d.check for d in review.denied} == {"XYZ": Check.WOULD_SHORT}


amounts = st.decimals(min_value=0, max_value=10_000, places=2)


@settings(max_examples=scaled(200), deadline=None)
@given(
    cash=amounts,
    buffer=amounts,
    held=st.dictionaries(st.sampled_from(["A", "B", "C"]), amounts, max_size=3),
    planned=st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "D"]),
            st.sampled_from(list(Side)),
            st.decimals(min_value=-5, max_value=500, places=3),
            st.decimals(min_value=-1, max_value=900, places=2),
        ),
        max_size=8,
    ),
    kill=st.booleans(),
)
def test_approved_orders_never_overspend_or_short(
    cash: Decimal,
    buffer: Decimal,
    held: dict[str, Decimal],
    planned: list[tuple[str, Side, Decimal, Decimal]],
    kill: bool,
) -> None:
    orders = tuple(PlannedOrder(s, side, q, p, q * p, "r") for s, side, q, p in planned)
    review = review_orders(
        orders,
        *limits(
            cash=cash,
            cash_buffer=buffer,
            holdings=held,
            min_trade_notional=D(0),
            kill_switch_reason="k" if kill else None,
        ),
    )
    assert len(review.decisions) == len(orders)
    if kill:
        assert review.approved == ()
    spent = sum((o.notional for o in review.approved if o.side is Side.BUY), D(0))
    raised = sum((o.notional for o in review.approved if o.side is Side.SELL), D(0))
    if spent:
        assert spent <= cash - buffer + raised
    sold: dict[str, Decimal] = {}
    for approved in review.approved:
        assert approved.qty > 0
        assert approved.price > 0
        if approved.side is Side.SELL:
            sold[approved.symbol] = sold.get(approved.symbol, D(0)) + approved.qty
    for symbol, qty in sold.items():
        assert qty <= held.get(symbol, D(0))


def every_check_on_every_order(
    orders: tuple[PlannedOrder, ...], config: RiskConfig, state: RiskState
) -> list[tuple[str, bool, str, str, tuple[str, ...]]]:
    """The review as first written: every check run on every order, in order, until one
    denies it (the reference for the review that leaves out checks that cannot deny)."""
    from daemon.core import risk

    review = risk._Review(config, state, state.cash - config.cash_buffer, dict(state.holdings))
    out = []
    for planned in sorted(orders, key=lambda o: o.side != Side.SELL):
        passed: list[str] = []
        denial = None
        for check, rule in risk._RULES:
            reason = rule(planned, review)
            if reason is not None:
                denial = (str(check), reason)
                break
            passed.append(str(check))
        if denial is None:
            review.approved += 1
            review.traded += planned.notional
            if planned.side is Side.SELL:
                review.spendable += planned.notional
                review.unsold[planned.symbol] -= planned.qty
            else:
                review.spendable -= planned.notional
            denial = ("all", "passed every check")
        out.append((planned.symbol, denial[0] == "all", *denial, tuple(passed)))
    return out


symbols = st.sampled_from(["A", "B", "C", "D"])


@settings(max_examples=scaled(300), deadline=None)
@given(
    planned=st.lists(
        st.tuples(
            symbols,
            st.sampled_from(list(Side)),
            st.decimals(min_value=-1, max_value=50, places=2),
            st.decimals(min_value=-1, max_value=300, places=2),
        ),
        max_size=6,
    ),
    kill=st.booleans(),
    trading=st.sampled_from(list(TradingState)),
    market_open=st.booleans(),
    restricted=st.frozensets(symbols, max_size=2),
    allowed=st.frozensets(symbols, max_size=3),
    previous=st.dictionaries(symbols, st.decimals(min_value=0, max_value=300, places=2)),
    limit_prices=st.dictionaries(symbols, st.decimals(min_value=1, max_value=300, places=2)),
    busy=st.frozensets(symbols, max_size=2),
    max_notional=st.none() | st.decimals(min_value=0, max_value=5000, places=2),
    per_cycle=st.integers(min_value=0, max_value=4),
)
def test_the_review_decides_as_every_check_on_every_order_would(
    planned: list[tuple[str, Side, Decimal, Decimal]],
    kill: bool,
    trading: TradingState,
    market_open: bool,
    restricted: frozenset[str],
    allowed: frozenset[str],
    previous: dict[str, Decimal],
    limit_prices: dict[str, Decimal],
    busy: frozenset[str],
    max_notional: Decimal | None,
    per_cycle: int,
) -> None:
    orders = tuple(PlannedOrder(s, side, q, p, q * p, "r") for s, side, q, p in planned)
    config, state = limits(
        holdings={"A": D(20), "B": D(5)},
        kill_switch_reason="k" if kill else None,
        trading_state=trading,
        market_open=market_open,
        restricted_symbols=restricted,
        allowed_symbols=allowed,
        previous_closes=previous,
        limit_prices=limit_prices,
        busy_symbols=busy,
        max_order_notional=max_notional,
        max_orders_per_cycle=per_cycle,
    )
    review = review_orders(orders, config, state)
    got = [(d.symbol, d.allowed, str(d.check), d.reason, d.passed) for d in review.decisions]
    assert got == every_check_on_every_order(orders, config, state)


def test_a_closed_market_names_the_schedule_fix_not_outside_hours() -> None:
    # Every refusal used to end "(set policy.outside_hours = true to trade anyway)": on a real
    # account that sent market orders that sat accepted until the fill wait cancelled them.
    review = review_orders((order("VTI", Side.BUY, "1", "100"),), *limits(market_open=False))
    (denied,) = review.denied
    assert denied.check == Check.MARKET_HOURS
    reason = denied.reason
    assert reason.startswith("the market is closed: run the cycle while the exchange is open")
    assert "schedule" in reason
    assert "trade anyway" not in reason
    # outside_hours is named, after the fix, as what it is for.
    assert reason.index("schedule") < reason.index("policy.outside_hours")
    assert "only for a broker that fills outside the session" in reason
