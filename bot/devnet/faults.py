"""Faults a test can make the devnet node's broadcasts suffer, in the order they are queued.

    node.faults.reject_rc()            # the next broadcast fails: not enough RC (code -32003)
    node.faults.reject_duplicate(2)    # the next two fail: "Duplicate transaction check failed"
    node.faults.reject("Internal Error", code=-32000)
    node.faults.drop()                 # the next transaction that passes every check is answered as
                                       # accepted, then lost: it never reaches a block
    node.faults.lose_answer()          # the next one that passes is accepted (it gets into a block),
                                       # but the connection is closed before the answer is sent

A rejection is used up by the next broadcast, whatever it carries (nothing is checked). A drop or a lost answer
is used up by the next broadcast that would have been accepted; one the node refuses on its own leaves it
queued.
``condenser_api.broadcast_transaction_synchronous`` answers a dropped transaction with ``"expired": true``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

DUPLICATE_MESSAGE = (
    "Assert Exception:(skip & skip_transaction_dupe_check) || trx_idx.indices().get<by_trx_id>().find(trx_id)"
    " == trx_idx.indices().get<by_trx_id>().end(): Duplicate transaction check failed"
)


def rc_message(account: str, has: int, needs: int) -> str:
    """hived's refusal of a transaction whose payer lacks resource credits (mainnet, 2025)."""
    return (
        f"payer has not enough RC mana for transaction:has_mana: Account: {account} has {has} RC, "
        f"needs {needs} RC. Please wait to transact or power up HIVE."
    )


@dataclass(frozen=True, slots=True)
class Fault:
    kind: Literal["reject", "rc", "drop", "lose_answer"]
    message: str = ""
    code: int = -32003


class BroadcastFaults:
    """A queue of faults, shared by the node's threads."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def reject(self, message: str, count: int = 1, *, code: int = -32003) -> None:
        """Refuse the next ``count`` broadcasts with this JSON-RPC error."""
        self._add(Fault("reject", message, code), count)

    def reject_rc(self, count: int = 1) -> None:
        """Refuse the next ``count`` broadcasts as hived does when the payer lacks RC (the message names the
        transaction's payer and cost, with 0 RC left)."""
        self._add(Fault("rc"), count)

    def reject_duplicate(self, count: int = 1) -> None:
        """Refuse the next ``count`` broadcasts as already known ("Duplicate transaction check failed")."""
        self.reject(DUPLICATE_MESSAGE, count)

    def drop(self, count: int = 1) -> None:
        """Answer the next ``count`` acceptable transactions as accepted, then lose them."""
        self._add(Fault("drop"), count)

    def lose_answer(self, count: int = 1) -> None:
        """Accept the next ``count`` acceptable transactions, then close the connection without answering."""
        self._add(Fault("lose_answer"), count)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> tuple[Fault, ...]:
        with self._lock:
            return tuple(self._queue)

    def take_rejection(self) -> Fault | None:
        """The rejection the next broadcast suffers, if one is first in the queue (used up)."""
        with self._lock:
            if self._queue and self._queue[0].kind not in ("drop", "lose_answer"):
                return self._queue.popleft()
            return None

    def next_is_drop(self) -> bool:
        with self._lock:
            return bool(self._queue) and self._queue[0].kind == "drop"

    def take_drop(self) -> bool:
        """Whether the transaction just found acceptable is to be lost (used up)."""
        with self._lock:
            if self._queue and self._queue[0].kind == "drop":
                self._queue.popleft()
                return True
            return False

    def take_lost_answer(self) -> bool:
        """Whether the answer to the transaction just accepted is to be lost (used up)."""
        with self._lock:
            if self._queue and self._queue[0].kind == "lose_answer":
                self._queue.popleft()
                return True
            return False

    def _add(self, fault: Fault, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.extend([fault] * count)


class AnswerLost(Exception):
    """Raised through the node's JSON-RPC layer: the HTTP handler closes the connection without answering."""
