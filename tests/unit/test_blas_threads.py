"""trimtab runs numpy's BLAS on one thread unless the user says otherwise (docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import os, sys
sys.argv = ["trimtab", "--version"]
from daemon.cli import main
try:
    main()
except SystemExit:
    pass
print(os.environ["OPENBLAS_NUM_THREADS"], os.environ["OMP_NUM_THREADS"])
"""


@pytest.mark.parametrize(("given", "expected"), [(None, "1 1"), ("2", "2 1")])
def test_one_blas_thread_unless_the_user_set_one(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == expected
