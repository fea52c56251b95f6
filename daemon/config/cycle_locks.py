"""Which accounts' cycles must never run at the same time (cluster mode), and the lock each
account's jobs carry.

Accounts are tied together when they:

- belong to the [household] (or, with an [income] plan and no household, are any account):
  the split reads the other members' holdings and the income plan fixes a month across them;
- share a `lock_group` (set by hand: accounts that must never run side by side);
- are behind one broker login: a broker plugin that is `BindsSession` names it from the
  account's validated `broker_settings` (IB: one TWS or IB Gateway at host:port).

Ties are transitive: every set of accounts connected by them shares one lock. Its name is
stable for a given configuration (the scheduler and every worker compute it alike):
`household` for the household's set, else `group:G` (the smallest lock_group in the set),
else `session:BROKER:KEY` (the smallest session), else `account:NAME` for an account alone.
"""

from __future__ import annotations

__all__ = ["cycle_locks"]

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from adapters.base import BindsSession
from daemon.config.household import planned_together
from daemon.plugins import load_broker_plugin

if TYPE_CHECKING:
    from daemon.config.settings import Settings


def cycle_locks(settings: Settings) -> Mapping[str, str]:
    """Return each account's lock (see the module docstring)."""
    names = list(settings.accounts)
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def tie(together: Iterable[str]) -> None:
        members = list(together)
        for other in members[1:]:
            parent[root(other)] = root(members[0])

    household = planned_together(settings)
    tie(household)
    groups: dict[str, list[str]] = {}
    sessions: dict[str, list[str]] = {}
    for name, account in settings.accounts.items():
        if account.lock_group:
            groups.setdefault(account.lock_group, []).append(name)
        session = _session(account.broker, account.broker_settings)
        if session is not None:
            sessions.setdefault(session, []).append(name)
    for tied in (*groups.values(), *sessions.values()):
        tie(tied)
    sets: dict[str, list[str]] = {}
    for name in names:
        sets.setdefault(root(name), []).append(name)
    group_of = {n: g for g, members in groups.items() for n in members}
    session_of = {n: s for s, members in sessions.items() for n in members}
    locks: dict[str, str] = {}
    for members in sets.values():
        if household and household[0] in members:
            key = "household"
        elif any(n in group_of for n in members):
            key = f"group:{min(group_of[n] for n in members if n in group_of)}"
        elif len(members) > 1:
            key = f"session:{min(session_of[n] for n in members if n in session_of)}"
        else:
            key = f"account:{members[0]}"
        locks.update(dict.fromkeys(members, key))
    return locks


def _session(broker: str, broker_settings: Mapping[str, object]) -> str | None:
    """The broker login an account's settings bind, as `BROKER:KEY`, or None."""
    plugin = load_broker_plugin(broker)
    if not isinstance(plugin, BindsSession):
        return None
    validated = plugin.settings_model.model_validate(dict(broker_settings))
    return f"{broker}:{plugin.session_key(validated)}"
