"""The parameters every strategy shares: its universe, its lookback, its investment-policy limits.

`PolicyLimits` are the limits of `strategies.limits.apply_limits`; `HistoryParams` adds the
universe and the lookback for the strategies that read price history. A strategy's own params
model subclasses one of them, so every table is validated the same way (`extra="forbid"`: a
misspelt key is an error, not a default).
"""

from __future__ import annotations

__all__ = [
    "SYMBOL",
    "HistoryParams",
    "PolicyLimits",
    "SafeAssetParams",
    "check_symbol",
    "check_universe",
]

import re
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daemon.core.domain import CASH

SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")
"""A ticker as trimtab writes it: upper case, letters first."""

Fraction = Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)]


def check_symbol(symbol: str) -> str:
    if not SYMBOL.match(symbol):
        raise ValueError(f"{symbol!r} is not a ticker; write tickers in upper case")
    return symbol


def check_universe(universe: list[str]) -> list[str]:
    if not universe:
        raise ValueError("universe is empty; list the symbols the strategy may hold")
    for symbol in universe:
        if symbol == CASH:
            raise ValueError("CASH is not a symbol of the universe; use safe_asset = 'CASH'")
        check_symbol(symbol)
    seen = {s for s in universe if universe.count(s) > 1}
    if seen:
        raise ValueError(f"{sorted(seen)[0]} is listed twice in universe; list it once")
    return universe


class PolicyLimits(BaseModel):
    """Investment-policy limits, applied to every strategy's weights (`apply_limits`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_weight: Fraction = Field(
        Decimal(1), description="Largest weight of any one symbol (CASH is exempt), 0-1."
    )
    asset_classes: dict[str, str] = Field(
        default_factory=dict,
        description="Asset class of each symbol (e.g. VTI = 'equity'), for class_caps.",
    )
    class_caps: dict[str, Fraction] = Field(
        default_factory=dict,
        description="Largest total weight of each asset class named in asset_classes, 0-1.",
    )
    min_holdings: int = Field(
        1,
        ge=1,
        le=1000,
        description="At least this many symbols: no symbol above 1/min_holdings.",
    )
    max_turnover: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        Decimal(1),
        description=(
            "Largest move from the current weights per rebalance, as half the sum of "
            "absolute weight changes (1: no limit)."
        ),
    )

    @field_validator("asset_classes")
    @classmethod
    def _classes_name_tickers(cls, classes: dict[str, str]) -> dict[str, str]:
        for symbol in classes:
            check_symbol(symbol)
        return classes

    @model_validator(mode="after")
    def _caps_name_known_classes(self) -> Self:
        known = set(self.asset_classes.values())
        for name in self.class_caps:
            if name not in known:
                raise ValueError(
                    f"class_caps names {name!r}, which no symbol has in asset_classes; "
                    "add the class to asset_classes or drop its cap"
                )
        return self


class HistoryParams(PolicyLimits):
    """The limits plus the universe and the lookback of a strategy that reads price history."""

    universe: list[str] = Field(description="Symbols the strategy chooses among.")
    lookback_days: int = Field(
        252, ge=2, le=5000, description="Trading days of history the rule looks back over."
    )

    _universe = field_validator("universe")(check_universe)


class SafeAssetParams(HistoryParams):
    """A rule that steps aside into a safe asset (`momentum`, `trend`)."""

    safe_asset: str = Field(
        CASH,
        description="Where weight goes when the rule steps aside: a ticker (e.g. SHY) or CASH.",
    )

    @field_validator("safe_asset")
    @classmethod
    def _safe_ticker(cls, value: str) -> str:
        return value if value == CASH else check_symbol(value)

    @model_validator(mode="after")
    def _safe_outside_universe(self) -> Self:
        if self.safe_asset in self.universe:
            raise ValueError(f"safe_asset {self.safe_asset} is in the universe; keep it out")
        return self
