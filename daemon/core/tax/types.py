"""Types of the tax-rule engine: trades in, realized sales, wash adjustments and open lots out.

Everything is a frozen value. Money and quantities are `Decimal`; dates are calendar dates
(the tax law counts calendar days, not sessions). The engine derives lots from the full trade
list every time (`daemon.core.tax.replay_trades`): a purchase made after a loss sale changes that
sale's result, so a ledger cannot be appended to with frozen past results.
"""

from __future__ import annotations

__all__ = [
    "HoldingPeriodConvention",
    "LossWindow",
    "Lot",
    "LotMethod",
    "LotPick",
    "PurchaseWindow",
    "RealizedSale",
    "RelievedPiece",
    "SalePreview",
    "SaleRequest",
    "SameDayReplacements",
    "Split",
    "TaxDataError",
    "TaxPolicy",
    "Term",
    "Trade",
    "View",
    "WashAdjustment",
    "amount_realized",
]

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import MappingProxyType

from daemon.core.domain import AccountType, Side
from daemon.core.errors import DataError
from daemon.core.records import fast_init
from daemon.core.tax.identical import SubstantiallyIdentical

"""Money is split between pieces of a lot in cents; the pieces always add up to the whole."""


class TaxDataError(DataError):
    """A trade list the engine cannot replay: names the trade and what is wrong with it."""

    def __init__(self, trade_id: str, field_name: str, problem: str) -> None:
        super().__init__(f"trade {trade_id}, {field_name}: {problem}")
        self.trade_id = trade_id
        self.field_name = field_name
        self.problem = problem


class LotMethod(StrEnum):
    """Which lots a sale relieves, as the account is set at the broker."""

    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    MIN_TAX = "min_tax"
    SPECIFIC = "specific"


class Term(StrEnum):
    SHORT = "short"
    LONG = "long"
    MIXED = "mixed"
    """Only for a whole sale that relieved both short- and long-term pieces."""


class View(StrEnum):
    """Whose rules: the household's (IRC §1091) or a broker's 1099-B (same account and symbol)."""

    HOUSEHOLD = "household"
    BROKER = "broker"


class HoldingPeriodConvention(StrEnum):
    """How a wash moves the replacement's holding period back (the law gives no algorithm).

    - `add_days` (default): start = replacement's purchase date - (sale date - loss lot's start).
    - `loss_lot_start`: start = the loss lot's start.
    - `no_double_count`: `add_days`, except that a replacement bought before the sale takes
      the loss lot's start (the days both were held count once).
    """

    ADD_DAYS = "add_days"
    LOSS_LOT_START = "loss_lot_start"
    NO_DOUBLE_COUNT = "no_double_count"


class SameDayReplacements(StrEnum):
    """Whether shares sold on the day of a loss sale can replace that loss (docs/tax.md).

    - `count` (default): they can, when acquired within the 30 days before the sale and after
      the loss shares were (a buy-back sold again the same day is a wash, as brokers' 1099-B
      report it); the loss moves into their basis and so into that day's sale of them.
    - `exclude`: only shares still held when the day ends replace a loss.
    """

    COUNT = "count"
    EXCLUDE = "exclude"


@fast_init
@dataclass(frozen=True, slots=True)
class LotPick:
    """Specific identification: `qty` shares of purchase `source_id`.

    None takes as many as the sale still needs from that purchase.
    """

    source_id: str
    qty: Decimal | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Trade:
    """One acquisition or disposition in any household account.

    `amount` is the total: cost with fees for a buy, net proceeds for a sell. `order_id` ties
    the fills of one purchase together (Rev. Rul. 56-602: shares of the lot sold are never its
    replacement); empty means the trade's own id. `lots` is specific identification on a sell.
    A dividend reinvestment, an imported lot and a spouse's purchase are buys like any other.
    """

    id: str
    date: date
    account: str
    account_type: AccountType
    symbol: str
    side: Side
    qty: Decimal
    amount: Decimal
    lots: tuple[LotPick, ...] = ()
    owner: str = ""
    order_id: str = ""

    @property
    def purchase_order(self) -> str:
        return self.order_id or self.id

    @property
    def taxable(self) -> bool:
        return self.account_type is AccountType.TAXABLE


SPLIT_PLACES = Decimal("1e-12")
"""A split's share quantities are kept to 12 decimal places, as the ledger stores them."""
_SPLIT_EXPONENT = -12


@dataclass(frozen=True, slots=True)
class Split:
    """A stock split of `symbol` recorded for `account`: `new` shares per `old` (2:1, 1:10).

    Effective at the start of `date`: every share held then in `account` becomes `new / old`
    shares, with the same total basis (wash-adjusted too), acquisition date and holding period
    (IRS Pub. 550, "Stock Splits"). A lot acquired on or after `date` is not changed: it is in
    the new shares already. The ratio is in lowest terms, neither side zero, and not 1:1. A
    reverse split's fraction of a share stays in the lots: the broker's cash in lieu is a sale
    of it. The split is the security's: wash matching counts shares bought after it in new
    shares in every account, whichever account records it; accounts that record the same day
    record the same ratio, each once.
    """

    id: str
    date: date
    account: str
    symbol: str
    new: int
    old: int

    def scaled(self, qty: Decimal) -> Decimal:
        """Return `qty` old shares in new shares, to 12 decimal places when not exact."""
        value = qty * self.new / self.old
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < _SPLIT_EXPONENT:
            value = value.quantize(SPLIT_PLACES, ROUND_HALF_EVEN)
        return value

    @property
    def ratio(self) -> str:
        return f"{self.new}:{self.old}"


def _no_methods() -> Mapping[str, LotMethod]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TaxPolicy:
    """The engine's settings: lot methods, the view, and the choices where the law is silent.

    `earlier_purchase_replaces`: shares bought within 30 days before the sale but before the
    loss lot itself count as replacements (literal §1091(a); conservative). False follows
    Fairmark/washsales.org, who say they do not. `same_day_replacements`: whether shares sold
    on the loss sale's day can replace it (`SameDayReplacements`).
    """

    default_method: LotMethod = LotMethod.FIFO
    methods: Mapping[str, LotMethod] = field(default_factory=_no_methods)
    identical: SubstantiallyIdentical = field(default_factory=SubstantiallyIdentical)
    view: View = View.HOUSEHOLD
    holding_period: HoldingPeriodConvention = HoldingPeriodConvention.ADD_DAYS
    earlier_purchase_replaces: bool = True
    same_day_replacements: SameDayReplacements = SameDayReplacements.COUNT

    @property
    def same_day_count(self) -> bool:
        return self.same_day_replacements is SameDayReplacements.COUNT

    def method_for(self, account: str) -> LotMethod:
        return self.methods.get(account, self.default_method)


@fast_init
@dataclass(frozen=True, slots=True)
class Lot:
    """Shares of one purchase still held, with one adjusted basis and one holding period.

    A purchase whose shares absorbed a wash loss in part is split into several `Lot`s with the
    same `source_id`. `replacement_used` says these shares already absorbed a loss (each
    replacement share absorbs one loss, Treas. Reg. §1.1091-1(e)).
    """

    source_id: str
    account: str
    account_type: AccountType
    symbol: str
    owner: str
    qty: Decimal
    cost: Decimal
    adjusted_basis: Decimal
    acquired: date
    holding_period_start: date
    order_id: str
    replacement_used: bool = False

    @property
    def wash_adjustment(self) -> Decimal:
        return self.adjusted_basis - self.cost


@fast_init
@dataclass(frozen=True, slots=True)
class WashAdjustment:
    """One match of loss shares with replacement shares (IRC §1091(a), (d); §1223(3)).

    `permanent` is a replacement in a traditional or Roth IRA (Rev. Rul. 2008-5): the loss is
    gone and the replacement keeps its basis and holding period (`holding_period_start` None).
    """

    sale_id: str
    sale_date: date
    sold_source_id: str
    replacement_source_id: str
    replacement_account: str
    replacement_account_type: AccountType
    replacement_symbol: str
    replacement_acquired: date
    qty: Decimal
    disallowed: Decimal
    permanent: bool
    holding_period_start: date | None


@fast_init
@dataclass(frozen=True, slots=True)
class RelievedPiece:
    """Shares of one lot a sale relieved, with their share of the proceeds and the result.

    `gain` is what is reported: proceeds - basis + disallowed (disallowed >= 0, so a washed
    loss reports only its allowed part, as Form 8949 column (h) does).
    """

    source_id: str
    qty: Decimal
    cost: Decimal
    basis: Decimal
    acquired: date
    holding_period_start: date
    proceeds: Decimal
    term: Term
    disallowed: Decimal = Decimal(0)
    permanent: Decimal = Decimal(0)
    washes: tuple[WashAdjustment, ...] = ()

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.basis + self.disallowed

    @property
    def loss_before_wash(self) -> Decimal:
        return max(self.basis - self.proceeds, Decimal(0))


class _PieceTotals:
    """Totals over the relieved pieces, shared by a realized sale and a what-if sale."""

    __slots__ = ()
    pieces: tuple[RelievedPiece, ...]

    @property
    def proceeds(self) -> Decimal:
        return sum((p.proceeds for p in self.pieces), Decimal(0))

    @property
    def basis(self) -> Decimal:
        return sum((p.basis for p in self.pieces), Decimal(0))

    @property
    def disallowed(self) -> Decimal:
        return sum((p.disallowed for p in self.pieces), Decimal(0))

    @property
    def permanent(self) -> Decimal:
        return sum((p.permanent for p in self.pieces), Decimal(0))

    @property
    def gain(self) -> Decimal:
        return sum((p.gain for p in self.pieces), Decimal(0))

    def gain_by_term(self, term: Term) -> Decimal:
        """Return the reported gain (negative for a loss) of the pieces of one term."""
        return sum((p.gain for p in self.pieces if p.term is term), Decimal(0))


@dataclass(frozen=True, slots=True)
class RealizedSale(_PieceTotals):
    """A sale with the pieces of lots it relieved; not `taxable` in an IRA (nothing reported)."""

    trade: Trade
    pieces: tuple[RelievedPiece, ...]

    @property
    def id(self) -> str:
        return self.trade.id

    @property
    def taxable(self) -> bool:
        return self.trade.taxable

    @property
    def qty(self) -> Decimal:
        return self.trade.qty

    @property
    def term(self) -> Term:
        terms = {p.term for p in self.pieces}
        return terms.pop() if len(terms) == 1 else Term.MIXED

    @property
    def washes(self) -> tuple[WashAdjustment, ...]:
        return tuple(w for p in self.pieces for w in p.washes)


@dataclass(frozen=True, slots=True)
class SalePreview(_PieceTotals):
    """What a sale would do if made now (pure what-if; the ledger is not changed).

    `washes` counts purchases already made: a purchase still to come in the 30 days after
    would add to `disallowed`, which is what `LossWindow` is for.
    """

    account: str
    symbol: str
    date: date
    qty: Decimal
    method: LotMethod
    pieces: tuple[RelievedPiece, ...]


@dataclass(frozen=True, slots=True)
class SaleRequest:
    """One sale to preview: `proceeds` is the net total; `method` None is the account's."""

    account: str
    symbol: str
    qty: Decimal
    proceeds: Decimal
    method: LotMethod | None = None
    picks: tuple[LotPick, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class LossWindow:
    """A taxable loss sale whose 30 days after are not over: buying the group would wash it.

    `unwashed_qty` shares of the loss are not matched yet; `unwashed_loss` is the loss on them,
    what a purchase of that many shares of any symbol in `symbols` before `ends` would disallow.
    """

    sale_id: str
    account: str
    symbol: str
    symbols: frozenset[str]
    sale_date: date
    ends: date
    unwashed_qty: Decimal
    unwashed_loss: Decimal


@fast_init
@dataclass(frozen=True, slots=True)
class PurchaseWindow:
    """A purchase whose 30 days after are not over: a taxable loss sale of the group would wash.

    `available_qty` shares are held and have absorbed no loss yet. An IRA purchase would make
    such a loss permanent (`account_type`).
    """

    source_id: str
    account: str
    account_type: AccountType
    symbol: str
    symbols: frozenset[str]
    acquired: date
    ends: date
    available_qty: Decimal


def amount_realized(qty: Decimal, price: Decimal, commission: Decimal) -> Decimal:
    """Return a sale's amount realized: its proceeds less its commission, never below zero.

    A tiny sale can pay more commission than it brings (`min_trade_notional = 0`); a trade's
    amount below zero is refused by the engine, so what the commission took beyond the
    proceeds is not counted as a loss. The live ledger and the backtest both record this."""
    return max(qty * price - commission, Decimal(0))
