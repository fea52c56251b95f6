"""Settings of the simulated broker (an account's `broker_settings` when `broker = "sim"`)."""

from __future__ import annotations

__all__ = ["CsvPriceSettings", "PriceSettings", "SimSettings", "SyntheticPriceSettings"]

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from adapters.sim.prices import CloseTable, CsvPrices, SyntheticPrices, read_closes_csv

_CENT = Decimal("0.01")
# Above this, slippage is almost surely a unit slip (basis points, not percent); at 10,000
# a sell would fill at zero.
MAX_SLIPPAGE_BPS = Decimal(1000)


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
        description="Expected yearly return as a fraction (0.07 = 7%); negative for a falling "
        "market.",
    )
    annual_volatility: Decimal = Field(
        default=Decimal("0.18"),
        description="Yearly standard deviation of returns as a fraction (0.18 = 18%), 0 to 2.",
    )
    base_prices: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Price per symbol on the start day; other symbols get one derived from "
        "their name.",
    )

    @field_validator("annual_volatility")
    @classmethod
    def _volatility_in_range(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"annual_volatility must not be negative, got {value}")
        if value > 2:
            raise ValueError(f"annual_volatility is a fraction (0.18 = 18%); {value} is over 2")
        return value

    @field_validator("base_prices")
    @classmethod
    def _base_prices_positive(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for symbol, price in value.items():
            if not symbol.strip():
                raise ValueError("base_prices has an empty symbol name")
            if price <= 0:
                raise ValueError(f"base_prices.{symbol} must be positive, got {price}")
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
        description="CSV of daily closes, header date,SYMBOL1,SYMBOL2,...; read once at start."
    )
    # Parsed while validating, so a bad file fails the configuration and is read only once.
    _table: CloseTable | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _file_parses(self) -> CsvPriceSettings:
        self._table = read_closes_csv(self.path)
        return self

    def build(self) -> CsvPrices:
        """Return the price source these settings describe."""
        if self._table is None:  # pragma: no cover - validation always sets it
            return CsvPrices.from_file(self.path)
        return CsvPrices(self._table, path=self.path)


PriceSettings = Annotated[SyntheticPriceSettings | CsvPriceSettings, Field(discriminator="source")]


class SimSettings(BaseModel):
    """A paper account inside trimtab's database, with configurable costs and prices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starting_cash: Decimal = Field(
        default=Decimal(0),
        description="Cash credited once, when the sim account is first created (whole cents).",
    )
    slippage_bps: Decimal = Field(
        default=Decimal(0),
        description="Price impact in basis points: buys fill at quote x (1 + bps/10000), sells "
        "at quote x (1 - bps/10000).",
    )
    commission_per_order: Decimal = Field(
        default=Decimal(0), description="Commission charged per filled order, in dollars."
    )
    commission_per_share: Decimal = Field(
        default=Decimal(0), description="Commission charged per share filled, in dollars."
    )
    fractional: bool = Field(
        default=True, description="Accept fractional share quantities; false = whole shares."
    )
    prices: PriceSettings = Field(
        default_factory=SyntheticPriceSettings,
        description="Where quotes come from: source = 'synthetic' (default) or 'csv'.",
    )

    @field_validator(
        "starting_cash", "slippage_bps", "commission_per_order", "commission_per_share"
    )
    @classmethod
    def _not_negative(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if value < 0:
            raise ValueError(f"{info.field_name} must be zero or more, got {value}")
        return value

    @field_validator("starting_cash")
    @classmethod
    def _whole_cents(cls, value: Decimal) -> Decimal:
        if value != value.quantize(_CENT):
            raise ValueError(f"starting_cash must be whole cents, got {value}")
        return value

    @field_validator("slippage_bps")
    @classmethod
    def _slippage_plausible(cls, value: Decimal) -> Decimal:
        if value > MAX_SLIPPAGE_BPS:
            raise ValueError(
                f"slippage_bps is in basis points (1 bp = 0.01%); {value} is over "
                f"{MAX_SLIPPAGE_BPS} (10%)"
            )
        return value
