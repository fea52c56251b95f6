"""Pure checks and shaping of an order before it goes to Alpaca; a refusal sends nothing.

| rule | what happens |
|---|---|
| intent for another account | refused |
| quantity not positive, or not a finite Decimal | refused |
| account blocked, trading blocked, suspended by the holder, status not ACTIVE | refused, naming the account and the fix |
| symbol unknown at Alpaca, or not tradable | refused, naming the symbol and the fix |
| fractional quantity where Alpaca or the settings allow whole shares only | refused, naming the symbol and the fix |
| fractional quantity in a fractionable symbol | floored to the asset's increment (default 1e-9, Alpaca's 9 decimals) |
| notional (dollar amount) order | market orders only, whole cents, at least $1, fractionable symbols with `fractional` allowed; sent as `notional` with no `qty` |
| limit price | at most 2 decimals from $1 up, 4 below |
| time in force | always `day`: Alpaca takes fractional orders only as day orders, and trimtab cancels what is left at the end of the fill window anyway |
"""  # noqa: E501 (a table row per rule reads better than wrapped cells)

from __future__ import annotations

__all__ = ["PreparedOrder", "prepare_order"]

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from adapters.alpaca.parsing import AccountInfo, AssetInfo
from adapters.base import limit_problem, notional_problem
from daemon.core.domain import OrderIntent, OrderType

NINE_DECIMALS = Decimal("0.000000001")
MAX_CLIENT_ORDER_ID = 128


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """What goes into alpaca-py's order request."""

    symbol: str
    side: str
    qty: Decimal | None
    """None for a notional order: Alpaca decides the shares."""
    order_type: OrderType
    limit_price: Decimal | None
    client_order_id: str
    floored_from: Decimal | None = None
    """The intent's quantity when it was floored to the asset's increment."""
    notional: Decimal | None = None
    """The dollar amount of a notional order."""


def prepare_order(
    intent: OrderIntent,
    *,
    account: str,
    info: AccountInfo,
    asset: AssetInfo | None,
    fractional_allowed: bool,
) -> PreparedOrder | str:
    """Return the order to send, or why it must not be sent (a sentence naming the fix)."""
    if intent.account != account:
        return f"order for account {intent.account} reached Alpaca account {account}"
    coid = intent.client_order_id
    if not coid or len(coid) > MAX_CLIENT_ORDER_ID:
        return f"client order id must be 1 to {MAX_CLIENT_ORDER_ID} characters"
    blocked = _account_problem(account, info)
    if blocked:
        return blocked
    qty = intent.qty
    if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
        return f"quantity must be a positive Decimal, got {qty!r}"
    if asset is None:
        return (
            f"account {account}: Alpaca has no symbol {intent.symbol} (fix: correct the symbol "
            "in the strategy's targets)"
        )
    if not asset.tradable or asset.status != "active":
        return (
            f"account {account}: Alpaca does not trade {intent.symbol} (status {asset.status}, "
            "tradable false) (fix: remove it from the targets, or sell it by hand)"
        )
    if intent.notional is not None:
        return _notional_order(intent, account, asset, fractional_allowed)
    floored = _floored(intent, account, asset, fractional_allowed)
    if isinstance(floored, str):
        return floored
    floored_from = None if floored == qty else qty
    problem = limit_problem(intent)
    if problem is not None:
        return problem
    return PreparedOrder(
        symbol=intent.symbol,
        side=intent.side.value,
        qty=floored,
        order_type=intent.order_type,
        limit_price=intent.limit_price,
        client_order_id=coid,
        floored_from=floored_from,
    )


def _notional_order(
    intent: OrderIntent, account: str, asset: AssetInfo, fractional_allowed: bool
) -> PreparedOrder | str:
    """Return a dollar-amount order, or why Alpaca would refuse it (nothing is sent)."""
    notional = intent.notional
    assert notional is not None
    malformed = notional_problem(intent)
    if malformed is not None:
        return malformed
    if not fractional_allowed or not asset.fractionable:
        whose = "Alpaca does not trade" if fractional_allowed else "broker_settings.fractional"
        why = (
            f"{whose} {intent.symbol} in fractions"
            if fractional_allowed
            else f"{whose} = false allows whole shares only"
        )
        return (
            f"account {account}: a dollar-amount order needs fractional shares, and {why} "
            f"(fix: set policy.notional_buys = false, or drop {intent.symbol} from "
            "policy.fractional_symbols)"
        )
    return PreparedOrder(
        symbol=intent.symbol,
        side=intent.side.value,
        qty=None,
        order_type=OrderType.MARKET,
        limit_price=None,
        client_order_id=intent.client_order_id,
        notional=notional,
    )


def _floored(
    intent: OrderIntent, account: str, asset: AssetInfo, fractional_allowed: bool
) -> Decimal | str:
    """Return the quantity floored to the asset's step, or why a fraction is refused."""
    qty = intent.qty
    if qty == qty.to_integral_value():
        return qty
    if not fractional_allowed or not asset.fractionable:
        whose = (
            "Alpaca allows" if fractional_allowed else "broker_settings.fractional = false allows"
        )
        return (
            f"account {account}: {whose} only whole shares of {intent.symbol}, got {qty} (fix: "
            f"drop {intent.symbol} from policy.fractional_symbols, or set policy.fractional = "
            "false)"
        )
    step = max(asset.min_trade_increment or NINE_DECIMALS, NINE_DECIMALS)
    floored = (qty / step).to_integral_value(ROUND_FLOOR) * step
    if floored <= 0:
        return f"quantity {qty} is below {intent.symbol}'s smallest step {step}"
    return floored


def _account_problem(account: str, info: AccountInfo) -> str:
    if info.account_blocked:
        return (
            f"account {account}: Alpaca has blocked the account (fix: read the messages in "
            "Alpaca's dashboard and contact Alpaca support)"
        )
    if info.trading_blocked:
        return (
            f"account {account}: Alpaca has blocked trading (fix: see Alpaca's dashboard; "
            "often an unfunded or restricted account)"
        )
    if info.trade_suspended_by_user:
        return (
            f"account {account}: trading is suspended by the account holder (fix: lift the "
            "suspension in Alpaca's dashboard, or remove the account from trimtab)"
        )
    if info.status != "ACTIVE":
        return (
            f"account {account}: Alpaca reports status {info.status}, not ACTIVE (fix: finish "
            "the account's onboarding, or wait for Alpaca to activate it)"
        )
    return ""
