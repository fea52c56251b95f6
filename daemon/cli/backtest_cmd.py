"""`trimtab backtest`: an account's configuration over years of daily closes, through the
live decision step (docs/backtest.md)."""

from __future__ import annotations

__all__ = ["backtest"]

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    configured_account,
    console,
    fail,
    load_app,
    styled,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from daemon.backtest.prices import PriceTable
    from daemon.backtest.runner import Options, Run
    from daemon.bootstrap import App


def backtest(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", help="Account to backtest (default: the only one)."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            metavar="PRICES.csv",
            help="Daily closes: date,SYM1,SYM2,... one row per trading day "
            "(default: the account's history_file).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", metavar="YYYY-MM-DD", help="First day (day 0).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", metavar="YYYY-MM-DD", help="Last day.")
    ] = None,
    cash: Annotated[str, typer.Option("--cash", help="Starting cash on day 0.")] = "1000000",
    contribute: Annotated[
        str | None,
        typer.Option("--contribute", metavar="AMOUNT/month", help="Cash added each month."),
    ] = None,
    withdraw: Annotated[
        str | None,
        typer.Option(
            "--withdraw",
            metavar="AMOUNT/month|PCT%/year",
            help="Cash taken out each month: an amount, or a share of the value a year.",
        ),
    ] = None,
    inflation: Annotated[
        str | None,
        typer.Option(
            "--inflation",
            metavar="RATE",
            help="Raise --withdraw's amount by RATE a year (0.025), as [income] inflation does.",
        ),
    ] = None,
    dividends: Annotated[
        Path | None,
        typer.Option(
            "--dividends",
            metavar="DIVIDENDS.csv",
            help="Cash dividends: date,symbol,amount (per share).",
            show_default=False,
        ),
    ] = None,
    calendar: Annotated[
        str,
        typer.Option(
            "--calendar",
            help="Days the cycle runs: schedule (the account's), daily, weekly, monthly, "
            "quarterly, yearly.",
        ),
    ] = "schedule",
    benchmark: Annotated[
        str | None,
        typer.Option("--benchmark", metavar="SYM", help="Compare with this column of the prices."),
    ] = None,
    short_term_rate: Annotated[
        str, typer.Option("--short-term-rate", help="Tax rate on net short-term gains.")
    ] = "0.35",
    long_term_rate: Annotated[
        str, typer.Option("--long-term-rate", help="Tax rate on net long-term gains.")
    ] = "0.15",
    dividend_rate: Annotated[
        str, typer.Option("--dividend-rate", help="Tax rate on dividends.")
    ] = "0.15",
    risk_free: Annotated[
        str, typer.Option("--risk-free", help="Yearly risk-free rate for Sharpe and Sortino.")
    ] = "0",
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            metavar="KEY=V1,V2,...",
            help=(
                "Run every combination of these account config values (repeatable); "
                "start=D1,D2,... varies the first day."
            ),
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", help="Worker processes for --vary (-1: one per core).")
    ] = -1,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", metavar="OUT.html", help="Write an HTML report.", show_default=False
        ),
    ] = None,
    allow_missing_days: Annotated[
        bool,
        typer.Option(
            "--allow-missing-days",
            help="Run a price file that has no row for some sessions of the exchange; each "
            "missing session's cycle runs on the next row.",
        ),
    ] = False,
    every_day: Annotated[
        bool,
        typer.Option(
            "--every-day",
            help="Call the decision step on every cycle day (no skipping); for checking.",
            hidden=True,
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Backtest an account's strategy, bands, policy and tax rules over a price file."""
    from daemon.backtest.engine import BacktestFailed, BacktestHalted
    from daemon.backtest.errors import BacktestInputError
    from daemon.backtest.flows import parse_monthly, parse_withdrawal, read_dividends
    from daemon.backtest.metrics import TaxRates
    from daemon.backtest.prices import read_prices
    from daemon.backtest.runner import Options
    from daemon.backtest.vary import START, combinations, configure, parse_vary
    from daemon.core.errors import DataError, StrategyError

    # A backtest never reaches a broker: it runs without the brokers' keys, which the
    # service's secrets file may keep from anyone but the service user.
    with load_app(config, read_only=True, broker=False) as app:
        account = configured_account(app, account)
        # The drift chart of one run draws a primary and its alternates standing in as one.
        alternates = app.settings.account(account).tax.alternates
        # The account's own price file, when it has one, is the default (the same format).
        prices = prices or app.settings.account(account).history_file
        if prices is None:
            fail(
                "--prices PRICES.csv is required: daily closes, date,SYM1,SYM2,...; make one "
                "with `trimtab prices export -a ACCOUNT -o PRICES.csv` (from the account's "
                "broker) or `trimtab prices merge` (from downloaded CSVs)",
                2,
            )
        try:
            withdrawal = parse_withdrawal(withdraw) if withdraw else (Decimal(0), Decimal(0))
            if inflation is not None and not withdrawal[0]:
                raise BacktestInputError(
                    "--inflation raises a fixed --withdraw AMOUNT/month once a year; give one "
                    "(a share of the value a year, PCT%/year, follows the value by itself)"
                )
            options = Options(
                start=_day(start, "--start"),
                end=_day(end, "--end"),
                cash=_cash(cash),
                contribute=parse_monthly(contribute, "--contribute") if contribute else Decimal(0),
                withdraw=withdrawal[0],
                withdraw_share=withdrawal[1],
                inflation=_rate(inflation, "--inflation") if inflation else Decimal(0),
                dividends=read_dividends(dividends) if dividends is not None else (),
                dividends_file=dividends,
                calendar=calendar,
                benchmark=benchmark,
                rates=TaxRates(
                    short_term=_rate(short_term_rate, "--short-term-rate"),
                    long_term=_rate(long_term_rate, "--long-term-rate"),
                    dividends=_rate(dividend_rate, "--dividend-rate"),
                ),
                risk_free=float(_rate(risk_free, "--risk-free")),
                skip=not every_day,
                allow_missing_days=allow_missing_days,
            )
            # Before the run: a bad --jobs or --report fails at once, not after years of days.
            _check_jobs(jobs)
            if report is not None:
                _check_report(report)
            varied = parse_vary(vary, calendar=calendar) if vary else []
            if start is not None and any(key == START for key, _ in varied):
                raise BacktestInputError(
                    "--start and --vary start=... both give the first day; give the days in "
                    "--vary start=... only"
                )
            # Each run's configuration, checked as the file is, before any run.
            sweep = (
                configure(
                    app.config_path,
                    app.settings,
                    account,
                    combinations(varied),
                    credentials=False,
                )
                if vary
                else None
            )
            table = read_prices(prices)
            _check_with_prices(table, options, cash, contribute)
            runs = _run(app.settings, account, table, options, sweep, jobs, as_json)
        except (BacktestInputError, DataError) as exc:
            _refuse(app, account, str(exc), prices)
        except (StrategyError, BacktestHalted) as exc:
            fail(str(exc), 1)
        except BacktestFailed as exc:
            # trimtab's own failure, not the input's: no backtest_refused record.
            fail(f"backtest failed: {exc}", 1)
    if report is not None:
        _write_report(report, account, runs, benchmark, alternates)
    if as_json:
        # Plain JSON already (metrics as numbers, money and quantities as decimal strings).
        # Compact: json's C encoder serves only separators without indent, and a 20-year
        # run's object is tens of thousands of rows (`jq .` indents it for reading).
        if sweep is None:
            typer.echo(json.dumps(runs[0].json(), separators=(",", ":")))
        else:
            shaped = [{"overrides": dict(run.overrides), **run.json()} for run in runs]
            typer.echo(json.dumps(shaped, separators=(",", ":")))
        return
    _print(account, runs, sweep is not None, benchmark)
    if report is not None:
        console.print(styled("report written to ", (str(report), "bold")))


def _refuse(app: App, account: str, detail: str, prices: Path) -> NoReturn:
    """Record refused input in the audit log (invariant 5), then exit 2 with its message.

    The backtest otherwise keeps everything in memory and opens no database: only a refusal
    writes, to the state directory the configuration names (created if it is new)."""
    from daemon.audit.events import BacktestRefused
    from daemon.bootstrap import App
    from daemon.store.audit_log import AuditLog

    writer = App(settings=app.settings, config_path=app.config_path, clock=app.clock)
    event = BacktestRefused(detail=detail, prices=str(prices))
    try:
        with writer.database.transaction() as session:
            AuditLog(session).append(event, at=writer.clock(), account=account)
    except Exception as exc:  # the refusal is still reported; the audit failure named too
        from daemon.config.secrets import secret_values
        from daemon.core.redaction import redact

        # A database error can quote its connection: no secret of the config is printed.
        why = redact(f"{type(exc).__name__}: {exc}", secret_values(app.settings))
        fail(f"{detail}\n(not recorded in the audit log: {why})", 2)
    finally:
        writer.close()
    fail(detail, 2)


def _run(
    settings: Any,
    account: str,
    table: Any,
    options: Options,
    sweep: list[Any] | None,
    jobs: int,
    as_json: bool,
) -> list[Run]:
    from daemon.backtest.runner import run_one, run_sweep
    from daemon.cli.progress import progress

    if sweep is None:
        with progress("backtest", enabled=not as_json) as advance:
            return [run_one(settings, account, table, options, progress=advance)]
    with progress(f"backtest: {len(sweep)} runs", enabled=not as_json) as advance:
        return run_sweep(account, table, options, sweep, jobs=jobs, progress=advance)


def _print(account: str, runs: list[Run], compare: bool, benchmark: str | None) -> None:
    from rich.table import Table

    from daemon.backtest.output import shown

    if compare:
        _print_comparison(account, runs)
        return
    run = runs[0]
    m = run.metrics
    table = Table(title=f"backtest of {account}: {m['start']} to {m['end']} ({m['days']} days)")
    table.add_column("metric")
    table.add_column(account, justify="right")
    bench = m.get("benchmark")
    if bench is not None:
        table.add_column(str(benchmark), justify="right")
    for label, field in _SUMMARY:
        row = [label, shown(m, field)]
        if bench is not None:
            row.append(shown(bench, field) if field in bench else "")
        table.add_row(*row)
    if bench is not None:
        # How the account moved with the benchmark: the account's figures, in its column.
        for label, field in (("correlation", "correlation"), ("beta", "beta")):
            table.add_row(f"{label} with {benchmark}", shown(bench, field), "")
    console.print(table)
    if run.missing:
        console.print(_missing(run))
    if run.result.skipped:
        first = run.result.skipped[0]
        console.print(
            f"{len(run.result.skipped)} approved buys were skipped for want of cash (the first: "
            f"{first.symbol} on {first.day}, {first.reason}); --json lists them under 'skipped'"
        )
    if run.result.refused:
        no = run.result.refused[0]
        count = len(run.result.refused)
        console.print(
            f"{count} order{' was' if count == 1 else 's were'} refused by a pre-trade check and "
            f"not filled (the first: {no.side} {no.symbol} on {no.day}, {no.check}: "
            f"{no.reason}); --json lists them under 'refused'"
        )


def _print_comparison(account: str, runs: list[Run]) -> None:
    """Print a `--vary` sweep's comparison table, then each run's orders not filled."""
    from rich.table import Table

    from daemon.backtest.output import COMPARED, shown
    from daemon.backtest.vary import shown as written

    keys = [key for key, _ in runs[0].overrides]
    table = Table(title=f"backtest of {account}: {len(runs)} runs")
    for key in keys:
        table.add_column(key)
    for label, _ in COMPARED:
        table.add_column(label, justify="right")
    # The orders a run did not fill: a run whose every order a check refused would
    # otherwise read as a strategy at 0% that never traded.
    table.add_column("refused", justify="right")
    table.add_column("skipped", justify="right")
    for run in runs:
        table.add_row(
            *(written(value) for _, value in run.overrides),
            *(shown(run.metrics, field) for _, field in COMPARED),
            str(len(run.result.refused)),
            str(len(run.result.skipped)),
        )
    console.print(table)
    for run in runs:
        said = "; ".join(part for part in (_missing(run), _unfilled(run)) if part)
        if said:
            label = ", ".join(f"{key}={written(value)}" for key, value in run.overrides)
            console.print(f"{label}: {said}")


def _missing(run: Run) -> str:
    """Say which sessions of the exchange `--allow-missing-days` ran without a row; empty
    when none."""
    if not run.missing:
        return ""
    count = sum(gap.sessions for gap in run.missing)
    first = run.missing[0]
    return (
        f"{count} session{'' if count == 1 else 's'} of the exchange had no row (the first: "
        f"{first.first}, before row {first.row}, {first.day}); --allow-missing-days ran each "
        "one's cycle on the next row; --json lists them under 'missing_sessions'"
    )


def _unfilled(run: Run) -> str:
    """Say how many orders a run of a comparison did not fill, by check, and where --json
    lists them; empty when every order was filled."""
    result = run.result
    said = []
    if result.refused:
        checks: dict[str, int] = {}
        for refused in result.refused:
            checks[refused.check] = checks.get(refused.check, 0) + 1
        count = len(result.refused)
        by_check = ", ".join(f"{check} {n}" for check, n in checks.items())
        said.append(
            f"{count} order{' was' if count == 1 else 's were'} refused by a pre-trade check "
            f"({by_check})"
        )
    if result.skipped:
        count = len(result.skipped)
        said.append(
            f"{count} approved buy{' was' if count == 1 else 's were'} skipped for want of cash"
        )
    if not said:
        return ""
    where = " and ".join(
        f"'{key}'"
        for key, there in (("refused", result.refused), ("skipped", result.skipped))
        if there
    )
    return f"{'; '.join(said)}; --json lists them under {where}"


_SUMMARY = [
    ("final value", "final_value"),
    ("total return (TWR)", "total_return"),
    ("CAGR", "cagr"),
    ("money-weighted return", "money_weighted_return"),
    ("volatility", "volatility"),
    ("max drawdown", "max_drawdown"),
    ("best year", "best_year"),
    ("worst year", "worst_year"),
    ("Sharpe", "sharpe"),
    ("Sortino", "sortino"),
    ("turnover / year", "turnover"),
    ("trades", "trade_count"),
    ("rebalances", "rebalance_count"),
    ("commissions", "commissions"),
    ("dividends", "dividends"),
    ("realized short-term", "realized_short_term"),
    ("realized long-term", "realized_long_term"),
    ("harvested losses", "harvested_losses"),
    ("disallowed losses", "disallowed_losses"),
    ("taxes", "taxes"),
    ("after-tax value", "after_tax_value"),
    ("after-tax CAGR", "after_tax_cagr"),
]


def _check_jobs(jobs: int) -> None:
    from daemon.backtest.errors import BacktestInputError

    if jobs < 1 and jobs != -1:
        raise BacktestInputError(
            f"--jobs {jobs}: give a number of worker processes, 1 or more, or -1 for one per core"
        )


def _check_report(report: Path) -> None:
    """Refuse a --report path the page could not be written to, before the run: create the
    file the page would be written to first, and remove it."""
    from daemon.backtest.errors import BacktestInputError
    from daemon.backtest.out_file import check_writable

    folder = report.parent
    if not folder.is_dir():
        raise BacktestInputError(
            f"--report {report}: the directory {folder} does not exist; create it, or "
            "write the report elsewhere"
        )
    if report.is_dir():
        raise BacktestInputError(
            f"--report {report} is a directory; name the HTML file, e.g. {report / 'backtest.html'}"
        )
    try:
        check_writable(report)
    except OSError as exc:
        raise BacktestInputError(
            f"--report {report}: cannot create a file in {folder} ({exc.strerror or exc}); "
            "write the report to a folder you can write to"
        ) from exc


def _write_report(
    report: Path,
    account: str,
    runs: list[Run],
    benchmark: str | None,
    alternates: Mapping[str, Sequence[str]],
) -> None:
    from daemon.backtest.report import write_report

    try:
        write_report(report, account, runs, benchmark=benchmark, alternates=alternates)
    except OSError as exc:
        # Checked before the run; what fails only on writing (a full disk) is trimtab's
        # failure to write, not refused input: exit 1, as other commands' writes do.
        fail(f"cannot write the report {report}: {exc.strerror or exc}", 1)


def _check_with_prices(
    table: PriceTable, options: Options, cash: str, contribute: str | None
) -> None:
    """Refuse what only the price file shows to be wrong: a `--benchmark` it cannot have, more
    money put in over its months than the run can grow from."""
    from daemon.backtest.flows import check_put_in

    _check_benchmark(options.benchmark, table)
    if contribute is not None:
        # With --vary start=..., options.start is None: the whole file, the most months.
        lo, hi = table.span(options.start, options.end)
        check_put_in(options.cash, options.contribute, table.days[lo:hi], (cash, contribute))


def _check_benchmark(benchmark: str | None, table: PriceTable) -> None:
    """Refuse `--benchmark CASH`: the price file's checks pass over CASH, the account's cash
    in every target list, so the run would reach the benchmark's column and find none."""
    from daemon.backtest.errors import BacktestInputError
    from daemon.core.domain import CASH

    if benchmark == CASH:
        header = ",".join(("date", *table.symbols))
        raise BacktestInputError(
            f"--benchmark {CASH}: {CASH} is not a price column: name a symbol of the file as "
            f"--benchmark ({table.path}'s header is {header})"
        )


def _day(text: str | None, option: str) -> date | None:
    from daemon.backtest.errors import BacktestInputError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BacktestInputError(f"{option} {text!r} is not a date like 2024-03-05") from exc


def _amount(text: str, option: str, *, positive: bool = False) -> Decimal:
    """Return the option's amount: a plain decimal (the price file's syntax), at least 0 (above
    0 when `positive`). Python would read `1_000` as 1000; a separator is refused here as in
    the price file and in --contribute/--withdraw, never read one way here and another there."""
    from daemon.backtest.errors import BacktestInputError
    from daemon.core.plannable import parse_plain_decimal

    amount = parse_plain_decimal(text.strip())
    if amount is None:
        raise BacktestInputError(
            f"{option} {text!r}: write the amount with digits and a decimal point only, no "
            "thousands separators, digit separators or decimal commas (1000000, 2500.50, 0.35)"
        )
    if amount < 0 or (positive and amount == 0):
        raise BacktestInputError(f"{option} must be a positive amount, not {text!r}")
    return amount


def _cash(text: str) -> Decimal:
    """Return `--cash`: positive, at most what a run may start from, in whole cents."""
    from daemon.backtest.flows import checked_amount

    return checked_amount(_amount(text, "--cash", positive=True), "--cash", text)


def _rate(text: str, option: str) -> Decimal:
    from daemon.backtest.errors import BacktestInputError

    rate = _amount(text, option)
    if rate > 1:
        raise BacktestInputError(f"{option} {text} is over 1; write a fraction: 0.15 for 15%")
    return rate
