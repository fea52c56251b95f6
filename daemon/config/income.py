"""The `[income]` table: a monthly income paid out of the household (docs/income.md)."""

from __future__ import annotations

__all__ = ["IncomeSettings"]

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:  # the rules import the tax engine (numpy): not for `config check`
    from daemon.core.income import IncomeRule

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")
Yield = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]


def _rule(problem: str, fix: str, key: str) -> PydanticCustomError:
    return PydanticCustomError("trimtab_rule", problem, {"fix": fix, "key": key})


class IncomeSettings(BaseModel):
    """One monthly payout for the whole household, paid into one account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str = Field(description="The configured account the income is paid out of.")
    monthly_amount: Annotated[Decimal, Field(allow_inf_nan=False)] | None = Field(
        None, description="A fixed amount per month (currency); or give annual_pct."
    )
    annual_pct: Annotated[Decimal, Field(allow_inf_nan=False)] | None = Field(
        None,
        description="A fraction of the household's value per year, paid monthly (0.04 = 4%); "
        "or give monthly_amount.",
    )
    inflation: Annotated[Decimal, Field(ge=0, le=Decimal("0.2"), allow_inf_nan=False)] = Field(
        Decimal(0),
        description="Raise monthly_amount by this fraction a year from base_year (0.025 = 2.5%).",
    )
    base_year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(
        None, description="The year monthly_amount is given in; needed with inflation."
    )
    payout_day: int = Field(
        1,
        description="Day of the month the income is paid (the trading day before it when it "
        "is not one; a short month's last day when the month has fewer days).",
    )
    lead_days: Annotated[int, Field(ge=0, le=15)] = Field(
        3, description="Start raising the cash this many trading days before the payout day."
    )
    yields: dict[str, Yield] = Field(
        default_factory=dict,
        description="Yearly yields (0.031 = 3.1%) for the projection of symbols whose broker "
        "reports no dividend history (the simulated broker).",
    )

    @model_validator(mode="after")
    def _one_amount(self) -> IncomeSettings:
        if (self.monthly_amount is None) == (self.annual_pct is None):
            raise _rule(
                "give exactly one of monthly_amount and annual_pct",
                'set monthly_amount = "2000" (currency) or annual_pct = 0.04 (4% a year)',
                "monthly_amount",
            )
        if self.monthly_amount is not None and not (
            Decimal("0.01") <= self.monthly_amount <= Decimal(10_000_000)
        ):
            raise _rule(
                "monthly_amount must be a positive amount of currency",
                'write an amount per month in currency, e.g. "2000"',
                "monthly_amount",
            )
        if self.annual_pct is not None and not (Decimal(0) < self.annual_pct <= Decimal("0.5")):
            raise _rule(
                "annual_pct must be a fraction of the household's value above 0 and at most 0.5",
                "write the yearly payout as a fraction, e.g. 0.04 for 4% a year",
                "annual_pct",
            )
        if self.inflation and self.annual_pct is not None:
            raise _rule(
                "inflation applies to monthly_amount only (annual_pct follows the value)",
                "remove inflation, or use monthly_amount",
                "inflation",
            )
        if self.inflation and self.base_year is None:
            raise _rule(
                "inflation needs base_year, the year monthly_amount is given in",
                "add base_year, e.g. base_year = 2026",
                "base_year",
            )
        if not 1 <= self.payout_day <= 31:
            raise _rule(
                "payout_day must be a day of the month, 1 to 31",
                "write e.g. payout_day = 1; a day a month lacks means its last day",
                "payout_day",
            )
        for symbol in self.yields:
            if not _SYMBOL.match(symbol):
                raise _rule(
                    f"symbol {symbol!r} is not a valid ticker",
                    "write tickers in upper case, e.g. VTI or BRK.B",
                    "yields",
                )
        return self

    def rule(self) -> IncomeRule:
        """Return the plan as the pure income functions take it."""
        from daemon.core.income import IncomeRule

        return IncomeRule(
            account=self.account,
            payout_day=self.payout_day,
            lead_days=self.lead_days,
            monthly_amount=self.monthly_amount,
            annual_pct=self.annual_pct,
            inflation=self.inflation,
            base_year=self.base_year,
        )
