"""Nothing in an Alpaca account's settings may contradict its `environment`: a `base_url` on
the other environment's Alpaca host, or a key id with the other environment's prefix (PK
paper, AK live), is refused naming the key and the fix, never the key itself. A proxy on
another host is allowed; the key prefix guards it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.alpaca import AlpacaSettings
from adapters.alpaca.config import HOSTS, KEY_PREFIXES, Environment

SECRET = "s3cr3t-value-never-shown"
ENVIRONMENTS: st.SearchStrategy[Environment] = st.sampled_from(("paper", "live"))
HOST_NAMES = st.sampled_from(
    [
        "paper-api.alpaca.markets",
        "api.alpaca.markets",
        "API.Alpaca.Markets",
        "api.alpaca.markets.",
        "127.0.0.1:18767",
        "proxy.example.internal",
        "api.alpaca.markets.example",
    ]
)
KEY_IDS = st.builds(
    str.__add__,
    st.sampled_from(["PK", "AK", "pk", "ak", " AK", "XK", ""]),
    # Long enough that a key shown in a message could not hide among its words.
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=18),
)


def settings(environment: Environment, key_id: str | None = SECRET, **more: Any) -> AlpacaSettings:
    values: dict[str, Any] = {"environment": environment, **more}
    if key_id is not None:
        values |= {"api_key_id": key_id, "api_secret_key": SECRET}
    return AlpacaSettings.model_validate(values)


def refusal(environment: Environment, **more: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        settings(environment, **more)
    (error,) = caught.value.errors()
    return {"msg": error["msg"], **(error.get("ctx") or {})}


@pytest.mark.parametrize(
    ("environment", "url", "host"),
    [
        ("paper", "https://api.alpaca.markets", "api.alpaca.markets"),
        ("live", "https://paper-api.alpaca.markets/", "paper-api.alpaca.markets"),
    ],
)
def test_a_base_url_on_the_other_environments_host_is_refused_naming_the_fix(
    environment: Environment, url: str, host: str
) -> None:
    found = refusal(environment, key_id=f"{KEY_PREFIXES[environment]}KEY1", base_url=url)
    assert found["key"] == "base_url"
    assert host in found["msg"]
    assert f'environment is "{environment}"' in found["msg"]
    assert "remove base_url" in found["fix"]
    if environment == "paper":
        assert "real money" in found["msg"]
        assert 'mode = "live"' in found["fix"]


@pytest.mark.parametrize(
    ("environment", "key_id", "wanted"),
    [("paper", "AKLIVE0001", "PK"), ("live", "PKPAPER001", "AK")],
)
def test_a_key_of_the_other_environment_is_refused_without_showing_it(
    environment: Environment, key_id: str, wanted: str
) -> None:
    found = refusal(environment, key_id=key_id)
    assert found["key"] == "api_key_id"
    assert f'environment is "{environment}"' in found["msg"]
    assert f"starting with {wanted}" in found["fix"]
    assert key_id not in str(found)
    assert SECRET not in str(found)


def test_the_audits_config_is_refused_live_keys_paper_environment_live_host() -> None:
    # firstcontact mk3/literal.toml: environment = "paper" with Alpaca's live host and keys.
    found = refusal(
        "paper",
        key_id="AKFAKELIVEKEY00000001",
        base_url="https://api.alpaca.markets",
        data_url="https://api.alpaca.markets",
    )
    assert found["key"] == "base_url"


def test_commands_that_never_reach_alpaca_still_load_without_keys_or_with_any() -> None:
    offline = {"credentials": False}
    for keys in ({}, {"api_key_id": "AKLIVE0001", "api_secret_key": SECRET}):
        loaded = AlpacaSettings.model_validate({"environment": "paper", **keys}, context=offline)
        assert loaded.environment == "paper"
    # The host is configuration, not a credential: refused there too.
    with pytest.raises(ValidationError, match="base_url"):
        AlpacaSettings.model_validate(
            {"environment": "paper", "base_url": "https://api.alpaca.markets"}, context=offline
        )


@given(environment=ENVIRONMENTS, host=HOST_NAMES, key_id=KEY_IDS)
@example(environment="paper", host="127.0.0.1:18767", key_id="AKFAKELIVEKEY00000001")
@example(environment="paper", host="API.Alpaca.Markets", key_id="PK1")
@example(environment="live", host="proxy.example.internal", key_id="PK1")
def test_settings_load_exactly_when_neither_host_nor_key_points_elsewhere(
    environment: Environment, host: str, key_id: str
) -> None:
    other: Environment = "live" if environment == "paper" else "paper"
    wrong_host = host.lower().rstrip(".") == HOSTS[other]
    wrong_key = key_id.strip().upper().startswith(KEY_PREFIXES[other])
    if not (wrong_host or wrong_key):
        loaded = settings(environment, key_id=key_id, base_url=f"https://{host}")
        assert loaded.trading_url == f"https://{host}"
        return
    with pytest.raises(ValidationError) as caught:
        settings(environment, key_id=key_id, base_url=f"https://{host}")
    (error,) = caught.value.errors()
    assert error.get("ctx", {})["key"] == ("base_url" if wrong_host else "api_key_id")
    assert key_id not in str(caught.value)
