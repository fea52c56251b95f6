"""`--vary KEY=V1,V2,...`: the account's config with one value per key, every combination.

A key is a path in the account's table (`bands.absolute_pp`, `tax.harvest.enabled`,
`policy.rebalance_to`, `strategy_params.lookback_days`, `bands.overrides.BND.absolute_pp`: in
a table keyed by name the name is one part), checked against the settings model,
so a misspelt key is named with the keys that exist there. A value is read as TOML when it is
a boolean or an array (`true`, `[1, 2]`), else as text, which the settings model converts
(`3` to a number, `fifo` to a lot method); the account with the override is validated as the
config file is, so a bad value names the key and the fix.

One key is not the config's: `start`, the first day (`--vary start=2005-01-03,2010-01-04`),
for how much a result owes to the day it began.
"""

from __future__ import annotations

__all__ = ["START", "Override", "apply_overrides", "combinations", "parse_vary", "start_of"]

import itertools
import tomllib
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from daemon.backtest.errors import BacktestInputError
from daemon.config.settings import AccountSettings, Settings

Override = tuple[tuple[str, Any], ...]
"""One run's overrides: (key, value) in the order the `--vary` options came."""
START = "start"
"""The `--vary` key of the run's first day (an ISO date), the one key not in the config."""


def parse_vary(texts: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """Return each `--vary KEY=V1,V2` as (key, values); raise naming a malformed one."""
    parsed: list[tuple[str, list[Any]]] = []
    for text in texts:
        key, sep, values = text.partition("=")
        key = key.strip()
        items = [v.strip() for v in values.split(",")]
        if not sep or not key or not values.strip() or any(not v for v in items):
            raise BacktestInputError(
                f"--vary {text!r} must be KEY=V1,V2,... (e.g. --vary bands.absolute_pp=3,5,10)"
            )
        if any(key == seen for seen, _ in parsed):
            raise BacktestInputError(f"--vary names {key} twice; give all its values in one")
        if key == START:
            parsed.append((key, [_day(v) for v in items]))
            continue
        check_key(key)
        parsed.append((key, [_value(v) for v in items]))
    return parsed


def start_of(overrides: Override) -> date | None:
    """Return the run's first day when `overrides` vary it."""
    for key, value in overrides:
        if key == START:
            return date.fromisoformat(value)
    return None


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise BacktestInputError(
            f"--vary start={text}: {text!r} is not a date; give days as YYYY-MM-DD "
            "(--vary start=2005-01-03,2010-01-04)"
        ) from None


def combinations(parsed: Sequence[tuple[str, list[Any]]]) -> list[Override]:
    """Return every combination, the first key varying slowest."""
    keys = [key for key, _ in parsed]
    return [
        tuple(zip(keys, values, strict=True))
        for values in itertools.product(*(values for _, values in parsed))
    ]


def check_key(key: str) -> None:
    """Raise unless `key` is a path in an account's table; name the valid keys where it
    goes wrong. A table keyed by name (`bands.overrides`: a BandSettings per symbol) takes
    any name as its next part, then the keys of its values' model."""
    model: type[BaseModel] | None = AccountSettings
    parts = key.split(".")
    n = 0
    while n < len(parts):
        if model is None:
            return  # inside a free-form table (strategy_params, broker_settings, ...)
        part = parts[n]
        where = ".".join(parts[:n]) or "the account"
        fields = model.model_fields
        if part not in fields:
            raise BacktestInputError(
                f"--vary key {key}: {where} has no key {part!r}; the keys there are "
                f"{', '.join(sorted(fields))}"
            )
        annotation = fields[part].annotation
        named = _named_tables(annotation)
        if named is not None:
            _check_named(key, ".".join(parts[: n + 1]), named, len(parts) - n - 1)
            model, n = named, n + 2  # the name is free: any symbol the config could give
            continue
        model = _model_of(annotation)
        last = n == len(parts) - 1
        if model is not None and last:
            raise BacktestInputError(
                f"--vary key {key} is a table; vary one of its keys: "
                f"{', '.join(f'{key}.{k}' for k in sorted(model.model_fields))}"
            )
        if model is None and not last and not _is_table(annotation):
            raise BacktestInputError(
                f"--vary key {key}: {'.'.join(parts[: n + 1])} is a value, not a table"
            )
        n += 1


def _check_named(key: str, table: str, model: type[BaseModel], after: int) -> None:
    """Raise unless a key into `table`, a table keyed by name, goes on past a name into one
    of its model's keys (`after`: how many parts of `key` follow the table's)."""
    if after >= 2:
        return
    keys = sorted(model.model_fields)
    if after == 0:
        raise BacktestInputError(
            f"--vary key {key} is a table of tables, one per name; vary one key of one of "
            f"them: {key}.NAME.{keys[0]} ({', '.join(keys)})"
        )
    name = key.rsplit(".", 1)[-1]
    raise BacktestInputError(
        f"--vary key {key} is the table of {name!r} in {table} (one per name); vary one of "
        f"its keys: {', '.join(f'{key}.{k}' for k in keys)}; or give the name first: "
        f"{table}.NAME.{keys[0]}"
    )


def apply_overrides(settings: Settings, account: str, overrides: Override) -> Settings:
    """Return `settings` with `overrides` applied to `account`'s table, validated (a varied
    `start` is the run's, not the config's)."""
    overrides = tuple((key, value) for key, value in overrides if key != START)
    if not overrides:
        return settings
    data = settings.account(account).model_dump(mode="python")
    for key, value in overrides:
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    try:
        changed = AccountSettings.model_validate(data)
    except ValidationError as exc:
        shown = ", ".join(f"{k}={v}" for k, v in overrides)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise BacktestInputError(
            f"--vary {shown} gives account {account} an invalid config: {problems}; give "
            "values the config file accepts there"
        ) from exc
    accounts: Mapping[str, AccountSettings] = {**settings.accounts, account: changed}
    return settings.model_copy(update={"accounts": accounts})


def _value(text: str) -> Any:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    # Numbers stay text: the settings model reads "0.1" as Decimal exactly, not via a float.
    return value if isinstance(value, bool | list) else text


def _named_tables(annotation: Any) -> type[BaseModel] | None:
    """Return the model of a table keyed by name (`dict[str, BandSettings]`), else None."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) in (dict, Mapping):
            value = typing.get_args(candidate)[-1]
            if isinstance(value, type) and issubclass(value, BaseModel):
                return value
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_table(annotation: Any) -> bool:
    origins = {typing.get_origin(annotation)} | {
        typing.get_origin(a) for a in typing.get_args(annotation)
    }
    return dict in origins or annotation is dict
