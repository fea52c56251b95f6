"""Tax settings: each account's `[accounts.NAME.tax]` table and the household's `[tax]` table.

Frozen and closed like the rest of the configuration. The per-account table says how lots are
relieved, what the wash-sale guards do, the realized-gains budget and tax-loss harvesting; the
household table says which symbols are substantially identical and which accounts outside
trimtab (a spouse's, another broker, an employer plan) count for wash sales.
"""

from __future__ import annotations

__all__ = [
    "GainsBudget",
    "HarvestSettings",
    "HouseholdTaxSettings",
    "OutsideAccount",
    "TaxSettings",
    "WashSalePolicy",
]

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from daemon.core.domain import AccountType
from daemon.core.plannable import MAX_NUMBER

LotMethodName = Literal["fifo", "lifo", "hifo", "min_tax", "specific"]
BuyPolicy = Literal["block", "redirect"]
LossSalePolicy = Literal["choose_other_lots", "defer", "allow"]
SameDayPolicy = Literal["count", "exclude"]
Money = Annotated[Decimal, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)]
"""An amount in the account's currency, within the range trimtab plans with."""
Fraction = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]


def _listed(value: Any) -> Any:
    """Read one alternate (`"ITOT"`) as a list of one (`["ITOT"]`)."""
    return (value,) if isinstance(value, str) else value


Alternates = Annotated[
    tuple[str, ...], BeforeValidator(_listed, json_schema_input_type=str | list[str])
]
"""A symbol's alternates, in the order they are tried: one symbol or a list of them."""
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")
_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rule(problem: str, fix: str, key: str | None = None) -> PydanticCustomError:
    ctx = {"fix": fix} if key is None else {"fix": fix, "key": key}
    return PydanticCustomError("trimtab_rule", problem, ctx)


def _check_symbols(symbols: tuple[str, ...] | list[str], key: str) -> None:
    for symbol in symbols:
        if not _SYMBOL.match(symbol):
            raise _rule(
                f"symbol {symbol!r} is not a valid ticker",
                "write tickers in upper case, e.g. VTI or BRK.B",
                key,
            )


class WashSalePolicy(_Closed):
    """What the planner does when a trade would fall inside a wash-sale window."""

    buys: BuyPolicy = Field(
        "block",
        description="A buy of a symbol (or its group) within 30 days after a loss sale of the "
        "group anywhere in the household: block it, or redirect it to the symbol's alternate.",
    )
    loss_sales: LossSalePolicy = Field(
        "defer",
        description="A sale at a loss within 30 days after a purchase of the group anywhere in "
        "the household: choose_other_lots (needs lot_method = 'specific'), defer the sale, or "
        "allow it and show the expected disallowed loss.",
    )


class GainsBudget(_Closed):
    """The most realized gain rebalancing sells may add per calendar year; absent: no cap."""

    short_term: Money | None = Field(
        None, description="Short-term gains (held one year or less) per year, in currency."
    )
    long_term: Money | None = Field(
        None, description="Long-term gains (held more than one year) per year, in currency."
    )


class HarvestSettings(_Closed):
    """Tax-loss harvesting: sell lots with a large enough loss and buy the alternate."""

    enabled: bool = Field(False, description="Harvest losses in this account (taxable only).")
    min_loss_pct: Fraction = Field(
        Decimal("0.05"),
        description="A lot qualifies when its unrealized loss is at least this fraction of its "
        "basis (0.05 = 5%) ...",
    )
    min_loss_amount: Money = Field(
        Decimal(200), description="... and at least this amount, in currency."
    )
    return_to_primary: bool = Field(
        False,
        description="After the 31-day window, sell the alternate and buy the primary back.",
    )


class TaxSettings(_Closed):
    """One account's tax behaviour (used for taxable accounts; IRAs only feed the guards)."""

    lot_method: LotMethodName = Field(
        "fifo",
        description="How sales relieve lots; must match the method set at the broker "
        "(fifo, lifo, hifo, min_tax, specific). See docs/tax.md.",
    )
    wash_sale: WashSalePolicy = Field(default_factory=WashSalePolicy)
    alternates: dict[str, Alternates] = Field(
        default_factory=dict,
        description="Per symbol, a similar but not substantially identical symbol to buy "
        "instead (redirected buys, harvest proceeds), or a list of them tried in order, e.g. "
        "{ VTI = 'ITOT' } or { VTI = ['ITOT', 'SCHB'] }.",
    )
    gains_budget: GainsBudget = Field(default_factory=GainsBudget)
    harvest: HarvestSettings = Field(default_factory=HarvestSettings)

    @model_validator(mode="after")
    def _consistent(self) -> TaxSettings:
        if self.wash_sale.loss_sales == "choose_other_lots" and self.lot_method != "specific":
            raise _rule(
                "wash_sale.loss_sales = 'choose_other_lots' needs lot_method = 'specific': with "
                f"{self.lot_method} the broker, not trimtab, picks the lots a sale relieves",
                "use 'defer', or lot_method = 'specific' on a broker that can be told the lots "
                "(the sim; docs/tax.md)",
                "wash_sale",
            )
        _check_symbols(list(self.alternates), "alternates")
        for primary, alternates in self.alternates.items():
            _check_symbols(alternates, "alternates")
            if not alternates:
                raise _rule(
                    f"{primary} has no alternate (an empty list)",
                    "name at least one similar fund, or remove the key",
                    "alternates",
                )
            if primary in alternates:
                raise _rule(
                    f"the alternate of {primary} is {primary} itself",
                    "name a similar fund that is not substantially identical",
                    "alternates",
                )
            twice = sorted({s for s in alternates if alternates.count(s) > 1})
            if twice:
                raise _rule(
                    f"the alternates of {primary} list {', '.join(twice)} twice",
                    "list each alternate once, in the order to try them",
                    "alternates",
                )
        _one_primary_each(self.alternates)
        return self

    @property
    def alternate_symbols(self) -> frozenset[str]:
        """Return every symbol some holding's alternates name."""
        return frozenset(s for alternates in self.alternates.values() for s in alternates)


def _one_primary_each(alternates: dict[str, tuple[str, ...]]) -> None:
    """Refuse an alternate listed by two primaries.

    A held alternate stands in for its primary after a harvest (`stand_in_targets`): the
    planner tests the two as one holding against the primary's target and band. An alternate
    of two primaries would have to be split between them, and which one it was bought for, and
    so which pool it belongs to, cannot be told from the holdings: guessing wrong sells the
    other primary (see docs/tax.md).
    """
    primaries: dict[str, list[str]] = {}
    for primary, listed in alternates.items():
        for alternate in listed:
            primaries.setdefault(alternate, []).append(primary)
    for alternate, of in sorted(primaries.items()):
        if len(of) > 1:
            names = sorted(of)
            listing = ("both " if len(names) == 2 else "") + (
                f"{', '.join(names[:-1])} and {names[-1]}"
            )
            raise _rule(
                f"{alternate} is the alternate of {listing}: held after a harvest, trimtab "
                f"could not tell which of them it stands in for",
                "give each primary its own alternates, e.g. "
                f"{{ {of[0]} = '{alternate}', {of[1]} = 'OTHER' }} with OTHER a similar fund "
                f"that is not substantially identical to {of[1]}",
                "alternates",
            )


class OutsideAccount(_Closed):
    """An account trimtab does not trade but whose trades count for wash sales."""

    type: AccountType = Field(
        AccountType.TAXABLE, description="taxable, traditional_ira, roth_ira."
    )
    owner: Literal["self", "spouse"] = Field(
        "self", description="Whose account it is; a spouse's purchases count (Pub 550)."
    )
    description: str = Field("", description="What it is, e.g. 'spouse 401(k) at Fidelity'.")


class HouseholdTaxSettings(_Closed):
    """The household's `[tax]` table."""

    substantially_identical: tuple[tuple[str, ...], ...] = Field(
        (),
        description="Groups of symbols treated as substantially identical for wash sales, "
        "e.g. [['VOO', 'IVV', 'SPY'], ['VTI', 'VTSAX']]. A symbol in no group is its own group; "
        "groups that share a symbol are merged.",
    )
    outside_accounts: dict[str, OutsideAccount] = Field(
        default_factory=dict,
        description="Accounts outside trimtab (spouse, another broker, an employer plan) whose "
        "trades are declared with `trimtab tax add-trade`.",
    )
    same_day_replacements: SameDayPolicy = Field(
        "count",
        description="Shares sold on the same day as a loss sale (a buy-back sold again that "
        "day): 'count' them as replacements that wash the loss, as brokers' 1099-B report it, "
        "or 'exclude' them (only shares still held at the day's end wash it). See docs/tax.md.",
    )

    @model_validator(mode="after")
    def _groups_checked(self) -> HouseholdTaxSettings:
        # Groups sharing a symbol are merged by the engine (substantially identical is
        # treated as transitive), so overlap is allowed.
        for index, group in enumerate(self.substantially_identical):
            _check_symbols(group, "substantially_identical")
            if len(group) < 2:
                raise _rule(
                    f"group {index + 1} has fewer than two symbols",
                    "list at least two symbols per group, or remove it",
                    "substantially_identical",
                )
        for name in self.outside_accounts:
            if not _ACCOUNT.match(name):
                raise _rule(
                    f"outside account name {name!r} is not allowed",
                    "use 1-24 lower-case letters, digits, - or _",
                    "outside_accounts",
                )
        return self
