"""`trimtab audit export --out FILE` leaves FILE readable by its owner only, even when FILE
already existed with wider permissions (before, `touch(mode=0o600)` kept an existing mode)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> str:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    assert result.exit_code == 0, result.output
    return result.output


def test_an_existing_world_readable_file_ends_owner_only(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    invoke("kill", "-c", str(config), "--reason", "export test")
    out = tmp_path / "audit.jsonl"
    out.write_text("old text, longer than what replaces it " * 100)
    out.chmod(0o644)
    invoke("audit", "export", "--since", "2020-01-01", "-c", str(config), "--out", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[-1]["payload"]["reason"] == "export test"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".audit")] == []


def test_a_pipe_is_written_in_place(tmp_path: Path) -> None:
    """`--out /dev/stdout` or a named pipe: it cannot be replaced by a new file, so the text
    goes to its reader (before, the temporary file beside /dev/stdout could not be made)."""
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", config)
    invoke("kill", "-c", str(config), "--reason", "pipe test")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.append(pipe.read_text()), daemon=True)
    reader.start()
    try:
        invoke("audit", "export", "--since", "2020-01-01", "-c", str(config), "--out", str(pipe))
    finally:
        reader.join(timeout=10)
        if reader.is_alive():
            # Nothing opened the pipe for writing: open and close it, so the reader ends.
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    lines = [json.loads(line) for line in read[0].splitlines()]
    assert lines[-1]["payload"]["reason"] == "pipe test"
    assert stat.S_ISFIFO(pipe.stat().st_mode)
