"""deploy/systemd/: every unit says where its install steps are, and they are there.

trimtab-cycle.service said "Install: see README.md ("Running it every trading day")", a
section the README does not have, and docs/operations.md named the timer without ever saying
how to install it. Each page and section a unit's comments point to must exist, and
docs/operations.md must give each unit's install commands: the units copied from
deploy/systemd/, systemd reloaded, the unit enabled and started, and a command that shows it
runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
OPERATIONS = REPO / "docs" / "operations.md"
UNITS = sorted(p.name for p in SYSTEMD.iterdir() if p.suffix in {".service", ".timer"})

REFERENCE = re.compile(r"((?:docs/)?[\w-]+\.md)(?:\s*\(\"([^\"]+)\"\))?")
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def headings(page: Path) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", page.read_text(), re.MULTILINE)}


def commands(page: Path) -> list[list[str]]:
    """Every command of the page's `sh` blocks (continuations joined, split at `&&`), as words."""
    found: list[list[str]] = []
    for block in SH_BLOCK.findall(page.read_text()):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.split("#", 1)[0].strip()
            for part in line.split("&&"):
                if part.strip():
                    found.append(shlex.split(part.strip()))
    return found


@pytest.mark.parametrize("name", UNITS)
def test_every_page_and_section_a_unit_names_exists(name: str) -> None:
    comments = " ".join(
        line.lstrip("# ") for line in (SYSTEMD / name).read_text().splitlines() if line[:1] == "#"
    )
    for page, section in REFERENCE.findall(comments):
        path = REPO / page
        assert path.is_file(), f"{name} names {page}, which does not exist"
        if section:
            assert section in headings(path), f"{name} names {page} ({section!r}): no such section"


def test_the_daemon_unit_and_the_timer_point_to_their_install_steps() -> None:
    for name in ("trimtab.service", "trimtab-cycle.service"):
        assert "docs/operations.md" in (SYSTEMD / name).read_text(), name


@pytest.mark.parametrize(
    ("enabled", "copied"),
    [
        ("trimtab", {"trimtab.service"}),
        ("trimtab-cycle.timer", {"trimtab-cycle.service", "trimtab-cycle.timer"}),
    ],
)
def test_operations_gives_the_install_commands(enabled: str, copied: set[str]) -> None:
    shown = commands(OPERATIONS)
    sources = {
        Path(word).name
        for words in shown
        if words[:2] == ["sudo", "cp"] and words[-1] == "/etc/systemd/system/"
        for word in words[2:-1]
        if word.startswith("/opt/trimtab/deploy/systemd/")
    }
    assert copied <= sources, f"not copied to /etc/systemd/system/: {copied - sources}"
    assert all((SYSTEMD / name).is_file() for name in copied)
    assert ["sudo", "systemctl", "daemon-reload"] in shown
    assert ["sudo", "systemctl", "enable", "--now", enabled] in shown
    if enabled.endswith(".timer"):
        assert any(
            words[:2] == ["systemctl", "list-timers"] and enabled in words for words in shown
        )
