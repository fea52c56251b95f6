"""Check each account's plugin tables with the plugin's own model, and keep secrets out of files."""

from __future__ import annotations

__all__ = ["plugin_schemas", "secret_fields", "secrets_in_file", "validate_plugin_tables"]

from collections.abc import Callable, Collection
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, SecretStr, ValidationError

from adapters.base import NamesSoldLots
from daemon.config.problems import problems_from_validation_error
from daemon.config.urls import url_carries_password
from daemon.core.errors import ConfigProblem, PluginNotFound
from daemon.plugins import (
    BROKER_GROUP,
    STRATEGY_GROUP,
    PluginUnusable,
    load_broker_plugin,
    load_strategy_plugin,
)
from strategies.base import FixedTargets

_PLUGIN_TABLES: tuple[
    tuple[str, str, str, Callable[[str], Any], Callable[[Any], type[BaseModel]]], ...
] = (
    ("broker", "sim", "broker_settings", load_broker_plugin, lambda p: p.settings_model),
    ("strategy", "static", "strategy_params", load_strategy_plugin, lambda p: p.params_model),
)
"""Per account: the key naming the plugin, its default, the table it validates, and how."""


def validate_plugin_tables(
    data: dict[str, Any], config_dir: Path, *, credentials: bool = True
) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Validate every account's `broker_settings` and `strategy_params` with its plugin, and
    the household strategy's `strategy_params`.

    Works on the raw (merged) data, so plugin problems are reported even when other keys are
    wrong too. Return the data with those tables replaced by the validated values
    (credentials wrapped in `SecretStr`, defaults filled in), and the problems found.
    Plugins resolve relative paths against `config_dir` (validation context `config_dir`).
    `credentials` false (validation context `credentials`): a command that never reaches a
    broker, so a plugin may leave out its check that credentials are given.
    """
    context = {"config_dir": config_dir, "credentials": credentials}
    data, problems = _household_strategy(data, context)
    accounts = data.get("accounts")
    if not isinstance(accounts, dict):
        return data, problems
    validated: dict[str, Any] = {}
    members = _household_members(data, accounts)
    for name, account in accounts.items():
        if not isinstance(account, dict):
            validated[name] = account
            continue
        tables = dict(account)
        models: dict[str, tuple[Any, BaseModel]] = {}
        plugins: dict[str, Any] = {}
        for kind, default, table, loader, model_of in _PLUGIN_TABLES:
            key = f"accounts.{name}.{kind}"
            try:
                plugin = loader(str(account.get(kind, default)))
            except PluginNotFound as exc:
                problems.append(_plugin_problem(key, exc, f"name a known {kind}"))
                continue
            plugins[kind] = plugin
            model, found = _validate(
                model_of(plugin), account.get(table, {}), f"accounts.{name}.{table}", context
            )
            if model is not None:
                # Python-mode dump keeps SecretStr objects, so secrets stay masked in every repr.
                tables[table] = model.model_dump()
                models[kind] = (plugin, model)
            problems += found
        if "broker" in models and "strategy" in models:
            problems += _unpriced(name, models["broker"][1], models["strategy"])
        if "broker" in plugins:
            problems += _unnamed_lots(name, account, plugins["broker"])
        if "strategy" in models and name not in members:
            problems += _kept_targets(name, account, models["strategy"])
        validated[name] = tables
    return {**data, "accounts": validated}, problems


def _plugin_problem(key: str, exc: PluginNotFound, fix: str) -> ConfigProblem:
    """The problem of a plugin that did not load, with its own fix where it has one (two
    distributions register the name, or its code fails to import)."""
    if isinstance(exc, PluginUnusable):
        return ConfigProblem(key, exc.problem, exc.fix)
    return ConfigProblem(key, str(exc), fix)


def _household_strategy(
    data: dict[str, Any], context: dict[str, Any]
) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Validate `household.strategy_params` with the household strategy's own model, as an
    account's are (nothing to do with fixed `household.targets`)."""
    household = data.get("household")
    if not isinstance(household, dict) or household.get("strategy") is None:
        return data, []
    try:
        plugin = load_strategy_plugin(str(household["strategy"]))
    except PluginNotFound as exc:
        return data, [_plugin_problem("household.strategy", exc, "name a known strategy")]
    model, problems = _validate(
        plugin.params_model,
        household.get("strategy_params", {}),
        "household.strategy_params",
        context,
    )
    if model is None:
        return data, problems
    return {**data, "household": {**household, "strategy_params": model.model_dump()}}, []


@runtime_checkable
class ChecksSymbols(Protocol):
    """Broker settings that can tell, from the configuration alone, which symbols they will
    have no price for (the simulated broker reading a CSV file), so `trimtab config check`
    and start-up refuse them instead of a cycle failing later."""

    def symbol_problems(self, symbols: Collection[str]) -> list[tuple[str, str, str]]:
        """Return (key under broker_settings, problem, fix) per symbol it cannot price."""
        ...


def _unpriced(
    account: str, broker_settings: BaseModel, strategy: tuple[Any, BaseModel]
) -> list[ConfigProblem]:
    if not isinstance(broker_settings, ChecksSymbols):
        return []
    plugin, params = strategy
    try:
        symbols = plugin.create(params).universe()
    except Exception:
        return []
    prefix = f"accounts.{account}.broker_settings"
    return [
        ConfigProblem(f"{prefix}.{key}", problem, fix)
        for key, problem, fix in broker_settings.symbol_problems(symbols)
    ]


def _household_members(data: dict[str, Any], accounts: dict[str, Any]) -> frozenset[str]:
    """The accounts a `[household]` plans together (their own strategy is never asked)."""
    household = data.get("household")
    if not isinstance(household, dict):
        return frozenset()
    members = household.get("accounts")
    if isinstance(members, list | tuple) and members:
        return frozenset(str(m) for m in members)
    return frozenset(accounts)


def _kept_targets(
    name: str, account: dict[str, Any], strategy: tuple[Any, BaseModel]
) -> list[ConfigProblem]:
    """Refuse a fixed weight above 0 on a `policy.keep` symbol: the decision step refuses it
    in every cycle (it cannot follow the weight without trading the kept holding), so it is
    said when the configuration is loaded rather than at the first cycle."""
    policy = account.get("policy")
    keep = policy.get("keep") if isinstance(policy, dict) else None
    if not isinstance(keep, list | tuple) or not keep:
        return []
    plugin, params = strategy
    try:
        made = plugin.create(params)
    except Exception:
        return []  # a plugin that cannot be made is reported where it is used
    if not isinstance(made, FixedTargets):
        return []
    weights = made.fixed_targets()
    clash = [f"{s} ({weights[s]})" for s in sorted(set(keep) & set(weights)) if weights[s] > 0]
    if not clash:
        return []
    return [
        ConfigProblem(
            f"accounts.{name}.policy.keep",
            f"{', '.join(clash)} is kept (never traded) but the strategy's targets give it a "
            "weight above 0, which no cycle can follow without trading it",
            "take the symbol off policy.keep to let trimtab manage it, or give it no weight "
            "(0, or leave it out of the targets) to keep it as it is",
        )
    ]


def _unnamed_lots(name: str, account: dict[str, Any], plugin: Any) -> list[ConfigProblem]:
    """Refuse `lot_method = "specific"` on a taxable account whose broker cannot be told the
    lots a sale relieves: it relieves by its own method, so trimtab's picks would be recorded
    for lots the broker never sold (Treas. Reg. §1.1012-1(c): unidentified lots go FIFO)."""
    tax = account.get("tax")
    if not isinstance(tax, dict) or tax.get("lot_method") != "specific":
        return []
    if account.get("type", "taxable") != "taxable":
        return []  # an IRA's lots have no tax consequence
    if isinstance(plugin, NamesSoldLots) and plugin.names_sold_lots:
        return []
    broker = account.get("broker", "sim")
    return [
        ConfigProblem(
            f"accounts.{name}.tax.lot_method",
            f"broker {broker!r} cannot be told which lots a sale relieves: it relieves them "
            "by the account's own method at the broker, so trimtab's 'specific' picks would "
            "not be the lots on your 1099-B",
            "set lot_method to the method the account uses at the broker (fifo unless you "
            "changed it there; docs/tax.md, Setting the method at each broker), and "
            "wash_sale.loss_sales to 'defer' or 'allow'",
        )
    ]


def _validate(
    model: type[BaseModel], data: Any, prefix: str, context: dict[str, Any]
) -> tuple[BaseModel | None, list[ConfigProblem]]:
    try:
        return model.model_validate(data, context=context), []
    except ValidationError as exc:
        return None, problems_from_validation_error(exc, prefix)


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names of the model's fields that hold `SecretStr` values."""
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if annotation is SecretStr or SecretStr in args:
            names.add(name)
    return frozenset(names)


def secrets_in_file(data: dict[str, Any]) -> list[ConfigProblem]:
    """Report credentials written into the config file itself (they belong elsewhere)."""
    problems: list[ConfigProblem] = []
    database_url = data.get("database_url")
    if isinstance(database_url, str) and url_carries_password(database_url):
        problems.append(
            ConfigProblem(
                "database_url",
                "the URL carries a password (in its user info or its query string, e.g. "
                "?password=), and the config file is no place for secrets",
                "remove the password here and set TRIMTAB_DATABASE_URL in the environment "
                "or database_url in the secrets file",
                about_the_file=True,
            )
        )
    notifications = data.get("notifications")
    if isinstance(notifications, dict) and notifications.get("urls"):
        problems.append(
            ConfigProblem(
                "notifications.urls",
                "notification URLs carry tokens or passwords, and the config file is no place "
                "for secrets",
                "delete them here; set TRIMTAB_NOTIFICATIONS__URLS='[\"...\"]' in the "
                "environment or put urls under [notifications] in the secrets file (chmod 600)",
                about_the_file=True,
            )
        )
    accounts = data.get("accounts")
    if not isinstance(accounts, dict):
        return problems
    for name, account in accounts.items():
        if not isinstance(account, dict):
            continue
        table = account.get("broker_settings")
        if not isinstance(table, dict):
            continue
        try:
            plugin = load_broker_plugin(str(account.get("broker", "sim")))
        except PluginNotFound:
            continue
        for field in sorted(secret_fields(plugin.settings_model) & table.keys()):
            env = f"TRIMTAB_ACCOUNTS__{name.upper()}__BROKER_SETTINGS__{field.upper()}"
            problems.append(
                ConfigProblem(
                    f"accounts.{name}.broker_settings.{field}",
                    "a credential is written in the config file",
                    f"delete it here; set {env} or put it in the secrets file (chmod 600)",
                    about_the_file=True,
                )
            )
    return problems


def plugin_schemas() -> dict[str, Any]:
    """JSON schemas of every installed plugin's table, keyed for the `$defs` section."""
    schemas: dict[str, Any] = {}
    for ep in entry_points(group=BROKER_GROUP):
        model = load_broker_plugin(ep.name).settings_model
        schemas[f"broker_settings.{ep.name}"] = model.model_json_schema()
    for ep in entry_points(group=STRATEGY_GROUP):
        model = load_strategy_plugin(ep.name).params_model
        schemas[f"strategy_params.{ep.name}"] = model.model_json_schema()
    return schemas
