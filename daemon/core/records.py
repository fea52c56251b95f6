"""Frozen slotted dataclasses built at about the cost of plain ones.

A frozen dataclass's generated `__init__` stores each field with `object.__setattr__` (its
own `__setattr__` refuses), which looks the field's descriptor up by name each time: about
four times the cost of storing the slot. A backtest's decision step makes tens of thousands of
drift rows, orders, quotes and pre-trade decisions (a drift row's 14 fields took ~2 µs, a
tenth of a 20-year run went to such `__init__`s). `fast_init` gives such a class an
`__init__` of the same signature that stores each slot through its member descriptor, which is
where `object.__setattr__` ends up; the class stays frozen (assigning to a field still raises),
and equality, hashing, `repr`, `dataclasses.replace` and pickling are the dataclass's own.

`lazy_text` makes a text field worked out when first read: a plan's order reasons are
written for every order of every plan, and a backtest reads none of them (a 20-year run plans
23,000 orders). The field is given `later(make, ...)` instead of the text, and reading it
calls `make(...)` once and keeps the text; everything that reads the field (equality,
hashing, `repr`, `dataclasses.replace`, pickling, an audit record's JSON) reads the text.
"""

from __future__ import annotations

__all__ = ["fast_init", "later", "lazy_text"]

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Replace the generated `__init__` of `cls`, a frozen dataclass with slots and only plain
    fields (each in `__init__`, positional, with no default factory, no `__post_init__`), by one
    that stores the slots directly; raise `TypeError` for any other class. Apply it outside
    `@dataclass(frozen=True, slots=True)`."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__qualname__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__qualname__} has a __post_init__: keep the dataclass __init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # a dataclass, checked above
    namespace: dict[str, Any] = {}
    parameters = []
    for field in fields:
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__qualname__}.{field.name} is not a plain field")
        # Each slot's setter, and each default, by a name of their own in the namespace.
        namespace[f"_set_{field.name}"] = getattr(cls, field.name).__set__
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
    body = "".join(f"    _set_{f.name}(self, {f.name})\n" for f in fields) or "    pass\n"
    source = f"def __init__(self, {', '.join(parameters)}):\n{body}"
    exec(source, namespace)  # noqa: S102 - code made here from the field names, as dataclasses does
    init = namespace["__init__"]
    generated = cls.__init__  # the dataclass's, read for its annotations
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(generated.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]  # the same signature, a faster body
    return cls


def later(make: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    """Stand in for the text `make(*args, **kwargs)` in a field made lazy by `lazy_text`: it
    is worked out when the field is first read. Only such a field may be given it."""
    return cast("str", partial(make, *args, **kwargs))


class _LazyText:
    """A slot's descriptor that turns a `later` value into its text when the slot is read."""

    __slots__ = ("_slot",)

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self._slot.__get__(instance, owner)
        if type(value) is partial:
            value = value()
            self._slot.__set__(instance, value)
        return value

    def __set__(self, instance: object, value: object) -> None:
        self._slot.__set__(instance, value)


def lazy_text(*names: str) -> Callable[[type[T]], type[T]]:
    """Let the fields `names` of a frozen slotted dataclass be given `later(...)`; apply it
    outside `fast_init` (or the dataclass). Reading such a field always gives its text."""

    def apply(cls: type[T]) -> type[T]:
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen or "__slots__" not in cls.__dict__:
            raise TypeError(f"{cls.__qualname__} is not a frozen dataclass with slots")
        fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # checked
        for name in names:
            if name not in fields or name not in cls.__slots__:  # type: ignore[attr-defined]
                raise TypeError(f"{cls.__qualname__}.{name} is not a slot field")
            type.__setattr__(cls, name, _LazyText(cls.__dict__[name]))
        return cls

    return apply
