"""Settings of the Alpaca adapter (an account's `broker_settings` when `broker = "alpaca"`).

The keys `api_key_id` and `api_secret_key` are credentials: trimtab refuses them in the
config file and takes them from the environment
(`TRIMTAB_ACCOUNTS__<NAME>__BROKER_SETTINGS__API_KEY_ID`, `..._API_SECRET_KEY`) or from the
secrets file. Everything else may live in the config file.
"""

from __future__ import annotations

__all__ = ["AlpacaSettings"]

from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"

Environment = Literal["paper", "live"]
HOSTS: dict[Environment, str] = {"paper": "paper-api.alpaca.markets", "live": "api.alpaca.markets"}
"""Alpaca's trading host per environment (its paper and live endpoints)."""
KEY_PREFIXES: dict[Environment, str] = {"paper": "PK", "live": "AK"}
"""How Alpaca's key ids begin per environment: paper keys PK..., live keys AK..."""

_CREDENTIAL_FIX = (
    "set TRIMTAB_ACCOUNTS__<NAME>__BROKER_SETTINGS__API_KEY_ID and ..._API_SECRET_KEY in the "
    "environment, or api_key_id and api_secret_key under accounts.<name>.broker_settings in "
    "the secrets file (chmod 600); never in the config file"
)


def _rule(problem: str, fix: str, key: str | None = None) -> PydanticCustomError:
    """Return a validation failure that says what is wrong and, in its ctx, how to fix it.

    `key` names the offending key when the rule is checked on the whole table.
    """
    ctx = {"fix": fix} if key is None else {"fix": fix, "key": key}
    return PydanticCustomError("trimtab_rule", problem.replace("{", "(").replace("}", ")"), ctx)


def _other(environment: Environment) -> Environment:
    return "live" if environment == "paper" else "paper"


def _switch_on_purpose(to: Environment) -> str:
    """Return how to make the account `to` on purpose, naming the config file as the place.

    These keys live in the config file, never with the credentials; the fix ends with the
    other way out (the right keys, no base_url) because the loader appends the offending
    value's own source (`, in secrets file ...`) to the end of a fix.
    """
    if to == "live":
        return (
            'to trade real money on purpose, set environment = "live" in this account\'s '
            'broker_settings and mode = "live" with live_confirmation at the top, all in the '
            "config file"
        )
    return (
        'to trade on paper instead, set environment = "paper" in this account\'s '
        "broker_settings and a mode that is not live, in the config file"
    )


class AlpacaSettings(BaseModel):
    """One Alpaca account, paper or live, reached through alpaca-py."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Environment = Field(
        description="paper (paper-api.alpaca.markets) or live (api.alpaca.markets, real money); "
        "required, so real money is never a default. Paper keys only work on paper, live keys "
        "only on live.",
    )
    api_key_id: SecretStr | None = Field(
        default=None,
        description="Alpaca API key id. A credential: environment or secrets file only.",
    )
    api_secret_key: SecretStr | None = Field(
        default=None,
        description="Alpaca API secret key. A credential: environment or secrets file only.",
    )
    feed: Literal["iex", "sip", "delayed_sip"] = Field(
        default="iex",
        description="Market data feed for quotes and bars: iex (free plan), sip (paid plan), "
        "delayed_sip (15 minutes late).",
    )
    price: Literal["trade", "mid"] = Field(
        default="trade",
        description="How a holding is valued: the latest trade, or the midpoint of the latest "
        "bid and ask (falls back to the trade when the quote is one-sided).",
    )
    fractional: bool = Field(
        default=True,
        description="Trade fractional shares where Alpaca allows them for the symbol; false = "
        "whole shares everywhere.",
    )
    base_url: str | None = Field(
        default=None,
        description="Override of the trading API's base URL (a proxy, or a test server), "
        "without /v2. Default: chosen by environment. Alpaca's host of the other environment "
        "is refused; on any other host the key id's prefix (PK paper, AK live) is the guard.",
    )
    data_url: str | None = Field(
        default=None,
        description="Override of the market data API's base URL, without /v2. Default: "
        "https://data.alpaca.markets.",
    )
    connect_timeout_seconds: Decimal = Field(
        default=Decimal(5), gt=0, le=60, description="Seconds to wait for a TCP connection."
    )
    read_timeout_seconds: Decimal = Field(
        default=Decimal(20),
        gt=0,
        le=300,
        description="Seconds to wait for an answer; alpaca-py itself never gives up.",
    )
    rate_limit_max_wait_seconds: Decimal = Field(
        default=Decimal(30),
        ge=0,
        le=300,
        description="Longest pause a rate-limited read waits for Alpaca's reset time before the "
        "read is retried.",
    )
    unknown_order_grace_seconds: int = Field(
        default=300,
        ge=10,
        le=86_400,
        description="After an order submission whose outcome is unknown (a 504, a dropped "
        "connection), how long Alpaca must keep answering 'not found' for its client order "
        "id, and then also leave it out of its order listing, before trimtab records the "
        "order as never having reached Alpaca (ids are unique forever; the wait covers "
        "Alpaca's eventual consistency).",
    )

    @field_validator("base_url", "data_url")
    @classmethod
    def _plain_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _rule(
                "must be an http(s) URL with a host",
                'write e.g. "https://paper-api.alpaca.markets"',
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise _rule(
                "must not carry a query, a fragment or a user name and password",
                "give only scheme, host, port and path",
            )
        if parts.path.rstrip("/").endswith("/v2"):
            raise _rule(
                "must not end in /v2: alpaca-py adds the version itself",
                "remove the trailing /v2",
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_given(self, info: ValidationInfo) -> AlpacaSettings:
        # A command that never reaches Alpaca (kill, status, audit: trimtab's validation
        # context "credentials" false) works without them: the service's secrets file may
        # be readable by the service only. Building the broker checks them again.
        if isinstance(info.context, dict) and info.context.get("credentials") is False:
            return self
        missing = [
            name
            for name, value in (
                ("api_key_id", self.api_key_id),
                ("api_secret_key", self.api_secret_key),
            )
            if value is None or not value.get_secret_value().strip()
        ]
        if missing:
            raise _rule(f"Alpaca credentials missing: {', '.join(missing)}", _CREDENTIAL_FIX)
        return self

    @model_validator(mode="after")
    def _base_url_fits_environment(self) -> AlpacaSettings:
        # alpaca-py sends every order to base_url whatever `environment` says: a paper
        # environment pointed at the live host trades real money with no live confirmation.
        if self.base_url is None:
            return self
        host = (urlsplit(self.base_url).hostname or "").rstrip(".")
        other = _other(self.environment)
        if host != HOSTS[other]:
            return self
        default = PAPER_URL if self.environment == "paper" else LIVE_URL
        raise _rule(
            f"base_url points at Alpaca's {other} host {HOSTS[other]}, but environment is "
            f'"{self.environment}"'
            + (": orders would trade real money" if other == "live" else ""),
            f"{_switch_on_purpose(other)}; otherwise remove base_url (environment "
            f"{self.environment} uses {default})",
            "base_url",
        )

    @model_validator(mode="after")
    def _key_fits_environment(self, info: ValidationInfo) -> AlpacaSettings:
        # The key decides which account Alpaca opens; behind a proxy (base_url on another
        # host) it is the only sign of it. A command that never reaches Alpaca (context
        # "credentials" false: kill, status, audit) does not use the keys, so they cannot
        # block the emergency brake there; building the broker validates them again.
        if isinstance(info.context, dict) and info.context.get("credentials") is False:
            return self
        if self.api_key_id is None:
            return self
        key_id = self.api_key_id.get_secret_value().strip().upper()
        other = _other(self.environment)
        if not key_id.startswith(KEY_PREFIXES[other]):
            return self
        # Only the prefix is named, never the key.
        raise _rule(
            f"the key id starts with {KEY_PREFIXES[other]}, Alpaca's prefix for {other} keys, "
            f'but environment is "{self.environment}"',
            f"{_switch_on_purpose(other)}; otherwise give the {self.environment} account's "
            f"keys (key ids starting with {KEY_PREFIXES[self.environment]}, from Alpaca's "
            f"{self.environment} dashboard)",
            "api_key_id",
        )

    @property
    def trading_url(self) -> str:
        """Return the trading API's base URL these settings point at."""
        if self.base_url is not None:
            return self.base_url
        return PAPER_URL if self.environment == "paper" else LIVE_URL

    @property
    def market_data_url(self) -> str:
        """Return the market data API's base URL these settings point at."""
        return self.data_url if self.data_url is not None else DATA_URL
