"""A clock that moves only when the test says: the chain client's back-offs, the devnet's head clock."""

from __future__ import annotations


class Clock:
    """Seconds, as ``time.monotonic`` gives them; ``advance`` is the only way time passes."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
