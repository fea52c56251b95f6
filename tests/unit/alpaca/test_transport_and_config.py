"""Reading alpaca-py's failures safely, and the adapter's settings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from adapters.alpaca.config import LIVE_URL, PAPER_URL, AlpacaSettings
from adapters.alpaca.sdk import APIError, TradingClient
from adapters.alpaca.transport import (
    Failure,
    TimeoutSession,
    describe,
    harden,
    is_duplicate_id,
    retry_after,
)
from daemon.config.plugin_tables import secret_fields

KEYS = {"environment": "paper", "api_key_id": "PKTESTKEY", "api_secret_key": "s3cr3t-value"}


def api_error(status: int, body: str, headers: dict[str, str] | None = None) -> APIError:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers.update(headers or {})
    # alpaca-py leaves APIError.__init__ unannotated.
    return APIError(body, requests.HTTPError(response=response))  # type: ignore[no-untyped-call]


def test_a_json_error_gives_alpacas_message() -> None:
    failure = describe(
        api_error(422, '{"code":40010001,"message":"client_order_id must be unique"}'), ()
    )
    assert (failure.status, failure.message) == (422, "client_order_id must be unique")
    assert is_duplicate_id(failure)


def test_a_non_json_error_body_is_read_without_failing() -> None:
    # alpaca-py's own APIError.message raises JSONDecodeError on this body.
    error = api_error(502, "<html><body>Bad gateway</body></html>")
    with pytest.raises(ValueError, match="Expecting value"):
        _ = error.message
    failure = describe(error, ())
    assert failure.status == 502
    assert failure.message.startswith("non-JSON answer: <html>")
    assert failure.server_side


def test_json_without_code_or_message_does_not_fail() -> None:
    failure = describe(api_error(500, '{"error_detail":"x"}'), ())
    assert failure.message.startswith("non-JSON answer")


def test_secrets_are_blanked_out_of_every_message() -> None:
    failure = describe(
        api_error(401, '{"message":"bad key PKTESTKEY with s3cr3t-value"}'),
        ("PKTESTKEY", "s3cr3t-value"),
    )
    assert "PKTESTKEY" not in failure.message
    assert "s3cr3t-value" not in failure.message


@pytest.mark.parametrize(
    "message",
    [
        "client_order_id must be unique",
        "client order id must be unique",
        "duplicate client_order_id",
    ],
)
def test_duplicate_id_answers_are_matched_loosely(message: str) -> None:
    assert is_duplicate_id(Failure(422, message, {}))


def test_a_wash_trade_is_not_a_duplicate_id() -> None:
    assert not is_duplicate_id(
        Failure(403, "potential wash trade detected. use complex orders", {})
    )


def test_timeouts_and_connection_errors_have_no_status() -> None:
    assert describe(requests.ReadTimeout(), ()).status is None
    assert describe(requests.ConnectionError(), ()).server_side


def test_retry_after_follows_the_headers_and_is_capped() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    reset = str(int(now.timestamp()) + 7)
    assert retry_after(Failure(429, "", {"X-Ratelimit-Reset": reset}), now, 30) == 7
    assert retry_after(Failure(429, "", {"Retry-After": "3"}), now, 30) == 3
    assert retry_after(Failure(429, "", {"Retry-After": "300"}), now, 30) == 30
    # Retry-After wins over the reset time when both are sent.
    both = {"Retry-After": "2", "X-Ratelimit-Reset": reset}
    assert retry_after(Failure(429, "", both), now, 30) == 2


def test_retry_after_reads_an_http_date_and_a_time_already_past() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = {"Retry-After": "Thu, 01 Jan 2026 12:00:12 GMT"}
    assert retry_after(Failure(429, "", later), now, 30) == 12
    earlier = {"Retry-After": "Thu, 01 Jan 2026 11:59:00 GMT"}
    assert retry_after(Failure(503, "", earlier), now, 30) == 0


def test_retry_after_is_no_hint_when_unreadable_or_not_a_retry_answer() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    reset = str(int(now.timestamp()) + 7)
    assert retry_after(Failure(429, "", {"Retry-After": "soon"}), now, 30) is None
    assert retry_after(Failure(429, "", {}), now, 30) is None
    assert retry_after(Failure(429, "", {"X-Ratelimit-Reset": "nan"}), now, 30) is None
    # Every answer carries the reset header: on a 5xx it is bookkeeping, not a hint.
    assert retry_after(Failure(503, "", {"X-Ratelimit-Reset": reset}), now, 30) is None
    assert retry_after(Failure(503, "", {"Retry-After": "4"}), now, 30) == 4
    assert retry_after(Failure(None, "timeout", {}), now, 30) is None
    assert retry_after(Failure(422, "", {"Retry-After": "4"}), now, 30) is None


def test_harden_sets_timeouts_and_switches_off_the_sdk_retries() -> None:
    client = TradingClient("k", "s", paper=True)
    harden(client, 1.5, 9)
    assert isinstance(client._session, TimeoutSession)
    assert client._session.timeouts == (1.5, 9)
    assert (client._retry, client._retry_codes) == (0, [])
    client._session.close()


def test_harden_refuses_a_client_it_does_not_recognise() -> None:
    class Other:
        _session: Any = None

    with pytest.raises(RuntimeError, match="_retry"):
        harden(Other(), 1, 1)


def test_the_environment_is_required_and_picks_the_url() -> None:
    with pytest.raises(ValidationError, match="environment"):
        AlpacaSettings.model_validate({k: v for k, v in KEYS.items() if k != "environment"})
    paper = AlpacaSettings.model_validate(KEYS)
    assert (paper.environment, paper.trading_url, paper.feed) == ("paper", PAPER_URL, "iex")
    live = AlpacaSettings.model_validate({**KEYS, "environment": "live", "api_key_id": "AKTEST"})
    assert live.trading_url == LIVE_URL
    assert "s3cr3t" not in repr(live)


def test_credentials_are_secret_fields_so_the_config_refuses_them_in_the_file() -> None:
    assert secret_fields(AlpacaSettings) == {"api_key_id", "api_secret_key"}


def test_missing_credentials_say_where_they_belong() -> None:
    with pytest.raises(ValidationError) as caught:
        AlpacaSettings.model_validate({"environment": "paper", "api_key_id": "PK"})
    (error,) = caught.value.errors()
    assert "api_secret_key" in error["msg"]
    assert "TRIMTAB_ACCOUNTS__" in error["ctx"]["fix"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "https://paper-api.alpaca.markets/v2",
        "https://u:p@host",
        "https://h?x=1",
        "nohost",
    ],
)
def test_bad_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        AlpacaSettings.model_validate({**KEYS, "base_url": url})


def test_timeouts_must_be_positive_and_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        AlpacaSettings.model_validate({**KEYS, "read_timeout_seconds": 0})
    with pytest.raises(ValidationError):
        AlpacaSettings.model_validate({**KEYS, "paper": True})
    ok = AlpacaSettings.model_validate({**KEYS, "base_url": "http://127.0.0.1:9/"})
    assert ok.base_url == "http://127.0.0.1:9"
    assert ok.read_timeout_seconds == Decimal(20)
