"""Scheduled cash flows (`--contribute`/`--withdraw AMOUNT/month`, `--withdraw PCT%/year`) and
the dividends file.

A monthly flow lands on the first trading day (row of the price file) of each calendar month
after the backtest's first day, and a month with no row on the next row (`monthly_flows`); day
0 only receives the starting cash. A withdrawal of
`PCT%/year` takes a twelfth of PCT% of the account's value at the previous close each month,
the `[income]` plan's `annual_pct` rule (`daemon.core.income.month_amount`). Dividends come from a
CSV `date,symbol,amount` (cash per share held at the previous close): a dividend dated on a
day without a row is paid on the next row. The `--benchmark` earns its symbol's dividends,
reinvested at the close of the row they are paid on (`reinvested`).
"""

from __future__ import annotations

__all__ = [
    "MAX_PUT_IN",
    "PUT_IN_RULE",
    "Dividend",
    "check_put_in",
    "checked_amount",
    "monthly_days",
    "monthly_flows",
    "parse_monthly",
    "parse_withdrawal",
    "read_dividends",
    "reinvested",
]

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from daemon.backtest.errors import BacktestInputError
from daemon.core.input_files import read_input_text
from daemon.core.money import cents, is_whole_cents
from daemon.core.plannable import MAX_NUMBER, parse_plain_decimal, price_problem

_MONTHLY = re.compile(r"^\s*\$?([0-9]+(?:\.[0-9]+)?)\s*/\s*(?:month|mo|m)\s*$", re.I | re.ASCII)
_YEARLY_SHARE = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*/\s*(?:year|yr|y)\s*$", re.I | re.ASCII
)
_SEPARATED = re.compile(r"[0-9][,_'\s]+[0-9]")
"""Digits with a comma, an underscore, an apostrophe or a space between them: `2,50` is two
and a half in much of Europe and `1,000` a thousand in the US, and nothing tells which."""
_ZERO = Decimal(0)
MAX_PUT_IN = MAX_NUMBER / 1000
"""The most money a run may put in (`--cash`, and it with `--contribute` over the run's months)
and the largest monthly amount: a thousandth of the largest account value the planner takes
(`daemon.core.plannable.MAX_NUMBER`), so the value can grow a thousandfold before the run fails
part way."""
PUT_IN_RULE = (
    "10000000000 (1e10): trimtab plans with account values up to 10000000000000 (1e13), and "
    "the run's value needs room to grow (a thousandfold)"
)


def parse_withdrawal(text: str) -> tuple[Decimal, Decimal]:
    """Return `--withdraw`'s (amount a month, share of the value a year): `2000/month` is
    (2000, 0), `4%/year` is (0, 0.04); raise naming the option."""
    _refuse_separators(text, "--withdraw")
    match = _YEARLY_SHARE.match(text)
    if match is None:
        return parse_monthly(text, "--withdraw"), _ZERO
    share = Decimal(match.group(1)) / 100
    if not 0 < share <= 1:
        raise BacktestInputError(
            f"--withdraw {text!r}: give a share of the value above 0% and at most 100% a year"
        )
    return _ZERO, share


def parse_monthly(text: str, option: str) -> Decimal:
    """Return the amount of `AMOUNT/month` (e.g. `2000/month`, digits and a point, an optional
    `$`); raise naming the option and the fix."""
    _refuse_separators(text, option)
    match = _MONTHLY.match(text)
    amount = None
    if match:
        try:
            amount = Decimal(match.group(1))
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        shares = " or a share of the value a year like 4%/year" if option == "--withdraw" else ""
        raise BacktestInputError(
            f"{option} {text!r} is not an amount per month; write it like 2000/month{shares}"
        )
    return checked_amount(amount, option, text)


def _refuse_separators(text: str, option: str) -> None:
    """Raise naming the option, the text and the fix when an amount holds a separator between
    its digits: it is refused, as `--cash`, the price file and the dividends file refuse one,
    rather than read as one of the two amounts it may mean (`2,50/month` was read as 250)."""
    if _SEPARATED.search(text) is None:
        return
    share = " or 4.5%/year" if option == "--withdraw" else ""
    raise BacktestInputError(
        f"{option} {text!r}: write the amount with digits and a decimal point only, no "
        f"thousands separators or decimal commas: 2.50/month for two and a half a month, "
        f"1000/month for a thousand{share}"
    )


def checked_amount(amount: Decimal, option: str, text: str) -> Decimal:
    """Return a positive money amount an option gives (`--cash`, a monthly flow), once it is at
    most `MAX_PUT_IN` and in whole cents; raise naming the option and the fix."""
    # The bound first: the cents of 1e999 cannot be counted (quantize needs 1000 digits).
    if amount > MAX_PUT_IN:
        raise BacktestInputError(f"{option} {text!r}: give at most {PUT_IN_RULE}")
    if not is_whole_cents(amount):
        raise BacktestInputError(f"{option} {text!r}: give the amount in whole cents")
    return amount


def check_put_in(
    cash: Decimal, contribute: Decimal, days: Sequence[date], texts: tuple[str, str]
) -> None:
    """Raise unless `--cash` and `--contribute` over the run's rows `days` put in at most
    `MAX_PUT_IN` (`texts`: the two options as given, for the error)."""
    # Every month after the first day's pays once, a month with no row too (`monthly_flows`).
    months = (days[-1].year - days[0].year) * 12 + days[-1].month - days[0].month
    total = cash + contribute * months
    if total > MAX_PUT_IN:
        raise BacktestInputError(
            f"--cash {texts[0]} and --contribute {texts[1]} for the run's {months} "
            f"month{'' if months == 1 else 's'} put in {cents(total)}, more than "
            f"{PUT_IN_RULE}; start with less cash, contribute less, or run over fewer months"
        )


def monthly_days(days: Sequence[date]) -> frozenset[int]:
    """Return the indexes of the first day of each month after the first day's month."""
    return frozenset(monthly_flows(days))


def monthly_flows(days: Sequence[date]) -> dict[int, tuple[date, ...]]:
    """Return the rows that pay monthly flows, each with the months it pays (a day of each).

    The first row of each month after the first day's month pays its own month (its date)
    and, before it, each month since the previous row that has no row at all (its first
    day): a file without rows for March to May (missing sessions run with
    `--allow-missing-days`) pays March, April, May and June on its first June row, once each,
    so no month's flow is lost."""
    found: dict[int, tuple[date, ...]] = {}
    for i in range(1, len(days)):
        before, day = days[i - 1], days[i]
        months = (day.year - before.year) * 12 + day.month - before.month
        if months:
            found[i] = (*(_month_after(before, k) for k in range(1, months)), day)
    return found


def _month_after(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, 1)


@dataclass(frozen=True, slots=True)
class Dividend:
    day: date
    symbol: str
    per_share: Decimal
    row: int


def read_dividends(path: Path) -> tuple[Dividend, ...]:
    """Read `date,symbol,amount` rows (amount: cash per share); raise naming file and row."""
    text = read_input_text(path, "dividends file", BacktestInputError)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise BacktestInputError(f"dividends file {path}: malformed CSV ({exc})") from exc
    if not rows or [c.strip().lower() for c in rows[0]] != ["date", "symbol", "amount"]:
        raise BacktestInputError(
            f"{path}: row 1 must be the header date,symbol,amount (amount: cash per share)"
        )
    found = []
    seen: dict[tuple[date, str, Decimal], int] = {}
    for number, cells in enumerate(rows[1:], 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != 3:
            raise BacktestInputError(f"{path}: row {number} must have 3 cells: date,symbol,amount")
        try:
            day = date.fromisoformat(cells[0].strip())
        except ValueError as exc:
            raise BacktestInputError(
                f"{path}: row {number}: {cells[0].strip()!r} is not a date like 2024-03-05"
            ) from exc
        symbol = cells[1].strip()
        if not symbol:
            raise BacktestInputError(
                f"{path}: row {number}, column 2 (symbol) is empty; name the symbol the "
                "dividend is paid on, as the price file's header does"
            )
        amount = _amount(cells[2].strip(), f"{path}: row {number}, column 3 ({symbol})")
        # Each row is paid: two distributions of one day (an income dividend and a capital
        # gain) are two rows. The same row twice is a copy that would pay it twice, silently.
        first = seen.setdefault((day, symbol, amount), number)
        if first != number:
            raise BacktestInputError(
                f"{path}: rows {first} and {number} both give the same dividend of {symbol} "
                f"on {day} ({amount} a share), which would pay it twice; delete one of them (two "
                "distributions of that day with the same amount: write their sum in one row)"
            )
        found.append(Dividend(day, symbol, amount, number))
    return tuple(sorted(found, key=lambda d: (d.day, d.symbol)))


def _amount(text: str, where: str) -> Decimal:
    """Return a dividend's amount per share; raise naming `where` and the fix unless it is a
    plain decimal (the price file's syntax: no `1_0`, `1,000`, `$1`, `nan`) above 0 in the
    range of prices trimtab plans with (a 1e30 dividend would not fit a cent)."""
    amount = parse_plain_decimal(text)
    if amount is None:
        raise BacktestInputError(
            f"{where}: {text!r} is not a plain decimal; write the cash per share like 0.52 "
            "(digits and a point: no thousands separators, currency signs or words)"
        )
    if amount <= 0:
        raise BacktestInputError(
            f"{where}: the amount must be a positive cash amount per share, got {text!r}; "
            "correct it or leave the row out"
        )
    problem = price_problem(amount)
    if problem is not None:
        raise BacktestInputError(f"{where}: the amount per share {problem}; correct that amount")
    return amount


def reinvested(
    closes: Sequence[float], paid: Mapping[int, Sequence[Dividend]], symbol: str
) -> tuple[float, ...]:
    """Return, on each row, the value of one share of `symbol` bought at the first row's close
    and held, each of its dividends (`paid`: by row, as the account is paid them) buying more
    of it at the close of its row: the benchmark's total return. A dividend on the first row
    is not earned: the share is bought at that close, after it, as the account's are."""
    shares = 1.0
    values = []
    for i, close in enumerate(closes):
        if i > 0:
            per_share = sum(float(d.per_share) for d in paid.get(i, ()) if d.symbol == symbol)
            shares += shares * per_share / close
        values.append(shares * close)
    return tuple(values)
