"""Put a backtest together from the configuration and the command's options; run one, or a
sweep of `--vary` combinations in worker processes (joblib)."""

from __future__ import annotations

__all__ = ["Options", "Run", "cost_rules", "refuse_household_member", "run_one", "run_sweep"]

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daemon.backtest.engine import BacktestResult, BacktestSpec, CostRules, run_backtest
from daemon.backtest.errors import BacktestInputError
from daemon.backtest.flows import Dividend
from daemon.backtest.metrics import TaxRates, compute_metrics
from daemon.backtest.output import result_json
from daemon.backtest.prices import PriceTable
from daemon.backtest.sessions_check import Gap, missing_sessions, missing_sessions_error
from daemon.backtest.vary import Override, Variant, start_of
from daemon.config.settings import AccountSettings, Settings
from daemon.core.domain import AccountType
from daemon.core.progress import Progress, no_progress


@dataclass(frozen=True, slots=True)
class Options:
    """The command's options that shape a run (everything but the config)."""

    start: date | None = None
    end: date | None = None
    cash: Decimal = Decimal(1_000_000)
    contribute: Decimal = Decimal(0)
    withdraw: Decimal = Decimal(0)
    withdraw_share: Decimal = Decimal(0)
    inflation: Decimal = Decimal(0)
    dividends: tuple[Dividend, ...] = ()
    dividends_file: Path | None = None
    """Where `dividends` were read from, for errors."""
    calendar: str = "schedule"
    benchmark: str | None = None
    rates: TaxRates = field(default_factory=TaxRates)
    risk_free: float = 0.0
    skip: bool = True
    allow_missing_days: bool = False
    """Run a price file that misses sessions of the exchange (`--allow-missing-days`)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One run's overrides, its result and its metrics."""

    overrides: Override
    result: BacktestResult
    metrics: dict[str, Any]
    cash: Decimal
    """The run's `--cash`, what its returns are measured from (`metrics.from_cash`)."""
    missing: tuple[Gap, ...] = ()
    """The exchange's sessions the price file has no row for (`--allow-missing-days`)."""

    def json(self) -> dict[str, Any]:
        shaped = result_json(self.result, self.metrics)
        if self.missing:
            shaped["missing_sessions"] = [
                {
                    "first": gap.first.isoformat(),
                    "last": gap.last.isoformat(),
                    "sessions": gap.sessions,
                    "next_row": gap.row,
                    "next_day": gap.day.isoformat(),
                }
                for gap in self.missing
            ]
        return shaped


def cost_rules(account: AccountSettings, symbols: Collection[str]) -> CostRules:
    """What the account's broker charges a fill of `symbols` and takes in fractions: the
    simulated broker's slippage, commission, buy hold and whole shares from its
    `broker_settings`; another broker's commission, fees and fractions as its plugin declares
    them for a live cycle (`DeclaresCosts`, `DeclaresFractionable`; docs/backtest.md)."""
    from daemon.plugins import declared_costs, declared_fractionable

    try:
        if account.broker != "sim":
            costs = declared_costs(account.broker, account.broker_settings)
            return CostRules(
                slippage_bps=costs.slippage_bps,
                commission_per_order=costs.per_order,
                commission_per_share=costs.per_share,
                minimum=costs.minimum,
                sale_fee_fraction=costs.sale_fee_fraction,
                sale_fee_per_share=costs.sale_fee_per_share,
                fractionable=declared_fractionable(
                    account.broker, account.broker_settings, symbols
                ),
            )
        from adapters.sim.config import SimSettings

        sim = SimSettings.model_validate(account.broker_settings)
    except ValidationError as exc:
        raise BacktestInputError(f"the account's broker_settings are invalid: {exc}") from exc
    return CostRules(
        slippage_bps=sim.slippage_bps,
        commission_per_order=sim.commission_per_order,
        commission_per_share=sim.commission_per_share,
        market_buy_hold=sim.market_buy_hold_fraction,
        # Fractions in every symbol, or whole shares only, as the sim's snapshot says.
        fractionable=None if sim.fractional else frozenset(),
    )


def refuse_household_member(settings: Settings, account: str) -> None:
    """Raise `BacktestInputError` for a [household] member: live, the household split of
    every member's holdings decides its targets, and its own strategy is never used, so a
    backtest of that strategy would show trades the account never makes."""
    from daemon.config.household import household_members

    if account in household_members(settings):
        raise BacktestInputError(
            f"{account} is in the [household]: its targets come from the household split, "
            "which needs every member's holdings, not one price file; a backtest would run "
            f"{account}'s own strategy, which the household never uses for it. Backtest an "
            "account outside the [household] (a copy of this one with the targets you "
            "want), or see the split with `trimtab plan` (it reads the brokers and submits "
            "nothing)"
        )


def refuse_missing_alternates(settings: Settings, account: str, prices: PriceTable) -> None:
    """Raise `BacktestInputError` when a taxable account's rules trade its alternates
    (harvesting, or wash-sale buys redirected) and the price file has a column for none of a
    primary's alternates: the tax step leaves an alternate without a close out, as a live
    cycle does one without a quote, so that primary would never be harvested or redirected,
    and a comparison of harvesting on and off could show two equal runs with nothing saying
    why. A list of which some have a column is run with those (docs/backtest.md)."""
    configured = settings.account(account)
    tax = configured.tax
    if configured.type is not AccountType.TAXABLE:
        return  # an IRA realizes no loss: nothing harvests or redirects there
    uses = [
        rule
        for rule, on in (
            ("tax.harvest.enabled = true", tax.harvest.enabled),
            ('tax.wash_sale.buys = "redirect"', tax.wash_sale.buys == "redirect"),
        )
        if on
    ]
    columns = set(prices.symbols)
    stranded = {
        primary: alternates
        for primary, alternates in sorted(tax.alternates.items())
        if not columns.intersection(alternates)
    }
    if not uses or not stranded:
        return
    missing = sorted({s for alternates in stranded.values() for s in alternates})
    named = "; ".join(f"{p}: {', '.join(a)}" for p, a in stranded.items())
    raise BacktestInputError(
        f"{prices.path} has no column for {', '.join(missing)}, account {account}'s "
        f"tax.alternates ({named}), which {' and '.join(uses)} trade: without their closes "
        f"the tax step leaves them out and never harvests or redirects {', '.join(stranded)}. "
        f"Add their closes (`trimtab prices export -c CONFIG -a {account} -o PRICES.csv` "
        "writes the strategy's symbols and the alternates), or remove them from "
        "tax.alternates, or turn those rules off"
    )


def run_one(
    settings: Settings,
    account: str,
    prices: PriceTable,
    options: Options,
    overrides: Override = (),
    *,
    progress: Progress = no_progress,
) -> Run:
    """Run the account as `settings` configure it and sum it up; `overrides` are the
    `--vary` values a sweep's run was configured with (`vary.configure`), for its results
    and its first day."""
    from daemon.plugins import load_strategy_plugin

    refuse_household_member(settings, account)
    refuse_missing_alternates(settings, account, prices)
    options = _with_start(options, overrides)
    missing = missing_sessions(prices, settings.exchange, options.start, options.end)
    if missing and not options.allow_missing_days:
        raise missing_sessions_error(prices, settings.exchange, options.start, options.end, missing)
    configured = settings.account(account)
    plugin = load_strategy_plugin(configured.strategy)
    try:
        params = plugin.params_model.model_validate(configured.strategy_params)
    except ValidationError as exc:
        raise BacktestInputError(
            f"account {account}'s strategy_params do not suit strategy {configured.strategy}: {exc}"
        ) from exc
    spec = BacktestSpec(
        settings=settings,
        account=account,
        strategy=plugin.create(params),
        prices=prices,
        start=options.start,
        end=options.end,
        cash=options.cash,
        contribute=options.contribute,
        withdraw=options.withdraw,
        withdraw_share=options.withdraw_share,
        inflation=options.inflation,
        dividends=options.dividends,
        dividends_file=options.dividends_file,
        calendar=options.calendar,
        benchmark=options.benchmark,
        costs=cost_rules(configured, prices.symbols),
        skip=options.skip,
    )
    result = run_backtest(spec, progress=progress)
    metrics = compute_metrics(
        result,
        cash=spec.cash,
        rates=options.rates,
        risk_free=options.risk_free,
        benchmark=options.benchmark,
    )
    return Run(overrides, result, metrics, spec.cash, missing)


def run_sweep(
    account: str,
    prices: PriceTable,
    options: Options,
    runs: Sequence[Variant],
    *,
    jobs: int = -1,
    progress: Progress = no_progress,
) -> list[Run]:
    """Run every combination, each with its configuration (`vary.configure`, which checked
    the values), in worker processes (joblib's default backend, or whichever
    `joblib.parallel_config` names, e.g. Dask or Ray); results in the order of `runs`."""
    from joblib import Parallel, delayed

    for _, settings in runs:
        refuse_household_member(settings, account)
    # Check every first day before starting any worker: a bad one fails fast, by name.
    for overrides, _ in runs:
        start = start_of(overrides)
        if start is not None:
            try:
                prices.span(start, options.end)
            except BacktestInputError as exc:
                raise BacktestInputError(f"--vary start={start}: {exc}") from None
    parallel = Parallel(n_jobs=jobs, return_as="generator")
    done: list[Run] = []
    progress(0, len(runs))
    for run in parallel(
        delayed(run_one)(settings, account, prices, options, overrides)
        for overrides, settings in runs
    ):
        done.append(run)
        progress(len(done), len(runs))
    return done


def _with_start(options: Options, overrides: Override) -> Options:
    """The options of a run whose overrides vary its first day (`--vary start=...`)."""
    start = start_of(overrides)
    return options if start is None else replace(options, start=start)
