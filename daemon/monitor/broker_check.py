"""Turn a broker's answers to `trimtab check` into rows: account, check, status, detail, fix.

Pure: the command asks the broker (`adapters.base.BrokerChecks`) and the exchange calendar,
and hands the answers here. A row is `ok`, `warn` (worth knowing, trading still works) or
`fail` (trimtab would refuse, be refused, or do something the configuration does not mean);
every row that is not ok says how to fix it. No row ever carries a credential.

| check | fails when |
|---|---|
| `broker` | the adapter cannot be built or reached, or the credentials are refused (wrong, expired, paper keys on live or the reverse) |
| `account` | the broker says the account is not active, or blocks the account or its trading |
| `environment` | `mode = "paper"` on a live account (it would trade real money), or `mode = "live"` on a paper account |
| `symbol` | a target symbol or tax alternate is unknown or not tradable, or the policy trades it in fractions and the broker takes whole shares only |
| `calendar` | the broker's trading days or hours differ from the exchange calendar trimtab gates orders with (a warning for the simulated broker, whose calendar is synthetic) |

trimtab's own brakes are shown too, as warnings (they are deliberate): the kill switch, and
an account HALTED or REDUCING (`state_rows`).
"""  # noqa: E501 (a table row per check reads better than wrapped cells)

from __future__ import annotations

__all__ = [
    "CheckRow",
    "Status",
    "account_rows",
    "broker_error_row",
    "calendar_rows",
    "environment_rows",
    "failed",
    "no_checks_row",
    "split_fix",
    "state_rows",
    "symbol_rows",
]

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from adapters.base import AccountCheck, AssetCheck, CredentialsRejected, SessionDay
from daemon.core.domain import Mode, TradingState
from daemon.core.errors import BrokerError, DataError, TransientBrokerError, TrimtabError

MAX_LISTED_DAYS = 5  # more differing days than this are counted, not listed


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class CheckRow:
    account: str
    check: str
    status: Status
    detail: str
    fix: str = ""


def failed(rows: Sequence[CheckRow]) -> bool:
    """Tell whether any row failed."""
    return any(row.status is Status.FAIL for row in rows)


def broker_error_row(account: str, broker: str, error: TrimtabError) -> CheckRow:
    """Return the row for a broker that could not be built, reached, or logged in to.

    Adapters end a message with the fix, "(fix: ...)" (errors carry no fix attribute, only
    `CredentialsRejected` does): that fix goes in the Fix column, and the generic advice
    only where the adapter gave none.
    """
    if isinstance(error, CredentialsRejected):
        return CheckRow(account, "broker", Status.FAIL, error.detail, error.fix)
    what, own_fix = split_fix(str(error))
    if isinstance(error, TransientBrokerError):
        return CheckRow(
            account,
            "broker",
            Status.FAIL,
            f"{broker} did not answer: {what}",
            own_fix
            or "check the network and the broker's status page, then run trimtab check again",
        )
    if isinstance(error, BrokerError):
        return CheckRow(
            account,
            "broker",
            Status.FAIL,
            f"{broker} refused the check: {what}",
            own_fix or f"look at accounts.{account}.broker_settings and the broker's dashboard",
        )
    if isinstance(error, DataError):
        # What the broker's files or answers hold is wrong (a manual account's export): the
        # message names the file and the fix.
        return CheckRow(
            account,
            "broker",
            Status.FAIL,
            f"{broker} data could not be read: {what}",
            own_fix or "see the detail: it names the file and what to do",
        )
    return CheckRow(
        account,
        "broker",
        Status.FAIL,
        f"the {broker} adapter could not be set up: {error}",
        f"fix accounts.{account}.broker_settings (trimtab config check lists each problem)",
    )


_FIX_CLAUSE = " (fix: "


def split_fix(message: str) -> tuple[str, str | None]:
    """Split a message that ends in "(fix: ...)" into what went wrong and the fix.

    A message without that ending, or whose last clause does not close it (parentheses
    unbalanced), is returned whole with no fix: better the generic advice than half a fix.
    """
    text = message.rstrip()
    at = text.rfind(_FIX_CLAUSE)
    if at < 0 or not text.endswith(")"):
        return message, None
    fix = text[at + len(_FIX_CLAUSE) : -1].strip()
    if not fix or fix.count("(") != fix.count(")"):
        return message, None
    return text[:at].rstrip(), fix


def state_rows(
    account: str,
    state: TradingState,
    reason: str,
    *,
    kill_switch_reason: str | None,
) -> list[CheckRow]:
    """Return trimtab's own brakes on the account: the kill switch and the trading state.

    `kill_switch_reason` is None while the kill switch is clear.
    """
    rows: list[CheckRow] = []
    if kill_switch_reason is not None:
        rows.append(
            CheckRow(
                account,
                "kill switch",
                Status.WARN,
                f"engaged ({kill_switch_reason}): cycles plan and audit but send nothing",
                "trimtab resume, once the reason is dealt with",
            )
        )
    if state is TradingState.ACTIVE:
        rows.append(CheckRow(account, "trading state", Status.OK, "active"))
    else:
        limits = "sells only" if state is TradingState.REDUCING else "no new orders"
        rows.append(
            CheckRow(
                account,
                "trading state",
                Status.WARN,
                f"{state} ({limits}): {reason}",
                f"trimtab resume -a {account}, once the cause is understood",
            )
        )
    return rows


def no_checks_row(account: str, broker: str) -> CheckRow:
    """Return the row for a broker plugin that offers no read-only checks."""
    return CheckRow(
        account,
        "broker",
        Status.WARN,
        f"the {broker} adapter offers no read-only checks; only the configuration was checked",
        'run a dry-run cycle (mode = "dry-run", trimtab run --once) to exercise it',
    )


def account_rows(answer: AccountCheck) -> list[CheckRow]:
    """Return the connectivity row and the account-standing row."""
    who = f"{answer.broker_account} ({answer.environment})"
    rows = [CheckRow(answer.account, "broker", Status.OK, f"connected to {who}")]
    problems = answer.problems
    if problems:
        rows.append(
            CheckRow(
                answer.account,
                "account",
                Status.FAIL,
                "; ".join(problems),
                "resolve it with the broker (dashboard or support); trimtab cannot trade "
                "this account until then",
            )
        )
    else:
        rows.append(
            CheckRow(answer.account, "account", Status.OK, f"status {answer.status}, no blocks")
        )
    return rows


def environment_rows(answer: AccountCheck, mode: Mode) -> list[CheckRow]:
    """Return whether the broker's environment (sim, paper, live) fits trimtab's mode."""
    account, environment = answer.account, answer.environment
    where = f"accounts.{account}.broker_settings"
    if environment == "live" and mode is Mode.PAPER:
        return [
            CheckRow(
                account,
                "environment",
                Status.FAIL,
                "mode is paper but this is a live account: paper mode would trade real money",
                f'set environment = "paper" in {where} with paper keys, or go live on '
                'purpose (mode = "live" and live_confirmation)',
            )
        ]
    if environment == "paper" and mode is Mode.LIVE:
        return [
            CheckRow(
                account,
                "environment",
                Status.FAIL,
                "mode is live but this is a paper account: no real order would be placed",
                f'set environment = "live" in {where} with live keys, or set mode = "paper"',
            )
        ]
    if environment == "live" and mode is Mode.DRY_RUN:
        return [
            CheckRow(
                account,
                "environment",
                Status.WARN,
                "live account in dry-run mode: nothing is sent until mode changes",
                'validate on a paper account first (environment = "paper", mode = "paper")'
                if answer.has_paper
                else "read the dry-run plans; when they look right, go live on purpose "
                '(mode = "live" and live_confirmation)',
            )
        ]
    sends = "nothing is sent" if mode is Mode.DRY_RUN else "orders go to this account"
    return [
        CheckRow(account, "environment", Status.OK, f"{environment} account, mode {mode}: {sends}")
    ]


def symbol_rows(
    account: str,
    assets: Mapping[str, AssetCheck],
    increments: Mapping[str, Decimal],
    *,
    alternates: Collection[str] = (),
) -> list[CheckRow]:
    """Return one row per target symbol: known, tradable, and fractionable if it must be.

    `increments` holds the quantity step the policy trades each symbol in (1: whole shares);
    `alternates` are those of its symbols that only `tax.alternates` names.
    """
    rows: list[CheckRow] = []
    for symbol in sorted(increments):
        step = increments[symbol]
        asset = assets.get(symbol)
        where = "tax.alternates" if symbol in alternates else "strategy_params"
        if asset is None or not asset.known:
            rows.append(
                CheckRow(
                    account,
                    f"symbol {symbol}",
                    Status.FAIL,
                    f"the broker does not know {symbol}"
                    + ("" if asset is None or asset.status == "unknown" else f": {asset.status}"),
                    f"check the ticker in accounts.{account}.{where}, or replace "
                    "the fund with one the broker lists",
                )
            )
        elif not asset.tradable:
            rows.append(
                CheckRow(
                    account,
                    f"symbol {symbol}",
                    Status.FAIL,
                    f"{symbol} is not tradable at this broker (status {asset.status})",
                    f"replace {symbol} in accounts.{account}.{where} with a tradable fund",
                )
            )
        elif step != 1 and not asset.fractionable:
            rows.append(
                CheckRow(
                    account,
                    f"symbol {symbol}",
                    Status.FAIL,
                    f"the policy trades {symbol} in steps of {step} but the broker takes "
                    "whole shares only",
                    f"drop {symbol} from accounts.{account}.policy.fractional_symbols (or set "
                    "fractional = false); trimtab would trade it in whole shares",
                )
            )
        else:
            rows.append(_tradable_row(account, asset, step))
    return rows


def _tradable_row(account: str, asset: AssetCheck, step: Decimal) -> CheckRow:
    symbol, minimum = asset.symbol, asset.min_trade_increment
    fractions = "fractionable" if asset.fractionable else "whole shares only"
    steps = "whole shares" if step == 1 else f"steps of {step.normalize():f}"
    detail = f"tradable, {fractions}; trimtab trades it in {steps}"
    if step != 1 and minimum is not None and minimum > 0 and step % minimum != 0:
        return CheckRow(
            account,
            f"symbol {symbol}",
            Status.WARN,
            f"{detail}, finer than the broker's {minimum.normalize():f}",
            f"set accounts.{account}.policy.fractional_increment to a multiple of "
            f"{minimum.normalize():f} (quantities are floored to it otherwise)",
        )
    return CheckRow(account, f"symbol {symbol}", Status.OK, detail)


def calendar_rows(
    account: str,
    broker_days: Sequence[SessionDay],
    exchange_days: Sequence[SessionDay],
    *,
    start: date,
    end: date,
    exchange: str,
    timezone: ZoneInfo,
    synthetic: bool,
) -> list[CheckRow]:
    """Compare the broker's sessions with the exchange calendar's over the same days."""
    ours = {d.day: d for d in exchange_days}
    theirs = {d.day: d for d in broker_days}
    differences: list[str] = []
    for day in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(day), theirs.get(day)
        if mine is None:
            differences.append(f"{day}: the broker trades, {exchange} is closed")
        elif other is None:
            differences.append(f"{day}: {exchange} trades, the broker is closed")
        elif (mine.open, mine.close) != (other.open, other.close):
            differences.append(
                f"{day}: {exchange} {_hours(mine, timezone)}, the broker {_hours(other, timezone)}"
            )
    days = f"from {start} to {end}"
    if not differences:
        return [
            CheckRow(
                account,
                "calendar",
                Status.OK,
                f"the broker's sessions match {exchange} {days}",
            )
        ]
    listed = "; ".join(differences[:MAX_LISTED_DAYS])
    more = len(differences) - MAX_LISTED_DAYS
    if more > 0:
        listed += f"; and {more} more"
    if synthetic:
        return [
            CheckRow(
                account,
                "calendar",
                Status.WARN,
                f"the simulated broker's synthetic calendar (every weekday, 09:30-16:00) "
                f"differs from {exchange} {days}: {listed}",
                "nothing to do: trimtab gates orders on the exchange calendar, so it does not "
                "trade on those days (unless policy.outside_hours = true)",
            )
        ]
    return [
        CheckRow(
            account,
            "calendar",
            Status.FAIL,
            f"the broker's sessions differ from {exchange} {days}: {listed}",
            "upgrade exchange_calendars (uv lock --upgrade-package exchange-calendars) if the "
            "broker is right, else report it to the broker; meanwhile trimtab sends orders "
            "only while the exchange calendar and the broker's clock both say open",
        )
    ]


def _hours(session: SessionDay, timezone: ZoneInfo) -> str:
    return f"{session.open.astimezone(timezone):%H:%M}-{session.close.astimezone(timezone):%H:%M}"
