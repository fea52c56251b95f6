"""Translate an account's configuration into the decision step's policies: planning, order
terms and risk limits."""

from __future__ import annotations

__all__ = [
    "alternate_symbols",
    "decision_input",
    "order_terms",
    "planning_policy",
    "risk_config",
    "share_increment",
]

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from daemon.config.household import household_members
from daemon.config.settings import AccountSettings, PolicySettings, RiskSettings, Settings
from daemon.core.costs import NO_COSTS, TradeCosts
from daemon.core.decide import CycleState, DecisionInput, TaxInputs
from daemon.core.domain import CASH, AccountSnapshot, OrderType
from daemon.core.planner import Band, PlanningPolicy
from daemon.core.risk import RiskConfig
from daemon.core.sizing import OrderTerms


def share_increment(policy: PolicySettings, symbol: str) -> Decimal:
    """Return the smallest quantity step the account trades `symbol` in."""
    if policy.fractional or symbol in policy.fractional_symbols:
        return policy.fractional_increment
    return Decimal(1)


def planning_policy(
    account: AccountSettings,
    *,
    fractionable: frozenset[str] | None = None,
    symbols: Collection[str] = (),
    least_commission: Decimal = Decimal(0),
) -> PlanningPolicy:
    """Build the planner's policy (bands, rounding, cash rules) for one account.

    `fractionable` is what the broker says it accepts fractional quantities in (None: it
    does not say); any of `symbols` outside it is traded in whole shares, whatever the
    config says, and a sale of the whole holding sells its whole shares only (the broker
    refuses the fraction). `least_commission` is the broker's charge on its smallest order
    (`TradeCosts.least_commission`): no order is planned at or under it.
    """
    bands = account.bands
    policy = account.policy
    overrides = {
        symbol: Band(absolute_pp=band.absolute_pp, relative=band.relative)
        for symbol, band in bands.overrides.items()
    }
    increments = dict.fromkeys(policy.fractional_symbols, policy.fractional_increment)
    whole_only = frozenset(symbols) - fractionable if fractionable is not None else frozenset()
    for symbol in whole_only:
        if share_increment(policy, symbol) != 1:
            increments[symbol] = Decimal(1)
    return PlanningPolicy(
        default_band=Band(absolute_pp=bands.absolute_pp, relative=bands.relative),
        band_overrides=MappingProxyType(overrides),
        rebalance_to=policy.rebalance_to,
        inner_band=policy.inner_band,
        cash_buffer=policy.cash_buffer,
        min_trade_notional=policy.min_trade_notional,
        buy_only=policy.buy_only,
        share_increment=policy.fractional_increment if policy.fractional else Decimal(1),
        increment_overrides=MappingProxyType(increments),
        keep=frozenset(policy.keep),
        whole_shares_only=whole_only,
        least_commission=least_commission,
    )


def order_terms(
    policy: PolicySettings,
    *,
    withdrawal: Decimal = Decimal(0),
    risk: RiskSettings | None = None,
    least_commission: Decimal = Decimal(0),
) -> OrderTerms:
    """Return how the account places orders: type, collar, amounts, the cash buys leave (the
    buffer and the cycle's withdrawal), minimum (above `least_commission`, as the plan's),
    and the order-rate limits top-ups obey."""
    return OrderTerms(
        order_type=OrderType(policy.order_type),
        limit_collar=policy.limit_collar,
        notional_buys=policy.notional_buys,
        # Sells can fill below their plan: buys sized to the cash after them must still leave
        # the withdrawal the sells raised, or it is spent on buys and not there to take out.
        cash_buffer=policy.cash_buffer + withdrawal,
        min_trade_notional=policy.min_trade_notional,
        least_commission=least_commission,
        max_orders_per_cycle=None if risk is None else risk.max_orders_per_cycle,
        max_orders_per_minute=None if risk is None else risk.max_orders_per_minute,
    )


def risk_config(account: AccountSettings, risk: RiskSettings) -> RiskConfig:
    """Return the pre-trade limits for one account: the household's risk settings and the
    account's own buffer and minimum trade."""
    return RiskConfig(
        cash_buffer=account.policy.cash_buffer,
        min_trade_notional=account.policy.min_trade_notional,
        max_order_notional=risk.max_order_notional,
        max_order_pct_nav=risk.max_order_pct_nav,
        allowed_symbols=_allowed(account.policy.allowed_symbols, risk.allowed_symbols),
        restricted_symbols=frozenset(risk.restricted_symbols),
        max_move_since_close=risk.max_move_since_close,
        max_price_collar=risk.max_price_collar,
        max_orders_per_cycle=risk.max_orders_per_cycle,
        max_orders_per_minute=risk.max_orders_per_minute,
        max_turnover_per_cycle=risk.max_turnover_per_cycle,
        max_turnover_per_day=risk.max_turnover_per_day,
    )


def _allowed(own: Collection[str], household: Collection[str]) -> frozenset[str]:
    """Return the symbols the account may trade (empty: any): both lists when both are set
    (the configuration check refuses lists that share no symbol)."""
    if own and household:
        return frozenset(own) & frozenset(household)
    return frozenset(own or household)


def decision_input(
    settings: Settings,
    account: str,
    *,
    snapshot: AccountSnapshot,
    targets: Mapping[str, Decimal],
    universe: Collection[str],
    state: CycleState,
    tax: TaxInputs,
    now: datetime,
    submit: bool,
    withdrawal: Decimal = Decimal(0),
    costs: TradeCosts = NO_COSTS,
) -> DecisionInput:
    """Put what a cycle gathered together with the account's configuration, for `decide`.

    The live cycle and `trimtab plan` both build their input here, so a setting cannot
    reach one and not the other. `costs` is the broker's `trade_costs` (the backtest's: the
    simulated broker's settings). `universe` is the strategy's `universe()` (a household
    member's: the household's symbols): `decide` refuses a target outside it.
    """
    configured = settings.account(account)
    held = {p.symbol for p in snapshot.positions if p.qty > 0}
    alternates = alternate_symbols(configured)
    return DecisionInput(
        account=account,
        account_type=configured.type,
        strategy=_targets_source(settings, account),
        targets=targets,
        universe=frozenset(universe),
        snapshot=snapshot,
        planning=planning_policy(
            configured,
            fractionable=snapshot.fractionable,
            # The tax step buys alternates in their own increment: whole shares where the
            # broker takes no fraction of them, like any target.
            symbols=held | {s for s in targets if s != CASH} | alternates,
            least_commission=costs.least_commission,
        ),
        terms=order_terms(
            configured.policy,
            withdrawal=withdrawal,
            risk=settings.risk,
            least_commission=costs.least_commission,
        ),
        limits=risk_config(configured, settings.risk),
        state=state,
        tax=tax,
        now=now,
        max_quote_age=timedelta(hours=float(settings.risk.max_quote_age_hours)),
        mode=settings.mode,
        submit=submit,
        withdrawal=withdrawal,
        alternates=alternates,
        costs=costs,
    )


def _targets_source(settings: Settings, account: str) -> str:
    """Name what chose `account`'s targets, for errors: its strategy, or for a household
    member the household's strategy or fixed targets (the member's own is not used)."""
    household = settings.household
    if household is None or account not in household_members(settings):
        return settings.account(account).strategy
    if household.strategy is None:
        return f"household.targets (split to account {account})"
    return f"{household.strategy} (the household's, split to account {account})"


def alternate_symbols(account: AccountSettings) -> frozenset[str]:
    """Return the symbols the tax step may trade beyond the strategy's: the alternates."""
    return account.tax.alternate_symbols
