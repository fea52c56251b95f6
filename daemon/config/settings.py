"""The configuration: one TOML file, then a secrets file, then `TRIMTAB_...` environment overrides.

Every model is frozen and closed (`extra="forbid"`). Credentials never come from the config
file itself: only from the environment or a secrets file readable by its owner alone.
Broker and strategy plugins validate their own tables (`broker_settings`, `strategy_params`)
with their own models; `check_config` reports their problems with full key paths too.
"""

from __future__ import annotations

__all__ = [
    "LIVE_CONFIRMATION",
    "AccountSettings",
    "BandSettings",
    "ClusterSettings",
    "HealthSettings",
    "LogSettings",
    "NotificationSettings",
    "PolicySettings",
    "RiskSettings",
    "SchedulerSettings",
    "Settings",
    "check_config",
    "cluster_problem",
    "config_schema",
    "load_config",
]

import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from daemon.config.files import deep_merge, read_config_file, read_secrets
from daemon.config.household import HouseholdSettings, household_problems
from daemon.config.income import IncomeSettings
from daemon.config.monitoring import AlertSettings, PerformanceSettings
from daemon.config.problems import (
    ENV_PREFIX,
    env_problem,
    name_sources,
    problems_from_validation_error,
)
from daemon.config.urls import database_url_problem
from daemon.core.calendar import exchange_problem
from daemon.core.domain import CASH, AccountType, Mode
from daemon.core.errors import ConfigError, ConfigProblem
from daemon.core.plannable import MAX_NUMBER, MIN_INCREMENT, age_hours_problem
from daemon.core.schedule import DEFAULT_SCHEDULE, ScheduleError, parse_schedule
from daemon.core.tax.settings import HouseholdTaxSettings, TaxSettings

LIVE_CONFIRMATION = "I understand trimtab will trade real money"
ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")
PercentagePoints = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rule(problem: str, fix: str, key: str | None = None) -> PydanticCustomError:
    """A validation failure whose message says what is wrong and whose ctx says how to fix it.

    `key` names the offending key when the rule is checked on the table that holds it.
    """
    ctx = {"fix": fix} if key is None else {"fix": fix, "key": key}
    return PydanticCustomError("trimtab_rule", problem, ctx)


MAX_AMOUNT = MAX_NUMBER
"""The largest amount of money a key takes: the planner's range (`daemon.core.plannable`),
more than any account holds in any currency; a larger one would fail every cycle there."""


def _amount_in_range(value: Decimal) -> Decimal:
    if value > MAX_AMOUNT:
        raise _rule(
            "the amount is above 10^13, more than any account holds (and beyond the range "
            "trimtab plans with)",
            'write the amount in the account\'s currency, e.g. "500" (not an exponent such '
            'as "1e999")',
        )
    return value


Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), AfterValidator(_amount_in_range)]
"""An amount of money (currency): not negative, finite, at most `MAX_AMOUNT`."""

MAX_TURNOVER = Decimal(1_000_000)
"""The largest `risk.max_turnover_per_cycle` and `..._per_day`: a million times the account's
value, far past any real account (paper tests and drills run many cycles a day at 1000) but
within the pre-trade check's arithmetic, which a huge multiple (1e999999) overflowed in every
cycle."""


class LogSettings(_Closed):
    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level written to the log."
    )
    format: Literal["auto", "json", "pretty"] = Field(
        "auto", description="auto: pretty on a terminal, JSON lines otherwise."
    )


class BandSettings(_Closed):
    """A drift band; the effective half-width is the smaller of those given."""

    absolute_pp: PercentagePoints | None = Field(
        None, description="Half-width in percentage points of the portfolio (5 = ±5pp)."
    )
    relative: Fraction | None = Field(
        None, description="Half-width as a fraction of the target (0.25 = ±25% of target)."
    )

    @model_validator(mode="after")
    def _one_of_them(self) -> BandSettings:
        if self.absolute_pp is None and self.relative is None:
            raise _rule(
                "a band needs absolute_pp, relative or both",
                "set absolute_pp (e.g. 5) and/or relative (e.g. 0.25)",
            )
        return self


class BandsSettings(_Closed):
    absolute_pp: PercentagePoints | None = Field(
        Decimal(5), description="Default half-width in percentage points."
    )
    relative: Fraction | None = Field(
        Decimal("0.25"), description="Default half-width as a fraction of the target."
    )
    overrides: dict[str, BandSettings] = Field(
        default_factory=dict, description="Per-symbol bands, e.g. { BND = { absolute_pp = 2 } }."
    )

    @model_validator(mode="after")
    def _default_band_given(self) -> BandsSettings:
        if self.absolute_pp is None and self.relative is None:
            raise _rule(
                "the default band needs absolute_pp, relative or both",
                "set absolute_pp (e.g. 5) and/or relative (e.g. 0.25)",
            )
        for symbol in self.overrides:
            _check_symbol(symbol)
        return self


class PolicySettings(_Closed):
    rebalance_to: Literal["target", "band_edge"] = Field(
        "target", description="Trade out-of-band holdings back to target, or only to the band."
    )
    inner_band: Fraction = Field(
        Decimal(0), description="band_edge only: 0 = to the edge, 0.5 = half way to target."
    )
    cash_buffer: Amount = Field(Decimal(0), description="Cash never spent by buys.")
    min_trade_notional: Amount = Field(
        Decimal(50),
        description="Orders smaller than this (in currency) are not placed; nor any order "
        "worth no more than the broker's commission on its smallest order (the minimum is then "
        "a cent above it).",
    )
    buy_only: bool = Field(False, description="Never sell to rebalance; only invest cash.")
    fractional: bool = Field(False, description="Trade fractional shares of every symbol.")
    fractional_symbols: tuple[str, ...] = Field(
        (), description="Symbols traded fractionally even when fractional = false."
    )
    fractional_increment: Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        Decimal("0.001"),
        description="Smallest fractional quantity step, from 0.000000001 (the finest step a "
        "broker takes) to 1.",
    )
    keep: tuple[str, ...] = Field(
        (), description="Holdings outside the targets that are kept, not sold."
    )
    allowed_symbols: tuple[str, ...] = Field(
        (),
        description="If not empty, the only symbols this account may trade (a 401(k)'s fund "
        "menu, an IRA without REITs); the household split keeps to them.",
    )
    order_type: Literal["market", "limit"] = Field(
        "market", description="market, or a marketable limit at the quote plus limit_collar."
    )
    limit_collar: Fraction = Field(
        Decimal("0.005"), description="Limit orders: how far past the quote the limit is set."
    )
    outside_hours: bool = Field(
        False,
        description="Submit while the exchange is closed (per its calendar); the simulated "
        "broker fills at the last close at any hour.",
    )
    notional_buys: bool = Field(
        False,
        description="Send buys of fractionally traded symbols as dollar amounts (market "
        "orders); the broker turns them into shares at the fill price. Sells stay in shares.",
    )

    @field_validator("fractional_increment")
    @classmethod
    def _increment_in_range(cls, step: Decimal) -> Decimal:
        # The planner refuses a finer step than a broker takes (every cycle failed on 1e-300).
        if not MIN_INCREMENT <= step <= 1:
            raise _rule(
                f"fractional_increment is {step}; it must be from {MIN_INCREMENT:f} (the finest "
                "step a broker takes) to 1",
                "set policy.fractional_increment to the smallest fraction of a share the broker "
                "trades, e.g. 0.001 (the default: delete the key)",
            )
        return step

    @model_validator(mode="after")
    def _symbols_valid(self) -> PolicySettings:
        for symbol in (*self.fractional_symbols, *self.keep, *self.allowed_symbols):
            _check_symbol(symbol)
        return self

    @model_validator(mode="after")
    def _notional_needs_market(self) -> PolicySettings:
        if self.notional_buys and self.order_type != "market":
            raise ValueError(
                'policy.notional_buys needs policy.order_type = "market": brokers take '
                "dollar-amount orders only as market orders"
            )
        return self


class RiskSettings(_Closed):
    max_order_notional: Amount | None = Field(
        None, description="Refuse any single order above this value (currency)."
    )
    max_order_pct_nav: Fraction = Field(
        Decimal(1), description="Refuse any single order above this fraction of the account."
    )
    max_quote_age_hours: Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        Decimal(96),
        description="Refuse to plan on quotes older than this many hours (above 0, at most "
        "8784: a year).",
    )
    max_turnover_per_cycle: Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        Decimal(2),
        description="Refuse orders once one cycle's traded value (buys + sells) would exceed "
        "this multiple of the account's value (above 0, at most 1000000); a breach halts the "
        "account.",
    )
    max_turnover_per_day: Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        Decimal(3),
        description="The same over one trading day, counting every cycle's sent orders "
        "(above 0, at most 1000000).",
    )
    max_orders_per_cycle: Annotated[int, Field(ge=1)] = Field(
        40, description="Refuse orders beyond this many in one cycle."
    )
    max_orders_per_minute: Annotated[int, Field(ge=1)] = Field(
        30,
        description="Refuse orders beyond this many sent in 60 seconds; a breach halts the "
        "account (a runaway loop is a malfunction).",
    )
    max_price_collar: Fraction = Field(
        Decimal("0.05"),
        description="Refuse a limit price further than this fraction from the quote.",
    )
    max_move_since_close: Fraction = Field(
        Decimal("0.25"),
        description="Refuse a symbol whose quote moved more than this fraction since the "
        "previous close (a split or a bad tick).",
    )
    allowed_symbols: tuple[str, ...] = Field(
        (), description="If not empty, only these symbols may be traded."
    )
    restricted_symbols: tuple[str, ...] = Field((), description="These symbols are never traded.")
    on_mismatch: Literal["halted", "reducing"] = Field(
        "halted",
        description="Trading state after positions differ from what recorded fills explain.",
    )
    trip_rejections_per_cycle: Annotated[int, Field(ge=1)] = Field(
        3, description="This many broker rejections in one cycle move the account to HALTED."
    )

    @field_validator("max_quote_age_hours")
    @classmethod
    def _quote_age_in_range(cls, hours: Decimal) -> Decimal:
        if problem := age_hours_problem("max_quote_age_hours", hours):
            raise _rule(
                problem,
                "set risk.max_quote_age_hours to the age in hours past which trimtab refuses to "
                "plan on a quote, e.g. 96 (the default: delete the key)",
            )
        return hours

    @field_validator("max_turnover_per_cycle", "max_turnover_per_day")
    @classmethod
    def _turnover_in_range(cls, multiple: Decimal, info: ValidationInfo) -> Decimal:
        if multiple <= 0 or multiple > MAX_TURNOVER:
            key = info.field_name
            default = cls.model_fields[str(key)].default
            raise _rule(
                f"{key} is {multiple}; it must be a multiple of the account's value above 0 "
                f"and at most {MAX_TURNOVER}",
                f"set risk.{key} to e.g. {default} (the default: delete the key); 2 lets a "
                "cycle sell everything and buy it all back",
            )
        return multiple


class AccountSettings(_Closed):
    broker: str = Field("sim", description="Broker plugin: sim, or module:attr.")
    type: AccountType = Field(
        AccountType.TAXABLE, description="taxable, traditional_ira, roth_ira."
    )
    broker_settings: dict[str, Any] = Field(
        default_factory=dict, description="Broker-specific settings, validated by the plugin."
    )
    read_retry_seconds: Annotated[Decimal, Field(ge=0, le=600)] = Field(
        Decimal(30),
        description="How long one failing read of the broker (5xx, timeout, rate limit) is "
        "retried, with jittered backoff or the wait the broker asks for, before the cycle "
        "fails; 0 = one attempt. Orders are never resent.",
    )
    fill_wait_seconds: Annotated[Decimal, Field(ge=1, le=1800)] = Field(
        Decimal(60),
        description="How long a cycle waits for its orders to fill before cancelling what is "
        "still open, and for as long looks up an order whose submission got no answer (never "
        "resent; after it, the next cycle asks the broker again). Longer for limit orders or "
        "thin markets; 1 to 1800.",
    )
    strategy: str = Field("static", description="Strategy plugin: static, or module:attr.")
    strategy_params: dict[str, Any] = Field(
        default_factory=dict, description="Strategy parameters, validated by the plugin."
    )
    history_file: Path | None = Field(
        None,
        description="Daily closes (date,SYM1,SYM2,...; relative to this file) for strategies "
        "that look back, read instead of the broker's daily history.",
    )
    bands: BandsSettings = Field(default_factory=BandsSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    tax: TaxSettings = Field(default_factory=TaxSettings, description="Lots, wash sales, gains.")
    lock_group: str | None = Field(
        None,
        description="Cluster mode: accounts with the same lock group never run cycles at the "
        "same time; a household's accounts, and IB accounts behind one Gateway (host:port), "
        "are tied without it (docs/scaling.md); default: the account alone.",
    )
    schedule: str = Field(
        DEFAULT_SCHEDULE,
        description="When `trimtab run` runs this account's cycle, in the exchange's time zone "
        "on its trading days: e.g. 'close - 15m', '15:45', 'open + 1h', "
        "'every 30 minutes while open', 'first trading day of the month at close - 15m'.",
    )

    @field_validator("schedule")
    @classmethod
    def _schedule_readable(cls, value: str) -> str:
        _check_schedule(value)
        return value


class SchedulerSettings(_Closed):
    misfire_grace_minutes: Annotated[int, Field(ge=0, le=360)] = Field(
        30,
        description="A slot that trimtab reaches late (it was stopped, the machine was off or "
        "asleep, another cycle ran long) still runs if at most this many minutes late; "
        "otherwise it is recorded as skipped. Only the latest missed slot is ever run.",
    )
    stop_timeout_seconds: Annotated[int, Field(ge=5, le=3600)] = Field(
        300,
        description="On SIGTERM/SIGINT, how long to wait for a running cycle to finish before "
        "exiting anyway (keep systemd's TimeoutStopSec above it).",
    )


class ClusterSettings(_Closed):
    enabled: bool = Field(
        False,
        description="Run cycles as jobs on a PostgreSQL queue (procrastinate): `trimtab run` "
        "only schedules (one leader, standbys wait), `trimtab worker` processes run the "
        "cycles. Needs a PostgreSQL database_url; `trimtab run --workers` turns it on too.",
    )
    queue: str = Field(
        "trimtab",
        pattern=r"^[a-z][a-z0-9_-]{0,63}$",
        description="The queue's name: installations sharing one database use different ones.",
    )
    heartbeat_seconds: Annotated[Decimal, Field(ge=Decimal("0.2"), le=300)] = Field(
        Decimal(5), description="How often a worker records that it is alive."
    )
    lease_seconds: Annotated[Decimal, Field(ge=1, le=3600)] = Field(
        Decimal(30),
        description="A worker silent for this long is taken for dead: its running job goes "
        "back to the queue and another worker runs it, through the usual recovery.",
    )
    takeover_seconds: Annotated[Decimal, Field(ge=Decimal("0.2"), le=600)] = Field(
        Decimal(5),
        description="How often a standby `trimtab run` tries to take the scheduler's lease "
        "(and the leader checks it still holds it).",
    )
    max_attempts: Annotated[int, Field(ge=1, le=100)] = Field(
        5,
        description="Attempts of a job that fails on something passing (the database away, "
        "its account busy on another worker); a bad input is never retried.",
    )
    retry_wait_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        5, description="Wait before a job's next attempt."
    )
    queue_stale_minutes: Annotated[int, Field(ge=1, le=1440)] = Field(
        15, description="`trimtab health` fails when a job has waited longer than this."
    )

    @model_validator(mode="after")
    def _lease_outlasts_beats(self) -> ClusterSettings:
        if self.lease_seconds < 2 * self.heartbeat_seconds:
            raise _rule(
                "lease_seconds must be at least twice heartbeat_seconds",
                f"set lease_seconds to {3 * self.heartbeat_seconds} or more",
                "lease_seconds",
            )
        return self


class HealthSettings(_Closed):
    heartbeat_seconds: Annotated[int, Field(ge=1, le=300)] = Field(
        30,
        description="How often `trimtab run` records its heartbeat in the database (and pings "
        "the systemd watchdog, at least twice per WatchdogSec).",
    )
    stale_after_seconds: Annotated[int, Field(ge=2, le=86400)] = Field(
        180, description="`trimtab health` fails when the last heartbeat is older than this."
    )
    # At most a week, as alerts.broker_unreachable_minutes: a larger limit never failed in
    # practice (a broker down for longer has to be noticed well before).
    broker_unreachable_minutes: Annotated[int, Field(ge=1, le=10080)] = Field(
        60,
        description="`trimtab health` fails when an account's cycles have failed on broker "
        "errors for longer than this many minutes (at most 10080: a week).",
    )
    max_days_without_success: Annotated[int, Field(ge=1, le=60)] = Field(
        3,
        description="`trimtab health` fails when an account had this many trading days with a "
        "scheduled slot and no successful cycle.",
    )
    max_cycle_minutes: Annotated[int, Field(ge=1, le=1440)] = Field(
        30,
        description="A cycle running longer than this is stuck: the watchdog ping stops (so "
        "systemd restarts trimtab) and `trimtab health` fails.",
    )

    @model_validator(mode="after")
    def _stale_after_beats(self) -> HealthSettings:
        if self.stale_after_seconds < 2 * self.heartbeat_seconds:
            raise _rule(
                "stale_after_seconds must be at least twice heartbeat_seconds",
                f"set stale_after_seconds to {3 * self.heartbeat_seconds} or more",
                "stale_after_seconds",
            )
        return self


class NotificationSettings(_Closed):
    urls: tuple[SecretStr, ...] = Field(
        (),
        description="Apprise URLs (mailto://, ntfy://, tgram://, slack://, discord://, "
        "json://, ...). They carry tokens: set them in the environment "
        "(TRIMTAB_NOTIFICATIONS__URLS='[\"...\"]') or the secrets file, never in this file.",
    )
    orders: bool = Field(True, description="Send a summary of each cycle that placed orders.")
    errors: bool = Field(
        True,
        description="Send every error: failed cycles, skipped slots, rejected configuration "
        "reloads.",
    )
    kill_switch: bool = Field(
        True, description="Send kill-switch changes and trading-state changes (HALTED, ...)."
    )
    health: bool = Field(True, description="Send health failures found by `trimtab run`.")
    daily_digest: str = Field(
        "close + 30m",
        description="When to send the daily digest on trading days (a schedule expression); "
        "empty: no digest.",
    )
    max_per_hour: Annotated[int, Field(ge=1, le=1000)] = Field(
        12,
        description="At most this many messages in any hour; the rest are held back, counted, "
        "and mentioned in the next message sent.",
    )
    repeat_after_minutes: Annotated[int, Field(ge=0, le=10080)] = Field(
        60, description="The same alert (same account and kind) is sent at most this often."
    )

    @field_validator("daily_digest")
    @classmethod
    def _digest_readable(cls, value: str) -> str:
        if value.strip():
            _check_schedule(value)
        return value

    @field_validator("urls")
    @classmethod
    def _urls_understood(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        from daemon.config.secrets import url_understood

        for index, url in enumerate(value):
            if not url_understood(url.get_secret_value()):
                # Never echo the URL: it carries a token.
                raise _rule(
                    f"URL number {index + 1} is not one apprise understands",
                    "check its scheme and form against apprise's list of services",
                )
        return value


class Settings(BaseSettings):
    """The whole configuration of one trimtab installation (one household)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        # Pydantic would echo rejected input in messages; secrets must never be echoed.
        hide_input_in_errors=True,
    )

    mode: Mode = Field(Mode.DRY_RUN, description="dry-run (default), paper or live.")
    live_confirmation: str | None = Field(
        None, description=f'Required for mode = "live": exactly "{LIVE_CONFIRMATION}".'
    )
    state_dir: Path = Field(
        Path("state"), description="Where the database and lock live (relative to this file)."
    )
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL; default: SQLite in state_dir. Password via env only."
    )
    secrets_file: Path | None = Field(
        None, description="TOML file (mode 0600) with credentials, same layout as this file."
    )
    exchange: str = Field("XNYS", description="Exchange calendar code (exchange_calendars).")
    log: LogSettings = Field(default_factory=LogSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    scheduler: SchedulerSettings = Field(
        default_factory=SchedulerSettings,
        description="`trimtab run`: late and missed slots, and stopping.",
    )
    health: HealthSettings = Field(
        default_factory=HealthSettings,
        description="The heartbeat, and when `trimtab health` calls trimtab unhealthy.",
    )
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings,
        description="Messages to the owner through apprise, and their rate limits.",
    )
    cluster: ClusterSettings = Field(
        default_factory=ClusterSettings,
        description="Many accounts on several machines: a job queue, workers, a standby.",
    )
    tax: HouseholdTaxSettings = Field(default_factory=HouseholdTaxSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Alert thresholds.")
    performance: PerformanceSettings = Field(
        default_factory=PerformanceSettings, description="Benchmark and risk-free rate."
    )
    accounts: dict[str, AccountSettings] = Field(
        description="The household's accounts, by name (lower case, digits, - and _)."
    )
    income: IncomeSettings | None = Field(
        None, description="A monthly income paid out of the household (docs/income.md)."
    )
    household: HouseholdSettings | None = Field(
        None,
        description="One target for several accounts together, with asset location "
        "(docs/household.md). Absent: each account follows its own strategy.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the files (handed in as init values); no .env magic.
        return env_settings, init_settings

    @field_validator("exchange")
    @classmethod
    def _exchange_known(cls, value: str) -> str:
        problem = exchange_problem(value)
        if problem is not None:
            raise _rule(problem.problem, problem.fix)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = database_url_problem(value.get_secret_value())
            if problem is not None:
                raise _rule(*problem)
        return value

    @model_validator(mode="after")
    def _accounts_named_and_present(self) -> Settings:
        if not self.accounts:
            raise _rule("no accounts are configured", "add an [accounts.NAME] table", "accounts")
        for name in self.accounts:
            if not ACCOUNT_NAME.match(name):
                raise _rule(
                    f"account name {name!r} is not allowed",
                    "use 1-24 lower-case letters, digits, - or _, starting with a letter or digit",
                    f"accounts.{name}",
                )
        return self

    @model_validator(mode="after")
    def _income_account_configured(self) -> Settings:
        if self.income is not None and self.income.account not in self.accounts:
            raise _rule(
                f"the income account {self.income.account!r} is not a configured account",
                f"set income.account to one of: {', '.join(self.accounts)}",
                "income.account",
            )
        return self

    @model_validator(mode="after")
    def _allowed_lists_meet(self) -> Settings:
        household = set(self.risk.allowed_symbols)
        for name, account in self.accounts.items():
            own = set(account.policy.allowed_symbols)
            if own and household and not own & household:
                raise _rule(
                    f"policy.allowed_symbols of {name} shares no symbol with "
                    "risk.allowed_symbols, so the account could trade nothing",
                    "list symbols that are on risk.allowed_symbols too, or empty one list",
                    f"accounts.{name}.policy.allowed_symbols",
                )
        return self

    @model_validator(mode="after")
    def _limit_collar_within_the_check(self) -> Settings:
        # A limit is set limit_collar past the quote, then rounded away from it to the cent;
        # the pre-trade check refuses one further than risk.max_price_collar. A collar not
        # below that check had every limit order refused in every cycle.
        check = self.risk.max_price_collar
        for name, account in self.accounts.items():
            policy = account.policy
            if policy.order_type == "limit" and policy.limit_collar >= check:
                raise _rule(
                    f"policy.limit_collar ({policy.limit_collar}) is not below "
                    f"risk.max_price_collar ({check}): the pre-trade check would refuse every "
                    "limit order (its limit, rounded away from the quote to the cent, lies "
                    "further from the quote than the check allows)",
                    f"lower accounts.{name}.policy.limit_collar below {check} (e.g. 0.005, the "
                    "default), or raise risk.max_price_collar",
                    f"accounts.{name}.policy.limit_collar",
                )
        return self

    @model_validator(mode="after")
    def _live_needs_confirmation(self) -> Settings:
        if self.mode is Mode.LIVE and self.live_confirmation != LIVE_CONFIRMATION:
            raise _rule(
                "mode is live but live_confirmation is missing or not the exact sentence",
                f'set live_confirmation = "{LIVE_CONFIRMATION}", or use mode = "paper"',
                "live_confirmation",
            )
        if self.mode is Mode.LIVE:
            simulated = [n for n, a in self.accounts.items() if a.broker == "sim"]
            if simulated:
                raise _rule(
                    f"mode is live but account(s) {', '.join(simulated)} use the simulated broker",
                    'use mode = "paper" for simulated accounts',
                    "mode",
                )
        # A broker plugin's `environment = "live"` (Alpaca) reaches real money: paper mode
        # must not trade it, and live mode must not pretend to on a paper environment.
        environments = {n: a.broker_settings.get("environment") for n, a in self.accounts.items()}
        wrong = "live" if self.mode is Mode.PAPER else "paper" if self.mode is Mode.LIVE else None
        mismatched = sorted(n for n, env in environments.items() if wrong and env == wrong)
        if mismatched:
            raise _rule(
                f"mode is {self.mode} but account(s) {', '.join(mismatched)} have "
                f'broker_settings.environment = "{wrong}"',
                'make them agree: mode = "live" (with live_confirmation) for live accounts, '
                'mode = "paper" for paper accounts; mode = "dry-run" reads either',
                "mode",
            )
        return self

    @model_validator(mode="after")
    def _cluster_needs_postgres(self) -> Settings:
        problem = cluster_problem(self)
        if self.cluster.enabled and problem is not None:
            raise _rule(problem.problem, problem.fix, problem.path)
        return self

    def lock_key(self, account: str) -> str:
        """Return the cluster lock an account's cycles hold: shared by every account tied to
        it by the household (or an income plan), a `lock_group` or one broker login such as
        one IB Gateway (`daemon.config.cycle_locks`, which says how the name is chosen)."""
        self.account(account)
        return self.cycle_locks[account]

    @cached_property
    def cycle_locks(self) -> Mapping[str, str]:
        """Every account's cluster lock, worked out once per configuration."""
        from daemon.config.cycle_locks import cycle_locks

        return cycle_locks(self)

    def account(self, name: str) -> AccountSettings:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(self.accounts)
            raise ConfigError(
                [ConfigProblem(f"accounts.{name}", "no such account", f"use one of: {known}")]
            ) from None


def cluster_problem(settings: Settings) -> ConfigProblem | None:
    """Return why cluster mode cannot run on this configuration's database, or None."""
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    if url.startswith(("postgresql", "postgres:")):
        return None
    return ConfigProblem(
        "cluster.enabled",
        "cluster mode (a job queue shared by workers) needs a PostgreSQL state database; "
        "this configuration uses SQLite",
        "set database_url = 'postgresql+psycopg://USER@HOST/DB' (password through "
        "TRIMTAB_DATABASE_URL), or leave cluster off and run one `trimtab run`",
    )


def _check_schedule(text: str) -> None:
    try:
        parse_schedule(text)
    except ScheduleError as exc:
        raise _rule(
            str(exc), "write e.g. 'close - 15m', '15:45' or 'every 30 minutes while open'"
        ) from None


def _check_symbol(symbol: str) -> None:
    if symbol != CASH and not SYMBOL.match(symbol):
        raise _rule(
            f"symbol {symbol!r} is not a valid ticker",
            "write tickers in upper case, e.g. VTI or BRK.B",
        )


def load_config(
    path: Path,
    *,
    credentials: bool = True,
    edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Settings:
    """Load and fully check the configuration; raise `ConfigError` listing every problem.

    `credentials` false: for a command that never reaches a broker (`kill`, `status`,
    `audit`, ...), broker plugins may leave credentials out (the service's secrets file may
    be readable by the service only); a broker built from such settings checks them then.
    `edit` changes the files' data (the secrets file's laid over the config file's) before
    any check, as if the file said so: `backtest --vary` checks each run's values by every
    rule the file's own values meet."""
    settings, problems = _load(path, credentials=credentials, edit=edit)
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def check_config(path: Path) -> list[ConfigProblem]:
    """Return every problem in the configuration (empty when it is usable)."""
    return _load(path)[1]


def _load(
    path: Path,
    *,
    credentials: bool = True,
    edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> tuple[Settings | None, list[ConfigProblem]]:
    from daemon.config.plugin_tables import secrets_in_file

    try:
        data = read_config_file(path)
        problems = secrets_in_file(data)
        secrets_path, secrets = read_secrets(data, path)
    except ConfigError as exc:
        return None, exc.problems
    config_dir = path.parent.resolve()
    merged = deep_merge(data, secrets)
    settings, found = _settings(edit(merged) if edit else merged, config_dir, credentials)
    if settings is not None:
        settings, found = _with_plugin_tables(settings, config_dir, credentials)
    if settings is not None:
        found = household_problems(settings)
        settings = None if found else settings
    return settings, name_sources(
        problems + found,
        environ=os.environ,
        secrets=secrets,
        secrets_path=secrets_path,
        config=merged,
    )


def _settings(
    merged: dict[str, Any], config_dir: Path, credentials: bool
) -> tuple[Settings | None, list[ConfigProblem]]:
    """Validate the merged files under the environment; on failure, every problem found."""
    from daemon.config.plugin_tables import validate_plugin_tables

    try:
        return Settings(**merged), []
    except ValidationError as exc:
        problems = problems_from_validation_error(exc)
    except SettingsError as exc:
        return None, [_unreadable_env(exc)]
    # The plugin tables still get checked, with the environment's values over the files'
    # (as a valid configuration would have them), so a key given only in the environment
    # is not reported missing next to the real problem.
    with_env = deep_merge(merged, EnvSettingsSource(Settings)())
    _, found = validate_plugin_tables(with_env, config_dir, credentials=credentials)
    return None, problems + found


def _with_plugin_tables(
    settings: Settings, config_dir: Path, credentials: bool
) -> tuple[Settings | None, list[ConfigProblem]]:
    """Validate the plugin tables of the final values (file, secrets and environment)."""
    from daemon.config.plugin_tables import validate_plugin_tables

    tables, found = validate_plugin_tables(
        settings.model_dump(include={"accounts", "household"}),
        config_dir,
        credentials=credentials,
    )
    if found:
        return None, found
    household = settings.household
    if household is not None and household.strategy is not None:
        household = household.model_copy(
            update={"strategy_params": tables["household"]["strategy_params"]}
        )
    accounts = {
        name: account.model_copy(
            update={
                **{k: tables["accounts"][name][k] for k in ("broker_settings", "strategy_params")},
                "history_file": account.history_file and _resolve(config_dir, account.history_file),
            }
        )
        for name, account in settings.accounts.items()
    }
    missing = [
        ConfigProblem(
            f"accounts.{name}.history_file",
            f"{account.history_file} is not a file",
            "give the path of a CSV of daily closes (date,SYM1,SYM2,...), relative to the "
            "config file, or remove the key to read the broker's daily history",
        )
        for name, account in accounts.items()
        if account.history_file is not None and not account.history_file.is_file()
    ]
    if missing:
        return None, missing
    return settings.model_copy(
        update={
            "state_dir": _resolve(config_dir, settings.state_dir),
            "accounts": accounts,
            "household": household,
        }
    ), []


def _unreadable_env(exc: SettingsError) -> ConfigProblem:
    # pydantic-settings says: error parsing value for field "risk" from source "Env..."
    match = re.search(r'field "([^"]+)"', str(exc))
    return env_problem(match.group(1) if match else "", os.environ)


def _resolve(base: Path, value: Path) -> Path:
    value = value.expanduser()
    return value if value.is_absolute() else base / value


def config_schema() -> dict[str, Any]:
    """Return the JSON schema of the file, with each known plugin's table under `$defs`."""
    from daemon.config.plugin_tables import plugin_schemas

    schema = Settings.model_json_schema()
    schema.setdefault("$defs", {}).update(plugin_schemas())
    return schema
