"""`--vary KEY=V1,V2,...`: the account's config with one value per key, every combination.

A key is a path in the account's table (`bands.absolute_pp`, `tax.harvest.enabled`,
`policy.rebalance_to`, `strategy_params.lookback_days`, `bands.overrides.BND.absolute_pp`: in
a table keyed by name the name is one part), checked against the settings model, so a
misspelt key is named with the keys that exist there; a key the backtest never reads is
refused with the reason (`unread`), as it would give identical runs.

The values are split at the commas outside brackets, braces and quotes, so an array or a
table is one value (`--vary 'strategy_params.targets={A="0.6",B="0.4"},{A="0.7",B="0.3"}'`).
A value that opens with `[`, `{` or a quote is read as TOML (numbers in it as text, which
the models read exactly as Decimal), `true` and `false` as booleans, anything else as text
the settings model converts (`3` to a number, `fifo` to a lot method).

Each run's configuration is the config file with the run's values written into the
account's table, loaded as `load_config` loads the file (`configure`): every rule applies
(the account's, its broker's and strategy's, the whole configuration's), and a value the
file would be refused for is named with the reason before any run.

One key is not the config's: `start`, the first day (`--vary start=2005-01-03,2010-01-04`),
for how much a result owes to the day it began.
"""

from __future__ import annotations

__all__ = [
    "START",
    "Override",
    "Variant",
    "combinations",
    "configure",
    "parse_vary",
    "shown",
    "start_of",
    "unread",
]

import copy
import datetime as dt
import itertools
import json
import os
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from daemon.backtest.errors import BacktestInputError
from daemon.config.problems import ENV_PREFIX
from daemon.config.settings import AccountSettings, Settings, load_config
from daemon.core.errors import ConfigError

Override = tuple[tuple[str, Any], ...]
"""One run's overrides: (key, value) in the order the `--vary` options came."""
Variant = tuple[Override, Settings]
"""One run's overrides and the configuration they give (`configure`)."""
START = "start"
"""The `--vary` key of the run's first day (an ISO date), the one key not in the config."""

# -- Keys the backtest never reads --------------------------------------------------------
# What a backtest reads of the account (engine.py, runner.py and the decision step's input,
# daemon/config/policy.py `decision_input`): broker (the sim's costs or none), type,
# strategy, strategy_params, bands, policy but outside_hours, tax, schedule (with
# --calendar schedule), the sim's costs in broker_settings and what another broker's plugin
# declares of its costs and fractions from them (runner.cost_rules). Varying
# anything else gives identical runs, so it is refused, saying why. Keep this in step with
# what those modules read: a key they read must not be listed here.

_NOT_READ: Mapping[str, str] = {
    "read_retry_seconds": (
        "it is how long a failing read of the broker is retried, and a backtest reads no broker"
    ),
    "fill_wait_seconds": (
        "it is how long a cycle waits for a broker's fills, and a backtest fills every "
        "order at its day's close"
    ),
    "lock_group": (
        "it keeps cluster workers from running tied accounts' cycles at once, and a "
        "backtest runs no cycle there"
    ),
    "history_file": (
        "every run reads the one price file the command read (--prices, else the "
        "account's history_file as configured); run the backtest once per file"
    ),
    "policy.outside_hours": (
        "it lets `trimtab run` submit outside the regular session, and a backtest trades "
        "at each day's close"
    ),
}
"""Account keys (and the keys under them) a backtest never reads, with the reason."""

_SIM_COSTS = frozenset(
    {
        "slippage_bps",
        "commission_per_order",
        "commission_per_share",
        "market_buy_hold_fraction",
        "fractional",
    }
)
"""The keys of the simulated broker's broker_settings a backtest reads (runner.cost_rules);
its other keys (starting_cash, prices, faults) are the simulated account's, which the
backtest replaces with --cash and the price file. Of another broker's it reads only
`fractional` (the manual broker's and Alpaca's, which their plugins declare fractions by)."""


def unread(key: str, *, calendar: str | None = None, broker: str | None = None) -> str | None:
    """Return why varying `key` cannot change a backtest on `calendar` (--calendar) of an
    account whose broker is `broker`, or None when the backtest reads it (None for either:
    not known yet, not checked)."""
    for prefix, why in _NOT_READ.items():
        if key == prefix or key.startswith(f"{prefix}."):
            return why
    if key == "schedule" and calendar is not None and calendar != "schedule":
        return (
            f"--calendar {calendar} sets the days the cycle runs, not the account's "
            "schedule; vary it with --calendar schedule (the default)"
        )
    parts = key.split(".")
    if parts[0] == "broker_settings":
        if len(parts) > 1 and parts[1] not in _SIM_COSTS:
            costs = ", ".join(f"broker_settings.{k}" for k in sorted(_SIM_COSTS))
            return (
                "the backtest starts with --cash and reads the price file; of broker_settings "
                f"it reads only the simulated broker's costs: {costs}"
            )
        if broker is not None and broker != "sim" and parts[1:] != ["fractional"]:
            return (
                f"with broker {broker!r} the backtest charges the commission and fees its "
                "plugin declares, whatever broker_settings say; of them it reads only a "
                "manual or Alpaca account's `fractional` (whole shares or fractions), and "
                'the costs above for the simulated broker (broker = "sim")'
            )
    return None


# -- Reading the options -------------------------------------------------------------------


def parse_vary(texts: Sequence[str], *, calendar: str = "schedule") -> list[tuple[str, list[Any]]]:
    """Return each `--vary KEY=V1,V2` as (key, values); raise naming a malformed one, a key
    that does not exist or one the backtest never reads (on `calendar`, --calendar)."""
    parsed: list[tuple[str, list[Any]]] = []
    for text in texts:
        key, sep, values = text.partition("=")
        key = key.strip()
        items = _split(key, values) if sep and key and values.strip() else []
        if not items or any(not v for v in items):
            raise BacktestInputError(
                f"--vary {text!r} must be KEY=V1,V2,... (e.g. --vary bands.absolute_pp=3,5,10)"
            )
        if any(key == seen for seen, _ in parsed):
            raise BacktestInputError(f"--vary names {key} twice; give all its values in one")
        if key == START:
            parsed.append((key, [_day(v) for v in items]))
            continue
        check_key(key)
        why = unread(key, calendar=calendar)
        if why is not None:
            raise BacktestInputError(f"--vary key {key} has no effect in a backtest: {why}")
        parsed.append((key, [_value(key, v) for v in items]))
    return parsed


def _split(key: str, values: str) -> list[str]:
    """Split `values` at its top-level commas: outside brackets, braces and TOML strings (a
    quote opens one at the start of a value or inside an array or table, so plain text may
    hold an apostrophe). Raise naming a value left open."""
    items: list[str] = []
    depth: list[str] = []
    start = i = 0
    while i < len(values):
        char = values[i]
        if char in "\"'" and (depth or not values[start:i].strip()):
            i = _string_end(key, values, i)
            continue
        if char in "[{":
            depth.append("]" if char == "[" else "}")
        elif depth and char == depth[-1]:
            depth.pop()
        elif char == "," and not depth:
            items.append(values[start:i].strip())
            start = i + 1
        i += 1
    if depth:
        raise _not_toml(
            key, values[start:].strip(), f"a {'[' if depth[0] == ']' else '{'} is not closed"
        )
    items.append(values[start:].strip())
    return items


def _string_end(key: str, values: str, i: int) -> int:
    """Return the index after the TOML string that opens at `values[i]`."""
    quote = values[i] * 3 if values.startswith(values[i] * 3, i) else values[i]
    j = i + len(quote)
    while j < len(values):
        if quote[0] == '"' and values[j] == "\\":
            j += 2  # an escape in a basic string: the next character is not its end
            continue
        if values.startswith(quote, j):
            return j + len(quote)
        j += 1
    raise _not_toml(key, values[i:].strip(), "a quoted string is not closed")


def _not_toml(key: str, value: str, why: str) -> BacktestInputError:
    return BacktestInputError(
        f"--vary {key}={value}: {value!r} is not a TOML value ({why}); write an array as "
        '["A", "B"], a table as {A = "0.6", B = "0.4"}, and quote text that holds a comma'
    )


def _value(key: str, text: str) -> Any:
    if text[0] in "[{\"'":
        try:
            # Numbers stay text: the models read "0.1" as Decimal exactly, not via a float.
            read = tomllib.loads(f"v = {text}", parse_float=str)
        except tomllib.TOMLDecodeError as exc:
            raise _not_toml(key, text, str(exc).split(" (at ")[0]) from None
        if list(read) != ["v"]:
            raise _not_toml(key, text, "it goes on past the value")
        return _plain(read["v"])
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, bool) else text


def _plain(value: Any) -> Any:
    """Return a TOML value with its dates and times as text, as JSON and the models take them."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def shown(value: Any) -> str:
    """Return a `--vary` value as it is written: text as given, anything else as TOML."""
    return value if isinstance(value, str) else _toml(value)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"[{', '.join(_toml(v) for v in value)}]"
    if isinstance(value, dict):
        pairs = (
            f"{k if _BARE_KEY.match(k) else json.dumps(k)} = {_toml(v)}" for k, v in value.items()
        )
        return f"{{{', '.join(pairs)}}}"
    return json.dumps(value) if isinstance(value, str) else str(value)


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


# -- Each run's configuration ------------------------------------------------------------------


def configure(
    config: Path,
    settings: Settings,
    account: str,
    runs: Sequence[Override],
    *,
    credentials: bool = True,
) -> list[Variant]:
    """Return each run's overrides with its configuration: the config file at `config`
    (loaded as `settings`) with the run's values written into `account`'s table, loaded
    and checked as `load_config` loads the file (`credentials` as it was loaded). Raise,
    before any run, naming the first run whose values the file would be refused for and
    why, a key its broker does not read, or a key the environment sets (it wins over the
    file). A varied `start` is the run's, not the config's."""
    for key in dict.fromkeys(key for overrides in runs for key, _ in overrides):
        variable = _environment_sets(account, key, os.environ)
        if variable is not None:
            raise BacktestInputError(
                f"--vary key {key} has no effect in a backtest: environment variable "
                f"{variable} sets accounts.{account}.{key}, and the environment wins over "
                "the config file, so every run would have its value; unset it for this "
                "command"
            )
    loaded: dict[str, Settings] = {}
    variants: list[Variant] = []
    for overrides in runs:
        own = tuple((key, value) for key, value in overrides if key != START)
        if not own:
            variants.append((overrides, settings))
            continue
        seen = repr(own)  # runs differing only in `start` share a configuration
        if seen not in loaded:
            loaded[seen] = _load(config, account, own, credentials)
        variants.append((overrides, loaded[seen]))
    return variants


def _load(config: Path, account: str, own: Override, credentials: bool) -> Settings:
    given = ", ".join(f"{key}={shown(value)}" for key, value in own)
    try:
        settings = load_config(
            config, credentials=credentials, edit=lambda data: _written(data, account, own)
        )
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise BacktestInputError(
            f"--vary {given}: account {account}'s table with "
            f"{'that value' if len(own) == 1 else 'those values'} would be refused in the "
            f"config file: {problems}; give values the config file accepts there"
        ) from None
    broker = settings.account(account).broker
    for key, _ in own:
        why = unread(key, broker=broker)
        if why is not None:
            raise BacktestInputError(f"--vary key {key} has no effect in a backtest: {why}")
    return settings


def _environment_sets(account: str, key: str, environ: Mapping[str, str]) -> str | None:
    """Return the variable that sets `key` of `account` over the config file: one naming
    it, or a table above it given as JSON that holds it (names case-insensitive, as
    pydantic-settings reads them)."""
    parts = ["accounts", account, *key.split(".")]
    by_upper = {name.upper(): name for name in environ}
    for end in range(len(parts), 0, -1):
        name = by_upper.get(ENV_PREFIX + "__".join(parts[:end]).upper())
        if name is None:
            continue
        if end == len(parts):
            return name
        try:
            value = json.loads(environ[name])
        except ValueError:
            continue
        for part in parts[end:]:
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            return name
    return None


def _written(data: dict[str, Any], account: str, own: Override) -> dict[str, Any]:
    """Return the files' data with `own`'s values written into `account`'s table."""
    data = copy.deepcopy(data)
    table = data.setdefault("accounts", {}).setdefault(account, {})
    for key, value in own:
        node = table
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = copy.deepcopy(value)
    return data


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
