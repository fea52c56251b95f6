"""Settings of the Interactive Brokers adapter (an account's `broker_settings` when
`broker = "ibkr"`).

trimtab talks to a running TWS or IB Gateway over its API socket; the IB login and password
live in the Gateway (IBC), never here. Nothing in these settings is a secret.
"""

from __future__ import annotations

__all__ = ["GATEWAY_PORTS", "IbkrSettings", "MaintenanceWindow"]

import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

GATEWAY_PORTS = {"paper": 4002, "live": 4001}
"""IB Gateway's default API ports (TWS uses 7497 paper, 7496 live)."""
_ACCOUNT_ID = re.compile(r"^[A-Z]{1,3}\d{4,12}$")
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _rule(problem: str, fix: str) -> PydanticCustomError:
    """Return a validation failure that says what is wrong and, in its ctx, how to fix it."""
    return PydanticCustomError(
        "trimtab_rule", problem.replace("{", "(").replace("}", ")"), {"fix": fix}
    )


class MaintenanceWindow(BaseModel):
    """A span of time, every day or on one weekday, in which IB's side is not to be used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: str = Field(
        description='"HH:MM-HH:MM" wall-clock time in `timezone`; may wrap midnight.'
    )
    day: Literal["daily", "mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="daily", description="daily, or the weekday the window starts on."
    )
    timezone: str = Field(default="America/New_York", description="IANA time zone of `hours`.")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = _WINDOW.match(value.strip())
        if match is None:
            raise _rule("must be HH:MM-HH:MM", 'write e.g. "23:45-00:45"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
            raise _rule("is not a span of clock times", 'write e.g. "23:45-00:45"')
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise _rule(f"unknown time zone {value}", 'write e.g. "America/New_York"') from exc
        return value

    def covers(self, at: datetime) -> bool:
        """Tell whether the aware instant `at` falls inside this window."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        match = _WINDOW.match(self.hours)
        assert match is not None  # validated
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start_t, end_t = time(h1, m1), time(h2, m2)
        length = (
            datetime.combine(local.date(), end_t) - datetime.combine(local.date(), start_t)
        ) % timedelta(days=1)
        # The window that may hold `at` started today or (wrapping midnight) yesterday.
        for back in (0, 1):
            day = local.date() - timedelta(days=back)
            if self.day != "daily" and _DAYS[day.weekday()] != self.day:
                continue
            start = datetime.combine(day, start_t, zone)
            if start <= local < start + length:
                return True
        return False


DEFAULT_WINDOWS = (
    # IB Gateway's daily auto-restart (IBC AUTO_RESTART_TIME, 11:45 PM in the compose file)
    # and IB's nightly server reset around midnight New York time.
    MaintenanceWindow(hours="23:40-01:00"),
    # The weekly re-login: after IB's Sunday reset (from 01:00 New York time) the Gateway
    # needs the credentials (and 2FA) again; IB gives no session continuity on Saturdays.
    MaintenanceWindow(hours="00:00-23:59", day="sun"),
)


class IbkrSettings(BaseModel):
    """One IB account behind a running TWS or IB Gateway, reached through ib_async."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Literal["paper", "live"] = Field(
        description="paper or live (real money); required, so real money is never a default. "
        "Must agree with the account: paper account ids start with D.",
    )
    account_id: str = Field(
        description="The IB account number, e.g. DU1234567 (paper) or U1234567 (live); only "
        "this account's positions, cash and orders are read or placed, even when the login "
        "manages several.",
    )
    host: str = Field(default="127.0.0.1", description="Host of TWS or IB Gateway.")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="API port. Default: IB Gateway's, 4002 for paper and 4001 for live "
        "(TWS: 7497 paper, 7496 live).",
    )
    client_id: int = Field(
        default=17,
        ge=0,
        le=2_147_483_647,
        description="API client id, unique among the programs connected to the same "
        "Gateway (IB refuses a second connection with error 326). 0 also takes over orders "
        "typed into TWS by hand; trimtab does not need that.",
    )
    connect_timeout_seconds: Decimal = Field(
        default=Decimal(10),
        gt=0,
        le=120,
        description="Seconds to connect and finish ib_async's start-up sync (positions, "
        "orders, executions, account values).",
    )
    request_timeout_seconds: Decimal = Field(
        default=Decimal(20), gt=0, le=300, description="Seconds to wait for any one answer."
    )
    market_data_type: Literal[1, 2, 3, 4] = Field(
        default=1,
        description="1 live (needs a market data subscription), 2 frozen, 3 delayed (15-20 "
        "minutes; no subscription needed), 4 delayed frozen.",
    )
    outside_rth: bool = Field(
        default=False,
        description="Let orders fill outside regular trading hours; IB needs it on every "
        "order, and trimtab sets it explicitly either way.",
    )
    heartbeat_seconds: int = Field(
        default=30,
        ge=5,
        le=600,
        description="Idle seconds after which the link is probed (reqCurrentTime) before "
        "anything is sent: IB can go silent without closing the socket.",
    )
    reconnect_max_backoff_seconds: int = Field(
        default=120,
        ge=1,
        le=3600,
        description="Longest wait between reconnect attempts (the wait doubles from 1 s).",
    )
    unknown_order_grace_seconds: int = Field(
        default=120,
        ge=10,
        le=86_400,
        description="After an order whose outcome is unknown (the link dropped while sending), "
        "how long its orderRef must stay absent from IB's open orders, completed orders and "
        "executions, after a fresh sync, before trimtab records it as never having reached IB.",
    )
    tws_timezone: str | None = Field(
        default=None,
        description="IANA time zone TWS or IB Gateway is logged in with (its log-in screen's "
        'time zone, e.g. "America/New_York"): TWS writes execution times without a zone '
        "(`20261206  09:30:01`) in it. Default: this host's zone, right when the Gateway "
        "runs on the same machine with the same zone.",
    )
    maintenance_windows: tuple[MaintenanceWindow, ...] = Field(
        default=DEFAULT_WINDOWS,
        description="When the scheduler skips this account's cycles: IB Gateway's daily "
        "restart and IB's nightly reset (default 23:40-01:00 New York time, daily) and the "
        "weekly re-login (default all of Sunday, New York time). Set [] to run any time.",
    )

    @field_validator("account_id")
    @classmethod
    def _account_id(cls, value: str) -> str:
        value = value.strip().upper()
        if not _ACCOUNT_ID.match(value):
            raise _rule(
                f"{value!r} is not an IB account number",
                "copy it from TWS or Client Portal, e.g. DU1234567 (paper) or U1234567 (live)",
            )
        return value

    @field_validator("tws_timezone")
    @classmethod
    def _tws_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise _rule(f"unknown time zone {value}", 'write e.g. "America/New_York"') from exc
        return value

    @model_validator(mode="after")
    def _environment_matches(self) -> IbkrSettings:
        paper_id = self.account_id.startswith("D")
        if self.environment == "paper" and not paper_id:
            raise _rule(
                f"account {self.account_id} is a live account (paper account ids start with D) "
                'but environment = "paper"',
                'use the paper account id (DU...), or set environment = "live" and mode = "live" '
                "if you mean real money",
            )
        if self.environment == "live" and paper_id:
            raise _rule(
                f'account {self.account_id} is a paper account but environment = "live"',
                'set environment = "paper", or use the live account id (U...)',
            )
        return self

    @property
    def api_port(self) -> int:
        """Return the port to connect to."""
        return self.port if self.port is not None else GATEWAY_PORTS[self.environment]

    def maintenance_at(self, at: datetime) -> MaintenanceWindow | None:
        """Return the window covering `at`, or None."""
        return next((w for w in self.maintenance_windows if w.covers(at)), None)
