"""Typed values back from the JSON `to_jsonable` made of them, guided by their type hints.

The reverse of `daemon.audit.jsonable` for the types audit events are made of: dataclasses,
Decimals, times, enums, literals, tuples, frozensets, mappings and unions of them. A field
missing from the JSON takes its default, so records written before a field existed still read;
anything that does not fit its type raises `DecodeError`, never a half-built value.
"""

from __future__ import annotations

__all__ = ["DecodeError", "from_jsonable"]

import dataclasses
import functools
import types
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from daemon.audit.jsonable import json_key

T = TypeVar("T")


class DecodeError(ValueError):
    """JSON that is not the form of the type asked for."""


def from_jsonable(kind: Any, value: Any) -> Any:
    """Return `value` (plain JSON data) as an instance of the type `kind`."""
    origin = get_origin(kind)
    if kind is Any:
        return value
    if origin is Union or origin is types.UnionType:
        return _union(get_args(kind), value)
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in get_args(kind)):
            return value
        raise DecodeError(f"{value!r} is not one of {get_args(kind)}")
    if origin is tuple:
        return _tuple(get_args(kind), value)
    if origin is frozenset:
        (item,) = get_args(kind)
        return frozenset(from_jsonable(item, v) for v in _expect(value, list))
    if origin is dict or origin is Mapping:
        key, item = get_args(kind)
        return {
            from_jsonable(key, k): from_jsonable(item, v) for k, v in _expect(value, dict).items()
        }
    if isinstance(kind, type):
        return _plain(kind, value)
    raise DecodeError(f"cannot read a {kind} from JSON")


def _union(members: tuple[Any, ...], value: Any) -> Any:
    if value is None and type(None) in members:
        return None
    problems = []
    for member in members:
        if member is type(None):
            continue
        try:
            return from_jsonable(member, value)
        except DecodeError as exc:
            problems.append(str(exc))
    raise DecodeError("; ".join(problems) or f"{value!r} is not None")


def _tuple(items: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    values = _expect(value, list)
    if len(items) == 2 and items[1] is Ellipsis:
        return tuple(from_jsonable(items[0], v) for v in values)
    if len(items) != len(values):
        raise DecodeError(f"expected {len(items)} items, found {len(values)}")
    return tuple(from_jsonable(item, v) for item, v in zip(items, values, strict=True))


def _plain(kind: type, value: Any) -> Any:
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind, _expect(value, dict))
    if issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            raise DecodeError(f"{value!r} is not a {kind.__name__}") from None
    if kind is bool or kind is str:
        return _expect(value, kind)
    if kind is int:
        if isinstance(value, bool):
            raise DecodeError(f"expected an int, found {value!r}")
        return _expect(value, int)
    if kind is float or kind is Decimal:
        return _number(kind, value)
    if kind is datetime:
        moment = _parse(datetime.fromisoformat, _expect(value, str))
        if moment.tzinfo is None:
            raise DecodeError(f"{value!r} has no time zone")
        return moment
    if kind is date:
        return _parse(date.fromisoformat, _expect(value, str))
    raise DecodeError(f"cannot read a {kind.__name__} from JSON")


def _number(kind: type[float] | type[Decimal], value: Any) -> float | Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DecodeError(f"expected a number, found {value!r}")
    try:
        return kind(value if kind is float else str(value))
    except (ValueError, InvalidOperation):
        raise DecodeError(f"{value!r} is not a number") from None


def _parse(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        raise DecodeError(f"{text!r} is not an ISO 8601 date or time") from None


def _dataclass(kind: type, value: dict[str, Any]) -> Any:
    hints = _hints(kind)
    given: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        if not field.init:
            continue
        key = json_key(field)
        if key in value:
            given[field.name] = from_jsonable(hints[field.name], value[key])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise DecodeError(f"{kind.__name__} needs {key!r}")
    try:
        return kind(**given)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"not a valid {kind.__name__}: {exc}") from exc


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    return get_type_hints(kind)


def _expect(value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise DecodeError(f"expected a {kind.__name__}, found {value!r}")
    return value
