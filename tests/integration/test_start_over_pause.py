"""`trimtab db init --force` starts the new database with the kill switch engaged.

Before, a start-over silently dropped an engaged kill switch and the account's first cycle
took the broker's positions as its book and traded at once, while the corrupt-database
message promised that every account's first cycle would halt.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import app
from daemon.logs import configure_logging
from daemon.store.state_faults import corrupt_message


def invoke(*args: str, stdout: bool = False) -> tuple[int, str]:
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        configure_logging()
    return result.exit_code, result.stdout if stdout else result.output


def test_nothing_is_sent_after_a_start_over_until_resume(example: Path) -> None:
    config = str(example)
    assert invoke("run", "--once", "-a", "ira", "-c", config)[0] == 0
    code, output = invoke("db", "init", "--force", "-c", config)
    assert code == 0, output
    assert "kill switch engaged" in output
    code, output = invoke("status", "-c", config)
    assert "started over with an empty database" in output, output

    code, output = invoke(
        "run", "--once", "-a", "ira", "--force", "--json", "-c", config, stdout=True
    )
    (report,) = json.loads(output)
    assert report["why_not_submitted"] == "kill switch engaged", report
    assert report["orders"] == []

    assert invoke("resume", "-c", config)[0] == 0
    code, output = invoke("run", "--once", "-a", "ira", "--force", "-c", config)
    assert code == 0, output
    assert "kill switch" not in output


def test_the_corrupt_database_message_says_what_a_start_over_does() -> None:
    message = corrupt_message("state/trimtab.db", "file is not a database")
    assert "kill switch engaged" in message
    assert "halts on positions" not in message
