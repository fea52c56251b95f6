"""docs/paper-trading.md walked as written, against the fake Alpaca through alpaca-py: step
3's configuration, step 6's dry run, then step 7's paper commands the same day.

Step 7 used to say `trimtab run --once`, which after step 6's dry run of the same slot
answered "skipped: ... already ran; use --force" and sent nothing.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from daemon.cli import app
from tests.fakes.alpaca_server import KEY_ID, SECRET, FakeAlpaca
from tests.fakes.alpaca_server.client import household
from tests.fakes.cli import fresh_logging  # noqa: F401 (a fixture, used by pytestmark)

pytestmark = pytest.mark.usefixtures("fresh_logging")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "paper-trading.md"
MONDAY_NOON = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
"""12:00 New York on a Monday: XNYS and the fake's clock are both open."""
KEYS = "TRIMTAB_ACCOUNTS__PAPER__BROKER_SETTINGS__"


def section(number: int) -> str:
    """Return the text of the guide's section `## <number>. ...` up to the next one."""
    text = GUIDE.read_text()
    start = re.search(rf"^## {number}\. .*$", text, re.MULTILINE)
    assert start is not None, f"docs/paper-trading.md has no section {number}"
    end = re.search(r"^## \d+\. ", text[start.end() :], re.MULTILINE)
    return text[start.end() : start.end() + end.start() if end else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def commands(number: int) -> list[list[str]]:
    """Return the `trimtab ...` commands of section `number`'s sh blocks, comments cut."""
    found = []
    for block in blocks(section(number), "sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["trimtab"]:
                found.append(words[1:])
    return found


def step_3_config(fake: FakeAlpaca, tmp_path: Path, database_url: str) -> Path:
    """Step 3's `trimtab.toml`, on the fake (base_url, data_url) and the test's database."""
    [toml] = blocks(section(3), "toml")
    toml = re.sub(r"^secrets_file = .*$", "", toml, flags=re.MULTILINE)  # keys: environment
    toml = toml.replace(
        "[accounts.paper.broker_settings]\n",
        f'[accounts.paper.broker_settings]\nbase_url = "{fake.url}"\ndata_url = "{fake.url}"\n',
    )
    config = tmp_path / "trimtab.toml"
    config.write_text(f'database_url = "{database_url}"\n{toml}')
    return config


def invoke(words: list[str], config: Path) -> tuple[int, str]:
    args = [str(config) if word == "trimtab.toml" else word for word in words]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlpaca]:
    monkeypatch.setenv(KEYS + "API_KEY_ID", KEY_ID)
    monkeypatch.setenv(KEYS + "API_SECRET_KEY", SECRET)
    state = household("100000")
    state.clock = lambda: datetime.now(UTC)  # the CLI's clock, moved by time_machine
    state.auto_fill = True
    with time_machine.travel(MONDAY_NOON, tick=True), FakeAlpaca(state) as server:
        yield server


def test_step_7_after_step_6s_dry_run_the_same_day_sends_the_orders(
    fake: FakeAlpaca, tmp_path: Path, database_url: str
) -> None:
    config = step_3_config(fake, tmp_path, database_url)
    assert 'mode = "dry-run"' in config.read_text()
    [dry_run] = [c for c in commands(6) if c[:2] == ["run", "--once"]]
    code, out = invoke(dry_run, config)
    assert code == 0, out
    assert fake.count("POST") == 0  # dry run: nothing sent

    config.write_text(config.read_text().replace('mode = "dry-run"', 'mode = "paper"'))
    [paper_run] = [c for c in commands(7) if c[:2] == ["run", "--once"]]
    code, out = invoke(paper_run, config)
    assert code == 0, out
    assert "already ran" not in out
    assert fake.count("POST") >= 2  # BND and VTI bought
    assert {o.symbol for o in fake.state.orders} == {"BND", "VTI"}

    [orders] = [c for c in commands(7) if c[:1] == ["orders"]]
    code, out = invoke([*orders, "--json"], config)
    assert code == 0, out
    assert {row["symbol"] for row in json.loads(out)} >= {"BND", "VTI"}


def test_step_9s_validate_counts_the_dry_run_as_not_sent_and_a_buy_in_pieces_once(
    fake: FakeAlpaca, tmp_path: Path, database_url: str
) -> None:
    # Steps 6 and 7 as above, then step 9: validate used to show "planned 4 / not sent 0 /
    # sent 4" here, counting VTI's pieces as orders and hiding the dry run's two.
    config = step_3_config(fake, tmp_path, database_url)
    [dry_run] = [c for c in commands(6) if c[:2] == ["run", "--once"]]
    assert invoke(dry_run, config)[0] == 0
    config.write_text(config.read_text().replace('mode = "dry-run"', 'mode = "paper"'))
    [paper_run] = [c for c in commands(7) if c[:2] == ["run", "--once"]]
    assert invoke(paper_run, config)[0] == 0
    pieces = len(fake.state.orders)
    assert pieces > 2  # VTI's rest went out after Alpaca's hold on the first piece was freed

    [validate] = [c for c in commands(9) if c[-1:] == ["--json"]]
    code, out = invoke(validate, config)
    assert code == 0, out
    (account,) = json.loads(out)["accounts"]
    counts = {k: account[k] for k in ("planned", "denied", "not_sent", "sent", "sent_pieces")}
    assert counts == {"planned": 4, "denied": 0, "not_sent": 2, "sent": 2, "sent_pieces": pieces}
    assert (account["filled"], account["partially_filled"], account["unfilled"]) == (2, 0, 0)
    [table] = [c for c in commands(9) if c[-1:] == ["trimtab.toml"]]
    code, out = invoke(table, config)
    assert code == 0, out
    assert re.search(rf"^\s*sent\s+2 \(in {pieces} pieces\)\s*$", out, re.MULTILINE), out
