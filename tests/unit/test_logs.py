"""Log lines: JSON with the error's frames but never their local variables, and stderr read
at each line (a swapped and closed stderr must not break later lines)."""

from __future__ import annotations

import io
import json
import sys
import threading

import pytest

from daemon.logs import configure_logging, get_logger

SECRET = "PKSECRETKEY-d41d8cd98f00"


def _fail_with_a_secret_in_a_local() -> None:
    api_key = SECRET
    raise RuntimeError(f"refused ({len(api_key)} characters)")


def test_an_exception_line_has_frames_but_no_local_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("info", "json")
    try:
        _fail_with_a_secret_in_a_local()
    except RuntimeError:
        get_logger(account="main").exception("cycle_crashed")
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "cycle_crashed"
    frames = record["exception"][0]["frames"]
    assert frames[-1]["name"] == "_fail_with_a_secret_in_a_local"
    assert all(not frame.get("locals") for frame in frames)
    assert SECRET not in line


def test_lines_go_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info", "json")
    get_logger().info("one")
    first.close()  # what a CLI test runner does with the stderr it lent
    monkeypatch.setattr(sys, "stderr", second)
    get_logger().info("two")
    assert json.loads(second.getvalue())["event"] == "two"


def test_lines_from_many_threads_never_share_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("info", "json")

    def chatter(n: int) -> None:
        for i in range(200):
            get_logger(thread=n).info("tick", i=i)

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1600
    assert all(json.loads(line)["event"] == "tick" for line in lines)
