"""Turn pydantic validation errors into problems a person can act on, never echoing values,
and name where a value came from when it was not the config file (an environment variable,
the secrets file).

A value from an environment variable may also be unset, so the file under it counts: the
config file's value, or for a credential (which the config file may not hold) the secrets
file's."""

from __future__ import annotations

__all__ = ["ENV_PREFIX", "env_problem", "name_sources", "problems_from_validation_error"]

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from daemon.core.errors import ConfigProblem, PluginNotFound

ENV_PREFIX = "TRIMTAB_"

_FIXES = {
    "extra_forbidden": "remove it: unknown keys are rejected (check the spelling against "
    "config.example.toml or `trimtab config schema`)",
    "missing": "add this key",
    "decimal_parsing": 'write a number, e.g. 0.25 or "0.25"',
    "decimal_type": 'write a number, e.g. 0.25 or "0.25"',
    "finite_number": "write a finite number",
    "greater_than_equal": "use a value that is not negative",
    "greater_than": "use a larger value",
    "less_than_equal": "use a smaller value",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "int_parsing": "write a whole number",
    "string_type": 'write text in quotes, e.g. "value"',
    "dict_type": "write a table, e.g. [section] or { key = value }",
    "model_type": "write a table, e.g. [section] or { key = value }",
    "tuple_type": 'write a list, e.g. ["VTI", "BND"]',
    "list_type": 'write a list, e.g. ["VTI", "BND"]',
    "literal_error": "use one of the values named",
    "enum": "use one of the values named",
}


def problems_from_validation_error(exc: ValidationError, prefix: str = "") -> list[ConfigProblem]:
    """Return one `ConfigProblem` per error, with its dotted key path under `prefix`."""
    return [_problem(error, prefix) for error in exc.errors(include_input=False)]


def _problem(error: ErrorDetails, prefix: str) -> ConfigProblem:
    ctx = error.get("ctx") or {}
    parts = [prefix] if prefix else []
    parts += [str(part) for part in error["loc"]]
    if "key" in ctx:
        parts.append(str(ctx["key"]))
    path = ".".join(parts) or "(top level)"
    fix = str(ctx["fix"]) if "fix" in ctx else _bound_fix(error["type"], ctx)
    return ConfigProblem(path, error["msg"], fix)


_BOUNDS = {
    "greater_than_equal": ("ge", "use a value of at least {}"),
    "greater_than": ("gt", "use a value above {}"),
    "less_than_equal": ("le", "use a value of at most {}"),
    "less_than": ("lt", "use a value below {}"),
}


def _bound_fix(kind: str, ctx: Mapping[str, Any]) -> str:
    """The fix for `kind`, naming the bound the field has when pydantic says it (a minimum
    of 2 is not "not negative")."""
    if kind in _BOUNDS:
        key, fix = _BOUNDS[kind]
        if key in ctx:
            return fix.format(ctx[key])
    return _FIXES.get(kind, "see config.example.toml")


def name_sources(
    problems: Sequence[ConfigProblem],
    *,
    environ: Mapping[str, str],
    secrets: Mapping[str, Any],
    secrets_path: Path | None,
    config: Mapping[str, Any] = MappingProxyType({}),
) -> list[ConfigProblem]:
    """Say where each problem's value came from when it is not the config file.

    The environment wins over both files, so a variable naming the key (or a table above
    it, given as JSON) is the source; else a value present in the secrets file came from it.
    A person reading "mode: Input should be ..." would otherwise search the file in vain.
    `config`: the files' data, naming each account's broker (whose plugin says which of its
    keys are credentials).
    """
    return [_with_source(p, environ, secrets, secrets_path, config) for p in problems]


def env_problem(field: str, environ: Mapping[str, str]) -> ConfigProblem:
    """The problem for a `TRIMTAB_<FIELD>...` variable that pydantic-settings cannot parse."""
    names = sorted(
        name for name in environ if name.upper().startswith(f"{ENV_PREFIX}{field.upper()}")
    )
    shown = ", ".join(names) or f"{ENV_PREFIX}{field.upper()}"
    return ConfigProblem(
        field,
        f"environment variable {shown} cannot be read (a table or list must be JSON)",
        f"write JSON, e.g. {ENV_PREFIX}NOTIFICATIONS__URLS='[\"ntfy://...\"]', set one key at "
        f"a time with __ between levels (e.g. {ENV_PREFIX}RISK__MAX_ORDERS_PER_CYCLE=10), or "
        "unset it",
    )


def _with_source(
    problem: ConfigProblem,
    environ: Mapping[str, str],
    secrets: Mapping[str, Any],
    secrets_path: Path | None,
    config: Mapping[str, Any],
) -> ConfigProblem:
    if problem.about_the_file:
        return problem
    parts = problem.path.split(".")
    variable = _env_variable(parts, environ)
    if variable is not None and variable in problem.problem:
        return problem  # already about the variable itself (`env_problem`)
    if variable is not None:
        under = "secrets file" if _credential(parts, config, environ) else "config file"
        return ConfigProblem(
            problem.path,
            f"{problem.problem} (the value comes from environment variable {variable})",
            f"{problem.fix}, in environment variable {variable} (or unset it to use the "
            f"{under}'s value)",
        )
    if secrets_path is not None and _holds(secrets, parts):
        return ConfigProblem(
            problem.path,
            f"{problem.problem} (the value comes from secrets file {secrets_path})",
            f"{problem.fix}, in secrets file {secrets_path}",
        )
    return problem


def _credential(
    parts: Sequence[str], config: Mapping[str, Any], environ: Mapping[str, str]
) -> bool:
    """Tell whether the key at `parts` is a credential the config file may not hold
    (`secrets_in_file`): the notification URLs, a secret field of the account's broker."""
    if list(parts[:2]) == ["notifications", "urls"]:
        return True
    if len(parts) < 4 or parts[0] != "accounts" or parts[2] != "broker_settings":
        return False
    from daemon.config.plugin_tables import secret_fields
    from daemon.plugins import load_broker_plugin

    accounts = config.get("accounts")
    account = accounts.get(parts[1]) if isinstance(accounts, Mapping) else None
    broker = account.get("broker", "sim") if isinstance(account, Mapping) else "sim"
    # The environment's broker wins over the files', as when loading.
    wanted = f"{ENV_PREFIX}ACCOUNTS__{parts[1]}__BROKER".upper()
    broker = next((value for name, value in environ.items() if name.upper() == wanted), broker)
    try:
        plugin = load_broker_plugin(str(broker))
    except PluginNotFound:
        return False
    return parts[3] in secret_fields(plugin.settings_model)


def _env_variable(parts: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """Return the variable setting `parts` or a table above it (names are case-insensitive,
    as pydantic-settings reads them), the most specific first."""
    by_upper = {name.upper(): name for name in environ}
    for end in range(len(parts), 0, -1):
        wanted = ENV_PREFIX + "__".join(parts[:end]).upper()
        if wanted in by_upper:
            return by_upper[wanted]
    return None


def _holds(table: Mapping[str, Any], parts: Sequence[str]) -> bool:
    value: Any = table
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True
