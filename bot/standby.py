"""The keeper: takes the lease (:mod:`bot.lease`) for this ``run`` process, renews it, and stops the
process acting when it may be lost — one thread, with its own connection to the PostgreSQL store.

Standing by, it tries :data:`~bot.lease.ACQUIRE` every :attr:`~bot.lease.Terms.renew_every`, but only while
the process asks for the lease (:meth:`Keeper.wait_held`): after a loss the process first stops its jobs
and closes its stores, then asks again, so jobs of a lost tenure never write under a new token. Holding,
it follows :func:`~bot.lease.step`: a renewal when due (a failure leaves the deadline where it was; a
renewal retried until the margin), and at the margin before the deadline, STOP: the token is dropped and
:attr:`Keeper.on_lost` called, which stops the daemon.

**Stopping does not wait for this thread.** Its connection may hang (a network cut the kernel has not
noticed yet): the :class:`TimedHolding` every write's fence reads lapses by itself at the margin, on the
process's monotonic clock, whatever this thread is doing; so does the poster's last check before a
broadcast. The thread's STOP only tells the daemon to wind down; from the lapse on, a job's write raises
:class:`~bot.errors.LeaseLostError` before it reaches the server.

Logs (one line per change of state, each with the holder and the token, for an operator and the failover
test): ``lease_acquired``, ``lease_held_elsewhere``, ``lease_renew_failed``, ``lease_renewed`` (after a
failure only), ``lease_lost``, ``lease_released``, ``lease_store_unreachable``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog

from bot.db import PostgresUrl, connect_postgres
from bot.errors import StoreError
from bot.lease import ACQUIRE, RELEASE, RENEW, Holding, Lease, Step, Terms, held_until, step

log = structlog.get_logger("bot.standby")

Clock = Callable[[], float]
WANTED_POLL = 0.05
"""Seconds between two looks at the stop event while :meth:`Keeper.wait_held` waits."""


class TimedHolding(Holding):
    """A :class:`~bot.lease.Holding` that lapses by itself at ``stop_at`` (the deadline less the margin,
    on the monotonic ``clock``): past it, :meth:`fence` answers None and every write is refused, even if
    the keeper's thread is stuck and has not dropped the token yet."""

    def __init__(self, holder: str, clock: Clock = time.monotonic) -> None:
        super().__init__(holder)
        self.stop_at = float("-inf")
        self._clock = clock

    def fence(self) -> tuple[str, int] | None:
        fence = super().fence()
        return fence if fence is not None and self._clock() < self.stop_at else None

    def held(self) -> bool:
        """Whether this process may act now."""
        return self.fence() is not None


@dataclass(frozen=True)
class LeaseView:
    """The lease as ``status`` shows it: times on the database's clock, ``active`` decided there too."""

    lease: Lease
    active: bool


def load_lease(url: PostgresUrl) -> LeaseView | None:
    """The store's lease (None: no bot ever took it), read on a connection of its own."""
    with connect_postgres(url, purpose="status") as connection:
        row = connection.execute(
            "SELECT holder, token, extract(epoch FROM acquired_at)::float8,"
            " extract(epoch FROM expires_at)::float8, expires_at > clock_timestamp() FROM lease"
        ).fetchone()
    return None if row is None else LeaseView(Lease(*row[:4]), active=row[4])


class Keeper:
    """Keeps the lease for ``holding`` on the store at ``url``. The constructor only assigns; :meth:`start`
    starts the thread, :meth:`close` ends it (releasing the lease, unless told not to)."""

    def __init__(self, url: PostgresUrl, holding: TimedHolding, terms: Terms, clock: Clock = time.monotonic):
        self.url = url
        self.holding = holding
        self.terms = terms
        self.on_lost: Callable[[], object] | None = None
        """Called from the keeper's thread at a STOP: the process stops acting (set while a daemon runs)."""
        self._clock = clock
        self._deadline: float | None = None
        self._wanted = threading.Event()
        self._acquired = threading.Event()
        self._closing = threading.Event()
        self._release = True
        self._connection: psycopg.Connection[Any] | None = None
        self._failing: str | None = None
        self._elsewhere: tuple[str, int] | None = None
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, *, release: bool = True) -> None:
        """Stop keeping the lease: with ``release``, give it up (a standby takes it at once); without, it
        runs out by itself, as if the process had been killed. Call it once the process has stopped acting."""
        self._release = release
        self._closing.set()
        self._thread.join()

    def wait_held(self, stop: threading.Event) -> bool:
        """Ask for the lease and wait until it is held (True) or ``stop`` is set (False). Held already
        (a job stopped at the margin, then the renewal in flight succeeded): True at once."""
        self._acquired.clear()
        self._wanted.set()
        while not stop.is_set():
            if self._acquired.wait(WANTED_POLL) or self.holding.held():
                self._wanted.clear()
                return True
        self._wanted.clear()
        return False

    # -- the thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                wait = self._turn()
            except (psycopg.Error, StoreError) as exc:
                self._unreachable(exc)
                wait = self._retry_in()
            self._closing.wait(max(0.0, wait))
        self._finish()

    def _turn(self) -> float:
        """One look at the lease; returns the seconds until the next."""
        if self._deadline is None:
            if self._wanted.is_set():
                self._acquire()
            return self._retry_in()
        what = step(self._deadline, self._clock(), self.terms)
        if what is Step.STOP:
            self._lose("not renewed in time")
        elif what is Step.RENEW:
            self._renew()
        return self._retry_in()

    def _retry_in(self) -> float:
        """Standing by: a renewal's interval. Holding: until the renewal is due, then (until one succeeds)
        a quarter of the interval, and never past the margin."""
        if self._deadline is None:
            return self.terms.renew_every
        now = self._clock()
        stop_at = self._deadline - self.terms.margin
        renew_at = self._deadline - self.terms.duration + self.terms.renew_every
        wake = renew_at if now < renew_at else now + self.terms.renew_every / 4
        return min(wake, stop_at) - now

    def _acquire(self) -> None:
        sent = self._clock()
        row = self._execute(ACQUIRE, {"holder": self.holding.holder, "duration": self.terms.duration})
        if row is None:
            self._held_elsewhere()
            return
        lease = Lease(*row[:4])
        self._deadline = held_until(sent, lease, row[4])
        self.holding.stop_at = self._deadline - self.terms.margin
        self.holding.token = lease.token
        self._wanted.clear()
        self._elsewhere = None
        log.info("lease_acquired", holder=lease.holder, token=lease.token, takeover=self.terms.duration)
        self._acquired.set()

    def _renew(self) -> None:
        token = self.holding.token
        sent = self._clock()
        row = self._execute(
            RENEW, {"holder": self.holding.holder, "token": token, "duration": self.terms.duration}
        )
        if row is None:
            self._lose("taken or expired on the server")
            return
        self._deadline = held_until(sent, Lease(*row[:4]), row[4])
        self.holding.stop_at = self._deadline - self.terms.margin
        if self._failing is not None:
            log.info("lease_renewed", holder=self.holding.holder, token=token)
            self._failing = None

    def _lose(self, reason: str) -> None:
        token = self.holding.token
        self.holding.token = None
        self.holding.stop_at = float("-inf")
        self._deadline = None
        log.warning("lease_lost", holder=self.holding.holder, token=token, reason=reason)
        if self.on_lost is not None:
            self.on_lost()

    def _held_elsewhere(self) -> None:
        row = self._execute("SELECT holder, token FROM lease", {})
        holder = None if row is None else (str(row[0]), int(row[1]))
        if holder != self._elsewhere:
            log.info(
                "lease_held_elsewhere", holder=self.holding.holder, by=row and row[0], token=row and row[1]
            )
            self._elsewhere = holder

    def _finish(self) -> None:
        """On close: give the lease up if it is held and a release was asked for; close the connection."""
        token = self.holding.token
        self.holding.token = None
        self.holding.stop_at = float("-inf")
        try:
            if token is not None and self._release:
                self._execute(RELEASE, {"holder": self.holding.holder, "token": token}, fetch=False)
                log.info("lease_released", holder=self.holding.holder, token=token)
        except (psycopg.Error, StoreError) as exc:
            log.warning("lease_release_failed", holder=self.holding.holder, token=token, error=_short(exc))
        if self._connection is not None:
            self._connection.close()

    # -- the connection -------------------------------------------------------------------------------

    def _execute(self, sql: str, parameters: dict[str, object], *, fetch: bool = True) -> Any:
        if self._connection is None:
            self._connection = connect_postgres(
                self.url, purpose="lease", statement_timeout=self.terms.renew_every
            )
        cursor = psycopg.Cursor(self._connection).execute(sql, parameters)
        if self._failing is not None and self._deadline is None:
            log.info("lease_store_reachable", holder=self.holding.holder)
            self._failing = None
        return cursor.fetchone() if fetch else None

    def _unreachable(self, exc: BaseException) -> None:
        """A failed statement or connection: the connection is dropped (made again at the next turn)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._failing is None:
            holding = self._deadline is not None
            (log.warning if holding else log.info)(
                "lease_renew_failed" if holding else "lease_store_unreachable",
                holder=self.holding.holder,
                token=self.holding.token,
                store=str(self.url),
                error=_short(exc),
            )
        self._failing = _short(exc)


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
