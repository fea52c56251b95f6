"""Persistence stays in `daemon/store/`: no other module imports SQLAlchemy, Alembic or a row.

Callers get typed records from repositories; the simulated broker's own tables are the one
other place that speaks SQL (`adapters/sim/store.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("daemon", "adapters", "strategies")
STORE = Path("daemon/store")
SQL_ALLOWED = (STORE, Path("adapters/sim/store.py"))
SQL_PACKAGES = frozenset({"sqlalchemy", "alembic"})


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT)


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, module) of every import in the file, nested or not (TYPE_CHECKING too)."""
    tree = ast.parse((ROOT / path).read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            # `from daemon.store import models` imports the module `daemon.store.models`.
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _inside(path: Path, allowed: tuple[Path, ...]) -> bool:
    return any(path == place or place in path.parents for place in allowed)


def _is_row_module(module: str) -> bool:
    """Tell whether `module` defines row classes (`daemon.store.models`, `..._models`)."""
    parts = module.split(".")
    return parts[:2] == ["daemon", "store"] and len(parts) == 3 and parts[2].endswith("models")


def test_the_modules_are_found() -> None:
    found = set(_modules())
    assert Path("daemon/store/db.py") in found
    assert Path("daemon/cycle/engine.py") in found


def test_only_the_store_imports_sqlalchemy_or_alembic() -> None:
    offenders = sorted(
        {
            f"{path}:{line} imports {module.split('.')[0]}"
            for path in _modules()
            if not _inside(path, SQL_ALLOWED)
            for line, module in _imported(path)
            if module.split(".")[0] in SQL_PACKAGES
        }
    )
    assert not offenders, "move the query into a repository in daemon/store/:\n" + "\n".join(
        offenders
    )


def test_only_the_store_imports_row_classes() -> None:
    offenders = [
        f"{path}:{line} imports {module}"
        for path in _modules()
        if not _inside(path, (STORE,))
        for line, module in _imported(path)
        if _is_row_module(module)
    ]
    assert not offenders, "use a repository's typed records instead:\n" + "\n".join(offenders)


def test_a_row_module_is_told_from_a_repository() -> None:
    assert _is_row_module("daemon.store.models")
    assert _is_row_module("daemon.store.tax_models")
    assert not _is_row_module("daemon.store.cycles")
    assert not _is_row_module("daemon.store.models.CycleRow")
