"""Migrated SQLite databases for tests that need many: a copy of one this process migrated.

Migrating an empty SQLite database through every revision (trimtab's chain and the broker
branches) takes a tenth of a second of CPU and, with the file's syncs, about three times that
in all; opening a copy at the newest revision about a third of either. A property test that
opens a fresh database per example, or a fixture that opens one per test, spent much of its
time there. `migrated_sqlite` migrates once per process and set of
branches, into a folder of its own, and gives each caller a copy of the file, opened through
`open_database` as any database is (the copy is at the newest revision, so nothing is
applied). Each copy is its own file: tests share nothing but the schema's starting rows,
the identity row among them (`database_identity`; a test that needs a database's identity to
be new opens one from empty).

Tests about creating a database (first use, the state marker, a lost database) open one
from empty, as `trimtab` does; this is for tests that only need one to work in.
"""

from __future__ import annotations

__all__ = ["copy_migrated_sqlite", "migrated_sqlite"]

import atexit
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from daemon.store.db import Database, open_database

_TEMPLATES: dict[tuple[Path, ...], Path] = {}
"""Branches -> the migrated database file this process copies for them."""


def migrated_sqlite(path: Path, state_dir: Path, branches: Sequence[Path] = ()) -> Database:
    """Open a migrated SQLite database at `path`, its state in `state_dir`, with `branches`.

    `path` must not exist yet (a copy of the process's migrated database is put there).
    """
    copy_migrated_sqlite(path, branches)
    return open_database(f"sqlite:///{path}", state_dir, branches=branches)


def copy_migrated_sqlite(path: Path, branches: Sequence[Path] = ()) -> None:
    """Put a copy of the process's database migrated with `branches` at `path` (which must not
    exist yet), for an App whose configuration names it to open."""
    if path.exists():
        raise FileExistsError(f"{path} exists: a migrated copy goes only where none is")
    template = _template(tuple(branches))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)


def _template(branches: tuple[Path, ...]) -> Path:
    found = _TEMPLATES.get(branches)
    if found is not None:
        return found
    folder = Path(tempfile.mkdtemp(prefix="trimtab-test-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "state" / "trimtab.db"
    open_database(f"sqlite:///{path}", folder / "state", branches=branches).close()
    leftovers = sorted(p.name for p in path.parent.glob("trimtab.db-*"))
    if leftovers:  # a write-ahead log not folded in would be missing from the copies
        raise RuntimeError(f"the migrated template left {leftovers} beside {path}")
    _TEMPLATES[branches] = path
    return path
