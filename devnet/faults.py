"""Faults a test (or a benchmark) can make the devnet node suffer: its broadcasts refused or lost, and any
request slowed down or failing on the way.

Broadcasts (``node.faults``, a :class:`BroadcastFaults`), in the order they are queued::

    node.faults.reject_rc()            # the next broadcast fails: not enough RC (code -32003)
    node.faults.reject_duplicate(2)    # the next two fail: "Duplicate transaction check failed"
    node.faults.reject("Internal Error", code=-32000)
    node.faults.drop()                 # the next transaction that passes every check is answered as
                                       # accepted, then lost: it never reaches a block
    node.faults.lose_answer()          # the next one that passes is accepted (it gets into a block),
                                       # but the connection is closed before the answer is sent
    node.faults.late.add()             # the next broadcast arrives after the head moved one block on

A rejection is used up by the next broadcast, whatever it carries (nothing is checked). A drop or a lost answer
is used up by the next broadcast that would have been accepted; one the node refuses on its own leaves it
queued.
``condenser_api.broadcast_transaction_synchronous`` answers a dropped transaction with ``"expired": true``.

Faults of the node's HTTP layer, for any request (``node.transport``, a :class:`TransportFaults`)::

    node.transport.latency = 0.05       # every answer 50 ms late (a remote node); 0 (default): none
    node.transport.http_error(503)      # the next request: HTTP 503 with a text body (500/502/503/504 …)
    node.transport.rpc_error()          # the next: a JSON-RPC error, "Internal Error" (code -32000)
    node.transport.truncate()           # the next is done, and answered with half of its JSON
    node.transport.invalid()            # the next: an HTML page with status 200, as a broken proxy sends
    node.transport.hang(5)              # the next is held 5 s unanswered, then its connection is closed
    node.transport.disconnect()         # the next: the connection is closed at once, unanswered
    node.transport.http_error(502, 3, method="block_api.*")   # the next three block_api requests
    node.transport.down()               # every connection is closed unanswered as soon as it is
    node.transport.up()                 # accepted, until up() (hung requests are let go at once)
    node.transport.clear()              # no latency, no queued fault, up, no proxy limits

Proxies in front of the node (jussi, drone, haproxy, nginx), set until :meth:`TransportFaults.clear`::

    node.transport.batch_limit = 50     # a batch of more requests: jussi's answer (HTTP 200, code 1600,
                                        # "JSONRPC batch size of 60 exceeds 50"; steemit/jussi errors.py)
    node.transport.batch_limit = 0      # no batches at all: HTTP 400 and a JSON-RPC "Invalid Request"
    node.transport.body_limit = 4096    # answers longer than this are cut there (a proxy's buffer)
    node.transport.rate_limit("30")     # the next request: HTTP 429 with "Retry-After: 30" (or an HTTP date)

``http_error`` answers with the HTML page nginx sends for that status.

Each queued fault is used up by the next request it matches: ``method`` (default: any) is a glob matched
against the request's ``api.method`` (``condenser_api.get_block``; a request in ``call`` form counts as
its api and method; a batch matches when one of its requests does). A request takes the first queued fault
that matches it; the others stay queued, in order. Only a truncated answer is the node's work done: every
other fault stands for a node, or a proxy in front of it, that never passed the request on
(``node.transport.turned_away`` counts those, and the connections refused while down). Latency comes before
the work, as a request's trip to a remote node would. The faults of both kinds are independent.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

DUPLICATE_MESSAGE = "Assert Exception:!is_known_transaction( trx_id ): Duplicate transaction check failed"
"""hived's words (openhive-network/hive@1584099c ``database.cpp`` ``_push_transaction``), code -32003."""


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
        self.late = LateBroadcasts()
        """Broadcasts that reach the node after its head moved (see :class:`LateBroadcasts`)."""

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
        self.late.clear()

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


_STATUSES = frozenset(status.value for status in HTTPStatus)

TransportKind = Literal["http_error", "rpc_error", "truncate", "invalid", "hang", "disconnect", "rate_limit"]


@dataclass(frozen=True, slots=True)
class TransportFault:
    kind: TransportKind
    method: str | None = None  # a glob over "api.method"; None: any request
    status: int = 200  # http_error: the HTTP status
    message: str = ""  # rpc_error: the JSON-RPC error message
    code: int = -32000  # rpc_error: its code
    seconds: float = 0.0  # hang: how long the request is held
    retry_after: str = ""  # rate_limit: the Retry-After header

    def matches(self, methods: Iterable[str]) -> bool:
        return self.method is None or any(fnmatch.fnmatchcase(name, self.method) for name in methods)


class TransportFaults:
    """What the node's HTTP layer does to the next requests: a queue of faults, a latency, and an on/off
    switch; shared by the node's threads (see the module docstring)."""

    def __init__(self) -> None:
        self.latency = 0.0
        """Seconds every request waits before it is handled."""
        self.batch_limit: int | None = None
        """Requests a batch may hold (a proxy's limit); 0: no batches; None: any."""
        self.body_limit: int | None = None
        """Bytes an answer is cut to (a proxy's limit); None: whole."""
        self._queue: deque[TransportFault] = deque()
        self._lock = threading.Lock()
        self._down = False
        self._turned_away = 0
        self._let_go = threading.Event()  # set when the requests held now are to end early

    # -- what tests set -----------------------------------------------------------------------------------------
    def http_error(self, status: int = 503, count: int = 1, *, method: str | None = None) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` (a 5xx) and a text body."""
        if not 500 <= status <= 599 or status not in _STATUSES:
            raise ValueError(f"status must be a known 5xx, got {status}")
        self._add(TransportFault("http_error", method, status=status), count)

    def rpc_error(
        self,
        message: str = "Internal Error",
        count: int = 1,
        *,
        code: int = -32000,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests with this JSON-RPC error, without handling them."""
        self._add(TransportFault("rpc_error", method, message=message, code=code), count)

    def rate_limit(self, retry_after: str, count: int = 1, *, method: str | None = None) -> None:
        """Answer the next ``count`` requests with HTTP 429 and this ``Retry-After`` (seconds or an HTTP date)."""
        self._add(TransportFault("rate_limit", method, status=429, retry_after=retry_after), count)

    def truncate(self, count: int = 1, *, method: str | None = None) -> None:
        """Handle the next ``count`` requests, and send the first half of each answer (a whole HTTP response
        whose JSON body is cut short)."""
        self._add(TransportFault("truncate", method), count)

    def invalid(self, count: int = 1, *, method: str | None = None) -> None:
        """Answer the next ``count`` requests with an HTML error page and status 200 (not JSON)."""
        self._add(TransportFault("invalid", method), count)

    def hang(self, seconds: float, count: int = 1, *, method: str | None = None) -> None:
        """Hold the next ``count`` requests ``seconds`` each without answering, then close their connection."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._add(TransportFault("hang", method, seconds=seconds), count)

    def disconnect(self, count: int = 1, *, method: str | None = None) -> None:
        """Close the connection of the next ``count`` requests at once, unanswered and unhandled."""
        self._add(TransportFault("disconnect", method), count)

    def down(self) -> None:
        """Take no request until :meth:`up`: every connection is closed unanswered once accepted."""
        with self._lock:
            self._down = True

    def up(self) -> None:
        """Take requests again; requests held by :meth:`hang` are let go now."""
        with self._lock:
            self._down = False
        self.let_go()

    def clear(self) -> None:
        """Forget the queued faults and the latency, come up, and let go the held requests."""
        with self._lock:
            self._queue.clear()
            self.latency = 0.0
            self.batch_limit = self.body_limit = None
        self.up()

    # -- what the node asks -------------------------------------------------------------------------------------
    @property
    def is_down(self) -> bool:
        with self._lock:
            return self._down

    @property
    def pending(self) -> tuple[TransportFault, ...]:
        with self._lock:
            return tuple(self._queue)

    @property
    def turned_away(self) -> int:
        """How many requests (or connections, while down) never reached the node's work, so far."""
        with self._lock:
            return self._turned_away

    def count_turned_away(self) -> None:
        with self._lock:
            self._turned_away += 1

    def take(self, methods: Iterable[str]) -> TransportFault | None:
        """The first queued fault that a request for ``methods`` matches (used up), if any."""
        names = list(methods)
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.matches(names):
                    del self._queue[index]
                    return fault
            return None

    def has_faults(self) -> bool:
        """Whether any fault is queued (the node reads a request's methods only then)."""
        with self._lock:
            return bool(self._queue)

    def hold(self, seconds: float) -> None:
        """Wait ``seconds``, or less if :meth:`let_go` is called meanwhile."""
        with self._lock:
            let_go = self._let_go
        let_go.wait(seconds)

    def let_go(self) -> None:
        """End every wait in :meth:`hold` now (the node calls it when it stops)."""
        with self._lock:
            let_go, self._let_go = self._let_go, threading.Event()
        let_go.set()

    def _add(self, fault: TransportFault, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.extend([fault] * count)


class AnswerLost(Exception):
    """Raised through the node's JSON-RPC layer: the HTTP handler closes the connection without answering."""


class LateBroadcasts:
    """Broadcasts that reach the node after its head moved: between the bot's read of the head and its
    transaction's arrival, blocks were produced (a slow link, a node busy applying a block, a transaction that
    waited in another node's pool). ``node.faults.late.add(blocks=1)``: before the next broadcast is taken,
    the head moves ``blocks`` blocks on, so the transaction goes into the block after that new head. Used
    up by the next broadcast that gets past the queued rejections, accepted or not; independent of the other
    faults' queue."""

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self._lock = threading.Lock()

    def add(self, blocks: int = 1, count: int = 1) -> None:
        """The next ``count`` broadcasts each arrive ``blocks`` blocks late."""
        if blocks < 1 or count < 1:
            raise ValueError("blocks and count must be at least 1")
        with self._lock:
            self._queue.extend([blocks] * count)

    def take(self) -> int:
        """How many blocks the head moves before the broadcast now arriving (used up); 0: none."""
        with self._lock:
            return self._queue.popleft() if self._queue else 0

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
