"""What a broker takes from a trade beyond the quote, as bounds the decision step and the
executor plan with. Pure.

Each adapter declares its `TradeCosts` (`adapters.base.Broker.trade_costs`); the backtest
builds the simulated broker's from its settings. Two uses:

- **buys** (`daemon.cycle.execution`, and the backtest's fills): each buy is sized at
  `fill_bound` and with `buy_charge_bound`, so the buy that spends the last of the cash fits
  what the broker takes (before, the sim's slippage or a commission got it refused);
- **sales that raise cash** (`daemon.core.decide`): the planner raises the cash buffer and
  the withdrawal at the quote; the sales then lose `sale_cost_bound` each to slippage and
  charges, and the decision step plans again to raise that too, so the cash is there.

Bounds, not estimates: a real broker's fill is the market's (its `slippage_bps` is 0; the
buy hold and `cash_buffer` absorb a move), and its charges are bounded from its published
schedule. Every amount is in cents, rounded against the account, as cash moves.
"""

from __future__ import annotations

__all__ = ["NO_COSTS", "TradeCosts"]

from dataclasses import dataclass
from decimal import Decimal

from daemon.core import fills
from daemon.core.domain import Side
from daemon.core.money import cents_up

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TradeCosts:
    """A broker's rules for what a trade costs beyond quantity x quote.

    The commission of an order of `qty` shares is `max(minimum, per_order + per_share x qty)`,
    rounded up to the cent; a sale also pays `sale_fee_fraction` of its value and
    `sale_fee_per_share` a share (the SEC fee and FINRA's trading activity fee), each rounded
    up to the cent.
    """

    slippage_bps: Decimal = _ZERO
    """How far a market order fills from the quote by the broker's own rule (the sim's
    `slippage_bps`); 0 where the market sets the fill."""
    per_order: Decimal = _ZERO
    per_share: Decimal = _ZERO
    minimum: Decimal = _ZERO
    sale_fee_fraction: Decimal = _ZERO
    sale_fee_per_share: Decimal = _ZERO

    def commission(self, qty: Decimal) -> Decimal:
        """Return the commission of one order of `qty` shares."""
        if self.per_order == self.per_share == self.minimum == _ZERO:
            return _ZERO
        return cents_up(max(self.minimum, self.per_order + self.per_share * qty))

    @property
    def least_commission(self) -> Decimal:
        """Return the commission of the smallest order: what every order pays at least."""
        return self.commission(_ZERO)

    def fill_bound(self, side: Side, quote: Decimal) -> Decimal:
        """Return the worst price a market order at `quote` fills at by the broker's rule:
        slipped, then on the tick against the trader (a quote between ticks, such as a
        bid-ask midpoint, fills on one)."""
        return fills.fill_price(side, quote, self.slippage_bps)

    def buy_charge_bound(self, qty: Decimal) -> Decimal:
        """Return the most a buy of `qty` is charged (it does not shrink as `qty` grows, so
        it bounds the charge of the buy shrunk to fit, too)."""
        return self.commission(qty)

    def sale_cost_bound(self, qty: Decimal, quote: Decimal) -> Decimal:
        """Return the most a market sale of `qty` at `quote` brings in less than qty x quote:
        its slippage (fill price rounded down to the tick), its proceeds rounded down to the
        cent (even at a broker that takes nothing else), its commission and its fees."""
        price = self.fill_bound(Side.SELL, quote)
        value = qty * quote
        fees = self.sale_fees(qty, price)
        return value - fills.proceeds(qty, price) + self.commission(qty) + fees

    def sale_fees(self, qty: Decimal, price: Decimal) -> Decimal:
        """Return the fees a sale of `qty` filled at `price` pays beside its commission:
        `sale_fee_fraction` of its value and `sale_fee_per_share` a share, each rounded up
        to the cent."""
        fees = _ZERO
        if self.sale_fee_fraction:
            fees += cents_up(self.sale_fee_fraction * qty * price)
        if self.sale_fee_per_share:
            fees += cents_up(self.sale_fee_per_share * qty)
        return fees


NO_COSTS = TradeCosts()
"""A broker that takes nothing beyond the quote (the default of every input)."""
