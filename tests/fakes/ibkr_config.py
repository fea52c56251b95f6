"""A trimtab configuration with one IB paper account against the fake TWS on `port`."""

from __future__ import annotations

__all__ = ["ib_config"]


def ib_config(
    database_url: str,
    port: int,
    targets: str,
    *,
    quote_age_hours: int = 240,
    policy: str = "",
) -> str:
    """Return the config text: account `main` (DU1234567) with `targets` (a TOML inline table's
    inside, e.g. 'VTI = "0.6", BND = "0.4"'), trading outside hours, `policy` lines added."""
    return f"""mode = "paper"
database_url = "{database_url}"
[risk]
max_quote_age_hours = {quote_age_hours}
max_turnover_per_day = 1000
[accounts.main]
broker = "ibkr"
[accounts.main.broker_settings]
environment = "paper"
account_id = "DU1234567"
port = {port}
connect_timeout_seconds = 5
request_timeout_seconds = 5
maintenance_windows = []
[accounts.main.strategy_params]
targets = {{ {targets} }}
[accounts.main.policy]
{policy}outside_hours = true
"""
