"""The import contract (`[tool.importlinter]` in pyproject.toml) holds for the code as it is,
and fails on a wrong-way import planted in a copy of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("daemon", "adapters", "strategies")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter over the packages under `tree`, with that tree's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "pyproject.toml", "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_imports(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("daemon/core/planted.py", "import daemon.store.db\n", "layers"),
        ("daemon/store/planted.py", "import daemon.cycle.engine\n", "layers"),
        ("daemon/core/planted.py", "import sqlalchemy\n", "the kernel is pure"),
        ("adapters/sim/planted.py", "import daemon.config.settings\n", "adapters and strategies"),
        ("daemon/monitor/planted.py", "import sqlalchemy\n", "only the store"),
        ("daemon/cli/planted.py", "from daemon.store.models import CycleRow\n", "row classes"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = copy_of_the_code(tmp_path)
    (tree / module).write_text(f'"""Planted by the test."""\n\n{line}')
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if "BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
