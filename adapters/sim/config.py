"""Settings of the simulated broker (an account's `broker_settings` when `broker = "sim"`).

A relative `prices.path` is resolved against the validation context's `config_dir` when the
caller passes one (`model_validate(data, context={"config_dir": ...})`), else against the
working directory; either way the validated settings hold the absolute path.
"""

from __future__ import annotations

__all__ = ["CsvPriceSettings", "PriceSettings", "SimSettings", "SyntheticPriceSettings"]

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from adapters.sim.faults import FaultSettings
from adapters.sim.prices import (
    CsvPrices,
    PriceFileError,
    SyntheticPrices,
    missing_columns,
    read_closes_csv,
)
from daemon.core.costs import TradeCosts
from daemon.core.money import is_whole_cents
from daemon.core.plannable import MAX_NUMBER, price_problem

# Above this, slippage is almost surely a unit slip (basis points, not percent); at 10,000
# a sell would fill at zero.
MAX_SLIPPAGE_BPS = Decimal(1000)
MAX_VOLATILITY = Decimal(2)
MAX_MARKET_BUY_HOLD = Decimal("0.2")
# The most each key takes, why, and how to write it (checked before `_whole_cents`, whose
# quantize raised decimal.InvalidOperation on 1e300 and crashed `config check`).
MAXIMA: dict[str, tuple[Decimal, str, str]] = {
    # Cash above the planner's range (daemon.core.plannable) failed every cycle.
    "starting_cash": (
        MAX_NUMBER,
        f"{MAX_NUMBER:f} (1e13), more than any account holds and beyond the range trimtab "
        "plans with",
        'write the cash in dollars, e.g. "100000"',
    ),
    # No broker charges near this (fees run from 0 to tens of dollars an order, fractions of a
    # cent to a few cents a share); 1e300 crashed the cycle and the backtest when the first
    # buy's commission was rounded to the cent.
    "commission_per_order": (
        Decimal(1000),
        "1000 dollars, more than any broker charges for an order",
        'write dollars per order, e.g. "4.95" (0 for none)',
    ),
    "commission_per_share": (
        Decimal(1),
        "1 dollar, more than any broker charges for a share",
        'write dollars per share, e.g. "0.005" (half a cent); a fee per order goes in '
        "commission_per_order",
    ),
}


def _rule(problem: str, fix: str) -> PydanticCustomError:
    """Return a validation failure that says what is wrong and, in its ctx, how to fix it."""
    # Braces would be read as template fields; a file name may contain them.
    message = problem.replace("{", "(").replace("}", ")")
    return PydanticCustomError("trimtab_rule", message, {"fix": fix})


class SyntheticPriceSettings(BaseModel):
    """A deterministic random walk: the same seed gives the same prices forever."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["synthetic"] = Field(
        default="synthetic", description="Generate prices: a random walk per symbol."
    )
    seed: int = Field(default=42, description="Seed of the walk; change it for another market.")
    start: date = Field(
        default=date(2020, 1, 2),
        description="First day of the walk; there are no prices before it.",
    )
    annual_drift: Decimal = Field(
        default=Decimal("0.07"),
        ge=-1,
        le=1,
        description="Expected yearly return as a fraction (0.07 = 7%), -1 to 1; negative for "
        "a falling market.",
    )
    annual_volatility: Decimal = Field(
        default=Decimal("0.18"),
        description="Yearly standard deviation of returns as a fraction (0.18 = 18%), 0 to 2.",
    )
    base_prices: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Price per symbol on the start day; other symbols get one derived from "
        "their name ($20 to $210).",
    )

    @field_validator("annual_volatility")
    @classmethod
    def _volatility_in_range(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise _rule(
                f"annual_volatility must not be negative, got {value}",
                "use 0 for a market that only drifts, or e.g. 0.18",
            )
        if value > MAX_VOLATILITY:
            raise _rule(
                f"annual_volatility {value} is over {MAX_VOLATILITY}",
                "write a fraction: 0.18 means 18% a year",
            )
        return value

    @field_validator("base_prices")
    @classmethod
    def _base_prices_positive(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for symbol, price in value.items():
            if not symbol.strip():
                raise _rule("base_prices has an empty symbol name", "name each symbol")
            if price <= 0:
                raise _rule(
                    f"base_prices.{symbol} must be positive, got {price}",
                    "give a starting price above zero, e.g. 100",
                )
            problem = price_problem(price)
            if problem is not None:
                raise _rule(f"base_prices.{symbol} {problem}", "give a starting price like 100")
        return value

    def build(self) -> SyntheticPrices:
        """Return the price source these settings describe."""
        return SyntheticPrices(
            seed=self.seed,
            start=self.start,
            annual_drift=self.annual_drift,
            annual_volatility=self.annual_volatility,
            base_prices=self.base_prices,
        )


class CsvPriceSettings(BaseModel):
    """Daily closes from a CSV file: `date,SYMBOL1,SYMBOL2,...` (see `adapters.sim.prices`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["csv"] = Field(description="Read daily closes from a CSV file.")
    path: Path = Field(
        description="CSV of daily closes with header date,SYMBOL1,SYMBOL2,...; checked when the "
        "configuration is loaded, read when the broker starts."
    )

    @field_validator("path")
    @classmethod
    def _file_parses(cls, value: Path, info: ValidationInfo) -> Path:
        value = value.expanduser()
        if not value.is_absolute():
            context = info.context if isinstance(info.context, dict) else {}
            value = Path(context.get("config_dir") or Path.cwd()) / value
        try:
            read_closes_csv(value)
        except PriceFileError as exc:
            raise _rule(
                str(exc), "fix the file, or point path at another (see README, Simulated broker)"
            ) from exc
        return value

    def build(self) -> CsvPrices:
        """Return the price source these settings describe; read the file now."""
        return CsvPrices.from_file(self.path)

    def symbol_problems(self, symbols: Collection[str]) -> list[tuple[str, str, str]]:
        """Return (key, problem, fix) for each of `symbols` the file has no column for."""
        return [("prices.path", *found) for found in missing_columns(self.path, symbols)]


def _price_source(value: Any) -> Any:
    # A [prices] table without `source` is the default, synthetic one (e.g. only a seed).
    if isinstance(value, dict):
        return value.get("source", "synthetic")
    return getattr(value, "source", None)


PriceSettings = Annotated[
    Annotated[SyntheticPriceSettings, Tag("synthetic")] | Annotated[CsvPriceSettings, Tag("csv")],
    Discriminator(_price_source),
]


class SimSettings(BaseModel):
    """A paper account inside trimtab's database, with configurable costs and prices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starting_cash: Decimal = Field(
        default=Decimal(0),
        description="Cash credited once, when the sim account is first created (whole cents, "
        "at most 1e13).",
    )
    slippage_bps: Decimal = Field(
        default=Decimal(0),
        description="Price impact in basis points (0 to 1000): buys fill at "
        "quote x (1 + bps/10000), sells at quote x (1 - bps/10000).",
    )
    commission_per_order: Decimal = Field(
        default=Decimal(0),
        description="Commission charged per filled order, in dollars (0 to 1000).",
    )
    commission_per_share: Decimal = Field(
        default=Decimal(0), description="Commission charged per share filled, in dollars (0 to 1)."
    )
    fractional: bool = Field(
        default=True, description="Accept fractional share quantities; false = whole shares."
    )
    market_buy_hold_fraction: Annotated[Decimal, Field(ge=0, le=MAX_MARKET_BUY_HOLD)] = Field(
        default=Decimal(0),
        description="Buying power a market buy is checked against above its quote, as a "
        "fraction (0.04 = 4%, like Alpaca): a buy whose qty x quote x (1 + this) exceeds the "
        "free cash is refused. 0 = checked at its fill price.",
    )
    prices: PriceSettings = Field(
        default_factory=SyntheticPriceSettings,
        description="Where quotes come from: source = 'synthetic' (default) or 'csv'.",
    )
    faults: FaultSettings = Field(
        default_factory=FaultSettings,
        description="Faults to inject on purpose, for tests and fire drills (all off by "
        "default); see adapters/sim/faults.py and docs/drills.md.",
    )

    def symbol_problems(self, symbols: Collection[str]) -> list[tuple[str, str, str]]:
        """Return (key, problem, fix) per symbol the prices cannot quote, as far as the
        configuration shows (a CSV file's columns; a synthetic walk prices every symbol)."""
        if isinstance(self.prices, CsvPriceSettings):
            return self.prices.symbol_problems(symbols)
        return []

    def trade_costs(self) -> TradeCosts:
        """The sim's own rules as the costs it declares: its slippage and its commission (per
        order on an order's first fill, per share on every fill), no fees."""
        return TradeCosts(
            slippage_bps=self.slippage_bps,
            per_order=self.commission_per_order,
            per_share=self.commission_per_share,
        )

    @field_validator(
        "starting_cash", "slippage_bps", "commission_per_order", "commission_per_share"
    )
    @classmethod
    def _not_negative(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if value < 0:
            raise _rule(f"{info.field_name} must be zero or more, got {value}", "use 0 or more")
        bound = MAXIMA.get(str(info.field_name))
        if bound is not None and value > bound[0]:
            raise _rule(f"{info.field_name} {value} is over {bound[1]}", bound[2])
        return value

    @field_validator("starting_cash")
    @classmethod
    def _whole_cents(cls, value: Decimal) -> Decimal:
        if not is_whole_cents(value):
            raise _rule(f"starting_cash must be whole cents, got {value}", "round to cents")
        return value

    @field_validator("slippage_bps")
    @classmethod
    def _slippage_plausible(cls, value: Decimal) -> Decimal:
        if value > MAX_SLIPPAGE_BPS:
            raise _rule(
                f"slippage_bps {value} is over {MAX_SLIPPAGE_BPS} (10%)",
                "write basis points: 1 bp = 0.01%, so 0.05% is 5",
            )
        return value
