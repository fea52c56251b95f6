"""Every commented-out block of config.example.toml is valid once uncommented, as its text
tells the user to do. Before, the IB block said `type = "ira"` and the income block set both
`monthly_amount` and `annual_pct`: each refused at once (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config.settings import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
BLOCKS = (
    "[cluster]",
    "[accounts.brokerage.broker_settings.faults]",
    "[income]",
    "[accounts.alpaca]",
    "[household]",
    "[accounts.ib]",
)


def uncommented(text: str, first: str) -> str:
    """Uncomment the block that starts at `# {first}`: every comment line up to the next
    line that is not one. A line commented twice (`# # ...`) stays a comment."""
    lines = text.splitlines()
    start = lines.index(f"# {first}")
    end = start
    while end < len(lines) and lines[end].startswith("#"):
        end += 1
    block = [line[2:] if line.startswith("# ") else line[1:] for line in lines[start:end]]
    return "\n".join(lines[:start] + block + lines[end:]) + "\n"


@pytest.mark.parametrize("first", BLOCKS)
def test_an_uncommented_block_loads(
    first: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TRIMTAB_CONFIG", "TRIMTAB_SECRETS_FILE", "TRIMTAB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    if first == "[accounts.alpaca]":
        # Its keys, given in the environment as its comment says.
        keys = "TRIMTAB_ACCOUNTS__ALPACA__BROKER_SETTINGS__API_"
        monkeypatch.setenv(f"{keys}KEY_ID", "PKEXAMPLE0001")
        monkeypatch.setenv(f"{keys}SECRET_KEY", "s" * 40)
    if first == "[cluster]":
        monkeypatch.setenv(
            "TRIMTAB_DATABASE_URL", "postgresql+psycopg://trimtab@127.0.0.1:5432/trimtab"
        )
    config = tmp_path / "config.toml"
    config.write_text(uncommented(EXAMPLE.read_text(), first))
    settings = load_config(config)
    assert settings.accounts
