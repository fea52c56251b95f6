"""Pre-trade checks between the planner and the broker; pure, so every path can be tested.

A denial is a recorded decision with a reason, not an exception. Checks run in a fixed order
and the first that fails names the denial; an order passes only when every check passes.
"""

from __future__ import annotations

__all__ = [
    "TRIPPING_CHECKS",
    "Check",
    "CheckDecision",
    "RiskConfig",
    "RiskReview",
    "RiskState",
    "review_orders",
]

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from daemon.core.domain import Side, TradingState
from daemon.core.money import usd
from daemon.core.planner import PlannedOrder
from daemon.core.records import fast_init

_ZERO = Decimal(0)
_ONE = Decimal(1)


class Check(StrEnum):
    KILL_SWITCH = "kill_switch"
    TRADING_STATE = "trading_state"
    MARKET_HOURS = "market_hours"
    SYMBOL_LIST = "symbol_list"
    PRICE = "price"
    PRICE_MOVE = "price_move"
    PRICE_COLLAR = "price_collar"
    QUANTITY = "quantity"
    WOULD_SHORT = "would_short"
    OPEN_ORDER = "open_order"
    MIN_TRADE = "min_trade"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_ORDER_PCT_NAV = "max_order_pct_nav"
    ORDERS_PER_CYCLE = "orders_per_cycle"
    ORDERS_PER_MINUTE = "orders_per_minute"
    TURNOVER_PER_CYCLE = "turnover_per_cycle"
    TURNOVER_PER_DAY = "turnover_per_day"
    CASH = "cash"


TRIPPING_CHECKS = frozenset(
    {Check.ORDERS_PER_MINUTE, Check.TURNOVER_PER_CYCLE, Check.TURNOVER_PER_DAY}
)
"""Denials that mean something is wrong with trimtab itself: they halt the account."""


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """The account's limits, as configured: the same for every cycle."""

    cash_buffer: Decimal = Decimal(0)
    min_trade_notional: Decimal = Decimal(0)
    max_order_notional: Decimal | None = None
    max_order_pct_nav: Decimal = Decimal(1)
    allowed_symbols: frozenset[str] = frozenset()
    """Empty: every symbol is allowed."""
    restricted_symbols: frozenset[str] = frozenset()
    max_move_since_close: Decimal = Decimal("0.25")
    max_price_collar: Decimal = Decimal("0.05")
    max_orders_per_cycle: int = 1_000_000
    max_orders_per_minute: int = 1_000_000
    max_turnover_per_cycle: Decimal = Decimal(1_000_000)
    max_turnover_per_day: Decimal = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class RiskState:
    """The account and trimtab as they stand in this cycle: what the limits are applied to."""

    cash: Decimal
    nav: Decimal
    """The account's value, which `max_order_pct_nav` and the turnover limits are multiples of:
    all its cash (held for open buys too) and every position at its quote, `keep`, unsold and
    set-aside holdings included (not the planner's managed value)."""
    holdings: Mapping[str, Decimal]
    busy_symbols: Collection[str] = ()
    """Symbols with an open or unresolved order: never a second order on them."""
    kill_switch_reason: str | None = None
    """None when the kill switch is clear."""
    trading_state: TradingState = TradingState.ACTIVE
    trading_state_reason: str = ""
    market_open: bool = True
    previous_closes: Mapping[str, Decimal] = field(default_factory=dict)
    limit_prices: Mapping[str, Decimal] = field(default_factory=dict)
    """The limit price each symbol's order would carry (limit orders only)."""
    orders_in_last_minute: int = 0
    traded_today: Decimal = Decimal(0)
    """Value of the orders already sent today (every cycle), at their reference prices."""


@fast_init
@dataclass(frozen=True, slots=True)
class CheckDecision:
    symbol: str
    side: Side
    qty: Decimal
    notional: Decimal
    allowed: bool
    check: str
    """The check that denied the order, or "all" when every check passed."""
    reason: str
    passed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RiskReview:
    approved: tuple[PlannedOrder, ...]
    decisions: tuple[CheckDecision, ...]

    @property
    def denied(self) -> tuple[CheckDecision, ...]:
        return tuple(d for d in self.decisions if not d.allowed)


@dataclass(slots=True)
class _Review:
    """One review under way: the limits, the cycle's state, and what earlier approvals in
    the same review have used up."""

    config: RiskConfig
    state: RiskState
    spendable: Decimal
    unsold: dict[str, Decimal]
    approved: int = 0
    traded: Decimal = Decimal(0)
    pct_nav_cap: Decimal = field(init=False)
    cycle_cap: Decimal = field(init=False)
    day_cap: Decimal = field(init=False)
    """The caps that scale with NAV, worked out once per review rather than once per order."""

    def __post_init__(self) -> None:
        nav = self.state.nav
        self.pct_nav_cap = self.config.max_order_pct_nav * nav
        self.cycle_cap = self.config.max_turnover_per_cycle * nav
        self.day_cap = self.config.max_turnover_per_day * nav


def review_orders(
    orders: tuple[PlannedOrder, ...], config: RiskConfig, state: RiskState
) -> RiskReview:
    """Check every planned order; buys are checked against cash after the approved sells."""
    approved: list[PlannedOrder] = []
    decisions: list[CheckDecision] = []
    review = _Review(config, state, state.cash - config.cash_buffer, dict(state.holdings))
    rules = _rules_that_can_deny(review, orders)
    for order in sorted(orders, key=lambda o: o.side != Side.SELL):
        denial = _first_denial(order, review, rules)
        if denial is None:
            approved.append(order)
            review.approved += 1
            review.traded += order.notional
            if order.side is Side.SELL:
                review.spendable += order.notional
                review.unsold[order.symbol] -= order.qty
            else:
                review.spendable -= order.notional
            decisions.append(_decision(order, True, "all", "passed every check", _NAMES))
        else:
            index, reason = denial
            decisions.append(_decision(order, False, _CHECKS[index], reason, _NAMES[:index]))
    return RiskReview(tuple(approved), tuple(decisions))


_Rule = Callable[[PlannedOrder, "_Review"], str | None]


def _first_denial(
    order: PlannedOrder, review: _Review, rules: tuple[tuple[int, _Rule], ...]
) -> tuple[int, str] | None:
    """Return the place in `_RULES` of the first check that denies `order`, and why. Every
    check before it passed (a check left out of `rules` passes every order of the review)."""
    for index, rule in rules:
        reason = rule(order, review)
        if reason is not None:
            return index, reason
    return None


def _rules_that_can_deny(
    review: _Review, orders: Sequence[PlannedOrder]
) -> tuple[tuple[int, _Rule], ...]:
    """The checks, with their places in `_RULES`, less those that pass every order of this
    review: each one's own test, made once per review instead of once per order.

    Some pass whatever the order (no kill switch, an active account, the market open, no
    symbol lists, ...). Others pass all of these orders: every one priced, of a positive
    quantity, of at least the minimum trade and at most the caps, and the review's counts and
    turnover within their limits even were every order approved (what earlier approvals use
    up only grows with them). A plan of hundreds of orders then runs the few checks left on
    each (the shares held, the cash, the move since the close)."""
    config, state = review.config, review.state
    passes_all = {
        Check.KILL_SWITCH: state.kill_switch_reason is None,
        Check.TRADING_STATE: state.trading_state is TradingState.ACTIVE,
        Check.MARKET_HOURS: state.market_open,
        Check.SYMBOL_LIST: not config.restricted_symbols and not config.allowed_symbols,
        Check.PRICE_MOVE: not state.previous_closes,
        Check.PRICE_COLLAR: not state.limit_prices,
        Check.OPEN_ORDER: not state.busy_symbols,
        Check.MAX_ORDER_NOTIONAL: config.max_order_notional is None,
    }
    # Only orders of finite, positive numbers are bounded as a whole, against finite limits
    # (a NaN is not ordered: the checks themselves say what is wrong then).
    cap = config.max_order_notional
    limits = (config.min_trade_notional, review.pct_nav_cap, review.cycle_cap, review.day_cap)
    notionals = [o.notional for o in orders]
    numbers = [*(o.price for o in orders), *(o.qty for o in orders), *notionals]
    if (
        all(x.is_finite() for x in (*limits, state.traded_today))
        and (cap is None or cap.is_finite())
        and all(map(Decimal.is_finite, numbers))
        and min(numbers, default=_ONE) > 0
    ):
        largest = max(notionals, default=_ZERO)
        total = sum(notionals, _ZERO)
        sells = [o for o in orders if o.side is Side.SELL]
        held = review.unsold
        passes_all |= {
            # A buy never shorts; a sell does not when it is the only sell of its symbol and
            # at most what is held (what earlier approvals leave unsold is less only after a
            # sell of the same symbol).
            Check.WOULD_SHORT: len({o.symbol for o in sells}) == len(sells)
            and all(
                (h := held.get(o.symbol)) is not None and h.is_finite() and o.qty <= h
                for o in sells
            ),
            Check.PRICE: True,
            Check.QUANTITY: True,
            Check.MIN_TRADE: min(notionals, default=_ZERO) >= config.min_trade_notional,
            Check.MAX_ORDER_NOTIONAL: cap is None or largest <= cap,
            Check.MAX_ORDER_PCT_NAV: largest <= review.pct_nav_cap,
            # `approved` is at most the orders before this one: fewer than them all.
            Check.ORDERS_PER_CYCLE: len(orders) <= config.max_orders_per_cycle,
            Check.ORDERS_PER_MINUTE: (
                state.orders_in_last_minute + len(orders) <= config.max_orders_per_minute
            ),
            # What the approvals before an order traded, and it, are at most all of them.
            Check.TURNOVER_PER_CYCLE: total <= review.cycle_cap,
            Check.TURNOVER_PER_DAY: state.traded_today + total <= review.day_cap,
        }
    return tuple(
        (index, rule)
        for index, (check, rule) in enumerate(_RULES)
        if not passes_all.get(check, False)
    )


def _would_short(order: PlannedOrder, review: _Review) -> str | None:
    held = review.unsold.get(order.symbol, Decimal(0))
    if order.side is Side.SELL and order.qty > held:
        return (
            f"sell of {order.qty} {order.symbol} exceeds the {held} held and not yet sold "
            "(no short sales)"
        )
    return None


def _cash(order: PlannedOrder, review: _Review) -> str | None:
    if order.side is Side.BUY and order.notional > review.spendable:
        left = max(review.spendable, Decimal(0))
        return f"buy of {usd(order.notional)} exceeds spendable cash {usd(left)} (no margin)"
    return None


def _kill_switch(order: PlannedOrder, review: _Review) -> str | None:
    if review.state.kill_switch_reason is None:
        return None
    return f"kill switch engaged: {review.state.kill_switch_reason}"


def _trading_state(order: PlannedOrder, review: _Review) -> str | None:
    state = review.state.trading_state
    why = f" ({review.state.trading_state_reason})" if review.state.trading_state_reason else ""
    if state is TradingState.HALTED:
        return f"account is HALTED{why}; `trimtab resume` after checking it"
    if state is TradingState.REDUCING and order.side is Side.BUY:
        return f"account is REDUCING{why}: only orders that reduce exposure"
    return None


def _market_hours(order: PlannedOrder, review: _Review) -> str | None:
    if review.state.market_open:
        return None
    # The fix is the schedule: an order sent to a real broker while closed waits unfilled
    # until the fill wait cancels it. outside_hours is for brokers that fill anyway.
    return (
        "the market is closed: run the cycle while the exchange is open (the account's "
        "schedule inside the session, or run --once during it); policy.outside_hours = true "
        "is only for a broker that fills outside the session (the simulated broker, tests), "
        "not a real account"
    )


def _symbol_list(order: PlannedOrder, review: _Review) -> str | None:
    if order.symbol in review.config.restricted_symbols:
        return f"{order.symbol} is on risk.restricted_symbols"
    if review.config.allowed_symbols and order.symbol not in review.config.allowed_symbols:
        return (
            f"{order.symbol} is not on risk.allowed_symbols "
            "(or the account's policy.allowed_symbols)"
        )
    return None


def _price_move(order: PlannedOrder, review: _Review) -> str | None:
    previous = review.state.previous_closes.get(order.symbol)
    if previous is None or previous <= 0:
        return None
    move = order.price / previous - 1
    if abs(move) <= review.config.max_move_since_close:
        return None
    return (
        f"{order.symbol} at {usd(order.price)} moved {move:+.1%} since the previous close "
        f"{usd(previous)} (limit ±{review.config.max_move_since_close:.0%}): "
        "a split or a bad tick?"
    )


def _price_collar(order: PlannedOrder, review: _Review) -> str | None:
    limit = review.state.limit_prices.get(order.symbol)
    if limit is None:
        return None
    distance = abs(limit / order.price - 1)
    if distance <= review.config.max_price_collar:
        return None
    return (
        f"limit {usd(limit)} is {distance:.1%} from the quote {usd(order.price)} "
        f"(limit ±{review.config.max_price_collar:.1%})"
    )


def _orders_per_cycle(order: PlannedOrder, review: _Review) -> str | None:
    if review.approved < review.config.max_orders_per_cycle:
        return None
    return f"already {review.approved} orders this cycle (max_orders_per_cycle)"


def _orders_per_minute(order: PlannedOrder, review: _Review) -> str | None:
    sent = review.state.orders_in_last_minute + review.approved
    if sent < review.config.max_orders_per_minute:
        return None
    return f"{sent} orders in the last minute (max_orders_per_minute); a runaway loop?"


def _turnover_cycle(order: PlannedOrder, review: _Review) -> str | None:
    cap = review.cycle_cap
    if review.traded + order.notional <= cap:
        return None
    return (
        f"this cycle would trade {usd(review.traded + order.notional)}, over "
        f"max_turnover_per_cycle {review.config.max_turnover_per_cycle} x {usd(review.state.nav)}"
    )


def _turnover_day(order: PlannedOrder, review: _Review) -> str | None:
    cap = review.day_cap
    total = review.state.traded_today + review.traded + order.notional
    if total <= cap:
        return None
    return (
        f"today would trade {usd(total)}, over max_turnover_per_day "
        f"{review.config.max_turnover_per_day} x {usd(review.state.nav)}"
    )


def _price(order: PlannedOrder, review: _Review) -> str | None:
    if order.price.is_finite() and order.price > 0:
        return None
    return f"price of {order.symbol} is {order.price}, not a positive number"


def _quantity(order: PlannedOrder, review: _Review) -> str | None:
    if order.qty.is_finite() and order.qty > 0:
        return None
    return f"quantity {order.qty} is not positive"


def _open_order(order: PlannedOrder, review: _Review) -> str | None:
    if order.symbol in review.state.busy_symbols:
        return f"{order.symbol} already has an open or unresolved order"
    return None


def _min_trade(order: PlannedOrder, review: _Review) -> str | None:
    minimum = review.config.min_trade_notional
    if order.notional >= minimum:
        return None
    return f"{usd(order.notional)} is below the minimum trade {usd(minimum)}"


def _max_notional(order: PlannedOrder, review: _Review) -> str | None:
    cap = review.config.max_order_notional
    if cap is None or order.notional <= cap:
        return None
    return f"{usd(order.notional)} exceeds max_order_notional {usd(cap)}"


def _max_pct_nav(order: PlannedOrder, review: _Review) -> str | None:
    cap = review.pct_nav_cap
    if order.notional <= cap:
        return None
    return (
        f"{usd(order.notional)} exceeds max_order_pct_nav "
        f"{review.config.max_order_pct_nav:.0%} of {usd(review.state.nav)}"
    )


_RULES: tuple[tuple[Check, _Rule], ...] = (
    (Check.KILL_SWITCH, _kill_switch),
    (Check.TRADING_STATE, _trading_state),
    (Check.MARKET_HOURS, _market_hours),
    (Check.SYMBOL_LIST, _symbol_list),
    (Check.PRICE, _price),
    (Check.PRICE_MOVE, _price_move),
    (Check.PRICE_COLLAR, _price_collar),
    (Check.QUANTITY, _quantity),
    (Check.WOULD_SHORT, _would_short),
    (Check.OPEN_ORDER, _open_order),
    (Check.MIN_TRADE, _min_trade),
    (Check.MAX_ORDER_NOTIONAL, _max_notional),
    (Check.MAX_ORDER_PCT_NAV, _max_pct_nav),
    (Check.ORDERS_PER_CYCLE, _orders_per_cycle),
    (Check.ORDERS_PER_MINUTE, _orders_per_minute),
    (Check.TURNOVER_PER_CYCLE, _turnover_cycle),
    (Check.TURNOVER_PER_DAY, _turnover_day),
    (Check.CASH, _cash),
)


_CHECKS: tuple[Check, ...] = tuple(check for check, _ in _RULES)
_NAMES: tuple[str, ...] = tuple(str(check) for check in _CHECKS)
"""Each check's name, formatted once: formatting an enum member per order per check was a good
part of a review's time on a plan of hundreds of orders. An approved order passed them all; a
denied one every check before the one that denied it."""


def _decision(
    order: PlannedOrder, allowed: bool, check: str, reason: str, passed: tuple[str, ...]
) -> CheckDecision:
    # Positional, in field order: once per order of every review.
    return CheckDecision(
        order.symbol, order.side, order.qty, order.notional, allowed, check, reason, passed
    )
