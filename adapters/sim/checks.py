"""What the simulated broker answers to `trimtab check` (`adapters.base.BrokerChecks`).

| question | the sim's answer |
|---|---|
| account | always active and unblocked: a paper account in trimtab's own database has no keys and no compliance desk |
| symbols | known when its price source quotes the symbol now; tradable unless `faults.reject_symbols` names it (the fault that makes the sim refuse it); fractionable when `fractional = true` |
| calendar | synthetic: every weekday from 09:30 to 16:00 New York time, no holidays and no early closes, the same days its synthetic prices close on |
"""  # noqa: E501 (a table row per question reads better than wrapped cells)

from __future__ import annotations

__all__ = ["SIM_OPEN", "account_check", "asset_check", "weekday_sessions"]

from datetime import UTC, date, datetime, time, timedelta

from adapters.base import AccountCheck, AssetCheck, SessionDay
from adapters.sim.config import SimSettings
from adapters.sim.prices import MARKET_CLOSE, NEW_YORK, SATURDAY

SIM_OPEN = time(9, 30)


def account_check(account: str) -> AccountCheck:
    """Return the sim account's standing: active, nothing blocked, environment `sim`."""
    return AccountCheck(
        account=account,
        broker_account=f"sim:{account}",
        environment="sim",
        status="ACTIVE",
        active=True,
        trading_blocked=False,
        account_blocked=False,
        trade_suspended_by_user=False,
    )


def asset_check(symbol: str, *, quoted: bool, settings: SimSettings) -> AssetCheck:
    """Return what the sim says of `symbol`, given whether its price source quotes it."""
    if not quoted:
        return AssetCheck(
            symbol=symbol, known=False, tradable=False, fractionable=False, status="unknown"
        )
    refused = symbol in settings.faults.reject_symbols
    return AssetCheck(
        symbol=symbol,
        known=True,
        tradable=not refused,
        fractionable=settings.fractional,
        status="inactive" if refused else "active",
        min_trade_increment=None,
    )


def weekday_sessions(start: date, end: date) -> list[SessionDay]:
    """Return every weekday in [start, end] as a 09:30-16:00 New York session, in UTC."""
    days: list[SessionDay] = []
    day = start
    while day <= end:
        if day.weekday() < SATURDAY:
            days.append(
                SessionDay(
                    day=day,
                    open=_utc(day, SIM_OPEN),
                    close=_utc(day, MARKET_CLOSE),
                )
            )
        day += timedelta(days=1)
    return days


def _utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=NEW_YORK).astimezone(UTC)
