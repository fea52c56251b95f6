"""Settings of monitoring: alert thresholds (`[alerts]`) and how performance is measured.

Kept apart from `daemon.config.settings` so the monitoring code and its settings read together;
`Settings` holds one of each.
"""

from __future__ import annotations

__all__ = ["AlertSettings", "PerformanceSettings"]

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from daemon.core.schedule import ScheduleError, parse_schedule

Fraction = Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertSettings(_Closed):
    """When an alert fires. Each fires once per episode (while its condition lasts) and is
    both an audit record (kind `alert`) and a notification; see docs/monitoring.md."""

    enabled: bool = Field(True, description="Evaluate alerts after each cycle and at day end.")
    drawdown: Fraction | None = Field(
        Decimal("0.15"),
        description="Alert when an account's time-weighted value stands this fraction or more "
        "below its highest point (0.15 = 15%); unset: never.",
    )
    drift_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        5,
        description="Alert when a holding has stayed outside its band at every cycle for this "
        "many days or more (buy-only, a budget or a refused order held the rebalance back); "
        "unset: never.",
    )
    concentration: Fraction | None = Field(
        None,
        description="Alert when one holding is this fraction or more of the account's value "
        "(0.6 = 60%); unset: never.",
    )
    cycle_failed: bool = Field(True, description="Alert when an account's latest cycle failed.")
    cycle_skipped: bool = Field(
        True, description="Alert when an account's latest slot was skipped (trimtab was down)."
    )
    broker_unreachable_minutes: Annotated[int, Field(ge=0, le=10080)] | None = Field(
        30,
        description="Alert when an account's cycles have failed to reach the broker for this "
        "many minutes or more (0: at the first such failure); unset: never.",
    )
    reconciliation_mismatch: bool = Field(
        True,
        description="Alert when the broker's positions differ from what trimtab's recorded "
        "fills explain (the account is halted as well).",
    )
    unresolved_orders: bool = Field(
        True,
        description="Alert when an order's fate at the broker is unresolved after a cycle "
        "(its symbol is blocked), and when an order is found never to have reached the broker.",
    )


class PerformanceSettings(_Closed):
    """How returns and risk are measured (see docs/monitoring.md for the formulas)."""

    benchmark: str | None = Field(
        None,
        pattern=r"^[A-Z][A-Z0-9.\-]{0,14}$",
        description="Symbol whose price the accounts' returns are compared with (e.g. VTI); "
        "its price is recorded at the end of each trading day (and at cycles of accounts "
        "that hold or target it). Unset: no benchmark.",
    )
    risk_free_rate: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        Decimal(0),
        description="Annual risk-free rate for the Sharpe and Sortino ratios (0.04 = 4%).",
    )
    var_level: Annotated[Decimal, Field(ge=Decimal("0.5"), lt=1, allow_inf_nan=False)] = Field(
        Decimal("0.95"), description="Confidence level of the one-day historical value at risk."
    )
    end_of_day: str = Field(
        "close + 10m",
        description="When `trimtab run` records each account's day-end valuation, flows and "
        "benchmark price and checks alerts, on trading days (a schedule expression; keep it "
        "after every account's last slot).",
    )

    @field_validator("end_of_day")
    @classmethod
    def _end_of_day_readable(cls, value: str) -> str:
        try:
            parse_schedule(value)
        except ScheduleError as exc:
            raise PydanticCustomError(
                "trimtab_rule", str(exc), {"fix": "write e.g. 'close + 10m' or '16:15'"}
            ) from None
        return value
