"""Settings of the manual broker (an account's `broker_settings` when `broker = "manual"`).

A relative `exports` or `prices_file` is resolved against the validation context's
`config_dir` when the caller passes one, else against the working directory, like the sim's
price file. The shape is documented in docs/manual.md.
"""

from __future__ import annotations

__all__ = ["ColumnSettings", "ManualSettings"]

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from adapters.manual.presets import PRESETS, Layout
from daemon.core.plannable import age_hours_problem


def _rule(problem: str, fix: str) -> PydanticCustomError:
    """Return a validation failure that says what is wrong and, in its ctx, how to fix it."""
    message = problem.replace("{", "(").replace("}", ")")
    return PydanticCustomError("trimtab_rule", message, {"fix": fix})


def _absolute(value: Path, info: ValidationInfo) -> Path:
    value = value.expanduser()
    if not value.is_absolute():
        context = info.context if isinstance(info.context, dict) else {}
        value = Path(context.get("config_dir") or Path.cwd()) / value
    return value


class ColumnSettings(BaseModel):
    """Which header holds what: required with preset "custom", an override otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str | None = Field(None, description="Header of the ticker column.")
    quantity: str | None = Field(None, description="Header of the shares column.")
    price: str | None = Field(None, description="Header of the price-per-share column.")
    value: str | None = Field(
        None, description="Header of the market value column (a cash row's amount)."
    )
    account: str | None = Field(
        None, description="Header of the account number column (with account_number)."
    )
    description: str | None = Field(None, description="Header of the security name column.")

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ManualSettings(BaseModel):
    """An account at a broker without an API: read from exports, traded by order tickets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Literal["live"] = Field(
        description='Always "live": a manual account is a real account. Its tickets are '
        'written only in mode = "live" (with live_confirmation); paper mode refuses the '
        "configuration, and dry-run plans without writing any."
    )
    exports: Path = Field(
        description="Folder the broker's positions exports are saved in; the newest file "
        "matching `pattern` (by modification time) is the account."
    )
    pattern: str = Field("*.csv", description="Which files in `exports` are exports.")
    preset: Literal["fidelity", "schwab", "vanguard", "custom"] = Field(
        description="The export's layout; custom = the [columns] table says it."
    )
    columns: ColumnSettings = Field(
        default_factory=ColumnSettings, description="Header names, for custom or overrides."
    )
    account_number: str | None = Field(
        None, description="Rows of this account only, when an export lists several."
    )
    max_export_age_hours: Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        Decimal(72),
        description="The newest export must be younger than this many hours (above 0, at most "
        "8784: a year); keep it under risk.max_quote_age_hours (the export's time is its "
        "prices' time).",
    )
    cash_symbols: tuple[str, ...] = Field(
        (), description="Money-market funds counted as cash, beside the preset's own list."
    )
    ignore: tuple[str, ...] = Field(
        (),
        description="Symbols left out of the account (a fund without a ticker); their value "
        "is then not planned.",
    )
    fractional: bool = Field(False, description="Whether tickets may ask for fractional shares.")
    prices_file: Path | None = Field(
        None,
        description="CSV symbol,price for symbols the export does not hold; its "
        "modification time is the prices' time.",
    )

    @field_validator("max_export_age_hours")
    @classmethod
    def _age_in_range(cls, hours: Decimal) -> Decimal:
        if problem := age_hours_problem("max_export_age_hours", hours):
            raise _rule(
                problem,
                "set broker_settings.max_export_age_hours to the age in hours past which the "
                "newest export is refused, e.g. 72 (the default: delete the key), below "
                "risk.max_quote_age_hours",
            )
        return hours

    @field_validator("exports")
    @classmethod
    def _folder_exists(cls, value: Path, info: ValidationInfo) -> Path:
        value = _absolute(value, info)
        if not value.is_dir():
            raise _rule(
                f"exports folder {value} does not exist",
                "create it and save the broker's positions export there, or fix the path",
            )
        return value

    @field_validator("prices_file")
    @classmethod
    def _prices_exist(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        value = _absolute(value, info)
        if not value.is_file():
            raise _rule(
                f"prices_file {value} is not a file",
                "write a CSV with the columns symbol,price, or remove the key",
            )
        return value

    @model_validator(mode="after")
    def _custom_names_its_columns(self) -> ManualSettings:
        if self.preset == "custom":
            missing = [
                c for c in ("symbol", "quantity", "price") if getattr(self.columns, c) is None
            ]
            if missing:
                raise _rule(
                    f'preset "custom" needs columns.{", columns.".join(missing)}',
                    "name each header in [accounts.NAME.broker_settings.columns], or use a "
                    "preset: fidelity, schwab, vanguard",
                )
        return self

    def layout(self) -> Layout:
        """Return the preset's layout with the [columns] overrides applied."""
        return PRESETS[self.preset].with_columns(self.columns.given())
