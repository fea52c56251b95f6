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
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from daemon.audit.jsonable import json_key

T = TypeVar("T")
Reader = Callable[[Any], Any]
"""Turns the JSON of one type into a value of it; built once per type (`reader`)."""


class DecodeError(ValueError):
    """JSON that is not the form of the type asked for."""


def from_jsonable(kind: Any, value: Any) -> Any:
    """Return `value` (plain JSON data) as an instance of the type `kind`."""
    return reader(kind)(value)


@functools.cache
def reader(kind: Any) -> Reader:
    """Return the function that reads the JSON of `kind`, built once per type."""
    origin, args = get_origin(kind), get_args(kind)
    if kind is Any:
        return _same
    if origin is Union or origin is types.UnionType:
        members = tuple(reader(a) for a in args if a is not type(None))
        return functools.partial(_union, type(None) in args, members)
    if origin is Literal:
        return functools.partial(_literal, args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return functools.partial(_sequence, reader(args[0]))
        return functools.partial(_fixed, tuple(reader(a) for a in args))
    if origin is frozenset:
        item = reader(args[0])
        return lambda value: frozenset(item(v) for v in _expect(value, list))
    if origin is dict or origin is Mapping:
        key, item = reader(args[0]), reader(args[1])
        return lambda value: {key(k): item(v) for k, v in _expect(value, dict).items()}
    if isinstance(kind, type):
        return _plain(kind)
    raise TypeError(f"no JSON reader for {kind}")


def _same(value: Any) -> Any:
    return value


def _union(optional: bool, members: tuple[Reader, ...], value: Any) -> Any:
    if value is None and optional:
        return None
    problems = []
    for member in members:
        try:
            return member(value)
        except DecodeError as exc:
            problems.append(str(exc))
    raise DecodeError("; ".join(problems) or f"{value!r} is not None")


def _literal(choices: tuple[Any, ...], value: Any) -> Any:
    if any(value == choice and type(value) is type(choice) for choice in choices):
        return value
    raise DecodeError(f"{value!r} is not one of {choices}")


def _sequence(item: Reader, value: Any) -> tuple[Any, ...]:
    return tuple([item(v) for v in _expect(value, list)])


def _fixed(items: tuple[Reader, ...], value: Any) -> tuple[Any, ...]:
    values = _expect(value, list)
    if len(items) != len(values):
        raise DecodeError(f"expected {len(items)} items, found {len(values)}")
    return tuple(item(v) for item, v in zip(items, values, strict=True))


def _plain(kind: type) -> Reader:
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind)
    if issubclass(kind, Enum):
        return functools.partial(_enum, kind, {member.value: member for member in kind})
    if kind is bool or kind is str:
        return functools.partial(_expect, kind=kind)
    if kind is int:
        return _int
    if kind is float or kind is Decimal:
        return functools.partial(_number, kind)
    if kind is datetime:
        return _datetime
    if kind is date:
        return lambda value: _parse(date.fromisoformat, _expect(value, str))
    raise TypeError(f"no JSON reader for {kind.__name__}")


def _enum(kind: type[Enum], members: Mapping[Any, Enum], value: Any) -> Enum:
    try:
        return members[value]
    except (KeyError, TypeError):
        pass  # not a value of a member: the enum's own lookup (aliases, `_missing_`) decides
    try:
        return kind(value)
    except ValueError:
        raise DecodeError(f"{value!r} is not a {kind.__name__}") from None


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise DecodeError(f"expected an int, found {value!r}")
    return _expect(value, int)


def _number(kind: type[float] | type[Decimal], value: Any) -> float | Decimal:
    if type(value) is not str:  # a str, how Decimals are written, goes straight through
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise DecodeError(f"expected a number, found {value!r}")
        if kind is Decimal:
            value = str(value)
    try:
        return kind(value)
    except (ValueError, InvalidOperation):
        raise DecodeError(f"{value!r} is not a number") from None


def _datetime(value: Any) -> datetime:
    moment: datetime = _parse(datetime.fromisoformat, _expect(value, str))
    if moment.tzinfo is None:
        raise DecodeError(f"{value!r} has no time zone")
    return moment


def _parse(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        raise DecodeError(f"{text!r} is not an ISO 8601 date or time") from None


def _dataclass(kind: type) -> Reader:
    hints = get_type_hints(kind)
    fields = [
        (
            field.name,
            json_key(field),
            reader(hints[field.name]),
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING,
        )
        for field in dataclasses.fields(kind)
        if field.init
    ]

    def read(value: Any) -> Any:
        _expect(value, dict)
        given: dict[str, Any] = {}
        for name, key, read_field, required in fields:
            if key in value:
                given[name] = read_field(value[key])
            elif required:
                raise DecodeError(f"{kind.__name__} needs {key!r}")
        try:
            return kind(**given)
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"not a valid {kind.__name__}: {exc}") from exc

    return read


def _expect(value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise DecodeError(f"expected a {kind.__name__}, found {value!r}")
    return value
