"""Clocks for code that waits: time moves only when the code under test pauses."""

from __future__ import annotations


class Ticks:
    """A monotonic clock that only the code's own pauses move (no real waiting): hand
    `monotonic` and `sleep` to an `Executor`, or to anything else that waits with them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        """Every pause, in order."""

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
