"""The progress bar as a person sees it: on a terminal (a pseudo-terminal here), never in
`--json` output, never in a pipe."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRIMTAB = [sys.executable, "-c", "from daemon.cli import main; main()"]
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _trades_csv(path: Path, count: int) -> Path:
    lines = ["id,date,account,account_type,symbol,side,qty,amount"]
    for n in range(count):
        day = f"2025-{1 + n // 600:02d}-{1 + (n // 25) % 24:02d}"
        side = "sell" if n % 4 == 3 else "buy"
        lines.append(f"t{n},{day},main,taxable,S{(n // 4) % 7},{side},1,{100 + n % 13}.00")
    path.write_text("\n".join(lines) + "\n")
    return path


def _on_a_terminal(args: list[str], cwd: Path) -> str:
    """Run trimtab with stdout and stderr on one pseudo-terminal; return what it showed."""
    leader, follower = pty.openpty()
    env = os.environ | {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [*TRIMTAB, *args], stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=30) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_the_replay_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    trades = _trades_csv(tmp_path / "trades.csv", 3000)
    shown = _on_a_terminal(["tax", "replay", str(trades)], tmp_path)
    assert "replaying 3,000 trades" in shown
    assert "laying out the tables" in shown
    assert "Open lots" in shown

    as_json = _on_a_terminal(["tax", "replay", str(trades), "--json"], tmp_path)
    assert "replaying" not in as_json
    # Nothing but the JSON document reached the terminal (the pty turns \n into \r\n).
    assert json.loads(_ESCAPES.sub("", as_json).replace("\r\n", "\n"))["sales"]

    piped = subprocess.run(
        [*TRIMTAB, "tax", "replay", str(trades)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    assert "replaying" not in piped.stdout + piped.stderr
    assert "\x1b[" not in piped.stderr
    assert "Open lots" in piped.stdout
