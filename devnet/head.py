"""Which block is the devnet's head right now: frozen and moved by hand, or advancing with (scaled) time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BLOCK_INTERVAL = 3  # seconds of chain time between blocks


class HeadClock:
    """The head block of a served chain.

    With ``speed == 0`` the head stays where it is put (:meth:`set_head`); with ``speed > 0`` it advances one
    block every ``3 / speed`` seconds of ``clock`` time (``speed=1``: real time; ``speed=20``: a block every
    0.15 s), never past ``last_block``. The irreversible block trails the head by ``irreversible_lag`` blocks
    (0–2 on mainnet since HF26).
    """

    def __init__(
        self,
        head: int,
        last_block: int,
        *,
        speed: float = 0.0,
        irreversible_lag: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0 or irreversible_lag < 0:
            raise ValueError("speed and irreversible_lag must not be negative")
        self.last_block = last_block
        self.speed = speed
        self.irreversible_lag = irreversible_lag
        self._clock = clock
        self._lock = threading.Lock()
        self._base = min(head, last_block)
        self._since = clock()

    def head(self) -> int:
        with self._lock:
            return self._head_now()

    def irreversible(self) -> int:
        return self.head() - self.irreversible_lag

    def set_head(self, num: int) -> None:
        """Move the head to ``num`` (from there it keeps advancing if ``speed > 0``)."""
        with self._lock:
            self._base, self._since = min(num, self.last_block), self._clock()

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._base, self._since = self._head_now(), self._clock()
            self.speed = speed

    def _head_now(self) -> int:
        if self.speed == 0:
            return self._base
        advanced = int((self._clock() - self._since) * self.speed / BLOCK_INTERVAL)
        return min(self.last_block, self._base + advanced)
