"""Pre-trade checks between the planner and the broker; pure, so every path can be tested.

A denial is a recorded decision with a reason, not an exception. Checks run in a fixed order
and the first that fails names the denial; an order passes only when every check passes.
"""

from __future__ import annotations

__all__ = ["Check", "CheckDecision", "RiskLimits", "RiskReview", "review_orders"]

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from daemon.domain import Side, TradingState
from daemon.planner import PlannedOrder


class Check(StrEnum):
    KILL_SWITCH = "kill_switch"
    TRADING_STATE = "trading_state"
    PRICE = "price"
    QUANTITY = "quantity"
    WOULD_SHORT = "would_short"
    OPEN_ORDER = "open_order"
    MIN_TRADE = "min_trade"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_ORDER_PCT_NAV = "max_order_pct_nav"
    CASH = "cash"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    cash: Decimal
    nav: Decimal
    holdings: Mapping[str, Decimal]
    busy_symbols: Collection[str]
    """Symbols with an open or unresolved order: never a second order on them."""
    cash_buffer: Decimal
    min_trade_notional: Decimal
    max_order_notional: Decimal | None
    max_order_pct_nav: Decimal
    kill_switch_reason: str | None
    """None when the kill switch is clear."""
    trading_state: TradingState = TradingState.ACTIVE
    trading_state_reason: str = ""


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
class _Running:
    """What earlier approvals in the same review have used up."""

    spendable: Decimal
    unsold: dict[str, Decimal]


def review_orders(orders: tuple[PlannedOrder, ...], limits: RiskLimits) -> RiskReview:
    """Check every planned order; buys are checked against cash after the approved sells."""
    approved: list[PlannedOrder] = []
    decisions: list[CheckDecision] = []
    running = _Running(limits.cash - limits.cash_buffer, dict(limits.holdings))
    for order in sorted(orders, key=lambda o: o.side != Side.SELL):
        passed: list[str] = []
        denial = _first_denial(order, limits, running, passed)
        if denial is None:
            approved.append(order)
            if order.side is Side.SELL:
                running.spendable += order.notional
                running.unsold[order.symbol] -= order.qty
            else:
                running.spendable -= order.notional
            decisions.append(_decision(order, True, "all", "passed every check", passed))
        else:
            decisions.append(_decision(order, False, denial[0], denial[1], passed))
    return RiskReview(tuple(approved), tuple(decisions))


_Rule = Callable[[PlannedOrder, RiskLimits, _Running], str | None]


def _first_denial(
    order: PlannedOrder, limits: RiskLimits, running: _Running, passed: list[str]
) -> tuple[Check, str] | None:
    for check, rule in _RULES:
        reason = rule(order, limits, running)
        if reason is not None:
            return check, reason
        passed.append(str(check))
    return None


def _would_short(order: PlannedOrder, limits: RiskLimits, running: _Running) -> str | None:
    held = running.unsold.get(order.symbol, Decimal(0))
    if order.side is Side.SELL and order.qty > held:
        return (
            f"sell of {order.qty} {order.symbol} exceeds the {held} held and not yet sold "
            "(no short sales)"
        )
    return None


def _cash(order: PlannedOrder, limits: RiskLimits, running: _Running) -> str | None:
    if order.side is Side.BUY and order.notional > running.spendable:
        left = max(running.spendable, Decimal(0))
        return f"buy of ${order.notional:,.2f} exceeds spendable cash ${left:,.2f} (no margin)"
    return None


def _kill_switch(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    if limits.kill_switch_reason is None:
        return None
    return f"kill switch engaged: {limits.kill_switch_reason}"


def _trading_state(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    state = limits.trading_state
    why = f" ({limits.trading_state_reason})" if limits.trading_state_reason else ""
    if state is TradingState.HALTED:
        return f"account is HALTED{why}; `trimtab resume` after checking it"
    if state is TradingState.REDUCING and order.side is Side.BUY:
        return f"account is REDUCING{why}: only orders that reduce exposure"
    return None


def _price(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    if order.price.is_finite() and order.price > 0:
        return None
    return f"price of {order.symbol} is {order.price}, not a positive number"


def _quantity(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    if order.qty.is_finite() and order.qty > 0:
        return None
    return f"quantity {order.qty} is not positive"


def _open_order(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    if order.symbol in limits.busy_symbols:
        return f"{order.symbol} already has an open or unresolved order"
    return None


def _min_trade(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    if order.notional >= limits.min_trade_notional:
        return None
    return f"${order.notional:,.2f} is below the minimum trade ${limits.min_trade_notional:,.2f}"


def _max_notional(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    cap = limits.max_order_notional
    if cap is None or order.notional <= cap:
        return None
    return f"${order.notional:,.2f} exceeds max_order_notional ${cap:,.2f}"


def _max_pct_nav(order: PlannedOrder, limits: RiskLimits, _: _Running) -> str | None:
    cap = limits.max_order_pct_nav * limits.nav
    if order.notional <= cap:
        return None
    return (
        f"${order.notional:,.2f} exceeds max_order_pct_nav "
        f"{limits.max_order_pct_nav:.0%} of ${limits.nav:,.2f}"
    )


_RULES: tuple[tuple[Check, _Rule], ...] = (
    (Check.KILL_SWITCH, _kill_switch),
    (Check.TRADING_STATE, _trading_state),
    (Check.PRICE, _price),
    (Check.QUANTITY, _quantity),
    (Check.WOULD_SHORT, _would_short),
    (Check.OPEN_ORDER, _open_order),
    (Check.MIN_TRADE, _min_trade),
    (Check.MAX_ORDER_NOTIONAL, _max_notional),
    (Check.MAX_ORDER_PCT_NAV, _max_pct_nav),
    (Check.CASH, _cash),
)


def _decision(
    order: PlannedOrder, allowed: bool, check: str, reason: str, passed: list[str]
) -> CheckDecision:
    return CheckDecision(
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        notional=order.notional,
        allowed=allowed,
        check=check,
        reason=reason,
        passed=tuple(passed),
    )
