"""`trimtab strategies` (what is installed, and each one's params) and `trimtab strategy
weights` (the target weights an account's strategy gives on a day, from a price file).

`strategy weights` reads the history from `--prices` (the simulated broker's CSV format), or
else reads the account's `history_file`, else asks the account's broker for the closes the
strategy reads through the history cache (the `PriceHistory` capability: the simulated
broker, Alpaca's daily bars), through the last session before the day asked about. Holdings (for
the hysteresis of `momentum` and `trend`, and `max_turnover`) come from `--holdings` (the
`plan --holdings` file) or are taken as none.
"""

from __future__ import annotations

__all__ = ["strategies_app", "strategy_app"]

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from daemon.cli.common import (
    ConfigOption,
    JsonOption,
    configured_account,
    console,
    fail,
    handle_errors,
    load_app,
    print_config_error,
    styled,
)

if TYPE_CHECKING:
    from daemon.bootstrap import App
    from strategies.base import Allocation, Strategy, StrategyPlugin
    from strategies.history import CloseHistory

strategies_app = typer.Typer(
    help="The installed allocation strategies and their parameters.",
    invoke_without_command=True,
)
strategy_app = typer.Typer(help="What an account's strategy decides.", no_args_is_help=True)


@strategies_app.callback()
def strategies(
    ctx: typer.Context,
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """List the installed strategies with a one-line description.

    With --config (or $TRIMTAB_CONFIG), the `package.module:attr` strategies the file's
    accounts name are listed too; without it no file is read.
    """
    if ctx.invoked_subcommand is not None:
        return
    from daemon.core.errors import PluginNotFound
    from strategies.registry import installed, load_strategy

    names = list(installed())
    if config is not None:
        names += [n for n in _named_strategies(config) if n not in names]
    table = Table("strategy", "description", box=None, header_style="bold")
    for name in names:
        try:
            table.add_row(name, _description(load_strategy(name)))
        except PluginNotFound as exc:
            table.add_row(name, styled((f"cannot load: {exc}", "red")))
    console.print(table)


def _named_strategies(path: Path) -> list[str]:
    """The `module:attr` strategies the config file's accounts name (exit 2 on a bad file)."""
    from daemon.config.files import read_config_file
    from daemon.core.errors import ConfigError

    try:
        data = read_config_file(path)
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from None
    accounts = data.get("accounts", {})
    named = (
        str(account.get("strategy", ""))
        for account in (accounts.values() if isinstance(accounts, dict) else ())
        if isinstance(account, dict)
    )
    return sorted({name for name in named if ":" in name})


@strategies_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A strategy name (or module:attr).")],
    config: ConfigOption = None,  # type: ignore[assignment]
) -> None:
    """Print a strategy's parameters with their defaults and descriptions.

    --config is accepted like on every command; a strategy is found by its name alone.
    """
    del config
    from strategies.registry import load_strategy

    with handle_errors():
        plugin = load_strategy(name)
    console.print(styled((plugin.name, "bold"), f": {_description(plugin)}"))
    from daemon.audit.jsonable import to_jsonable

    schema = plugin.params_model.model_json_schema()
    table = Table("param", "type", "default", "description", box=None, header_style="bold")
    for field, info in plugin.params_model.model_fields.items():
        spec = schema.get("properties", {}).get(info.alias or field, {})
        default = (
            "(required)"
            if info.is_required()
            else json.dumps(to_jsonable(info.get_default(call_default_factory=True)))
        )
        table.add_row(field, _type(spec), default, info.description or "")
    console.print(table)


@strategy_app.command("weights")
def weights(
    config: ConfigOption = None,  # type: ignore[assignment]
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Account (default: the only one).")
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="Daily closes, date,SYM1,SYM2,... (default: the broker's daily history).",
        ),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="YYYY-MM-DD (default: the last day of --prices, else today)."),
    ] = None,
    holdings: Annotated[
        Path | None,
        typer.Option("--holdings", help="Current holdings (plan's file), for hysteresis."),
    ] = None,
    household: Annotated[
        bool,
        typer.Option("--household", help="The [household]'s strategy instead of an account's."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the target weights the account's strategy gives on a day, with the reasons."""
    from decimal import Decimal

    from daemon.cli.holdings_file import read_holdings
    from daemon.config.household import household_members
    from daemon.core.calendar import trading_day
    from daemon.core.domain import AccountType
    from daemon.core.inputs import check_targets, managed_holdings
    from strategies.base import Allocation, Explains, StrategyContext, ask_strategy
    from strategies.history import read_prices_csv

    with load_app(config) as app, handle_errors():
        if household:
            if account is not None:
                fail("--household and --account name two strategies: give one", 2)
            name, strategy_name, strategy, source = _household(app)
            account_type = AccountType.TAXABLE  # as the cycle reads the household
            # One file stands for the household: a symbol any member keeps is left out.
            members = household_members(app.settings)
            keep = {s for m in members for s in app.settings.account(m).policy.keep}
        else:
            name = source = configured_account(app, account)
            strategy_name = app.settings.account(name).strategy
            strategy = app.strategy(name)
            account_type = app.settings.account(name).type
            keep = set(app.settings.account(name).policy.keep)
        expected: date | None = None
        if prices is not None:
            history = read_prices_csv(prices)
            if not history.days:
                fail(f"{prices} has no rows; add a row per day: YYYY-MM-DD,close,close,...", 2)
            on = _parse_day(day) if day else history.days[-1]
        else:
            on = _parse_day(day) if day else trading_day(app.clock(), app.settings.exchange)
            history, expected = _broker_history(app, source, strategy, on)
        held = read_holdings(holdings) if holdings else None
        context = StrategyContext(
            trading_day=on,
            account=name,
            account_type=account_type,
            cash=held.cash if held else Decimal(0),
            # As a cycle's context: without the `keep` holdings the planner does not manage.
            holdings=managed_holdings(held.holdings, keep) if held else {},
            prices=held.prices if held else {},
            history=history,
            history_expected_through=expected,
        )
        # Asked and checked as a cycle asks and checks it: a plugin's fault is named, and
        # weights a cycle would refuse are refused here too.
        if isinstance(strategy, Explains):
            explains = strategy
            allocation = ask_strategy(strategy_name, lambda: explains.allocate(context))
        else:
            targets = ask_strategy(strategy_name, lambda: strategy.targets(context))
            reasons = dict.fromkeys(targets, f"{strategy_name}: configured weight")
            allocation = Allocation(targets, reasons)
        owned = {s for s, q in held.holdings.items() if q > 0} if held else set()
        check_targets(allocation.weights, strategy_name, strategy.universe(), held=owned)
    if as_json:
        _print_json(on, allocation)
    else:
        _print_table(name, strategy_name, on, allocation)


def _household(app: App) -> tuple[str, str, Strategy, str]:
    """The household's name, strategy name, strategy, and the member whose history it reads
    (as the cycle picks it: `daemon.cycle.targets.history_member`)."""
    from daemon.config.household import household_members, household_strategy
    from daemon.cycle.targets import history_member

    settings = app.settings.household
    if settings is None:
        fail("the configuration has no [household] table; name an account with --account", 2)
    strategy = household_strategy(settings)
    if strategy is None:
        fail(
            "the [household] has fixed targets, not a strategy (trimtab plan shows its split); "
            "set household.strategy to see a strategy's weights here",
            2,
        )
    members = household_members(app.settings)
    return (
        "household",
        settings.strategy or "",
        strategy,
        history_member(app.settings, members, app.broker),
    )


def _broker_history(
    app: App, account: str, strategy: Strategy, on: date
) -> tuple[CloseHistory, date | None]:
    """Return the closes the strategy reads for day `on`, and the last session they must
    reach: from the account's `history_file`, else its broker through the history cache
    (`daemon.cycle.history`, which the live cycle shares)."""
    from adapters.base import PriceHistory
    from daemon.cycle.history import account_history
    from strategies.base import ReadsHistory
    from strategies.history import empty_history

    if not isinstance(strategy, ReadsHistory) or not strategy.history_needs().symbols:
        return empty_history(), None
    settings = app.settings.account(account)
    broker = app.broker(account)
    if settings.history_file is None and not isinstance(broker, PriceHistory):
        fail(
            f"broker {settings.broker} of account {account} has no daily price history; "
            "give the closes with --prices PRICES.csv (date,SYM1,SYM2,...), or set "
            "history_file in the account's config",
            2,
        )
    looked_back = account_history(
        strategy,
        settings=app.settings,
        account=account,
        broker=broker,
        database=app.database,
        clock=app.clock,
        on=on,
    )
    return looked_back.history, looked_back.expected_through


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date {text!r} is not a date; write YYYY-MM-DD", 2)


def _print_json(on: date, allocation: Allocation) -> None:
    weights = {s: format(w, "f") for s, w in sorted(allocation.weights.items())}
    sys.stdout.write(json.dumps({"date": on.isoformat(), "weights": weights}, indent=2) + "\n")


def _print_table(account: str, strategy: str, on: date, allocation: Allocation) -> None:
    console.print(styled((account, "bold"), f": strategy {strategy} on {on}"))
    table = Table("symbol", "weight", "reason", box=None, header_style="bold")
    for symbol, w in sorted(allocation.weights.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(symbol, f"{w * 100:.2f}%", allocation.reasons.get(symbol, ""))
    console.print(table)


def _description(plugin: StrategyPlugin) -> str:
    described = getattr(plugin, "description", None)
    if isinstance(described, str) and described:
        return described
    doc = sys.modules[type(plugin).__module__].__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _type(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return " | ".join(json.dumps(v) for v in spec["enum"])
    if "anyOf" in spec:
        kinds = [_type(s) for s in spec["anyOf"]]
        if kinds[:2] == ["decimal", "string"]:  # how pydantic writes a Decimal
            kinds[:2] = ["decimal"]
        return " | ".join(kinds)
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    kind = str(spec.get("type", "any"))
    if kind == "array":
        return f"list[{_type(spec.get('items', {}))}]"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"map[{_type(spec['additionalProperties'])}]"
    return str(kind) if kind != "number" else "decimal"
