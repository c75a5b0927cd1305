"""The lease that makes exactly one ``run`` process active on a PostgreSQL store: its rules and its SQL.

Any number of ``run`` processes may point at one store; the one holding the lease acts (follows the chain,
reads histories, posts), the others stand by and try to take it. A lease, not a session lock: a process
that froze (SIGSTOP, a long pause) keeps its connection and its session locks, but stops renewing, so its
lease runs out and a standby takes it within :data:`TAKEOVER` seconds (``ha.takeover``, the lease's
duration).

**The fencing token.** Each takeover adds one to the lease's ``token``; a renewal keeps it. Every write
transaction of the active process runs :data:`FENCE` first (once it has the writer lock, :mod:`bot.db`): ``lease_fence(holder, token)``
(:mod:`bot.schema_pg`) locks the lease row ``FOR SHARE`` and raises unless it is still this holder's, with
this token, unexpired — and the exception rolls the whole transaction back. The race it closes: a takeover
is an ``UPDATE`` of that row, which waits for every ``FOR SHARE`` lock to go. So a write that passed the
fence commits *before* the new holder's token exists, even if the lease expired while it ran; and once the
new token exists, every fence of the old holder fails. No write of an old holder ever lands after a new
holder's first.

**A frozen writer.** One frozen inside its transaction (SIGSTOP, cut from the network) would hold the
takeover back for ever: each connection of a holder runs :data:`BOUND_IDLE` first, and the server ends a
session idle inside a transaction for longer than the margin (:func:`idle_timeout`), rolling it back. The
holder stops acting a margin before its deadline, so a freeze starts no later than that and its session is
gone by the deadline: the takeover is not delayed. (A statement frozen while the server sends it rows is
not idle: the connection layer still has to bound statements, ``statement_timeout``.)

**Whose clock.** Expiry is decided on the database's clock only (``clock_timestamp()``, the time at the
statement, not ``now()``, the transaction's start, which a statement waiting on a lock would leave behind):
the server is the one place every holder and standby asks, so two hosts whose clocks disagree still agree
on whether the lease has run out. A host never compares its own wall clock with ``expires_at``. It turns
what the server answered into a deadline on its own monotonic clock (:func:`held_until`): the lease's
remaining time, counted from the moment the request was *sent* — earlier than the moment the server read
its clock, so the deadline is early, never late, whatever the network delay and whatever the hosts' clock
offsets. What is left between hosts is the rate at which their clocks tick (parts per million: a
millisecond over ``ha.takeover``) and, more, whatever the holder does that no fence covers (a broadcast to
the chain already on its way). The **margin** covers those: a holder stops acting at ``deadline -
margin`` unless a renewal succeeded first (:func:`step`), so it has stopped before the server lets
anyone else take the lease.

**Renewal** is due every third of the duration (:attr:`Terms.renew_every`): a renewal that fails once
(a slow query, a dropped connection) leaves time for another before the margin is reached.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

TAKEOVER = 10.0
"""``ha.takeover``'s default: the lease's duration, in seconds; a standby takes over within it."""


@dataclass(frozen=True)
class Lease:
    """The lease row, times in seconds since the epoch on the database's clock."""

    holder: str
    token: int
    """Plus one at each takeover: the fencing token a holder's writes check."""
    acquired_at: float
    """When this holder took it (``status``: active since)."""
    expires_at: float


@dataclass(frozen=True)
class Terms:
    """How long a lease lasts, when to renew it, how early to stop acting before it ends."""

    duration: float = TAKEOVER
    margin: float = TAKEOVER / 5
    """Stop acting this long before the deadline: covers clock rates and actions no fence covers. More
    than 0: it also bounds a frozen writer's session (:func:`idle_timeout`), which 0 would make 1 ms."""

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ValueError(f"ha.takeover must be a positive number of seconds, not {self.duration}")
        if not 0 < self.margin < self.duration - self.renew_every:
            raise ValueError(
                f"the lease's margin ({self.margin} s) must be more than 0 and leave time to renew before "
                f"it: less than {self.duration - self.renew_every} s for ha.takeover {self.duration} s"
            )

    @property
    def renew_every(self) -> float:
        return self.duration / 3


class Step(enum.Enum):
    """What a holder does now."""

    ACT = "act"
    RENEW = "renew"
    """Renew, and act meanwhile: the deadline is still beyond the margin."""
    STOP = "stop"
    """Act no more: the lease is lost, or may be taken soon; a standby again, try to acquire."""


def may_take(lease: Lease | None, holder: str, now: float) -> bool:
    """Whether ``holder`` may take the lease at ``now`` (the database's clock): none yet, its own, or
    expired. :data:`ACQUIRE` decides the same in one statement."""
    return lease is None or lease.holder == holder or lease.expires_at < now


def held_until(sent_at: float, lease: Lease, server_now: float) -> float:
    """The deadline on the holder's monotonic clock: the time the server gave (``expires_at -
    server_now``) counted from ``sent_at``, the holder's clock when it sent the request (never later than
    when the server read its clock, so the deadline is early, never late)."""
    return sent_at + (lease.expires_at - server_now)


def step(deadline: float | None, now: float, terms: Terms) -> Step:
    """What a holder whose lease runs to ``deadline`` (:func:`held_until`; None: never acquired, or its
    last renewal failed) does at ``now``, on its monotonic clock."""
    if deadline is None or now >= deadline - terms.margin:
        return Step.STOP
    if now >= deadline - terms.duration + terms.renew_every:
        return Step.RENEW
    return Step.ACT


def idle_timeout(terms: Terms) -> str:
    """``idle_in_transaction_session_timeout`` for a holder's connections: the margin, in milliseconds
    (at least 1: 0 would turn the timeout off)."""
    return f"{max(1, round(terms.margin * 1000))}ms"


_RETURNING = """RETURNING holder, token, extract(epoch FROM acquired_at)::float8,
    extract(epoch FROM expires_at)::float8, extract(epoch FROM clock_timestamp())::float8"""
"""A :class:`Lease`'s fields and the database's clock (:func:`held_until`)."""

ACQUIRE = f"""
    INSERT INTO lease AS l (id, holder, token, acquired_at, expires_at)
    VALUES (1, %(holder)s, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => %(duration)s))
    ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, token = l.token + 1,
        acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
    WHERE l.holder = excluded.holder OR l.expires_at < clock_timestamp()
    {_RETURNING}
"""
"""Take the lease, in one atomic statement: insert it if missing, else take it if it is ours or expired
(:func:`may_take`). Every acquisition is a takeover, even of our own lease (a process restarted under the
same holder fences its earlier self). No row returned: someone else holds it."""
RENEW = f"""
    UPDATE lease SET expires_at = clock_timestamp() + make_interval(secs => %(duration)s)
    WHERE id = 1 AND holder = %(holder)s AND token = %(token)s AND expires_at > clock_timestamp()
    {_RETURNING}
"""
"""Extend the lease if it is still ours and unexpired. No row returned: lost; stop acting."""
RELEASE = """
    UPDATE lease SET expires_at = '-infinity'
    WHERE id = 1 AND holder = %(holder)s AND token = %(token)s
"""
"""Give the lease up on a clean stop, so a standby takes it at once; the token stays, for the next to raise."""
FENCE = "SELECT lease_fence(%(holder)s, %(token)s)"
"""The first statement of every write transaction of the active process (:mod:`bot.schema_pg`'s
``lease_fence``): raises, rolling the transaction back, unless the lease is still ours."""
BOUND_IDLE = "SELECT set_config('idle_in_transaction_session_timeout', %(timeout)s, false)"
"""Run first on each connection of a holder, with :func:`idle_timeout`: a frozen holder's open transaction
is rolled back and its lock on the lease row released."""
FENCE_FAILED = "lease lost"
"""The start of the fence's error message."""


class Holding:
    """What this process holds, as every write transaction's fence reads it: the holder's name and, while
    the lease is held, its token. The keeper (:mod:`bot.standby`) sets and drops the token; the store's
    connections read it at each write transaction (:data:`FENCE`). One per process, shared by its stores;
    a plain attribute, set and read whole (atomic under Python's GIL)."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.token: int | None = None
        """None: not held (yet, or any more): a write is refused before it reaches the server."""

    def fence(self) -> tuple[str, int] | None:
        """The holder and token to fence a write with, None when the lease is not held."""
        token = self.token
        return None if token is None else (self.holder, token)
