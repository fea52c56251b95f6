"""A writable report page in a folder where no new file may be made is written in place: the
whole-or-nothing write needs a file beside it, which such a folder refuses, and refusing the
page before the run (as once happened) stopped a report that could be written.

Run as root, the test drops the capability that lets root write anywhere (as an ordinary user
is), with util-linux's `setpriv`; elsewhere it is skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
from pathlib import Path
from daemon.backtest.out_file import check_writable, write_whole
page = Path(sys.argv[1])
check_writable(page)
write_whole(page, "<html>new page</html>")
"""


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to stand in for an ordinary user",
)
def test_a_writable_page_in_a_read_only_folder_is_written_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    page = folder / "report.html"
    page.write_text("<html>old page</html>")
    os.chown(folder, 65534, 65534)  # nobody's, and not writable by anyone else
    folder.chmod(0o555)
    tmp_path.chmod(0o755)
    repo = Path(__file__).resolve().parents[2]
    drop = "-dac_override,-dac_read_search"
    result = subprocess.run(
        [
            "setpriv",
            f"--inh-caps={drop}",
            f"--bounding-set={drop}",
            "--",
            sys.executable,
            "-c",
            SCRIPT,
            str(page),
        ],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert page.read_text() == "<html>new page</html>"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html"]
