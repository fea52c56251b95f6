"""docs/ibkr.md's example configuration is a valid one: a reader copies it first."""

from __future__ import annotations

import re
from pathlib import Path

from daemon.config.settings import check_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "ibkr.md"


def test_the_example_configuration_passes_config_check(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    example = next(b for b in blocks if "[accounts.ira]" in b)
    config = tmp_path / "trimtab.toml"
    config.write_text("\n".join(line.strip() for line in example.splitlines()) + "\n")
    assert check_config(config) == []
