"""Substantially identical securities as user-defined groups of symbols (Pub 550 leaves it open).

Groups that share a symbol are merged: "substantially identical" is treated as transitive, so
declaring VOO,IVV and IVV,SPLG makes one group of three.
"""

from __future__ import annotations

__all__ = ["SubstantiallyIdentical"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _no_keys() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_groups() -> Mapping[str, frozenset[str]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SubstantiallyIdentical:
    """Map each symbol to its group's key; a symbol in no group is a group of its own."""

    _key: Mapping[str, str] = field(default_factory=_no_keys)
    _members: Mapping[str, frozenset[str]] = field(default_factory=_no_groups)

    @classmethod
    def of(cls, groups: Iterable[Iterable[str]]) -> SubstantiallyIdentical:
        """Build from groups of symbols, merging groups that share a symbol."""
        parent: dict[str, str] = {}

        def find(symbol: str) -> str:
            while parent[symbol] != symbol:
                parent[symbol] = parent[parent[symbol]]
                symbol = parent[symbol]
            return symbol

        for group in groups:
            symbols = [s.strip() for s in group if s.strip()]
            for symbol in symbols:
                parent.setdefault(symbol, symbol)
            for other in symbols[1:]:
                a, b = find(symbols[0]), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        members: dict[str, set[str]] = {}
        for symbol in parent:
            members.setdefault(find(symbol), set()).add(symbol)
        key = {s: min(m) for m in members.values() for s in m if len(m) > 1}
        frozen = {k: frozenset(m) for k, m in members.items() if len(m) > 1}
        by_key = {min(m): m for m in frozen.values()}
        return cls(MappingProxyType(key), MappingProxyType(by_key))

    def key(self, symbol: str) -> str:
        """Return the group key of `symbol` (the group's smallest symbol, or itself)."""
        return self._key.get(symbol, symbol)

    def members(self, symbol: str) -> frozenset[str]:
        """Return every symbol substantially identical to `symbol`, itself included."""
        return self._members.get(self.key(symbol), frozenset({symbol}))

    @property
    def groups(self) -> tuple[frozenset[str], ...]:
        """Return the declared groups (merged), smallest symbol first."""
        return tuple(self._members[k] for k in sorted(self._members))
